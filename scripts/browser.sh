#!/usr/bin/env bash
# Browser test: the dev server's playground in headless Chromium (Debian's
# chromium, driven by playwright-core), clicked through every flow —
# register, log in by password and by code, bind, step-up, change and reset
# the password, a login link on /login, an invite, delete — in English and
# Chinese. Screenshots go to target/playground-*.png and target/login-*.png.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NODE_DIR="${VERICODE_CACHE:-$HOME/.cache/vericode}/node"

cargo build --quiet -p devserver
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="$(mktemp)"
PORT="$port" target/debug/devserver >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

mkdir -p target
VERICODE_NODE_MODULES="$NODE_DIR/node_modules" node tests/browser/playground.mjs \
  "http://127.0.0.1:$port" "$PWD/target" \
  || { echo "browser test failed; dev server log:"; tail -n 40 "$log"; exit 1; }
