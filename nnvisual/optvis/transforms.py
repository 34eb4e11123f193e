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

from nnvisual.errors import UserError, named
from nnvisual.optvis.param import image_rng

TRANSFORM_STREAM = 2
KINDS = ("pad", "jitter", "scale", "rotate")
STANDARD = "pad=12,jitter=8,scale=0.9:1.1,rotate=10,jitter=4"
FILL = 127.5  # mid-grey of the 0..255 range
IDENTITY = np.float32([[1, 0, 0], [0, 1, 0]])  # the affine map that changes nothing
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
            raise UserError(f"bad transform '{item.strip()}' in {named('transforms', spec)}: use "
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
    the image take ``fill`` (None: the nearest edge pixel).

    One gather per output pixel: the four neighbours of every cell are stacked on the channel
    axis beforehand, and the image is surrounded by one pixel of ``fill``, so that a sample
    clamped into that border needs no mask (its gradient is a row scatter, not four).
    """
    n, height, width, channels = images.shape
    ys, xs = np.meshgrid(np.arange(height) - (height - 1) / 2, np.arange(width) - (width - 1) / 2,
                         indexing="ij")
    grid = ops.convert_to_tensor(np.stack([ys.ravel(), xs.ravel(), np.ones(ys.size)]).astype(np.float32))
    source = ops.matmul(matrices, grid)  # (n, 2, h*w), centred
    if fill is not None:
        images = ops.pad(images, [(0, 0), (1, 1), (1, 1), (0, 0)], constant_values=fill)
    rows, cols = images.shape[1:3]
    y = ops.clip(source[:, 0] + (rows - 1) / 2, 0, rows - 1)
    x = ops.clip(source[:, 1] + (cols - 1) / 2, 0, cols - 1)
    y0, x0 = ops.minimum(ops.floor(y), rows - 2), ops.minimum(ops.floor(x), cols - 2)
    dy, dx = y - y0, x - x0
    corners = ops.concatenate([images[:, :-1, :-1], images[:, :-1, 1:], images[:, 1:, :-1],
                               images[:, 1:, 1:]], axis=-1)  # (n, rows - 1, cols - 1, 4c)
    cells = (rows - 1) * (cols - 1)
    index = (ops.cast(y0, "int32") * (cols - 1) + ops.cast(x0, "int32")
             + ops.arange(n, dtype="int32")[:, None] * cells)
    values = ops.take(ops.reshape(corners, (n * cells, 4 * channels)), ops.reshape(index, (-1,)),
                      axis=0)
    weights = ops.stack([(1 - dy) * (1 - dx), (1 - dy) * dx, dy * (1 - dx), dy * dx], axis=-1)
    values = ops.reshape(values, (n, height * width, 4, channels))
    result = ops.sum(values * ops.expand_dims(weights, -1), axis=2)
    return ops.reshape(result, (n, height, width, channels))
