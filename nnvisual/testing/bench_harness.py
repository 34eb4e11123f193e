"""What every benchmark of scripts/ shares: run the baseline and nnvisual alternately, take
medians, make rows.

A benchmark script exposes ``run(**sizes) -> list[Row]`` and the sizes it runs at
(``SIZES["default"]`` and ``SIZES["quick"]``); ``scripts/bench.py`` runs them all, each in a child
process (:mod:`nnvisual.testing.bench_suite`), and ``main(...)`` here runs one from its own
command line. ``ratio_to_baseline`` is a row's value divided by the baseline's value of the same
benchmark and metric: above 1 is faster for a rate (images/s), below 1 is faster for seconds.

A script imports this module before anything imports TensorFlow: it sets TensorFlow's log level,
and importing it imports nnvisual, whose TensorFlow settings (oneDNN on x86-64) act then.
"""

import argparse
import dataclasses
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before any script imports TensorFlow


@dataclasses.dataclass(frozen=True)
class Row:
    """One measured number: ``value`` of ``metric`` for ``variant`` in ``benchmark``."""

    benchmark: str
    variant: str
    metric: str
    value: float
    ratio_to_baseline: float | None = None


@dataclasses.dataclass
class Comparison:
    """Seconds of every repetition of every variant (wall clock and process CPU time, all
    threads), and the value each variant returned the last time it ran."""

    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]
    outputs: dict[str, object]

    def medians(self, clock: str = "wall") -> dict[str, float]:
        return {name: statistics.median(times) for name, times in getattr(self, clock).items()}


def alternate(variants: dict[str, Callable[[], object]], repeats: int, warm_up: bool) -> Comparison:
    """Run the variants in turn, ``repeats`` rounds, so that a slow spell of a shared machine
    hits them alike. ``warm_up`` runs each once untimed first (tracing, caches)."""
    outputs = {name: run() for name, run in variants.items()} if warm_up else {}
    wall = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            outputs[name] = run()
            wall[name].append(time.perf_counter() - wall_start)
            cpu[name].append(time.process_time() - cpu_start)
    return Comparison(wall, cpu, outputs)


def ratio_rows(benchmark: str, metric: str, values: dict[str, float], baseline: str) -> list[Row]:
    """A row per variant, with its ratio to ``values[baseline]``."""
    return [Row(benchmark, name, metric, value, value / values[baseline]) for name, value in values.items()]


def rate_rows(benchmark: str, unit: str, work: float, comparison: Comparison, baseline: str) -> list[Row]:
    """``work`` items per median wall second, per variant (metric ``{unit}/s``)."""
    rates = {name: work / seconds for name, seconds in comparison.medians().items()}
    return ratio_rows(benchmark, f"{unit}/s", rates, baseline)


FIRST = " (1 step)"  # the label of a method's 1-step run in :func:`step_rate_rows`


def step_rate_rows(benchmark: str, labels, n: int, steps: int, comparison: Comparison,
                   baseline: str) -> list[Row]:
    """Image-steps/s of each method's whole ``steps``-step run (median wall time, tracing and
    compilation included), and what the steps after the first cost, from the runs of 1 step
    (``label + FIRST``): image-steps/s (``n (steps - 1)`` image-steps over the difference of
    the median wall times), CPU seconds per image-step likewise, and the seconds of the 1-step
    run (tracing, compilation and one step)."""
    wall, cpu = comparison.medians(), comparison.medians("cpu")
    rows = ratio_rows(benchmark, "image-steps/s", {
        label: n * steps / wall[label] for label in labels}, baseline)
    rows += ratio_rows(benchmark, "image-steps/s after the first", {
        label: n * (steps - 1) / (wall[label] - wall[label + FIRST]) for label in labels}, baseline)
    rows += ratio_rows(benchmark, "CPU s per image-step after the first", {
        label: (cpu[label] - cpu[label + FIRST]) / (n * (steps - 1)) for label in labels}, baseline)
    return rows + ratio_rows(benchmark, "seconds of a 1-step run", {
        label: wall[label + FIRST] for label in labels}, baseline)


def forward_flops(model) -> int:
    """Multiply-adds x 2 of one image's forward pass through the Conv2D and Dense layers."""
    import keras
    import numpy as np

    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width, channels_out = layer.output.shape[1:]
            kh, kw, channels_in, _ = layer.kernel.shape
            flops += 2 * height * width * kh * kw * channels_in * channels_out
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * int(np.prod(layer.kernel.shape))
    return flops


def matmul_gflops(dtype: str, n: int = 2048, repeats: int = 5) -> float:
    """The machine's matrix-multiply rate (GFLOP/s) in ``dtype``, best of ``repeats``."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)), dtype)
    tf.linalg.matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def format_table(rows: list[Row], peak_rss_mb: dict[str, float] | None = None) -> str:
    """The rows as an aligned text table; ``peak_rss_mb`` maps a benchmark to its memory peak."""
    header = ["benchmark", "variant", "metric", "value", "ratio"] + (["peak RSS MB"] if peak_rss_mb else [])
    lines = [[row.benchmark, row.variant, row.metric, f"{row.value:.4g}",
              "" if row.ratio_to_baseline is None else f"{row.ratio_to_baseline:.2f}x"]
             + ([f"{peak_rss_mb[row.benchmark]:.0f}"] if peak_rss_mb else []) for row in rows]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    numeric = {"value", "ratio", "peak RSS MB"}
    return "\n".join("  ".join(cell.rjust(width) if title in numeric else cell.ljust(width)
                               for cell, width, title in zip(line, widths, header, strict=True)).rstrip()
                     for line in [header, *lines])


def main(description: str, run: Callable[..., list[Row]], sizes: dict[str, dict]) -> None:
    """Command line of one benchmark script: ``--quick``, or any size as ``--name value``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="the small smoke-test sizes")
    for name, default in sizes["default"].items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=None,
                            help=f"default {default} (quick {sizes['quick'][name]})")
    args = vars(parser.parse_args())
    chosen = dict(sizes["quick" if args.pop("quick") else "default"])
    chosen.update({name: value for name, value in args.items() if value is not None})
    print(format_table(run(**chosen)))
