"""Benchmark: nnvisual's batched DeconvNet projections against a per-channel loop.

VGG16 (random weights, 224x224), the first convolution of each block, 8 channels per layer.
nnvisual projects a layer's 8 channels in one batched backward pass, each on a window holding
its activation's receptive field (mode max); the baseline makes one backward pass per channel
on the whole image with the same compiled function (batch of one). A third row, the batched
pass on whole images, separates the two gains. All include the forward pass that picks the
channels, are timed alternately in one process, and the median of the repetitions is reported.

    .venv/bin/python scripts/bench_deconv.py [--repeats 3] [--top-k 8]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def per_channel_loop(projector, image, layers, top_k, mode):
    """The baseline: the same channels and seeds, one backward pass per channel."""
    from nnvisual import deconv

    maps = projector.feature_maps(image[None], layers)
    projections = {}
    for layer in layers:
        channels, _, positions = deconv.top_channels(maps[layer][0], top_k)
        stacked = np.repeat(maps[layer], len(channels), axis=0)
        seeds = deconv.seeds(stacked, channels, positions, mode)
        projections[layer] = np.concatenate([projector.project(image[None], seeds[i:i + 1], layer)
                                             for i in range(len(channels))])
    return projections


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--top-k", type=int, default=8)
    parser.add_argument("--mode", choices=["max", "map"], default="max")
    args = parser.parse_args()

    import keras
    from sklearn.datasets import load_sample_image

    from nnvisual import data, deconv, models, runs

    loaded = models.load_vgg16("none")
    layers = deconv.default_layers(loaded.model, "vgg16")
    image = data.resize(load_sample_image("china.jpg"), loaded.image_size).astype(np.float32)
    image = np.asarray(loaded.preprocess(image), np.float32)
    projector = deconv.Projector(loaded.model, "deconvnet")

    def batched():
        results = deconv.project_layers(loaded.model, image, layers, args.top_k, args.mode,
                                        projector=projector)
        return {r.layer: r.projections for r in results}

    def batched_whole_images():
        maps = projector.feature_maps(image[None], layers)
        projections = {}
        for layer in layers:
            channels, _, positions = deconv.top_channels(maps[layer][0], args.top_k)
            stacked = np.repeat(maps[layer], len(channels), axis=0)
            projections[layer] = projector.project(
                np.repeat(image[None], len(channels), axis=0),
                deconv.seeds(stacked, channels, positions, args.mode), layer)
        return projections

    def loop():
        return per_channel_loop(projector, image, layers, args.top_k, args.mode)

    variants = {"nnvisual": batched, "batched, whole image": batched_whole_images,
                "per-channel loop": loop}
    outputs = {name: run() for name, run in variants.items()}  # warm-up: traces every shape
    difference = max(float(np.abs(outputs[name][layer] - outputs["per-channel loop"][layer]).max())
                     for name in variants for layer in layers)
    scale = max(float(np.abs(outputs["nnvisual"][layer]).max()) for layer in layers)
    times = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)

    count = len(layers) * args.top_k
    print(f"VGG16 weights=None 224x224, {len(layers)} layers x {args.top_k} channels = {count} "
          f"projections (mode {args.mode}, deconvnet); keras {keras.__version__}, "
          f"backend {keras.backend.backend()}, {runs.device_description()}")
    print(f"same projections: max |difference| {difference:.3g} (max |value| {scale:.3g})")
    print(f"{'method':<22} {'median s':>9} {'proj/s':>8} {'speed-up':>9}   runs (s)")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:<22} {medians[name]:9.2f} {count / medians[name]:8.2f} "
              f"{medians['per-channel loop'] / medians[name]:8.2f}x   "
              + " ".join(f"{v:.2f}" for v in values))


if __name__ == "__main__":
    main()
