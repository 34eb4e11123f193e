"""Benchmark: nnvisual's batched DeconvNet projections against a per-channel loop.

VGG16 (random weights, 224x224), the first convolution of each block; MobileNetV2 (random
weights, 224x224: a graph with residual adds, depthwise convolutions and ReLU6) and
EfficientNet-Lite0 (its ImageNet weights, 224x224), each stage's last feature map; ``top_k``
channels per layer. nnvisual (``deconv.project_layers``) projects a
layer's channels in one batched backward pass, each on a window holding its activation's
receptive field (mode max); the baseline makes one backward pass per channel on the whole image
with the same compiled function (batch of one). A third variant, the batched pass on whole
images, separates the two gains (MobileNetV2's and EfficientNet-Lite0's strided fields allow no
window: there nnvisual is one forward pass and one backward pass vectorized over the channels).
All include the forward pass that picks the channels, run once untimed (tracing), then
alternately ``repeats`` times; projections/s is the median repetition's, CPU seconds (process
CPU time, all threads: steadier than wall time on a shared machine) the median repetition's
too. A last row checks that the projections agree.

    python scripts/bench_deconv.py [--quick] [--repeats 3] [--top-k 8]
"""

from nnvisual.testing import bench_harness
from nnvisual.testing.bench_harness import Row

SIZES = {"default": {"top_k": 8, "repeats": 3}, "quick": {"top_k": 2, "repeats": 1}}
MODE = "max"


def whole_image_projections(projector, image, layers, top_k, mode, per_channel: bool):
    """The channels nnvisual picks, each projected on the whole image: one backward pass per
    channel (``per_channel``, the baseline) or one batched pass per layer."""
    import numpy as np

    from nnvisual import deconv

    maps = projector.feature_maps(image[None], layers)
    projections = {}
    for layer in layers:
        channels, _, positions = deconv.top_channels(maps[layer][0], top_k)
        stacked = np.repeat(maps[layer], len(channels), axis=0)
        seeds = deconv.seeds(stacked, channels, positions, mode)
        images = np.repeat(image[None], len(channels), axis=0)
        batches = [slice(i, i + 1) for i in range(len(channels))] if per_channel else [slice(None)]
        projections[layer] = np.concatenate([projector.project(images[batch], seeds[batch], layer)
                                             for batch in batches])
    return projections


def compare(title: str, loaded, top_k: int, repeats: int) -> list[Row]:
    """Rows for one model: projections/s per variant, and the largest difference from the
    baseline's projections relative to the largest projection value."""
    import numpy as np
    from sklearn.datasets import load_sample_image

    from nnvisual import data, deconv

    layers = deconv.default_layers(loaded.model, loaded.name)
    image = data.resize(load_sample_image("china.jpg"), loaded.image_size).astype(np.float32)
    image = np.asarray(loaded.preprocess(image), np.float32)
    # a projector (its compiled functions) per variant: TensorFlow generalizes a function that
    # sees several input shapes to unknown shapes, so sharing one would slow every variant down
    projectors = [deconv.Projector(loaded.model, "deconvnet") for _ in range(3)]

    def nnvisual():
        results = deconv.project_layers(projectors[2], image, layers, top_k, MODE)
        return {r.layer: r.projections for r in results}

    variants = {"per-channel loop": lambda: whole_image_projections(projectors[0], image, layers, top_k,
                                                                    MODE, per_channel=True),
                "batched, whole image": lambda: whole_image_projections(projectors[1], image, layers, top_k,
                                                                        MODE, per_channel=False),
                "nnvisual": nnvisual}
    comparison = bench_harness.alternate(variants, repeats, warm_up=True)
    outputs = comparison.outputs
    difference = max(float(np.abs(outputs[name][layer] - outputs["per-channel loop"][layer]).max())
                     for name in variants for layer in layers)
    scale = max(float(np.abs(outputs["nnvisual"][layer]).max()) for layer in layers)
    benchmark = f"deconv {title} {len(layers)}x{top_k}"
    return [*bench_harness.rate_rows(benchmark, "projections", len(layers) * top_k, comparison,
                                     "per-channel loop"),
            *bench_harness.ratio_rows(benchmark, "CPU seconds", comparison.medians("cpu"),
                                      "per-channel loop"),
            Row(benchmark, "nnvisual", "max |difference| / max |value|", difference / scale)]


def run(top_k: int, repeats: int) -> list[Row]:
    """VGG16's rows, then MobileNetV2's and EfficientNet-Lite0's."""
    import keras
    import numpy as np

    from nnvisual.models import loaded, zoo

    mobilenet = loaded.LoadedModel(
        keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3)), "mobilenetv2",
        (224, 224), lambda x: np.asarray(x, np.float32) / 127.5 - 1.0, ())
    return [*compare("VGG16", zoo.load_vgg16("none"), top_k, repeats),
            *compare("MobileNetV2", mobilenet, top_k, repeats),
            *compare("EfficientNet-Lite0", zoo.load_efficientnet_lite("efficientnet-lite0"),
                     top_k, repeats)]


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
