#!/usr/bin/env bash
# Proof of work, side by side in one run:
#   - the server's cost per challenge issued and per check (p50 µs), Vericode
#     (release build) against altcha-lib 2.x in Node (the library a Node user
#     would pick), at the same cost and counter range;
#   - the solver's cost: native (one core: Rust, and Node's OpenSSL PBKDF2)
#     and the `altcha` widget in headless Chromium on the dev server;
#   - for the image captcha, what a machine reader spends per image
#     (ddddocr's pretrained CNN, CPU ms on one thread).
# Absolute times drift on a shared machine; read the ratios.
# `scripts/bench/bench-pow.sh [N] [WIDGET_RUNS]` (defaults 200 and 20); POW_COST as the service's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
n="${1:-200}" runs="${2:-20}"
scripts/stack.sh install
# shellcheck source=scripts/lib/cache.sh
source scripts/lib/cache.sh
cost="${POW_COST:-$(sed -n 's/^pub const DEFAULT_POW_COST: u32 = \([0-9_]*\);/\1/p' shared/domain/src/config/mod.rs | tr -d _)}"

rust="$(BENCH_N="$n" POW_COST="$cost" cargo bench -q -p domain --bench pow 2>/dev/null)"
echo "$rust"
node="$(VERICODE_NODE_MODULES="$NODE_MODULES" node --input-type=module - "$n" "$cost" <<'JS'
import { createRequire } from "node:module";
const require = createRequire(process.env.VERICODE_NODE_MODULES + "/");
const { createChallenge, randomInt, solveChallenge, verifySolution } = require("altcha-lib");
const { deriveKey } = require("altcha-lib/algorithms/pbkdf2");
const [n, cost] = process.argv.slice(2).map(Number);
const secrets = { hmacSignatureSecret: "a".repeat(64), hmacKeySignatureSecret: "b".repeat(64) };
const issue = [], check = [], solve = [];
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
for (let i = 0; i < n; i++) {
  let t = process.hrtime.bigint();
  const challenge = await createChallenge({ algorithm: "PBKDF2/SHA-256", cost, counter: randomInt(6000, 0),
    deriveKey, expiresAt: Math.floor(Date.now() / 1000) + 600, ...secrets });
  issue.push(ms(t) * 1e3);
  t = process.hrtime.bigint();
  const solution = await solveChallenge({ challenge, deriveKey });
  solve.push(ms(t) / 1e3);
  t = process.hrtime.bigint();
  const result = await verifySolution({ challenge, solution, deriveKey, ...secrets });
  check.push(ms(t) * 1e3);
  if (!result.verified) throw new Error("not verified");
}
const p50 = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
console.log(`${p50(issue).toFixed(1)} ${p50(check).toFixed(1)} ${mean(solve).toFixed(3)}`);
JS
)"
read -r node_issue node_check node_solve <<<"$node"
rs_issue="$(sed -n 's/^pow .*issue p50=\([0-9.]*\) us.*/\1/p' <<<"$rust")"
rs_check="$(sed -n 's/^pow .*check p50=\([0-9.]*\) us.*/\1/p' <<<"$rust")"
rs_solve="$(sed -n 's/^pow .*solve mean=\([0-9.]*\) s.*/\1/p' <<<"$rust")"

# The image captcha's machine solver: ddddocr's pretrained CNN (scripts/bench/ocr.sh's
# best) reading fresh captchas, CPU time per image on one thread.
# shellcheck source=scripts/lib/captcha-venv.sh
source scripts/lib/captcha-venv.sh
samples="$(mktemp -d)"
CAPTCHA_SAMPLES_DIR="$samples" CAPTCHA_SAMPLES=100 BENCH_N=1 \
  cargo bench -q -p domain --bench captcha >/dev/null 2>&1
ocr_ms="$(OMP_NUM_THREADS=1 "$OCR_VENV/bin/python" - "$samples" <<'PY' 2>/dev/null | tail -n 1
import glob, sys, time
import ddddocr
ocr = ddddocr.DdddOcr(show_ad=False)
files = sorted(glob.glob(sys.argv[1] + "/*.png"))
ocr.classification(open(files[0], "rb").read())  # loads the model
t = time.process_time()
for f in files:
    ocr.classification(open(f, "rb").read())
print(f"{(time.process_time() - t) / len(files) * 1e3:.1f}")
PY
)"
rm -rf "$samples"

# The widget in headless Chromium, on the dev server's playground.
# shellcheck source=scripts/lib/devserver-bg.sh
POW_COST="$cost" source scripts/lib/devserver-bg.sh
widget="$(VERICODE_NODE_MODULES="$NODE_MODULES" node --input-type=module - "$base" "$runs" <<'JS'
import { createRequire } from "node:module";
const require = createRequire(process.env.VERICODE_NODE_MODULES + "/");
const { chromium } = require("playwright-core");
const [base, runs] = [process.argv[2], Number(process.argv[3])];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu"] });
const page = await browser.newPage();
await page.goto(base + "/");
await page.selectOption("#captcha-kind", "pow");
const took = [];
for (let i = 0; i < runs + 1; i++) {
  await page.click("#altcha input[type=checkbox]", { force: true });
  await page.waitForFunction(() => document.getElementById("altcha").getState() === "verified", null, { timeout: 60000 });
  const time = await page.evaluate(() => JSON.parse(atob(state.altcha)).solution.time);
  if (i > 0) took.push(time);  // the first one starts the workers
  await page.evaluate(() => { state.altcha = null; document.getElementById("altcha").reset(); });
}
const cores = await page.evaluate(() => navigator.hardwareConcurrency);
await browser.close();
took.sort((a, b) => a - b);
console.log(`${took[Math.floor(took.length / 2)].toFixed(0)} ${took[Math.floor(took.length * 0.95)].toFixed(0)} ${cores}`);
JS
)"
read -r w_p50 w_p95 cores <<<"$widget"

printf '\nproof of work, cost=%s, counter 0-6000 (n=%s)\n' "$cost" "$n"
printf '%-34s %12s %12s %16s\n' "" "issue p50 us" "check p50 us" "solve mean s/1c"
printf '%-34s %12s %12s %16s\n' "Vericode (Rust)" "$rs_issue" "$rs_check" "$rs_solve"
printf '%-34s %12s %12s %16s\n' "altcha-lib $(node -p "require('$NODE_MODULES/altcha-lib/package.json').version") (Node)" "$node_issue" "$node_check" "$node_solve"
python3 -c "import sys; i, c = (float(a) / float(b) for a, b in ((sys.argv[2], sys.argv[1]), (sys.argv[4], sys.argv[3]))); print(f'Vericode is {i:.1f}x (issue) and {c:.1f}x (check) as fast as altcha-lib')" "$rs_issue" "$node_issue" "$rs_check" "$node_check"
printf 'the altcha widget in headless Chromium (%s workers, n=%s): p50 %s ms, p95 %s ms\n' "$cores" "$runs" "$w_p50" "$w_p95"
printf 'an image captcha read by ddddocr: %s ms CPU per image (one thread); its check: %s us\n' \
  "$ocr_ms" "$(sed -n 's/image captcha check p50=\([0-9.]*\) us/\1/p' <<<"$rust")"
