#!/usr/bin/env bash
# Regenerates the examples in this folder: a simulated Wirral (344), a warm-up year and two years of history,
# its pack and exception report (HTML, Word), a full-page PNG of each HTML page from headless Chromium, and a
# dip sample of the last red quarter. Run from the repository root: bash docs/examples/pack/regenerate.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
HERE=docs/examples/pack
PY="${PYTHON:-.venv/bin/python}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export FRONTDOOR_PROFILE=dev  # synthetic children only
"$PY" -m services.cli simulate --council 344 --years 2 --seed 7 --start 2024-04-01 --out "$WORK/history.jsonl"
"$PY" -m services.cli pack --la-code 344 --events "$WORK/history.jsonl" --from 2024-04 --to 2026-03 \
  --out "$WORK/out" --rules "$HERE/rules.toml" --exception --seed 20260331 --user performance.officer
"$PY" -m services.cli dip-sample --la-code 344 --events "$WORK/history.jsonl" --quarter 2026-Q1 --size 21 \
  --by closing-team --seed 20260331 --out "$WORK/out" --user performance.officer
for page in pack-344-2024-04-to-2026-03 exception-344-rereferral-2026-Q1; do
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1150,14000 \
    --screenshot="$WORK/$page.png" "file://$WORK/out/$page.html"
  # Trim the window's empty bottom: the page is shorter than the window.
  "$PY" -c "
import sys
from PIL import Image, ImageChops
image = Image.open(sys.argv[1]).convert('RGB')
box = ImageChops.difference(image, Image.new('RGB', image.size, (255, 255, 255))).getbbox()
image.crop((0, 0, image.size[0], min(image.size[1], box[3] + 30))).save(sys.argv[2], optimize=True)
" "$WORK/$page.png" "$HERE/$page.png"
done
cp "$WORK"/out/*.html "$WORK"/out/*.docx "$WORK"/out/dip-sample-* "$HERE/"
