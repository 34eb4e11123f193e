"""nnvisual's benchmark suite: every benchmark, one table, results/bench/bench.csv (`make bench`).

Each benchmark runs in its own child process (spawned, so its peak resident memory is its own)
and compares nnvisual with its baseline in that process, alternating, median of the repeats:

- train: images/s of nnvisual's tf.data pipeline vs ``model.fit`` on arrays with Keras
  augmentation layers (scripts/bench_train.py), with accuracy and the float32 matmul peak;
- deconv: batched DeconvNet projections vs a per-channel loop (scripts/bench_deconv.py);
- maximize: batched compiled gradient ascent vs the study's eager loop and tf-keras-vis
  (scripts/bench_maximize.py);
- score-bow: the whole scoring vs SIFT extraction alone (scripts/bench_score_bow.py).
- startup: each command's seconds from process start to its run folder, on JAX with
  TensorFlow hidden or installed vs imported first (scripts/bench_startup.py).
- attribute: the attribution methods vs captum, pytorch-grad-cam and zennit
  (scripts/bench_attribute.py);
- evaluate: the evaluation metrics vs Quantus 0.6 (scripts/bench_evaluate.py);
- atlas: a block of channels' feature visualizations in one batch vs one channel at a time
  (scripts/bench_atlas.py);
- explain: what ``train --explain`` (Grad-CAM of 8 images after every epoch) costs, as a
  fraction of plotka's epoch (scripts/bench_explain.py).

A benchmark whose baseline library is not installed (its ``NEEDS``) is skipped with the reason;
``make bench`` installs them all. After the table, each speed goal against its measured ratio
(nnvisual/testing/bench_goals.py).
train, score-bow and explain read CIFAR-10 from $NNVISUAL_DATA (see nnvisual's README).

    python scripts/bench.py [--only train,deconv] [--quick] [--out FILE.csv]
"""

import argparse
import importlib
import importlib.util
import sys
import time
from pathlib import Path

from nnvisual.testing import bench_goals
from nnvisual.testing.bench_harness import format_table
from nnvisual.testing.bench_suite import machine_description, run_in_child, versions, write_csv

BENCHMARKS = {"train": "bench_train", "deconv": "bench_deconv", "maximize": "bench_maximize",
              "score-bow": "bench_score_bow",
              "startup": "bench_startup",  # seconds to first work, TensorFlow imported or not
              "attribute": "bench_attribute", "evaluate": "bench_evaluate",
              "explain": "bench_explain",  # train --explain's cost per epoch
              "atlas": "bench_atlas"}  # a block of channels' visualizations vs one at a time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated benchmarks to run (default all: {','.join(BENCHMARKS)})")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a measurement")
    parser.add_argument("--out", type=Path, default=None,
                        help="the CSV (default results/bench/bench.csv, or bench-quick.csv with --quick)")
    args = parser.parse_args()
    out = args.out or Path("results/bench/bench-quick.csv" if args.quick else "results/bench/bench.csv")
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown or not chosen:
        parser.error(f"unknown benchmark(s) {', '.join(unknown) or '(none given)'}: "
                     f"choose from {', '.join(BENCHMARKS)}")
    start = time.perf_counter()
    machine, versions_text = machine_description(), versions()
    size = "quick" if args.quick else "default"
    rows, rss, failed = [], {}, []
    for name in chosen:
        module = importlib.import_module(BENCHMARKS[name])
        missing = [needed for needed in getattr(module, "NEEDS", ())
                   if importlib.util.find_spec(needed) is None]
        if missing:
            print(f"skipped {name}: {', '.join(missing)} not installed "
                  f"({module.INSTALL}; make bench installs it)", flush=True)
            continue
        print(f"running {name} ({size} sizes: {module.SIZES[size]})", flush=True)
        result = run_in_child(module.run, module.SIZES[size])
        if isinstance(result, str):
            print(f"{name} failed: {result}", file=sys.stderr)
            failed.append(name)
            continue
        found, peak_rss_mb = result
        rows += found
        rss.update({row.benchmark: peak_rss_mb for row in found})
    if rows:
        print(f"\nmachine: {machine}\nversions: {versions_text}\n")
        print(format_table(rows, rss))
        print(f"\ngoals (the bounds on these ratios):\n{bench_goals.report(rows)}")
        write_csv(out, rows, rss, machine, versions_text)
        print(f"\nwrote {out} ({time.perf_counter() - start:.0f} s in all)")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
