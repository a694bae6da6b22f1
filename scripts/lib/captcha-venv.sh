# Sourced by scripts/bench/ocr.sh and scripts/bench/bench-captcha.sh: a venv (created
# when missing) with the captcha solvers and Python's `captcha` package, at
# pinned versions. Sets OCR_VENV.
# shellcheck source=scripts/lib/cache.sh
source scripts/lib/cache.sh
OCR_VENV="$CACHE/ocr-venv"
if ! "$OCR_VENV/bin/python" -c 'import ddddocr, rapidocr_onnxruntime, captcha, PIL' >/dev/null 2>&1; then
  echo "installing ddddocr, rapidocr-onnxruntime, captcha and Pillow in $OCR_VENV" >&2
  python3 -m venv "$OCR_VENV"
  "$OCR_VENV/bin/pip" install --quiet --disable-pip-version-check \
    ddddocr==1.6.1 rapidocr-onnxruntime==1.4.4 captcha==0.7.1 pillow==11.3.0
fi
