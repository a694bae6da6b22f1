#!/usr/bin/env bash
# Browser test: the dev server's playground in headless Chromium (Debian's
# chromium, driven by playwright-core), clicked through every flow —
# register, log in by password and by code, bind, step-up, change and reset
# the password, a login link on /login, an invite, an authenticator app
# (enrol, confirm, the second step by app code and by recovery code, on the
# playground and on /login, removal), delete — in English and Chinese. Screenshots go to target/playground-*.png and target/login-*.png.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib/cache.sh
source scripts/lib/cache.sh

# shellcheck source=devserver-bg.sh
source scripts/lib/devserver-bg.sh

mkdir -p target
VERICODE_NODE_MODULES="$NODE_MODULES" node tests/browser/playground.mjs \
  "$base" "$PWD/target" \
  || { echo "browser test failed; dev server log:"; tail -n 40 "$log"; exit 1; }
