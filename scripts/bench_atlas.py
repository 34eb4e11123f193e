"""Benchmark: the atlas's feature visualizations of a block of channels in one batch against one
channel at a time.

plotka (random weights, 32x32), ``channels`` channels of conv3, 2 visualizations each, lucid's
recipe for ``steps`` steps (``nnvisual.microscope.channels.ChannelRenderer``). nnvisual renders
the channels as one batch (one compiled step); the baseline renders them one channel at a time
with the same renderer, its 2 images a batch (each call compiles its step, as each block does).
Channels/s is the median repetition's, after one untimed warm-up of each. The torch-lucent
comparison on timm's tf_efficientnet_lite0 and the atlas's size on disk are not measured here
(docs/atlas.md gives the demo atlas's size).

    python scripts/bench_atlas.py [--quick] [--channels 16] [--steps 64] [--repeats 3]
"""

from nnvisual.testing import bench_harness

SIZES = {"default": {"channels": 16, "steps": 64, "repeats": 3},
         "quick": {"channels": 4, "steps": 4, "repeats": 1}}


def run(channels: int, steps: int, repeats: int):
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
    return bench_harness.rate_rows(f"atlas plotka conv3 {channels}x2", "channels", channels,
                                   comparison, "one channel at a time")


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
