"""nnvisual's attribution maps against captum's and pytorch-grad-cam's on the same network
(EfficientNet-Lite0; timm's ``tf_efficientnet_lite0`` with the same weights) and real photos.

Where the definitions coincide the maps agree to 1e-4 of the reference's largest value; where a
convention differs it is aligned first (nnvisual/testing/attribution_reference.py says how, method by
method; docs/attribution.md has the numbers):

- channel layout (all captum methods: per-channel maps; reduced as nnvisual reduces them);
- ReLU6 (captum's ``GuidedBackprop`` and ``Deconvolution`` override ``nn.ReLU`` modules only:
  on timm's ReLU6 they would silently return the gradient; each ReLU6 becomes ReLU + clamp);
- normalization (pytorch-grad-cam rescales each CAM to [0, 1]; so is nnvisual's, here);
- interpolation (pytorch-grad-cam's Score-CAM masks: corner-aligned; run half-pixel here);
- Grad-CAM++'s 1e-6 in pytorch-grad-cam's alpha (both explain 1000 x the logit).

After aligning, every method but one agrees to 1e-4 of its scale, and every one correlates at
>= 0.999. The exception is integrated gradients (definitions identical: Gauss-Legendre, 50
points, the same baseline): its maps differ by up to about 1e-3 of their scale (correlation
0.9999999). The gradients the two frameworks compute agree to 1e-6 at most of the path's points,
but at a few (near the black baseline) float32 rounding puts some units on the other side of a
ReLU6 kink in one framework, and a pixel's gradient then changes by up to a few percent; the
average over the path carries that into the map. Since nnvisual explains the inference copy
with batch normalizations folded (below), its integrated gradients differ from captum's by 4.9e-3
(correlation 0.999999), with TensorFlow's Eigen or oneDNN kernels alike.

The plain gradient (saliency) is the one map that float32 rounding moves by more than 1e-4:
evaluated in float64 (TensorFlow, 2026-12-02), the saliency map of the stored photo is 4.8e-3 of
its scale away from both the reference's float32 map and nnvisual's float32 map computed through
the model's batch normalizations as written, which were 7e-7 from each other only because they
rounded alike; nnvisual's maps, computed on the inference copy with the batch normalizations
folded into the convolutions (nnvisual/graph/inference_model.py), are 1.8e-4 from float64. The
kernels move it too: Keras' JAX backend (4.3e-3 from TensorFlow's map) and TensorFlow's oneDNN
kernels against its Eigen ones (3e-4). So saliency is held to
:data:`GRADIENT_TOLERANCE` everywhere, and so are integrated gradients, an average of such
gradients along a path; Grad-CAM maps agree across backends to 5e-7.

Guided backprop's gate [0 <= x < 6] is a step: a unit that float32 rounding puts on either side
of 0 or 6 changes the map over its receptive field. On the stored photo one unit of
``block2a_dw_bn`` is -1.6e-7 when JAX computes the depthwise convolutions as shifted sums and
+2.8e-7 with XLA's grouped convolution: a patch of the map moves by 1.5e-3 of its scale (7e-4 in
the 4x4 block means), the rest agreeing to 1e-6. So guided is held to :data:`GATE_TOLERANCE`
(on TensorFlow it agrees to 1e-4; docs/attribution.md has the same effect against captum).

``test_the_stored_references_agree`` runs without torch, on the references' maps stored in
tests/fixtures/attribution_lite0_references.npz (``python -m
nnvisual.testing.attribution_reference`` regenerates them). The live comparisons need the
``reference`` extra and the ImageNet photos.
"""

import importlib.util

import numpy as np
import pytest

from nnvisual import attribution, data
from nnvisual.models import loading
from nnvisual.testing import attribution_reference as reference
from nnvisual.testing import torch_reference

TOLERANCE = 1e-4  # of the reference's largest absolute value
GRADIENT_TOLERANCE = 1e-2  # saliency and integrated gradients: float32 rounding (see above)
GATE_TOLERANCE = 2e-3  # guided backprop: a gate that rounding flips (see above)
LIVE_PHOTOS = (reference.FIXTURE_PHOTO, "n01443537_goldfish.JPEG")
CHEAP_LIVE = {"saliency", "gradcam"}  # one per library in the default suite; the rest is slow
CHEAP_STORED = {"saliency", "guided", "gradcam"}  # without torch: a few seconds each


@pytest.fixture(scope="module")
def lite0(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NNVISUAL_CACHE", str(tmp_path_factory.mktemp("cache")))
        return loading.load_model("efficientnet-lite0")


def assert_agrees(ours, theirs, method):
    difference, correlation = reference.agreement(ours, theirs)
    tolerance = {"saliency": GRADIENT_TOLERANCE, "integrated-gradients": GRADIENT_TOLERANCE,
                 "guided": GATE_TOLERANCE}.get(method, TOLERANCE)
    assert difference <= tolerance and correlation >= 0.999, (method, difference, correlation)


def methods(cheap):
    return [pytest.param(m, marks=() if m in cheap else pytest.mark.slow) for m in reference.METHODS]


@pytest.mark.parametrize("method", methods(CHEAP_STORED))
def test_the_stored_references_agree(method, lite0):
    """nnvisual on the stored photo against the reference's stored map (4x4 block means)."""
    stored = np.load(reference.FIXTURE)
    settings = attribution.default_settings(steps=int(stored["steps"]), window=int(stored["window"]),
                                            stride=int(stored["stride"]))
    x, baselines = reference.model_inputs(lite0, stored["image"][None], "black", settings.seed)
    network = reference.nnvisual_network(lite0.model, method)
    ours = reference.nnvisual_maps(network, method, x, stored["classes"], baselines, settings)
    assert_agrees(reference.pooled(ours), stored[method].astype(np.float64), method)


def test_the_fixture_is_small_and_holds_every_method():
    stored = np.load(reference.FIXTURE)
    assert reference.FIXTURE.stat().st_size < 400_000
    assert set(reference.METHODS) <= set(stored.files)
    assert stored["image"].shape == (224, 224, 3) and stored["image"].dtype == np.uint8
    assert all(stored[m].shape == (1, 56, 56) and np.abs(stored[m]).max() > 0 for m in reference.METHODS)


# -- live, with the reference extra ----------------------------------------------------------------
@pytest.fixture(scope="module")
def live(lite0):
    """``(timm's network, x, classes, baselines)`` for two photos (explaining their top-1 classes)."""
    for module in ("captum", "pytorch_grad_cam"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (the reference extra)")
    if not all((reference.PHOTOS / name).is_file() for name in LIVE_PHOTOS):
        pytest.skip(f"no ImageNet sample photos at {reference.PHOTOS}")
    torch_reference.import_timm()
    images = np.stack([data.resize(data.read_image(reference.PHOTOS / name), lite0.image_size)
                       for name in LIVE_PHOTOS]).astype(np.uint8)
    x, baselines = reference.model_inputs(lite0, images, "black", 0)
    classes = attribution.Network(lite0.model).logits(x).argmax(axis=1)
    return torch_reference.timm_lite0(), x, classes, baselines


@pytest.mark.parametrize("method", methods(CHEAP_LIVE))
def test_nnvisual_agrees_with_the_reference(method, lite0, live):
    net, x, classes, baselines = live
    settings = attribution.default_settings()
    ours = reference.nnvisual_maps(reference.nnvisual_network(lite0.model, method), method, x, classes,
                                   baselines, settings)
    theirs = reference.reference_maps(reference.reference_network(net, method), method, x, classes,
                                      baselines, settings)
    assert ours.shape == theirs.shape == (2, 224, 224)
    assert_agrees(ours, theirs, method)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["guided", "deconvnet"])
def test_captum_on_relu6_silently_returns_the_gradient(method, lite0, live):
    """The trap the alignment avoids: on timm's unmodified ReLU6 network captum's guided
    backpropagation and DeconvNet equal the plain gradient (so they disagree with nnvisual)."""
    import torch
    from captum import attr

    net, x, classes, _ = live
    inputs = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    targets = [int(c) for c in classes]
    kind = attr.GuidedBackprop if method == "guided" else attr.Deconvolution
    theirs = kind(net).attribute(inputs, target=targets).detach().numpy()
    gradient = attr.Saliency(net).attribute(inputs, target=targets, abs=False).detach().numpy()
    np.testing.assert_allclose(theirs, gradient, atol=1e-6 * np.abs(gradient).max())
