#!/usr/bin/env bash
# Times POST /v1/codes for addresses with and without an account on
# DynamoDB Local (N each, interleaved, per purpose) and tests whether the
# two can be told apart (Welch's t-test p > 0.01, median gap < 0.3 ms).
# Usage: scripts/bench/bench-send.sh [N]   (default 200)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

scripts/stack.sh start
# shellcheck source=/dev/null
source .stack/env
trap 'scripts/stack.sh stop 2>/dev/null' EXIT
cargo run --quiet --profile bench -p vericode-tests --example send_timing -- "${1:-200}"
