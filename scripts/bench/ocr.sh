#!/usr/bin/env bash
# How well off-the-shelf solvers read our captchas: renders 200 fresh ones
# with the release build and runs tesseract and two pretrained ML captcha
# solvers from PyPI (ddddocr, both its models, and RapidOCR) over them,
# printing per solver the share read whole and the share of characters. As a
# control, the same solvers read 200 captchas from Python's `captcha` package
# at the same size. Writes docs/captcha-samples.png, a contact sheet of 24
# fresh captchas with their answers. A measurement, not a test:
# `scripts/bench/ocr.sh` (about 8 minutes here). Installs what it needs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if ! command -v tesseract >/dev/null; then
  echo "installing tesseract-ocr" >&2
  apt-get install -y -q tesseract-ocr >/dev/null
fi
# shellcheck source=scripts/lib/captcha-venv.sh
source scripts/lib/captcha-venv.sh
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/vericode" "$dir/python"
CAPTCHA_SAMPLES_DIR="$dir/vericode" CAPTCHA_SAMPLES="${OCR_N:-200}" BENCH_N=1 \
  cargo bench -q -p domain --bench captcha >/dev/null
"$OCR_VENV/bin/python" scripts/bench/ocr.py --control "$dir/python" --count "${OCR_N:-200}" \
  --sheet docs/captcha-samples.png "$dir/vericode" 2>&1 | grep -v '^\['
