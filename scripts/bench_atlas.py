"""Benchmark: the atlas's feature visualizations of a block of channels in one batch against one
channel at a time.

plotka (random weights, 32x32), ``channels`` channels of conv3, 2 visualizations each, lucid's
recipe for ``steps`` steps (``nnvisual.microscope.channels.ChannelRenderer``). nnvisual renders
the channels as one batch (one compiled step); the baseline renders them one channel at a time
with the same renderer, its 2 images a batch (each call compiles its step, as each block does).
Channels/s is the median repetition's, after one untimed warm-up of each.

And the atlas's renderer against torch-lucent, when lucent, timm and torch are installed (else
that row is skipped with the reason; the ``lucent`` and ``reference`` extras): ``lite_channels``
channels of EfficientNet-Lite0's ``block6a_expand_relu6`` (672 channels, 14x14), one 224x224
visualization each, lucid's recipe for ``lite_steps`` steps (a decorrelated Fourier image with
lucid's initial standard deviation 0.01, Adam 0.05, lucid's standard transforms): nnvisual renders
them as one batch (one compiled step, compilation included), torch-lucent's ``render_vis`` one
channel at a time (objective ``blocks_5_0_bn1:C``, the same layer after its ReLU6) on timm's
``tf_efficientnet_lite0`` holding the same weights (``bench_maximize.timm_lite0``), its input
scaled to -1..1 as Lite0 expects, on one torch thread (the baseline) and on torch's default
threads (on the shared 2-core development machine these collapse: a step took 3.3 s against
0.17 s on one thread, torch's threads waiting for each other). Channels/s of the median
repetition (no warm-up), CPU seconds per channel, and the mean over the channels of the objective
(the channel's mean over positions) that each one's images reach, measured by nnvisual's Lite0.
The atlas's size on disk is not measured here (docs/atlas.md gives the demo atlas's size).

    python scripts/bench_atlas.py [--quick] [--channels 16] [--steps 64] [--lite-channels 8]
        [--lite-steps 32] [--repeats 3]
"""

from nnvisual.testing import bench_harness
from nnvisual.testing.bench_harness import Row

SIZES = {"default": {"channels": 16, "steps": 64, "lite_channels": 8, "lite_steps": 32, "repeats": 3},
         "quick": {"channels": 4, "steps": 4, "lite_channels": 2, "lite_steps": 2, "repeats": 1}}
LUCENT_NEEDS = ("lucent", "timm", "torch")
LUCENT_INSTALL = "pip install -e .[lucent,reference]"
KERAS_LAYER, LUCENT_LAYER = "block6a_expand_relu6", "blocks_5_0_bn1"


def lucent_channel(net, channel: int, steps: int):
    """torch-lucent's ``render_vis`` of one channel of :data:`LUCENT_LAYER` on ``net``: one
    224x224 image (1, 224, 224, 3) in 0..255."""
    import torch
    from lucent.optvis import param, render, transform

    torch.manual_seed(channel)
    transforms = [*transform.standard_transforms, lambda x: (x - 0.5) / 0.5]  # Lite0's -1..1
    images = render.render_vis(
        net, f"{LUCENT_LAYER}:{channel}", lambda: param.image(224, fft=True, decorrelate=True),
        transforms=transforms, thresholds=(steps,), preprocess=False, progress=False,
        show_image=False)
    return images[-1] * 255.0


def lucent_rows(channels: int, steps: int, repeats: int) -> list[Row]:
    """nnvisual's atlas renderer (one batch) against torch-lucent (one channel at a time) on
    EfficientNet-Lite0: channels/s, CPU seconds per channel, the objective reached."""
    import numpy as np
    import torch
    from bench_maximize import timm_lite0

    from nnvisual.microscope.channels import ChannelRenderer, Recipe
    from nnvisual.models.zoo import load_efficientnet_lite
    from nnvisual.optvis.objective_parser import Term
    from nnvisual.optvis.terms import Objective
    from nnvisual.optvis.transforms import parse_transforms

    lite0 = load_efficientnet_lite("efficientnet-lite0")
    recipe = Recipe(steps, 0.05, parse_transforms("standard"), 0, 1)  # lucid's initial sd
    renderer = ChannelRenderer(lite0.model, KERAS_LAYER, lite0.preprocess, lite0.image_size, recipe)
    chosen = list(range(channels))
    net = timm_lite0()

    def lucent(threads):
        default = torch.get_num_threads()
        torch.set_num_threads(threads or default)
        try:
            return np.concatenate([lucent_channel(net, c, steps) for c in chosen])
        finally:
            torch.set_num_threads(default)

    baseline = "torch-lucent (one channel at a time)"
    comparison = bench_harness.alternate(
        {baseline: lambda: lucent(1), f"{baseline}, torch's default threads": lambda: lucent(None),
         "nnvisual (one batch)": lambda: renderer.render(chosen)[:, 0]}, repeats, warm_up=False)
    benchmark = f"atlas lite0 {KERAS_LAYER} {channels}x1 {steps} steps"
    rows = bench_harness.rate_rows(benchmark, "channels", channels, comparison, baseline)
    rows += bench_harness.ratio_rows(benchmark, "CPU s per channel", {
        name: seconds / channels for name, seconds in comparison.medians("cpu").items()}, baseline)
    measure = Objective(lite0.model, [(1.0, Term("channel", KERAS_LAYER, channels=tuple(chosen)))],
                        lite0.preprocess)  # image i: its channel's mean over positions
    for name, images in comparison.outputs.items():
        values = measure(np.float32(np.clip(np.round(images), 0, 255)))[0]
        rows.append(Row(benchmark, name, "channel mean reached (mean)",
                        float(np.mean(np.asarray(values)))))
    return rows


def run(channels: int, steps: int, lite_channels: int, lite_steps: int, repeats: int):
    import importlib.util

    import keras

    from nnvisual.microscope.channels import ChannelRenderer, Recipe
    from nnvisual.models.study import build_plotka
    from nnvisual.optvis.transforms import parse_transforms

    keras.utils.set_random_seed(0)
    model = build_plotka(num_classes=10, mean=[120, 120, 120])
    recipe = Recipe(steps, 0.05, parse_transforms("pad=2,jitter=2"), 0, 2, 0.3)
    renderer = ChannelRenderer(model, "conv3", None, (32, 32), recipe)
    chosen = list(range(channels))
    variants = {"one channel at a time": lambda: [renderer.render([c]) for c in chosen],
                "nnvisual (one batch)": lambda: renderer.render(chosen)}
    comparison = bench_harness.alternate(variants, repeats, warm_up=True)
    rows = bench_harness.rate_rows(f"atlas plotka conv3 {channels}x2", "channels", channels,
                                   comparison, "one channel at a time")
    missing = [name for name in LUCENT_NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        print(f"skipped the torch-lucent row: {', '.join(missing)} not installed ({LUCENT_INSTALL})",
              flush=True)
        return rows
    return rows + lucent_rows(lite_channels, lite_steps, repeats)


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
