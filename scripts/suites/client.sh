#!/usr/bin/env bash
# The TypeScript client's tests: checks src/schema.d.ts is what
# openapi-typescript makes of openapi.yaml today, compiles the client and its
# tests (tsc, strict, with compile-time type checks), and runs them in Node
# against a dev server on a free port.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
client=clients/typescript

(cd "$client" && npm ci --silent --no-audit --no-fund >/dev/null)
fresh="$(mktemp --suffix=.d.ts)"
(cd "$client" && npx --no-install openapi-typescript ../../openapi.yaml -o "$fresh" >/dev/null 2>&1)
if ! diff -q "$fresh" "$client/src/schema.d.ts" >/dev/null; then
  echo "clients/typescript/src/schema.d.ts is stale: run (cd $client && npm run generate)"
  rm -f "$fresh"; exit 1
fi
rm -f "$fresh"

# shellcheck source=devserver-bg.sh
source scripts/lib/devserver-bg.sh

(cd "$client" && npx --no-install tsc -p . && VERICODE_URL="$base" node --test dist/test/) \
  || { echo "client tests failed; dev server log:"; tail -n 40 "$log"; exit 1; }
