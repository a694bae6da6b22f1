#!/usr/bin/env bash
# Runs every test: installs (when missing) and starts DynamoDB Local and the
# SES/SNS stand-in on 127.0.0.1, runs the whole workspace's tests against
# them, and stops them again, also when a test fails.
# Extra arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/stack.sh start
# shellcheck source=/dev/null
source .stack/env

log="$(mktemp)"
trap 'scripts/stack.sh stop 2>/dev/null; rm -f "$log"' EXIT
status=0
cargo test --workspace "$@" 2>&1 | tee "$log" || status=$?

# The contract (schemathesis against openapi.yaml), the playground in a
# browser and the TypeScript client against a dev server, each counted as
# one test.
extra_passed=0 extra_failed=0
for suite in contract browser client; do
  echo "== $suite"
  if "scripts/suites/$suite.sh"; then
    extra_passed=$((extra_passed + 1))
  else
    extra_failed=$((extra_failed + 1)); status=1
  fi
done

# One closing line with the totals over every test binary and suite.
awk -v ep="$extra_passed" -v ef="$extra_failed" \
  '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p + ep, f + ef, i }' "$log"
exit "$status"
