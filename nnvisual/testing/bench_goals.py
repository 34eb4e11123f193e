"""nnvisual's speed goals, checked against a ``make bench`` run's rows.

Each goal is a ratio of two rows of one benchmark (or one row's own value), with its bound;
``report(rows)`` prints one line per goal: the measured value, the bound, and
whether it is met. A goal whose rows the run did not produce (a benchmark left out with
``--only``, an optional reference library not installed) is listed as not measured.
"""

import dataclasses
import math
import re

from nnvisual.testing.bench_harness import Row


@dataclasses.dataclass(frozen=True)
class Goal:
    """``variant``'s ``metric`` in ``benchmark`` (regular expressions matched in full), divided by
    ``versus``'s where given, at least ``at_least`` or at most ``at_most``; ``text`` says it."""

    text: str
    benchmark: str
    variant: str
    metric: str
    versus: str | None = None
    at_least: float | None = None
    at_most: float | None = None

    def describe(self) -> str:
        bound = self.at_least if self.at_least is not None else self.at_most
        return f"{self.text} {'>=' if self.at_least is not None else '<='} {bound:.3g}"

    def met(self, value: float) -> bool:
        return (self.at_least is None or value >= self.at_least) and (
            self.at_most is None or value <= self.at_most)


SEED = r"seed \(eager, 1 image at a time\)"
GOALS = (
    # not slower than Keras' own fit: a lead of 1.3x, the first goal, is more than a plain fit at
    # 0.64-0.69 of the float32 peak leaves (AMD EPYC Zen 4); the bound is the next goal's
    Goal("train: nnvisual default / plain fit, images/s",
         "train", r"nnvisual \(.*\)", "images/s", versus="keras-baseline", at_least=1),
    Goal("train: nnvisual default / a plain PyTorch loop, images/s",
         "train", r"nnvisual \(.*\)", "images/s", versus=r"pytorch loop, float32", at_least=1),
    Goal("train: nnvisual default, fraction of the matmul peak of its type",
         "train", r"nnvisual \(.*\)", r"fraction of .* matmul peak", at_least=0.8),
    Goal("deconv VGG16: nnvisual / per-channel loop, projections/s",
         r"deconv VGG16 .*", "nnvisual", "projections/s", versus="per-channel loop", at_least=5),
    *(Goal(f"deconv {network}: nnvisual / the batched whole-image pass, projections/s",
           rf"deconv {network} .*", "nnvisual", "projections/s", versus="batched, whole image",
           at_least=1) for network in ("MobileNetV2", "EfficientNet-Lite0")),
    Goal("maximize plotka: nnvisual / tf-keras-vis, image-steps/s",
         r"maximize plotka \d+x\d+", "nnvisual", "image-steps/s", versus="tf-keras-vis", at_least=5),
    Goal("maximize VGG16: nnvisual / the study's loop, image-steps/s",
         r"maximize vgg16 \d+x\d+", "nnvisual", "image-steps/s", versus=SEED, at_least=3),
    # 3x tf-keras-vis would need 120% of the float32 peak: restated as a fraction of that bound
    Goal("maximize VGG16: nnvisual, fraction of the float32 matmul peak after the first step",
         r"maximize vgg16 \d+x\d+", "nnvisual", "fraction of float32 matmul peak after the first",
         at_least=0.8),
    Goal("maximize Lite0, lucid's recipe: nnvisual / torch-lucent, image-steps/s after the first",
         r"maximize lite0 fft .*", "nnvisual", "image-steps/s after the first", versus="torch-lucent",
         at_least=1),
    Goal("maximize Lite0 on JAX: a second run's first step / the first run's, seconds",
         r"maximize lite0 fft .* jax first step", r"second run \(warm cache\)",
         "seconds to the first step from process start", versus=r"first run \(empty cache\)",
         at_most=1 / 3),
    Goal("score-bow: whole scoring / SIFT alone, seconds",
         r"score-bow .*", r"whole score-bow scoring \(no cache\)", "seconds",
         versus=r"SIFT alone \(baseline\)", at_most=1.5),
    Goal("attribute Lite0, LRP EpsilonPlusFlat: nnvisual / zennit, images/s",
         r"attribute lrp-epsilon-plus-flat", "nnvisual", "images/s", versus="zennit", at_least=1),
    Goal("attribute Lite0, DeepLIFT: nnvisual / captum, images/s",
         r"attribute deeplift", "nnvisual", "images/s", versus="captum", at_least=1),
    Goal("train --explain plotka, Grad-CAM of 8 images every epoch: explaining / the epoch's training",
         r"explain plotka .*", "explaining / training", "fraction of the epoch", at_most=0.05),
    Goal("atlas plotka: one batch of channels / one channel at a time, channels/s",
         r"atlas plotka .*", r"nnvisual \(one batch\)", "channels/s", versus="one channel at a time",
         at_least=5),
    Goal("atlas Lite0: nnvisual's batched renderer / torch-lucent one channel at a time, channels/s",
         r"atlas lite0 .*", r"nnvisual \(one batch\)", "channels/s",
         versus=r"torch-lucent \(one channel at a time\)", at_least=1),
)


def _value(rows: list[Row], benchmark: str, variant: str, metric: str) -> float | None:
    found = [row.value for row in rows if re.fullmatch(benchmark, row.benchmark)
             and re.fullmatch(variant, row.variant) and re.fullmatch(metric, row.metric)]
    return found[0] if found else None


def measure(goal: Goal, rows: list[Row]) -> float | None:
    """The goal's measured value in ``rows`` (None: not measured)."""
    value = _value(rows, goal.benchmark, goal.variant, goal.metric)
    if goal.versus is None or value is None:
        return value
    versus = _value(rows, goal.benchmark, goal.versus, goal.metric)
    return None if not versus else value / versus


def report(rows: list[Row]) -> str:
    """One line per goal: the goal, its measured value, met / NOT MET / not measured."""
    width = max(len(goal.describe()) for goal in GOALS)
    lines = [f"{'goal':<{width}} {'measured':>9}  verdict"]
    for goal in GOALS:
        value = measure(goal, rows)
        if value is None or math.isnan(value):
            lines.append(f"{goal.describe():<{width}} {'-':>9}  not measured")
        else:
            lines.append(f"{goal.describe():<{width}} {value:>9.3g}  "
                         f"{'met' if goal.met(value) else 'NOT MET'}")
    return "\n".join(lines)
