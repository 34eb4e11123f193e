#!/usr/bin/env bash
# The atlas demo: scripts/atlas_demo.sh [OUT_DIR] (results/atlas-demo); docs/atlas.md.
#   1. plotka trained briefly on CIFAR-10 (10 epochs on a 6,000-image subset), then its atlas:
#      every channel of its six convolutions, examples from 2,000 test images;
#   2. EfficientNet-Lite0 (ImageNet weights installed with nnvisual, no download): an atlas of
#      two layers (block6a_expand_relu6; head_relu6, which feeds the logits through global
#      pooling), their first 8 channels, examples from 200 CIFAR-10 test images at its input size,
#      and the 10 classes those channels feed most.
#   The data: --data's default, $NNVISUAL_DATA, else cifar10 (Keras' download).
set -euo pipefail
out=${1:-results/atlas-demo}
mkdir -p "$out"
started=$SECONDS

# run NAME ARGS...: nnvisual ARGS into $out/NAME, timed
run() {
  local name=$1 t0=$SECONDS; shift
  echo "== $name: nnvisual $*"
  nnvisual "$@" --out "$out/$name" --force
  echo "== $name: $((SECONDS - t0)) s"
}

run plotka-train train --model plotka --epochs 10 --subset 6000 --batch-size 128 --seed 0
run plotka atlas --model "$out/plotka-train" --steps 128 --scan-images 2000 \
  --transforms pad=2,jitter=2,scale=0.95:1.05,rotate=5
run lite0 atlas --model efficientnet-lite0 --layers block6a_expand_relu6,head_relu6 \
  --channels 8 --block 8 --steps 64 --scan-images 200 --classes 10
echo "== atlas-demo: $((SECONDS - started)) s in all; open $out/plotka/index.html and $out/lite0/index.html"
