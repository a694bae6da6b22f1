#!/usr/bin/env bash
# How well off-the-shelf OCR (tesseract, Debian's tesseract-ocr) reads our
# captchas: renders 100 with the release build and counts exact reads.
# A measurement, not a test: `scripts/ocr.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v tesseract >/dev/null || { echo "needs tesseract (apt-get install tesseract-ocr)"; exit 2; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
CAPTCHA_SAMPLES_DIR="$dir" BENCH_N=1 cargo bench -q -p domain --bench captcha >/dev/null
total=0 exact=0 chars=0
for f in "$dir"/*.png; do
  answer="$(basename "$f" .png)"; answer="${answer#*-}"
  for psm in 7 8; do
    read_="$(tesseract "$f" - --psm "$psm" -c tessedit_char_whitelist=ACDEFHJKMNPRTUVWXY349 2>/dev/null | tr -d '[:space:]')"
    [ "$read_" = "$answer" ] && { exact=$((exact + 1)); break; }
  done
  total=$((total + 1))
done
echo "tesseract read $exact of $total captchas exactly (page modes 7 and 8, alphabet whitelisted)"
