"""Benchmark: nnvisual's attribution methods against captum, pytorch-grad-cam and zennit.

The same network, EfficientNet-Lite0 (nnvisual's port on the Keras backend; timm's
``tf_efficientnet_lite0`` with the same weights for the references), the same images (scikit-
learn's two sample photos, repeated to ``images``) and the same settings (nnvisual's defaults:
50 integrated-gradients steps, occlusion window 28 and stride 14, model calls of 16 inputs:
captum's ``internal_batch_size`` and ``perturbations_per_eval``, pytorch-grad-cam's Score-CAM
``batch_size``). Per method, nnvisual and its reference explain the batch of ``images`` in turn,
``repeats`` times after an untimed warm-up (tracing); images/s of the median repetition, with the
ratio to the reference, and the agreement of the last maps (max |difference| / max |reference|
after aligning the conventions, nnvisual/testing/attribution_reference.py). LRP's
epsilon-plus-flat runs against zennit's ``EpsilonPlusFlat`` (with the canonizers of
nnvisual/testing/zennit_reference.py, applied in each call as zennit's attributor does) and
DeepLIFT against captum's ``DeepLift`` (black references; nnvisual/testing/lrp_reference.py).
Needs the ``reference`` extra.

    python scripts/bench_attribute.py [--quick] [--images 2] [--repeats 3] [--methods saliency,gradcam]
"""

from nnvisual.testing import bench_harness
from nnvisual.testing.bench_harness import Row

ALL = ("saliency,integrated-gradients,guided,deconvnet,occlusion,gradcam,gradcam++,scorecam,"
       "lrp-epsilon-plus-flat,deeplift")
NEEDS = ("torch", "timm", "captum", "pytorch_grad_cam", "zennit")  # the baselines (scripts/bench.py)
INSTALL = "pip install -e '.[reference]'"
SIZES = {"default": {"images": 2, "repeats": 3, "methods": ALL},
         "quick": {"images": 1, "repeats": 1, "methods": "saliency,gradcam,lrp-epsilon-plus-flat,deeplift"}}
RULE_BASED = {"lrp-epsilon-plus-flat": "epsilon-plus-flat", "deeplift": "deeplift"}  # lrp_reference's cases


def reference_library(method: str) -> str:
    from nnvisual.testing.attribution_reference import CAPTUM_METHODS

    if method in RULE_BASED:
        return "zennit" if method.startswith("lrp") else "captum"
    return "captum" if method in CAPTUM_METHODS else "pytorch-grad-cam"


def map_makers(method: str, lite0, net, x, classes, baselines):
    """``(nnvisual's, the reference's)`` functions of no argument returning the (B, H, W) maps."""
    from nnvisual import attribution

    if method in RULE_BASED:
        from nnvisual.steps.attribute import input_bounds
        from nnvisual.testing import lrp_reference as reference

        case, (path, module) = reference.CASE[RULE_BASED[method]], reference.LAYERS["lite0"]
        inputs = reference.Inputs(x, classes, baselines, x[:0], input_bounds(lite0))
        network = reference.nnvisual_network(lite0.model, inputs)
        return (lambda: reference.nnvisual_maps(network, case, inputs, path).sum(axis=-1),
                lambda: reference.reference_maps(net, case, inputs, True, module).sum(axis=-1))
    from nnvisual.testing import attribution_reference as reference

    settings = attribution.default_settings()
    ours, theirs = reference.nnvisual_network(lite0.model, method), reference.reference_network(net, method)
    return (lambda: reference.nnvisual_maps(ours, method, x, classes, baselines, settings),
            lambda: reference.reference_maps(theirs, method, x, classes, baselines, settings))


def compare(method: str, lite0, net, x, classes, baselines, repeats: int) -> list[Row]:
    """Rows for one method: images/s of the reference and of nnvisual, and their agreement."""
    from nnvisual.testing import attribution_reference as reference

    library = reference_library(method)
    ours, theirs = map_makers(method, lite0, net, x, classes, baselines)
    comparison = bench_harness.alternate({library: theirs, "nnvisual": ours}, repeats, warm_up=True)
    difference, _ = reference.agreement(comparison.outputs["nnvisual"], comparison.outputs[library])
    benchmark = f"attribute {method}"
    return [*bench_harness.rate_rows(benchmark, "images", len(x), comparison, library),
            Row(benchmark, "nnvisual", "max |difference| / max |value|", difference)]


def run(images: int, repeats: int, methods: str) -> list[Row]:
    """A row pair per method of ``methods`` (comma-separated)."""
    import numpy as np
    from sklearn.datasets import load_sample_images

    from nnvisual import attribution, data
    from nnvisual.models import loading
    from nnvisual.testing import attribution_reference as reference
    from nnvisual.testing import torch_reference

    torch_reference.import_timm()
    lite0 = loading.load_model("efficientnet-lite0")
    photos = load_sample_images().images
    raw = np.stack([data.resize(photos[i % len(photos)], lite0.image_size) for i in range(images)])
    x, baselines = reference.model_inputs(lite0, raw.astype(np.uint8), "black", 0)
    classes = attribution.Network(lite0.model).logits(x).argmax(axis=1)
    net = torch_reference.timm_lite0()
    return [row for method in methods.split(",")
            for row in compare(method, lite0, net, x, classes, baselines, repeats)]


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
