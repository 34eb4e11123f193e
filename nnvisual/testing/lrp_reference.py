"""nnvisual's LRP and DeepLIFT against zennit's and captum's on the same weights, and the stored
fixture made from them (tests/test_lrp_reference.py, scripts/bench_attribute.py).

Three networks, each in Keras and in PyTorch with the same weights: the two small twins of
:mod:`nnvisual.testing.twin_networks` (a VGG-style chain; a residual network with batch
normalizations) and EfficientNet-Lite0 (timm's ``tf_efficientnet_lite0`` with nnvisual's
weights, :mod:`nnvisual.testing.torch_reference`). Each :data:`CASES` row names nnvisual's method
(and its ``lrp_rules``) and the reference's equivalent:

- zennit's own composite where nnvisual's has zennit's name (EpsilonPlus, EpsilonPlusFlat,
  EpsilonGammaBox, EpsilonAlpha2Beta1, EpsilonAlpha2Beta1Flat);
- otherwise zennit's rules on convolutions, linear layers and the first layer over zennit's base
  map, with the parameters nnvisual's composite fixes (iNNvestigate's presets: epsilon 0.1), and
  a rule for one layer by name (:data:`LAYERS`: nnvisual names a convolution folded with its batch
  normalization by the normalization's name, nnvisual/graph/inference_model.py);
- captum's ``DeepLift`` and ``DeepLiftShap`` for ``deeplift`` and ``deepshap``
  (:mod:`nnvisual.testing.deeplift_reference`).

Both explain the same class from the same model inputs, with the same box for z-box (the
input's lowest and highest values: [-1, 1] for the twins and for Lite0, whose input is
(pixel - 127.5) / 127.5) and the same references. :func:`agreement` is the largest
|nnvisual - reference| over the reference's largest |value|, per image, the worst image.

Regenerate the fixture from the repository root, with the ``reference`` extra installed::

    .venv/bin/python -m nnvisual.testing.lrp_reference
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from nnvisual.testing import attribution_reference, twin_networks
from nnvisual.testing.locations import TEST_FIXTURES

FIXTURE = TEST_FIXTURES / "lrp_references.npz"
NETWORKS = (*twin_networks.NETWORKS, "lite0")
LITE0_POOL = 8  # the fixture keeps 8x8 means of Lite0's maps (linear: agreement survives it)
TOLERANCE = 1e-4  # of the reference's largest absolute value, per image
DELTA_TOLERANCE = 1e-3  # summation-to-delta, of the largest |logit|
TWIN_IMAGES = 2
TWIN_CLASSES = (0, 3)  # the classes the twins explain: fixed, not their top-1 (logits of either sign)
LITE0_BACKGROUND = ("black", "blur", "noise")  # DeepSHAP's references for Lite0, of its first photo


@dataclasses.dataclass(frozen=True)
class Case:
    """nnvisual's ``method`` under ``lrp_rules`` (``{layer}``: the network's :data:`LAYERS`
    entry) and its reference: ``zennit`` is the name of one of zennit's composites, or the rules
    ``(conv, dense, first)`` on zennit's base map with ``named`` on the one layer of
    :data:`LAYERS`; None for the DeepLIFT methods (captum). ``parameters``: the rules'
    parameters of the reference where nnvisual's composite fixes them."""

    name: str
    method: str
    lrp_rules: str | None = None
    zennit: str | tuple[str, str, str | None] | None = None
    named: str | None = None
    parameters: tuple[tuple[str, float], ...] = ()


def _alpha_beta(alpha, beta, **others):
    return (("lrp_alpha", alpha), ("lrp_beta", beta), *others.items())


CASES = (
    Case("epsilon-plus", "lrp-epsilon-plus", zennit="epsilon-plus"),
    Case("epsilon-plus-flat", "lrp-epsilon-plus-flat", zennit="epsilon-plus-flat"),
    Case("epsilon-gamma-box", "lrp-epsilon-gamma-box", zennit="epsilon-gamma-box"),
    Case("epsilon-alpha2-beta1", "lrp-epsilon-alpha2-beta1", zennit="epsilon-alpha2-beta1"),
    Case("epsilon-alpha2-beta1-flat", "lrp-epsilon-alpha2-beta1-flat", zennit="epsilon-alpha2-beta1-flat"),
    Case("sequential-preset-a", "lrp-sequential-preset-a", zennit=("alpha-beta", "epsilon", None),
         parameters=_alpha_beta(1.0, 0.0, lrp_epsilon=0.1)),
    Case("sequential-preset-b", "lrp-sequential-preset-b", zennit=("alpha-beta", "epsilon", None),
         parameters=_alpha_beta(2.0, 1.0, lrp_epsilon=0.1)),
    Case("zero", "lrp-0", zennit=("zero", "zero", None)),
    Case("epsilon", "lrp-epsilon", zennit=("epsilon", "epsilon", None)),
    Case("gamma", "lrp-gamma", zennit=("gamma", "gamma", None)),
    Case("z-plus", "lrp-z-plus", zennit=("z-plus", "z-plus", None)),
    Case("alpha1-beta0", "lrp-alpha1-beta0", zennit=("alpha-beta", "alpha-beta", None),
         parameters=_alpha_beta(1.0, 0.0)),
    Case("alpha2-beta1", "lrp-alpha2-beta1", zennit=("alpha-beta", "alpha-beta", None),
         parameters=_alpha_beta(2.0, 1.0)),
    Case("w-square", "lrp-epsilon", "first=w-square", zennit=("epsilon", "epsilon", "w-square")),
    Case("by-type-and-name", "lrp-epsilon-plus", "conv=gamma,dense=alpha-beta,first=z-box,{layer}=z-plus",
         zennit=("gamma", "alpha-beta", "z-box"), named="z-plus"),
    Case("deeplift", "deeplift"),
    Case("deepshap", "deepshap"),
)
CASE = {case.name: case for case in CASES}
# Lite0's cases whose float32 maps differ from the reference's by more than TOLERANCE, with the
# bound they are held to. In float64 nnvisual and the references agree to 1e-7 on every case
# (test_in_float64_nnvisual_and_the_references_agree_on_lite0); in float32 a rule that divides by
# a unit's value, where that value is within rounding of a kink, carries each framework's
# rounding into the map (docs/lrp.md, measured on the two live photos unless said):
LITE0_FLOAT32 = {
    # the epsilon rule's z + 1e-6 where z is rounding noise: a few hundred pixels, spread out
    "zero": 3e-2, "epsilon": 1e-2, "w-square": 1e-2,
    # alpha-beta's sums of positive or negative contributions where one stem unit is 5.2e-6
    # (float64; 5.6e-6 in timm's float32), just above ReLU6's kink: its 3x3 receptive field
    "epsilon-alpha2-beta1": 3e-3, "epsilon-alpha2-beta1-flat": 1e-3, "sequential-preset-b": 3e-3,
    "alpha2-beta1": 3e-3,
    # Rescale's (f(x) - f(x0)) / (x - x0) where x - x0 is rounding noise: a few pixels (deeplift:
    # 5.5e-5 on the live photos, 1.2e-4 on the benchmark's china photo)
    "deeplift": 3e-4, "deepshap": 3e-4,
}


def tolerance(network: str, case: str) -> float:
    """The bound on :func:`agreement` for ``case`` on ``network``."""
    return LITE0_FLOAT32.get(case, TOLERANCE) if network == "lite0" else TOLERANCE
# one convolution per network, by nnvisual's path and by the PyTorch module's name
LAYERS = {"vgg": ("conv2a", "conv2a"), "residual": ("block2_conv1_bn", "block2_conv1"),
          "lite0": ("block2a_expand_bn", "blocks.1.0.conv_pw")}


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What both sides explain: model inputs ``x`` (B, H, W, C), ``classes``, DeepLIFT's
    ``baselines`` (like ``x``), DeepSHAP's ``background`` (N, H, W, C) and the input's box
    ``bounds`` ((H, W, C) low and high)."""

    x: np.ndarray
    classes: np.ndarray
    baselines: np.ndarray
    background: np.ndarray
    bounds: tuple[np.ndarray, np.ndarray]

    def astype(self, dtype) -> Inputs:
        """The same inputs, the images and bounds in ``dtype``."""
        return Inputs(self.x.astype(dtype), self.classes, self.baselines.astype(dtype),
                      self.background.astype(dtype), tuple(b.astype(dtype) for b in self.bounds))


def twin_inputs() -> Inputs:
    """The twins' inputs: seeded images in [-1, 1], references half as strong, four more as
    the background."""
    x = twin_networks.inputs(TWIN_IMAGES)
    shape = x.shape[1:]
    bounds = tuple(np.full(shape, value, np.float32) for value in twin_networks.BOUNDS)
    return Inputs(x, np.array(TWIN_CLASSES), 0.5 * twin_networks.inputs(TWIN_IMAGES, seed=5),
                  twin_networks.inputs(4, seed=7), bounds)


def lite0_inputs(loaded, images: np.ndarray, classes=None) -> Inputs:
    """Lite0's inputs for uint8 photos (B, 224, 224, 3), as ``nnvisual attribute`` makes them:
    black references, the box of black and white pixels, and for DeepSHAP the black, blurred
    and noise references of the first photo; ``classes`` None: each photo's top-1."""
    from nnvisual import attribution
    from nnvisual.steps.attribute import input_bounds, model_inputs

    x = model_inputs(loaded, images)
    background = np.concatenate([model_inputs(loaded, attribution.baseline_images(images[:1], kind, 0))
                                 for kind in LITE0_BACKGROUND])
    if classes is None:
        classes = attribution.Network(loaded.model).logits(x).argmax(axis=1)
    baselines = model_inputs(loaded, attribution.baseline_images(images, "black", 0))
    return Inputs(x, np.asarray(classes), baselines, background, input_bounds(loaded))


# -- nnvisual --------------------------------------------------------------------------------------
def nnvisual_network(model, inputs: Inputs):
    from nnvisual.attribution.network import Network

    return Network(model, input_bounds=inputs.bounds)


def nnvisual_maps(network, case: Case, inputs: Inputs, layer: str) -> np.ndarray:
    """nnvisual's attributions (B, H, W, C) of ``case`` (``layer``: the path :data:`LAYERS`
    names), by the method's function in the method table."""
    from nnvisual.attribution import methods
    from nnvisual.attribution.request import Request, default_settings

    rules = None if case.lrp_rules is None else case.lrp_rules.format(layer=layer)
    request = Request(network, inputs.x, inputs.classes, inputs.baselines,
                      default_settings(lrp_rules=rules), inputs.background)
    return np.asarray(methods.method(case.method).function()(request), np.float64)


# -- the references --------------------------------------------------------------------------------
def reference_maps(net, case: Case, inputs: Inputs, timm_blocks: bool, layer: str) -> np.ndarray:
    """The reference's attributions (B, H, W, C) of ``case`` on the PyTorch network ``net``
    (``timm_blocks``: timm's EfficientNet, for its canonizer; ``layer``: the module name
    :data:`LAYERS` gives); float64."""
    from nnvisual.testing import deeplift_reference, zennit_reference

    if case.zennit is None:
        ready = deeplift_reference.captum_ready(net)
        if case.method == "deeplift":
            return deeplift_reference.deeplift(ready, inputs.x, inputs.baselines, inputs.classes)
        return deeplift_reference.deepshap(ready, inputs.x, inputs.background, inputs.classes)
    return zennit_reference.relevance(net, zennit_composite(net, case, inputs, timm_blocks, layer),
                                      inputs.x, inputs.classes)


def zennit_composite(net, case: Case, inputs: Inputs, timm_blocks: bool, layer: str):
    """zennit's composite of ``case`` for ``net``, with its canonizers."""
    import torch

    from nnvisual.attribution.request import default_settings
    from nnvisual.testing import zennit_reference

    settings = dataclasses.replace(default_settings(), **dict(case.parameters))
    bounds = tuple(torch.from_numpy(np.ascontiguousarray(b.transpose(2, 0, 1)[None])) for b in inputs.bounds)
    canonizers = zennit_reference.canonizers(net, timm_blocks)
    if isinstance(case.zennit, str):
        return zennit_reference.named_composite(case.zennit, settings, bounds, canonizers)
    conv, dense, first = case.zennit
    names = {} if case.named is None else {layer: case.named}
    return zennit_reference.mapped_composite(conv, dense, first, names, settings, bounds, canonizers)


# -- measures --------------------------------------------------------------------------------------
def agreement(ours: np.ndarray, theirs: np.ndarray) -> float:
    """max |ours - theirs| / max |theirs| per image (the first axis), the worst image."""
    axes = tuple(range(1, ours.ndim))
    return float((np.abs(ours - theirs).max(axis=axes) / np.abs(theirs).max(axis=axes)).max())


def summation_error(network, case: Case, inputs: Inputs, maps: np.ndarray) -> float:
    """DeepLIFT's summation-to-delta: max |sum of the attributions - (logit(x) - logit(reference))|
    over the largest |logit| (DeepSHAP: the logit's mean over the background)."""
    rows = np.arange(len(inputs.x))
    logits = network.logits(inputs.x)[rows, inputs.classes]
    if case.method == "deepshap":
        reference = network.logits(inputs.background)[:, inputs.classes].mean(axis=0)
    else:
        reference = network.logits(inputs.baselines)[rows, inputs.classes]
    totals = maps.reshape(len(maps), -1).sum(axis=1)
    return float(np.abs(totals - (logits - reference)).max() / np.abs(logits).max())


def pooled(maps: np.ndarray) -> np.ndarray:
    """(B, H, W) -> (B, H / LITE0_POOL, W / LITE0_POOL) block means."""
    return attribution_reference.pooled(maps, LITE0_POOL)


# -- the fixture -----------------------------------------------------------------------------------
def twin_network_pair(name: str, weights: dict[str, np.ndarray] | None = None):
    """``(Keras model, PyTorch network)`` of twin ``name`` with ``weights`` (None: its seeded
    ones); the PyTorch side needs the reference extra."""
    weights = twin_networks.weights(name) if weights is None else weights
    return twin_networks.keras_network(name, weights), twin_networks.torch_network(name, weights)


def stored_weights(stored, name: str) -> dict[str, np.ndarray]:
    prefix = f"{name}/weights/"
    return {key[len(prefix):]: stored[key] for key in stored.files if key.startswith(prefix)}


def lite0_photo() -> np.ndarray:
    """Lite0's photo of the fixture (224, 224, 3) uint8: the one of
    tests/fixtures/attribution_lite0_references.npz (:data:`attribution_reference.FIXTURE_PHOTO`
    at the model's size), stored there once."""
    return np.load(attribution_reference.FIXTURE)["image"]


def checksum(image: np.ndarray) -> np.ndarray:
    """A fingerprint of the photo, so that a change of the other fixture's photo shows."""
    weights = np.arange(1, image.size + 1, dtype=np.int64) % 65521
    return np.int64(np.sum(image.astype(np.int64).ravel() * weights))


def make_fixture(path: Path = FIXTURE) -> dict:
    """The references' maps of every case on the twins (channels summed, full size, with the
    twins' weights and inputs) and on Lite0's fixture photo (channels summed, pooled, with the
    photo's fingerprint and class); written to ``path``."""
    from nnvisual.models import loading
    from nnvisual.testing import torch_reference

    arrays = {}
    inputs = twin_inputs()
    for name in twin_networks.NETWORKS:
        weights = twin_networks.weights(name)
        arrays.update({f"{name}/weights/{key}": value for key, value in weights.items()})
        arrays.update({f"{name}/x": inputs.x, f"{name}/classes": inputs.classes,
                       f"{name}/baselines": inputs.baselines, f"{name}/background": inputs.background})
        _, net = twin_network_pair(name, weights)
        for case in CASES:
            maps = reference_maps(net, case, inputs, False, LAYERS[name][1])
            arrays[f"{name}/{case.name}"] = maps.sum(axis=-1).astype(np.float32)
    loaded = loading.load_model("efficientnet-lite0")
    image = lite0_photo()
    inputs = lite0_inputs(loaded, image[None])
    arrays.update({"lite0/image_sum": checksum(image), "lite0/classes": inputs.classes})
    net = torch_reference.timm_lite0()
    for case in CASES:
        maps = reference_maps(net, case, inputs, True, LAYERS["lite0"][1])
        arrays[f"lite0/{case.name}"] = pooled(maps.sum(axis=-1)).astype(np.float32)
    path.parent.mkdir(exist_ok=True)
    np.savez_compressed(path, **arrays)
    return arrays


if __name__ == "__main__":
    written = make_fixture()
    size = FIXTURE.stat().st_size / 1024
    print(f"wrote {FIXTURE} ({size:.0f} KiB; Lite0 explains class {written['lite0/classes'][0]})")
