#!/usr/bin/env bash
# Captcha render + PNG encode, Vericode's renderer (release build) against
# Python's `captcha` package (ImageCaptcha, the library a Python user would
# reach for) at the same size, 240x80, in one run: median and p95 of each,
# PNG sizes, and the ratio of the medians. Absolute times drift on a shared
# machine; the ratio is the figure to read. `scripts/bench/bench-captcha.sh [N]`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib/captcha-venv.sh
source scripts/lib/captcha-venv.sh
n="${1:-1000}"
cargo bench -q -p domain --bench captcha --no-run 2>/dev/null
rust="$(BENCH_N="$n" cargo bench -q -p domain --bench captcha 2>/dev/null)"
python="$("$OCR_VENV/bin/python" - "$n" <<'PY'
import statistics, sys, time
from captcha.image import ImageCaptcha
n = int(sys.argv[1])
generator = ImageCaptcha(width=240, height=80)
times, sizes = [], []
for i in range(n + 20):
    t = time.perf_counter()
    png = generator.generate("AC3XY")
    elapsed = (time.perf_counter() - t) * 1e3
    if i >= 20:  # warm-up
        times.append(elapsed)
        sizes.append(len(png.getvalue()))
times.sort()
print(f"{statistics.median(times):.3f} {times[int(0.95 * (n - 1))]:.3f} {sum(sizes) // n}")
PY
)"
read -r py_p50 py_p95 py_size <<<"$python"
rs_p50="$(sed -n 's/.*p50=\([0-9.]*\) ms.*/\1/p' <<<"$rust")"
rs_p95="$(sed -n 's/.*p95=\([0-9.]*\) ms.*/\1/p' <<<"$rust")"
rs_size="$(sed -n 's/.*png: mean=\([0-9]*\) B.*/\1/p' <<<"$rust")"
printf '%-28s %9s %9s %9s\n' "captcha, render + PNG (n=$n)" "p50 ms" "p95 ms" "PNG B"
printf '%-28s %9s %9s %9s\n' "Vericode (Rust)" "$rs_p50" "$rs_p95" "$rs_size"
printf '%-28s %9s %9s %9s\n' "Python captcha 0.7.1" "$py_p50" "$py_p95" "$py_size"
python3 -c "import sys; print(f'Vericode is {float(sys.argv[2]) / float(sys.argv[1]):.1f}x faster (p50), goal: at least 5x and at most 0.5 ms')" "$rs_p50" "$py_p50"
