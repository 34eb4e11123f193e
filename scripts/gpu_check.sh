#!/usr/bin/env bash
# GPU check (issue 19): train, deconv, maximize, attribute and sanity on Keras' JAX backend with
# TensorFlow hidden, timed, beside the same commands on the development CPU.
#
#   scripts/gpu_check.sh [--copy-to DIR]   on a GPU machine: writes results/bench/gpu.csv (and
#                                          copies it and the logs to DIR)
#   scripts/gpu_check.sh --cpu-rehearsal   here, JAX on the CPU: records the CPU figures in
#                                          scripts/gpu_check_cpu.csv, what the GPU run compares to
#   --quick                                tiny sizes, a smoke test: writes results/bench/gpu-quick.csv
#                                          (gpu-cpu-quick.csv with --cpu-rehearsal), compared to nothing
#
# Where Keras is not installed (a GPU machine without a registry), the wheels that
# scripts/gpu_wheels.sh downloaded into build/gpu-wheels are installed under the work folder first.
# Training reads $NNVISUAL_DATA (the offline CIFAR-10 JPEG folder) if it is a folder, else a
# generated folder of 32x32 JPEGs (10 classes; the rates depend on the images' size, not content).
# Each rate counts the whole command (start-up, compilation, writing its run folder), except
# train's images/s: its epochs after the first (tables/history.csv); CPU seconds are the command's
# process CPU time (all threads), steadier than wall time on a shared CPU. docs/performance.md,
# "GPU check".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=gpu
quick=
copy_to=
while [ $# -gt 0 ]; do
  case $1 in
    --cpu-rehearsal) mode=cpu ;;
    --quick) quick=1 ;;
    --copy-to) copy_to=${2:?--copy-to needs a folder}; shift ;;
    -h|--help) sed -n '2,20p' "$0" | cut -c3-; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
die() { echo "gpu_check.sh: $*" >&2; exit 1; }
# --copy-to: the CSV and the commands' logs, also after a failure
copy_out() {
  [ -n "$copy_to" ] || return 0
  mkdir -p "$copy_to"
  if [ -f "$work/done" ]; then cp "$csv" "$copy_to/"; fi
  (cd "$work" 2>/dev/null && tar -czf "$copy_to/gpu-check-logs.tar.gz" ./*.log) || true
}
trap copy_out EXIT

work=/tmp/nnvisual-gpu-check
case $mode$quick in
  gpu) csv=results/bench/gpu.csv ;;
  cpu) csv=scripts/gpu_check_cpu.csv ;;
  gpu1) csv=results/bench/gpu-quick.csv ;;
  cpu1) csv=results/bench/gpu-cpu-quick.csv ;;
esac
if [ "$mode" = cpu ] && [ -x .venv/bin/python ]; then python=${PYTHON:-.venv/bin/python}; else python=${PYTHON:-python3}; fi
rm -rf "$work"
mkdir -p "$work/images" results/bench
export KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3 NNVISUAL_CACHE=$work/cache MPLBACKEND=Agg
export PYTHONPATH="$root/tests/no_tensorflow:$root${PYTHONPATH:+:$PYTHONPATH}"  # import tensorflow fails
if [ "$mode" = cpu ]; then export JAX_PLATFORMS=cpu; fi

if ! "$python" -c "import keras" 2>/dev/null; then
  [ -f build/gpu-wheels/requirements.txt ] || die "Keras is missing and build/gpu-wheels is not here: run scripts/gpu_wheels.sh where pip works and carry build/gpu-wheels"
  "$python" -m pip install --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check \
    --target "$work/site" --find-links build/gpu-wheels -r build/gpu-wheels/requirements.txt > "$work/pip.log" 2>&1 \
    || die "installing build/gpu-wheels failed for Python $("$python" -c 'import platform; print(platform.python_version())') (last line: $(tail -n 1 "$work/pip.log"))"
  export PYTHONPATH="$PYTHONPATH:$work/site"
fi
device=$("$python" -c "import jax; d = jax.devices()[0]; print(d.platform, d.device_kind)") || die "JAX does not start"
if [ "$mode" = gpu ] && [ "${device%% *}" != gpu ]; then die "JAX sees no GPU (device: $device)"; fi
echo "== JAX device: $device"

if [ -n "${NNVISUAL_DATA:-}" ] && [ -d "$NNVISUAL_DATA/train" ]; then
  data=$NNVISUAL_DATA data_kind=cifar10-jpeg
else
  data=$work/data data_kind=generated-32px
fi
# sizes: a few minutes on a GPU (--quick: seconds, a smoke test)
if [ -n "$quick" ]; then subset=600 epochs=2 top_k=2 steps=4 images=4; else subset=3000 epochs=3 top_k=8 steps=20 images=20; fi
# the training folder (unless CIFAR-10 is here) and, for attribute and sanity, $images test
# images (the first 2 of each class, in class order) in one folder (scripts/ on the path: measure_streaming)
PYTHONPATH="$root/scripts:$PYTHONPATH" "$python" - "$data" "$data_kind" "$work/images" "$images" <<'PY'
import shutil
import sys
from pathlib import Path

import measure_streaming

data, data_kind, images, count = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
if data_kind == "generated-32px":
    measure_streaming.make_folder(data, 3000, 50)
chosen = [file for folder in sorted((data / "test").iterdir()) for file in sorted(folder.iterdir())[:2]]
for file in chosen[:count]:
    shutil.copy(file, images / f"{file.parent.name}-{file.name}")
PY

# check NAME WORK UNIT -- ARGS...: run `nnvisual ARGS --out $work/NAME`; WORK units done. Appends
# NAME, WORK, UNIT, wall seconds, CPU seconds to timings.csv
check() {
  local name=$1 amount=$2 unit=$3; shift 4
  echo "== $name: nnvisual $*"
  "$python" - "$name" "$amount" "$unit" "$work" "$python" -m nnvisual "$@" --out "$work/$name" --force <<'PY' \
    || { tail -n 20 "$work/$name.log" >&2; die "$name failed (log: $work/$name.log)"; }
import resource
import subprocess
import sys
import time

name, amount, unit, work, *command = sys.argv[1:]
start = time.perf_counter()
with open(f"{work}/{name}.log", "w") as log:
    code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
if code:
    sys.exit(code)
with open(f"{work}/timings.csv", "a") as timings:
    timings.write(f"{name},{amount},{unit},{wall},{usage.ru_utime + usage.ru_stime}\n")
print(f"== {name}: {wall:.1f} s, {usage.ru_utime + usage.ru_stime:.1f} CPU s", flush=True)
PY
}
china=$work/china.jpg
"$python" -c "import sys, cv2; from sklearn.datasets import load_sample_image
cv2.imwrite(sys.argv[1], load_sample_image('china.jpg')[..., ::-1])" "$china"
check train 0 images -- train --model plotka --data "$data" --subset $subset --epochs $epochs --batch-size 128 --seed 0
check deconv-vgg16 $((5 * top_k)) projections -- deconv --model vgg16 --weights none --image "$china" --top-k $top_k
check deconv-lite0 $((5 * top_k)) projections -- deconv --model efficientnet-lite0 --image "$china" --top-k $top_k
check maximize-vgg16 $((2 * steps)) image-steps -- maximize --model vgg16 --weights none --class 284 -n 2 --steps $steps
check attribute $((3 * images)) maps -- attribute --model "$work/train" --images "$work/images" \
  --method saliency,integrated-gradients,gradcam
check sanity $images images -- sanity --model "$work/train" --images "$work/images" --max-images $images \
  --method saliency,gradcam --randomization cascading --bootstrap 200
"$python" - "$work" "$csv" "$mode$quick" "$device" "$data_kind" <<'PY'
"""Rates from the timings (and train's history), beside the recorded CPU figures."""
import csv
import json
import os
import platform
import statistics
import sys
from importlib import metadata
from pathlib import Path

work, out, mode, device, data_kind = Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:]
rows = []
with open(work / "timings.csv") as handle:
    for name, amount, unit, seconds, cpu_seconds in csv.reader(handle):
        seconds = float(seconds)
        rows.append((name, "seconds (whole command)", seconds))
        rows.append((name, "CPU seconds (whole command)", float(cpu_seconds)))
        if name == "train":
            with open(work / "train" / "tables" / "history.csv") as history:
                epochs = [float(row["seconds"]) for row in csv.DictReader(history)]
            fit = json.loads((work / "train" / "manifest.json").read_text())["images"]["fit"]
            rows.append((name, "images/s (epochs after the first)", fit / statistics.median(epochs[1:])))
        else:
            rows.append((name, f"{unit}/s (whole command)", float(amount) / seconds))
reference = {}
cpu_file = Path("scripts/gpu_check_cpu.csv")
if mode == "gpu" and cpu_file.exists():
    with open(cpu_file) as handle:
        reference = {(row["check"], row["metric"]): row for row in csv.DictReader(handle)}
cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
           platform.processor())
machine = f"{device}; {cpu}, {os.cpu_count()} cores"
versions = "; ".join(f"{name} {metadata.version(name)}" for name in ("keras", "jax", "jaxlib"))
header = ["check", "metric", "value", "cpu_value", "ratio_to_cpu", "cpu_machine", "machine", "data",
          "versions"]
table = []
for name, metric, value in rows:
    ref = reference.get((name, metric))
    ratio = "" if ref is None else f"{value / float(ref['value']):.3g}"
    table.append([name, metric, f"{value:.4g}", ref["value"] if ref else "", ratio,
                  ref["machine"] if ref else "", machine, data_kind, versions])
temporary = out.with_suffix(".tmp")
with open(temporary, "w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow(header)
    writer.writerows(table)
os.replace(temporary, out)
print(f"\nmachine: {machine}\nversions: {versions}\ndata: {data_kind}\n")
widths = [max(len(row[i]) for row in [header[:5], *(r[:5] for r in table)]) for i in range(5)]
for row in [header[:5], *(r[:5] for r in table)]:
    print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
print(f"\nwrote {out}")
PY
touch "$work/done"
