#!/usr/bin/env bash
# Vericode's performance figures in one run (how to read them:
# docs/performance.md):
#   1. store round trips per request (the test that holds the budgets);
#   2. p50/p99 latency per request on DynamoDB Local at concurrency 1 and 16;
#   3. captcha render + encode against Python's `captcha`, as a ratio;
#   4. release binary sizes (stripped), x86_64 and arm64 (installing the
#      arm64 target, or Debian's, when it can);
#   5. cold start per function: init time, first invocation, peak RSS.
# Usage: scripts/bench/bench.sh [N]   (N requests per latency cell, default 200)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
n="${1:-200}"

scripts/stack.sh start
# shellcheck source=/dev/null
source .stack/env
trap 'scripts/stack.sh stop 2>/dev/null' EXIT

functions=()
for dir in functions/*/; do functions+=("$(basename "$dir")"); done

echo "== 1. store round trips per request (sequential; goal in brackets)"
cargo test -q -p vericode-tests --test round_trips -- --nocapture --test-threads 1 2>&1 |
  grep -oE '(Dynamo|Memory)$|^[a-z].*: [0-9]+ \(goal [0-9]+\)$' | sed 's/^/  /'

echo "== 2. latency"
cargo run -q --profile bench -p vericode-tests --example request_latency -- "$n" | sed 's/^/  /'

echo "== 3. captcha"
scripts/bench/bench-captcha.sh | sed 's/^/  /'
echo "  phone numbers, first use per country (goal: at most 5 ms extra):"
cargo bench -q -p domain --bench phone 2>/dev/null | sed 's/^/  /'

echo "== 4. release binaries (stripped; goal: at most 6 MiB)"
packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done
cargo build -q --release "${packages[@]}"
size_table() {
  local dir="$1" arch="$2"
  for f in "${functions[@]}"; do
    bytes=$(stat -c %s "$dir/$f")
    awk -v f="$f" -v a="$arch" -v b="$bytes" \
      'BEGIN { m = b / 1048576; printf "  %-22s %-8s %6.2f MiB %s\n", f, a, m, (m <= 6 ? "" : "over") }'
  done
}
size_table target/release x86_64
# arm64 (what template.yaml deploys): rustup's aarch64 std where it can be
# installed, else Debian's Rust (rustc-web) with its arm64 std. The two
# compilers differ in version, so the table says which one built it.
arm64_env=()
if ! rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || scripts/setup/arm64-toolchain.sh >/dev/null 2>&1 || true
fi
if rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu; then
  arm64_cargo=cargo arm64_rustc=rustc
elif [[ -d /usr/lib/rustlib/aarch64-unknown-linux-gnu && -x /usr/bin/cargo ]]; then
  arm64_cargo=/usr/bin/cargo arm64_rustc=/usr/bin/rustc
  arm64_env=(RUSTC=/usr/bin/rustc CARGO_TARGET_DIR=target/debian-rust)
fi
if [[ -n "${arm64_cargo:-}" ]] && command -v aarch64-linux-gnu-gcc >/dev/null; then
  dir=target/aarch64-unknown-linux-gnu/release
  [[ ${#arm64_env[@]} -gt 0 ]] && dir=target/debian-rust/aarch64-unknown-linux-gnu/release
  env "${arm64_env[@]}" \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
    AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
    "$arm64_cargo" build -q --release --target aarch64-unknown-linux-gnu "${packages[@]}"
  echo "  arm64 built by $("$arm64_rustc" --version)"
  size_table "$dir" arm64
  arm64_dir="$dir"
else
  echo "  arm64: not measured here (no aarch64 Rust std or linker; see scripts/setup/arm64-toolchain.sh)"
fi

echo "== 5. cold start (goal: init at most 20 ms; peak RSS at most 16 MiB, 32 MiB with argon2)"
python="$(dirname "$(command -v moto_server)")/python"
"$python" scripts/bench/lambda_init.py target/release "${functions[@]}" | sed 's/^/  /'
# The arm64 binaries, run once each under emulation: that they start and
# answer (an emulator's times and memory are not the function's).
if [[ -n "${arm64_dir:-}" ]] && command -v qemu-aarch64-static >/dev/null; then
  LAMBDA_RUNNER="qemu-aarch64-static -L /" "$python" scripts/bench/lambda_init.py "$arm64_dir" "${functions[@]}" |
    sed 's/^/  arm64 /' || echo "  arm64: FAILED under qemu-aarch64-static (above)"
fi
