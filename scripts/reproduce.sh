#!/usr/bin/env bash
# Reproduce the study end to end: scripts/reproduce.sh CONFIG OUT_DIR
#   train plotka (Table 1, Figure 2) and its 1000-way variant (for ImageNet class 284),
#   deconv on VGG16 (Figure 3; skipped when its ImageNet weights cannot be had) and on plotka
#   (Figure 4), maximize class 284 with retraining on CIFAR-10 cats (Figure 5, n = 10 tries),
#   score-bow of those reconstructions (Figure 6, Table 3) with the consistent scoring and
#   with the study's own under both its idf formulas (--weighting study-2019, docs/table3.md),
#   and the report, which sets Table 3 three ways side by side: published, the study's
#   scoring, consistent.
# A step whose run folder is complete and whose key (command line + config file + the
# manifests of the runs it reads) is unchanged is reused; an interrupted training resumes.
# Data: --data is not passed; set NNVISUAL_DATA for the offline CIFAR-10 copy.
set -euo pipefail
config=${1:?usage: reproduce.sh CONFIG OUT_DIR}
out=${2:?usage: reproduce.sh CONFIG OUT_DIR}
mkdir -p "$out"
started=$SECONDS

status() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("status", ""))' "$1/manifest.json" 2>/dev/null || true; }

# step NAME INPUT_RUNS -- nnvisual ARGS...: run (or reuse) one step into $out/NAME
step() {
  local name=$1 inputs=$2; shift 3
  local dir="$out/$name"
  local key
  key=$( { printf '%s\n' "$*"; cat "$config"; for run in $inputs; do cat "$out/$run/manifest.json"; done; } | sha256sum | cut -c1-16)
  if [ "$(status "$dir")" = complete ] && [ "$(cat "$dir.key" 2>/dev/null)" = "$key" ]; then
    echo "== $name: reused (complete, unchanged)"
    return
  fi
  local t0=$SECONDS
  if [ "$(status "$dir")" = interrupted ] && [ "$1" = train ] && [ "$(cat "$dir.key.partial" 2>/dev/null)" = "$key" ]; then
    echo "== $name: resuming"
    nnvisual train --resume "$dir" || return 1
    mv "$dir.key.partial" "$dir.key"
  else
    echo "== $name: nnvisual $*"
    echo "$key" > "$dir.key.partial"
    nnvisual "$@" --out "$dir" --force || return 1
    mv "$dir.key.partial" "$dir.key"
  fi
  echo "== $name: $((SECONDS - t0)) s"
}

step train-plotka "" -- train --config "$config" --model plotka
step train-plotka-1000 "" -- train --config "$config" --model plotka --num-classes 1000

# Figure 3 needs VGG16's ImageNet weights; offline (and with no Keras cache) they cannot be had.
if ! step deconv-vgg16 "" -- deconv --config "$config" --model vgg16 --weights imagenet 2> "$out/deconv-vgg16.err"; then
  if grep -q "weights could not be downloaded" "$out/deconv-vgg16.err"; then
    echo "== deconv-vgg16: skipped: VGG16 ImageNet weights could not be downloaded (no network?)"
    rm -f "$out/deconv-vgg16.err" "$out/deconv-vgg16.key.partial"
  else
    cat "$out/deconv-vgg16.err" >&2
    exit 1
  fi
fi

cat_image=()
if [ -n "${NNVISUAL_DATA:-}" ] && [ -d "$NNVISUAL_DATA/test/cat" ]; then
  cats=("$NNVISUAL_DATA"/test/cat/*)
  cat_image=(--image "${cats[0]}")
fi
step deconv-plotka "train-plotka" -- deconv --config "$config" --model "$out/train-plotka" "${cat_image[@]}"
step maximize-284 "train-plotka-1000" -- maximize --config "$config" --model "$out/train-plotka-1000" \
  --class 284 -n 10 --retrain-on cifar10:cat
step score-bow-284 "maximize-284" -- score-bow --config "$config" --reconstructions "$out/maximize-284" \
  --class-images cifar10:cat
# the study's scoring, against 11 cats as the study's 11 photos (its idf needs that small N)
for idf in before after; do  # the query idf log(N/df) or log(N/(df+1)) (docs/table3.md)
  step "score-bow-284-study2019-$idf" "maximize-284" -- score-bow --config "$config" \
    --reconstructions "$out/maximize-284" --class-images cifar10:cat --class-count 11 \
    --weighting study-2019 --study-idf "$idf"
done

reports=()
for dir in "$out"/*/; do [ -f "$dir/manifest.json" ] && reports+=("${dir%/}"); done
nnvisual report "${reports[@]}" --out "$out/report" --force
echo
awk '/^\*\*Table 3 three ways/,/^The published/' "$out/report/report.md"  # Table 3 and why
echo
echo "== reproduce: $((SECONDS - started)) s in all; report: $out/report/index.html"
