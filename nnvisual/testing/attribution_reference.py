"""The reference libraries' attribution maps on nnvisual's EfficientNet-Lite0 weights, and the
stored fixture made from them (tests/test_attribution_reference.py, scripts/bench_attribute.py).

timm's ``tf_efficientnet_lite0`` is loaded with the very weights nnvisual's port uses (their
logits agree: tests/test_efficientnet_lite.py). Each reference gets the same preprocessed images
(NCHW), explains the same class, and its maps are brought to nnvisual's (B, H, W) layout:

- captum ``Saliency`` (|gradient| per channel): max over channels, as nnvisual's saliency;
  ``IntegratedGradients`` (Gauss-Legendre, as nnvisual), ``GuidedBackprop``, ``Deconvolution``:
  channels summed, as nnvisual; ``Occlusion`` (window over all three channels): one channel.
- captum's guided backpropagation and DeconvNet override the backward pass of ``nn.ReLU`` modules
  only, and timm's network uses ``nn.ReLU6``: left as it is, both silently return the plain
  gradient. Each ReLU6 becomes a ReLU followed by a clamp at 6 (the same forward pass). For
  guided backpropagation the clamp keeps its true gradient (zero where a unit is saturated, as
  nnvisual's rule relu(g)·[0 < x < 6]); for the DeconvNet, whose rule relu(g) never looks at x,
  the clamp passes the gradient unchanged (straight-through), as nnvisual's.
- pytorch-grad-cam's ``GradCAM``, ``GradCAMPlusPlus``, ``ScoreCAM`` on ``bn2`` (BatchNorm and
  ReLU6 of the head: nnvisual's default CAM layer ``head_relu6``). It rescales each map to
  [0, 1] (min-max) and nnvisual keeps the scale: :func:`aligned` min-max normalizes nnvisual's
  map. Its Score-CAM upsamples the channel masks with ``UpsamplingBilinear2d`` (corner-aligned)
  where nnvisual uses half-pixel centres (as OpenCV, which pytorch-grad-cam uses for the final
  map): the reference is run with half-pixel upsampling. Its Grad-CAM++ adds 1e-6 to the
  denominator of alpha; Lite0's head gradients are of order 1e-3 (a logit weight over the 49
  positions of the average pool), so that term is not negligible: both explain 1000 x the
  logit (:data:`GRADCAM_PLUS_PLUS_SCALE`), where it is.

Regenerate the fixture from the repository root, with the ``reference`` extra installed::

    .venv/bin/python -m nnvisual.testing.attribution_reference
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from nnvisual.testing import torch_reference
from nnvisual.testing.locations import PHOTOS, TEST_FIXTURES

FIXTURE = TEST_FIXTURES / "attribution_lite0_references.npz"
FIXTURE_PHOTO = "n02123597_Siamese_cat.JPEG"
POOL = 4  # the fixture keeps 4x4 means of each map (linear: agreement survives it)
CAPTUM_METHODS = ("saliency", "integrated-gradients", "guided", "deconvnet", "occlusion")
GRAD_CAM_METHODS = ("gradcam", "gradcam++", "scorecam")
METHODS = CAPTUM_METHODS + GRAD_CAM_METHODS
GRADCAM_PLUS_PLUS_SCALE = 1000.0


def relu6_replaced(net, straight_through: bool):
    """A copy of ``net`` with each ``nn.ReLU6`` replaced by ``nn.ReLU`` and a clamp at 6, whose
    backward pass is the clamp's gradient or, ``straight_through``, the identity."""
    import copy

    import torch

    class Clamp6(torch.nn.Module):
        def forward(self, x):
            clamped = x.clamp(max=6.0)
            return x + (clamped - x).detach() if straight_through else clamped

    net = copy.deepcopy(net)
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.ReLU6):
                setattr(module, name, torch.nn.Sequential(torch.nn.ReLU(), Clamp6()))
    return net


def _scaled(net, scale: float):
    """``scale`` x the logits of ``net``, as a module whose ``bn2`` is ``net``'s (the CAM layer)."""
    import torch

    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.bn2 = net, net.bn2

        def forward(self, x):
            return self.net(x) * scale

    return Scaled()


def reference_network(net, method: str):
    """The module the reference library explains for ``method``: ``net`` with its ReLU6 replaced
    (guided, deconvnet), its logits scaled (gradcam++), or ``net`` itself."""
    if method in ("guided", "deconvnet"):
        return relu6_replaced(net, straight_through=method == "deconvnet")
    if method == "gradcam++":
        return _scaled(net, GRADCAM_PLUS_PLUS_SCALE)
    return net


@contextlib.contextmanager
def _half_pixel_upsampling():
    """pytorch-grad-cam's Score-CAM masks upsampled with half-pixel centres (nnvisual's)."""
    import functools
    from unittest import mock

    import torch

    half_pixel = functools.partial(torch.nn.Upsample, mode="bilinear", align_corners=False)
    with mock.patch.object(torch.nn, "UpsamplingBilinear2d", half_pixel):
        yield


def reference_maps(net, method: str, x: np.ndarray, classes, baselines: np.ndarray, settings) -> np.ndarray:
    """(B, H, W) float64 maps of ``method`` by its reference library on ``net`` (from
    :func:`reference_network`), for model inputs ``x`` (B, H, W, 3), the classes and baselines
    nnvisual uses, and nnvisual's ``settings`` (steps, occlusion window and stride, batch size)."""
    import torch

    inputs = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    targets = [int(c) for c in classes]
    if method in GRAD_CAM_METHODS:
        return _grad_cam(net, method, inputs, targets, settings.batch_size).astype(np.float64)
    from captum import attr

    references = torch.from_numpy(np.ascontiguousarray(baselines.transpose(0, 3, 1, 2)))
    if method == "saliency":
        maps = attr.Saliency(net).attribute(inputs, target=targets, abs=True).amax(dim=1)
    elif method == "integrated-gradients":
        maps = attr.IntegratedGradients(net).attribute(
            inputs, references, target=targets, n_steps=settings.steps, method="gausslegendre",
            internal_batch_size=settings.batch_size).sum(dim=1)
    elif method == "guided":
        maps = attr.GuidedBackprop(net).attribute(inputs, target=targets).sum(dim=1)
    elif method == "deconvnet":
        maps = attr.Deconvolution(net).attribute(inputs, target=targets).sum(dim=1)
    else:
        assert method == "occlusion", method
        window, stride = settings.occlusion_window(x.shape[1:3])
        maps = attr.Occlusion(net).attribute(
            inputs, sliding_window_shapes=(3, window, window), strides=(3, stride, stride),
            baselines=references, target=targets, perturbations_per_eval=settings.batch_size)[:, 0]
    return maps.detach().double().numpy()


def _grad_cam(net, method: str, inputs, targets, batch_size: int) -> np.ndarray:
    from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    kind = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "scorecam": ScoreCAM}[method]
    with kind(net, target_layers=[net.bn2]) as cam, _half_pixel_upsampling():
        cam.batch_size = batch_size
        return cam(inputs, [ClassifierOutputTarget(t) for t in targets])


def nnvisual_network(model, method: str):
    """The :class:`nnvisual.attribution.Network` nnvisual explains for ``method``: Lite0's, or
    for gradcam++ its logits scaled as the reference's (:func:`reference_network`)."""
    from nnvisual import attribution

    if method == "gradcam++":
        import keras

        logits = model.get_layer("logits").output
        model = keras.Model(model.inputs, logits * GRADCAM_PLUS_PLUS_SCALE)
    return attribution.Network(model)


def nnvisual_maps(network, method: str, x, classes, baselines, settings) -> np.ndarray:
    """nnvisual's (B, H, W) maps on ``network`` (:func:`nnvisual_network`), aligned to the
    reference's convention (:func:`aligned`)."""
    from nnvisual import attribution

    maps = attribution.attribute(network, x, method, classes, baselines, settings)
    return aligned(method, maps.astype(np.float64))


def aligned(method: str, maps: np.ndarray) -> np.ndarray:
    """nnvisual's maps in the reference's convention: the CAMs min-max scaled to [0, 1]."""
    if method not in GRAD_CAM_METHODS:
        return maps
    low = maps.min(axis=(1, 2), keepdims=True)
    high = maps.max(axis=(1, 2), keepdims=True)
    return (maps - low) / np.where(high > low, high - low, 1)


def agreement(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    """``(max |ours - theirs| / max |theirs|, Pearson correlation)`` over all the maps."""
    scale = np.abs(theirs).max()
    difference = float(np.abs(ours - theirs).max() / scale)
    return difference, float(np.corrcoef(ours.ravel(), theirs.ravel())[0, 1])


def pooled(maps: np.ndarray, size: int = POOL) -> np.ndarray:
    """(B, H, W) -> (B, H / size, W / size) block means."""
    b, h, w = maps.shape
    return maps.reshape(b, h // size, size, w // size, size).mean(axis=(2, 4))


def model_inputs(loaded, images: np.ndarray, baseline_kind: str, seed: int):
    """``(x, baselines)`` of uint8 images (B, H, W, 3) at the model's size, as ``nnvisual
    attribute`` makes them."""
    from nnvisual import attribution
    from nnvisual.steps.attribute import model_inputs as preprocess

    baselines = attribution.baseline_images(images, baseline_kind, seed)
    return preprocess(loaded, images), preprocess(loaded, baselines)


def make_fixture(path: Path = FIXTURE) -> dict:
    """Every reference's map of the fixture photo (explaining its top-1 class), pooled, with the
    photo at the model's size and the settings; written to ``path``."""
    from nnvisual import attribution, data
    from nnvisual.models import loading

    loaded = loading.load_model("efficientnet-lite0")
    image = data.resize(data.read_image(PHOTOS / FIXTURE_PHOTO), loaded.image_size).astype(np.uint8)
    settings = attribution.default_settings()
    x, baselines = model_inputs(loaded, image[None], "black", settings.seed)
    net = torch_reference.timm_lite0()
    classes = attribution.Network(loaded.model).logits(x).argmax(axis=1)
    window, stride = settings.occlusion_window(loaded.image_size)
    arrays = {"image": image, "classes": classes, "steps": settings.steps, "window": window,
              "stride": stride}
    for method in METHODS:
        maps = reference_maps(reference_network(net, method), method, x, classes, baselines, settings)
        arrays[method] = pooled(maps).astype(np.float32)
    path.parent.mkdir(exist_ok=True)
    np.savez_compressed(path, **arrays)
    return arrays


if __name__ == "__main__":
    written = make_fixture()
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size / 1024:.0f} KiB; class {written['classes'][0]})")
