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

After the table, each speed goal the issues set, against its measured ratio (scripts/bench_goals.py).
train and score-bow read CIFAR-10 from $NNVISUAL_DATA (see nnvisual's README).

    python scripts/bench.py [--only train,deconv] [--quick] [--out FILE.csv]
"""

import argparse
import csv
import importlib
import importlib.metadata
import multiprocessing
import os
import platform
import resource
import sys
import time
import traceback
from pathlib import Path

import bench_goals
import bench_harness

BENCHMARKS = {"train": "bench_train", "deconv": "bench_deconv", "maximize": "bench_maximize",
              "score-bow": "bench_score_bow",
              "startup": "bench_startup",  # seconds to first work, TensorFlow imported or not
              "attribute": "bench_attribute"}  # needs the reference extra (captum, pytorch-grad-cam)
PACKAGES = ("tensorflow", "keras", "numpy", "opencv-python-headless")
COLUMNS = ("benchmark", "variant", "metric", "value", "ratio_to_baseline", "peak_rss_mb", "machine",
           "versions")


def machine_description() -> str:
    """CPU model and core count, e.g. 'Intel(R) Xeon(R) Processor, 2 cores'."""
    model = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                          if line.startswith("model name")), model)
    return f"{model}, {os.cpu_count()} cores"


def versions() -> str:
    found = []
    for package in PACKAGES:
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return "; ".join(found)


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM on Linux, which starts afresh when a spawned
    child executes Python (``ru_maxrss`` would still count the copy of the parent it was forked
    from); ``ru_maxrss`` elsewhere."""
    if os.path.exists("/proc/self/status"):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(module_name: str, sizes: dict, connection) -> None:
    """In the child process: run one benchmark, send back (rows, peak RSS in MB) or an error."""
    from nnvisual.errors import UserError

    try:
        rows = importlib.import_module(module_name).run(**sizes)
        connection.send((rows, peak_rss_mb()))
    except UserError as error:  # e.g. no CIFAR-10 copy: one line is enough
        connection.send(str(error))
    except Exception:
        connection.send(traceback.format_exc())


def run_in_child(module_name: str, sizes: dict):
    """(rows, peak RSS MB) of one benchmark run in a fresh spawned process."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=child, args=(module_name, sizes, sender))
    process.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:  # it died without a word (killed, out of memory)
        result = None
    process.join()
    return result if result is not None else f"the benchmark process died (exit status {process.exitcode})"


def write_csv(path: Path, rows, rss: dict, machine: str, versions_text: str) -> None:
    """All rows, written to a temporary name first and then renamed (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for row in rows:
            ratio = "" if row.ratio_to_baseline is None else f"{row.ratio_to_baseline:.6g}"
            writer.writerow([row.benchmark, row.variant, row.metric, f"{row.value:.6g}", ratio,
                             f"{rss[row.benchmark]:.0f}", machine, versions_text])
    os.replace(temporary, path)


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
        print(f"running {name} ({size} sizes: {module.SIZES[size]})", flush=True)
        result = run_in_child(BENCHMARKS[name], module.SIZES[size])
        if isinstance(result, str):
            print(f"{name} failed: {result}", file=sys.stderr)
            failed.append(name)
            continue
        found, peak_rss_mb = result
        rows += found
        rss.update({row.benchmark: peak_rss_mb for row in found})
    if rows:
        print(f"\nmachine: {machine}\nversions: {versions_text}\n")
        print(bench_harness.format_table(rows, rss))
        print(f"\ngoals (the issues' bounds on these ratios):\n{bench_goals.report(rows)}")
        write_csv(out, rows, rss, machine, versions_text)
        print(f"\nwrote {out} ({time.perf_counter() - start:.0f} s in all)")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
