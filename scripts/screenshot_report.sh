#!/usr/bin/env bash
# Screenshot an `nnvisual report` page in headless Chromium, to check it in a real browser.
#
# Usage:   scripts/screenshot_report.sh REPORT [OUT.png] [WIDTHxHEIGHT]
#   REPORT        a report folder (its index.html is taken) or an HTML file
#   OUT.png       default: REPORT/screenshot.png beside index.html
#   WIDTHxHEIGHT  window size, default 1280x2400 (the page is cut at HEIGHT)
# Example: scripts/screenshot_report.sh results/paper/report
#
# Needs Debian's chromium (`apt-get install chromium`); set CHROMIUM to use another binary.
# Network and background services are switched off, so a page that asked for anything outside
# the file would show it as missing in the screenshot: the report is meant to be self-contained.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 3 ]]; then
    sed -n '4,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
page=$1
[[ -d $page ]] && page=$page/index.html
if [[ ! -f $page ]]; then
    echo "Error: no such report page: $page" >&2
    exit 2
fi
out=${2:-$(dirname "$page")/screenshot.png}
size=${3:-1280x2400}
if [[ ! $size =~ ^[0-9]+x[0-9]+$ ]]; then
    echo "Error: window size must be WIDTHxHEIGHT, e.g. 1280x2400, got $size" >&2
    exit 2
fi
browser=${CHROMIUM:-chromium}
if ! command -v "$browser" >/dev/null; then
    echo "Error: $browser not found; install it with: apt-get install chromium" >&2
    exit 2
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --window-size="${size/x/,}" \
    --screenshot="$(realpath -m "$out")" "file://$(realpath "$page")" >/dev/null 2>&1
if [[ ! -s $out ]]; then
    echo "Error: chromium wrote no screenshot to $out" >&2
    exit 1
fi
echo "wrote $out"
