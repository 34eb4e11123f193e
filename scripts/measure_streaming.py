"""Peak memory and speed of ``nnvisual train --epochs 1`` on a streamed vs an in-memory folder.

Generates image folders of small JPEGs (10 classes, ``--test-per-class`` test images per class),
then runs ``nnvisual train --epochs 1 --cache memory`` and ``--cache none`` on each, alternately
(``--repeats`` rounds), each in its own child process: its peak resident memory is that
process's own (``wait4``'s ``ru_maxrss``), its images/s the training images of the epoch over the
epoch's seconds (``tables/history.csv``; the validation pass and the first epoch's tracing
included). The in-memory runs read the decode cache, built once beforehand (untimed), as every
run after a folder's first does. ``--subset N`` trains on N images of each folder, whatever its
size: the peak memory's dependence on the folder's size, at a fixed amount of training.
``--scan`` also runs ``nnvisual deconv --top9`` over each folder's whole training split with the
model of the first training run, ``--cache memory`` and ``none`` alternately: its peak RSS, and
its images/s as the images scanned over the command's seconds less those of the same command
scanning 90 images (start-up, model loading, projections).

    .venv/bin/python scripts/measure_streaming.py --sizes 10000 --repeats 2 --work /tmp/stream
    .venv/bin/python scripts/measure_streaming.py --sizes 10000,100000 --subset 2000 --repeats 1
    .venv/bin/python scripts/measure_streaming.py --sizes 20000,200000 --subset 5000 --scan

Not run by the tests; docs/performance.md ("Streamed image folders") records its output.
"""

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

CLASSES = 10


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            line = next((line for line in cpuinfo if line.startswith("model name")), "")
        return line.partition(":")[2].strip() or platform.processor()
    except OSError:
        return platform.processor()


def make_folder(root: Path, train_images: int, test_per_class: int, size: int = 32, seed: int = 0) -> Path:
    """``root/train/class-K/*.jpg`` and ``root/test/class-K/*.jpg``: noise plus a bright square
    whose position tells the class. Skipped when ``root`` is already complete."""
    done = root / ".complete"
    if done.exists():
        return root
    rng = np.random.default_rng(seed)
    for split, per_class in (("train", train_images // CLASSES), ("test", test_per_class)):
        for label in range(CLASSES):
            folder = root / split / f"class-{label}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                image = rng.integers(0, 120, (size, size, 3), dtype=np.uint8)
                y, x = divmod(label, 4)
                image[y * 8:y * 8 + 8, x * 8:x * 8 + 8] = 230
                cv2.imwrite(str(folder / f"{i:06d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    done.touch()
    return root


def run_child(args: list[str], env: dict) -> tuple[int, float]:
    """Run ``args``; its exit status and its own peak resident memory in MB."""
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{process.stderr.read()[-3000:]}")
    return process.returncode, usage.ru_maxrss / 1024


def train_once(folder: Path, cache: str, env: dict, out: Path, subset: int | None) -> dict:
    """One ``nnvisual train --epochs 1`` run: peak RSS and images/s of its epoch."""
    _, peak = run_child([sys.executable, "-m", "nnvisual", "train", "--data", str(folder), "--cache", cache,
                         "--epochs", "1", "--out", str(out), "--force",
                         *(["--subset", str(subset)] if subset else [])], env)
    with open(out / "tables" / "history.csv", newline="") as handle:
        seconds = float(next(csv.DictReader(handle))["seconds"])
    fit = json.loads((out / "manifest.json").read_text())["images"]["fit"]
    return {"peak_rss_mb": peak, "images_per_s": fit / seconds}


def scan_once(folder: Path, cache: str, env: dict, out: Path, model: Path, images: int) -> dict:
    """One ``nnvisual deconv --top9`` run scanning ``images`` training images: peak RSS and
    seconds."""
    config = out.with_suffix(".yaml")
    config.write_text(f"deconv:\n  top9_split: train\n  top9_images: {images}\n")
    start = time.perf_counter()
    _, peak = run_child([sys.executable, "-m", "nnvisual", "deconv", "--model", str(model), "--top9",
                         "--data", str(folder), "--cache", cache, "--top-k", "2", "--config", str(config),
                         "--out", str(out), "--force"], env)
    return {"peak_rss_mb": peak, "seconds": time.perf_counter() - start}


def print_table(title: str, results: dict, subset: int | None) -> None:
    print(f"\n{title}")
    print("| training images | --subset | --cache | peak RSS MB (max) | images/s (median) | runs |")
    print("|---:|---:|---|---:|---:|---:|")
    for (size, cache), runs in results.items():
        print(f"| {size:,} | {subset or '-'} | {cache} | {max(r['peak_rss_mb'] for r in runs):.0f} | "
              f"{statistics.median(r['images_per_s'] for r in runs):.0f} | {len(runs)} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000", help="training images per folder, comma-separated")
    parser.add_argument("--test-per-class", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--subset", type=int, default=None, help="train on this many images of each folder")
    parser.add_argument("--scan", action="store_true", help="also measure deconv's top-9 scan")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "nnvisual-streaming")
    options = parser.parse_args()
    env = dict(os.environ, NNVISUAL_CACHE=str(options.work / "cache"), TF_CPP_MIN_LOG_LEVEL="3")
    results, scans, model = {}, {}, None
    for size in (int(text) for text in options.sizes.split(",")):
        folder = make_folder(options.work / f"folder-{size}", size, options.test_per_class)
        warm_cache = f"from nnvisual import data; data.load_image_folder({str(folder)!r})"
        run_child([sys.executable, "-c", warm_cache], env)
        for _ in range(options.repeats):
            for cache in ("memory", "none"):
                out = options.work / f"run-{size}-{cache}"
                measured = train_once(folder, cache, env, out, options.subset)
                results.setdefault((size, cache), []).append(measured)
                print(size, cache, measured, flush=True)
                model = model or options.work / f"model-{size}.keras"
        if options.scan:
            if not model.exists():
                shutil.copy(options.work / f"run-{size}-memory" / "model.keras", model)
            overhead = scan_once(folder, "memory", env, options.work / "scan-overhead", model, 90)["seconds"]
            for _ in range(options.repeats):
                for cache in ("memory", "none"):
                    out = options.work / f"scan-{size}-{cache}"
                    measured = scan_once(folder, cache, env, out, model, size)
                    measured["images_per_s"] = size / (measured["seconds"] - overhead)
                    scans.setdefault((size, cache), []).append(measured)
                    print(size, cache, "scan", measured, f"(overhead {overhead:.1f} s)", flush=True)
    print(f"\nmachine: {cpu_name()}, {os.cpu_count()} cores; load average at the end "
          f"{', '.join(f'{load:.1f}' for load in os.getloadavg())}")
    print_table("train --epochs 1", results, options.subset)
    if scans:
        print_table("deconv --top9, the whole training split", scans, None)


if __name__ == "__main__":
    main()
