"""Transformation robustness (Olah et al. 2017, "Feature Visualization", Distill: "Transformation
Robustness"; lucid's ``optvis.transform``): each step the model sees each image randomly padded,
shifted, scaled and rotated, so only features that survive small transformations are drawn.

The models here take a fixed input size, so the transformations of a step are composed into
one affine map per image and the model sees the central window of the input's size, sampled
bilinearly (the gradient flows back through the sampling):

- ``pad=P``: the image is surrounded by mid-grey (lucid: constant 0.5) that the other
  transformations bring into view (beyond P pixels the grey continues);
- ``jitter=D``: a shift by a random whole number of pixels in [-(D // 2), D // 2] each way
  (lucid's random crop of D pixels, seen from the centre);
- ``scale=A:B``: a zoom about the centre by one of lucid's scales ``1 + (i - 5) / 50`` in
  [A, B] (lucid's ``random_scale``);
- ``rotate=R``: a rotation about the centre by a random whole number of degrees in [-R, R],
  with 0 five times likelier (lucid's ``random_rotate(range(-R, R + 1) + 5 * [0])``).

``standard`` is lucid's ``standard_transforms``: pad 12, jitter 8, scale 0.9..1.1, rotate 10,
jitter 4. Image ``i`` draws its transformations from its own generator ``(seed, i, 2)``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from keras import ops

from nnvisual.errors import UserError
from nnvisual.optvis.param import image_rng

TRANSFORM_STREAM = 2
KINDS = ("pad", "jitter", "scale", "rotate")
STANDARD = "pad=12,jitter=8,scale=0.9:1.1,rotate=10,jitter=4"
FILL = 127.5  # mid-grey of the 0..255 range
LUCID_SCALES = np.array([1 + (i - 5) / 50 for i in range(11)])


@dataclasses.dataclass(frozen=True)
class Transforms:
    """An ordered list of ``(kind, parameters)``; empty: no transformation."""

    steps: tuple[tuple[str, tuple[float, ...]], ...]

    @property
    def padded(self) -> bool:
        return any(kind == "pad" for kind, _ in self.steps)

    def __bool__(self) -> bool:
        return bool(self.steps)


def parse_transforms(spec: str | None) -> Transforms:
    """``none``/empty, ``standard``, or a comma list such as ``pad=4,jitter=2,rotate=5``."""
    spec = (spec or "none").strip()
    if spec == "none":
        return Transforms(())
    spec = STANDARD if spec == "standard" else spec
    steps = []
    for item in spec.split(","):
        kind, _, value = item.strip().partition("=")
        try:
            values = tuple(float(v) for v in value.split(":"))
        except ValueError:
            values = ()
        valid = (kind in ("pad", "jitter", "rotate") and len(values) == 1 and values[0] >= 0) or (
            kind == "scale" and len(values) == 2 and 0 < values[0] <= values[1])
        if not valid:
            raise UserError(f"bad transform '{item.strip()}' in --transforms {spec}: use "
                            "standard, none, or pad=P, jitter=D, scale=A:B, rotate=DEGREES")
        steps.append((kind, values))
    return Transforms(tuple(steps))


def _draw(rng: np.random.Generator, kind: str, values) -> np.ndarray:
    """The 3x3 matrix (in centred (y, x, 1) coordinates) of one random transformation."""
    matrix = np.eye(3)
    if kind == "jitter":
        half = int(values[0]) // 2
        matrix[:2, 2] = rng.integers(-half, half + 1, 2)
    elif kind == "scale":
        scales = LUCID_SCALES[(LUCID_SCALES >= values[0] - 1e-9) & (LUCID_SCALES <= values[1] + 1e-9)]
        scale = rng.choice(scales) if scales.size else rng.uniform(values[0], values[1])
        matrix[:2, :2] *= scale
    elif kind == "rotate":
        degrees = rng.choice(list(range(-int(values[0]), int(values[0]) + 1)) + 5 * [0])
        angle = math.radians(degrees)
        matrix[:2, :2] = [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
    return matrix


def sample_matrices(transforms: Transforms, indices, steps: int, seed: int) -> np.ndarray:
    """The per-step, per-image maps (steps, n, 2, 3) from an output pixel (y, x, 1), centred,
    to the input pixel it samples, centred: the inverse of the composed transformations."""
    out = np.zeros((steps, len(indices), 2, 3), np.float32)
    for column, index in enumerate(indices):
        rng = image_rng(seed, index, TRANSFORM_STREAM)
        for t in range(steps):
            forward = np.eye(3)
            for kind, values in transforms.steps:
                forward = _draw(rng, kind, values) @ forward
            out[t, column] = np.linalg.inv(forward)[:2]
    return out


def apply(images, matrices, fill: float | None = FILL):
    """Sample ``images`` (n, h, w, c) through ``matrices`` (n, 2, 3) bilinearly; samples outside
    the image take ``fill`` (None: the nearest edge pixel)."""
    n, height, width, channels = images.shape
    ys, xs = np.meshgrid(np.arange(height) - (height - 1) / 2, np.arange(width) - (width - 1) / 2,
                         indexing="ij")
    grid = ops.convert_to_tensor(np.stack([ys.ravel(), xs.ravel(), np.ones(ys.size)]).astype(np.float32))
    source = ops.matmul(matrices, grid)  # (n, 2, h*w)
    y = source[:, 0] + (height - 1) / 2
    x = source[:, 1] + (width - 1) / 2
    y0, x0 = ops.floor(y), ops.floor(x)
    flat = ops.reshape(images, (n, height * width, channels))
    result = 0.0
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        yy, xx = y0 + dy, x0 + dx
        weight = (1 - ops.abs(y - yy)) * (1 - ops.abs(x - xx))
        inside = (yy >= 0) & (yy <= height - 1) & (xx >= 0) & (xx <= width - 1)
        index = (ops.cast(ops.clip(yy, 0, height - 1), "int32") * width
                 + ops.cast(ops.clip(xx, 0, width - 1), "int32"))
        values = ops.take_along_axis(flat, ops.expand_dims(index, -1), axis=1)
        if fill is not None:
            values = ops.where(ops.expand_dims(inside, -1), values, fill)
        result = result + ops.expand_dims(weight, -1) * values
    return ops.reshape(result, (n, height, width, channels))
