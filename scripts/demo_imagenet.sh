#!/usr/bin/env bash
# The ImageNet demo: scripts/demo_imagenet.sh [CONFIG] [OUT_DIR] (configs/imagenet.yaml, results/demo-imagenet)
#   EfficientNet-Lite0 with its ImageNet weights (installed with nnvisual, no download):
#   DeconvNet and guided backpropagation projections of scikit-learn's two sample photos
#   (china.jpg, flower.jpg; Zeiler & Fergus 2014, Springenberg et al. 2015), class 284 (Siamese
#   cat) synthesized with lucid's recipe (Olah et al. 2017), and the report of the four runs.
set -euo pipefail
config=${1:-configs/imagenet.yaml}
out=${2:-results/demo-imagenet}
mkdir -p "$out"
started=$SECONDS
photos=$(python -c 'import pathlib, sklearn.datasets; print(pathlib.Path(sklearn.datasets.__file__).parent / "images")')

# run NAME ARGS...: nnvisual ARGS into $out/NAME, timed
run() {
  local name=$1 t0=$SECONDS; shift
  echo "== $name: nnvisual $*"
  nnvisual "$@" --config "$config" --out "$out/$name" --force
  echo "== $name: $((SECONDS - t0)) s"
}

run deconv-china deconv --image "$photos/china.jpg" --method deconvnet
run guided-china deconv --image "$photos/china.jpg" --method guided
run guided-flower deconv --image "$photos/flower.jpg" --method guided
run maximize-284 maximize
nnvisual report "$out"/deconv-china "$out"/guided-china "$out"/guided-flower "$out"/maximize-284 \
  --out "$out/report" --force
echo "== demo-imagenet: $((SECONDS - started)) s in all; report: $out/report/index.html"
