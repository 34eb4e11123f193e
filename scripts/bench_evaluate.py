"""Benchmark: nnvisual's evaluation metrics against Quantus 0.6 on EfficientNet-Lite0.

The same network (nnvisual's port on the Keras backend; timm's ``tf_efficientnet_lite0`` with
the same weights for Quantus's PyTorch path), the same images (scikit-learn's two sample photos,
repeated to ``images``), the same maps (nnvisual's saliency) and the same settings, chosen so that
both do the same work: region perturbation with regions of 28 x 28 pixels, ``regions`` of them
removed one at a time (one model call per region and image on both sides), to each image's own
minimum (Quantus's ``"black"``), scores before the softmax; and the two map-only metrics,
sparseness and complexity. Per metric, nnvisual and Quantus judge the batch of ``images`` in turn,
``repeats`` times after an untimed warm-up; images/s of the median repetition, with the ratio to
Quantus, and the agreement of the last values (max |difference| / max |Quantus's|: the Keras and
PyTorch networks' logits differ in float32 rounding). Needs the ``reference`` extra with quantus.

    python scripts/bench_evaluate.py [--quick] [--images 2] [--repeats 3] [--regions 16]
"""

from nnvisual.testing import bench_harness
from nnvisual.testing.bench_harness import Row

NEEDS = ("torch", "timm", "quantus")  # the baseline (scripts/bench.py)
INSTALL = ("pip install -e '.[reference,quantus-deps]' && "
           "pip install --no-deps quantus==0.6.0")
SIZES = {"default": {"images": 2, "repeats": 3, "regions": 16},
         "quick": {"images": 1, "repeats": 1, "regions": 2}}
PATCH = 28


def run(images: int, repeats: int, regions: int) -> list[Row]:
    import numpy as np
    from sklearn.datasets import load_sample_images

    from nnvisual import attribution, data
    from nnvisual.evaluation import complexity, faithfulness
    from nnvisual.evaluation.task import Settings, Task
    from nnvisual.models import loading
    from nnvisual.testing import attribution_reference as reference
    from nnvisual.testing import torch_reference

    torch, _ = torch_reference.import_timm()
    import quantus

    lite0 = loading.load_model("efficientnet-lite0")
    photos = load_sample_images().images
    raw = np.stack([data.resize(photos[i % len(photos)], lite0.image_size) for i in range(images)])
    x, _ = reference.model_inputs(lite0, raw.astype(np.uint8), "black", 0)
    network = attribution.Network(lite0.model)
    classes = network.logits(x).argmax(axis=1)
    maps = attribution.attribute(network, x, "saliency", classes)
    lowest = np.broadcast_to(x.min(axis=(1, 2, 3), keepdims=True), x.shape).copy()
    task = Task(network, x, maps, classes, lowest, Settings(patch=PATCH, regions=regions))
    net = torch_reference.timm_lite0()
    x_first, a_first = x.transpose(0, 3, 1, 2).copy(), maps[:, None].copy()
    common = {"disable_warnings": True, "display_progressbar": False}

    def quantus_region():
        with torch.no_grad():
            drops = quantus.RegionPerturbation(
                patch_size=PATCH, regions_evaluation=regions, normalise=False,
                perturb_baseline="black", **common)(
                model=net, x_batch=x_first, y_batch=classes, a_batch=a_first.copy(),
                channel_first=True, device="cpu", softmax=False)
        return np.array(drops).mean(axis=1)

    def quantus_map_only(metric):
        return lambda: np.array(metric(**common)(model=None, x_batch=x_first, y_batch=classes,
                                                 a_batch=a_first.copy(), channel_first=True))

    cases = {"region perturbation": (lambda: faithfulness.region_perturbation(task), quantus_region),
             "sparseness": (lambda: complexity.gini(maps), quantus_map_only(quantus.Sparseness)),
             "complexity": (lambda: complexity.entropy(maps), quantus_map_only(quantus.Complexity))}
    rows = []
    for name, (ours, theirs) in cases.items():
        comparison = bench_harness.alternate({"quantus": theirs, "nnvisual": ours}, repeats,
                                             warm_up=True)
        theirs_values = np.asarray(comparison.outputs["quantus"], np.float64)
        difference = float(np.max(np.abs(comparison.outputs["nnvisual"] - theirs_values))
                           / np.max(np.abs(theirs_values)))
        benchmark = f"evaluate {name}"
        rows += [*bench_harness.rate_rows(benchmark, "images", len(x), comparison, "quantus"),
                 Row(benchmark, "nnvisual", "max |difference| / max |value|", difference)]
    return rows


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
