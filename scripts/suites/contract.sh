#!/usr/bin/env bash
# Contract test: schemathesis generates requests from openapi.yaml against the
# dev server and checks that no response is a 5xx and every response conforms
# to the spec (status, content type, body schema, headers). Hooks
# (scripts/suites/contract_hooks.py) fill each valid case with what only the service
# can give — a live captcha, a code from the outbox, a session, an API key — so
# every operation is seen accepting requests as well as refusing them; any
# warning fails the run (scripts/suites/schemathesis.toml). It runs on the embedded store,
# and on DynamoDB Local when VERICODE_TEST_DYNAMODB is set (scripts/test.sh
# sets it; with CI=true it must be).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/lib/cache.sh
source scripts/lib/cache.sh

cargo build --quiet -p devserver
# Every request and JSON response in openapi.yaml has an example, and each
# example is valid against its schema.
"$VENV/bin/python" scripts/suites/check-openapi.py

json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

against() { # memory | dynamodb
  local store="$1" port base log server
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  base="http://127.0.0.1:$port"
  log="$(mktemp)"
  echo "-- contract on the $store store"
  # One client makes every request: the per-IP limits are lifted.
  STORE="$store" PORT="$port" TABLE_NAME="contract-$port-$RANDOM" \
    IP_WINDOW_MAX=100000 VERIFY_FAIL_MAX=1000 \
    AWS_ENDPOINT_URL_DYNAMODB="${VERICODE_TEST_DYNAMODB:-}" target/debug/devserver >"$log" 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' RETURN
  for _ in $(seq 1 100); do curl -s -o /dev/null "$base/openapi.yaml" && break; sleep 0.1; done

  captcha() {
    local id answer
    id="$(curl -s -X POST "$base/v1/captchas" | json "['captcha_id']")"
    answer="$(curl -s "$base/_dev/captchas/$id" | json "['answer']")"
    printf '{"id":"%s","answer":"%s"}' "$id" "$answer"
  }
  local email="contract-$port@example.com" code token api_key
  curl -sf -X POST "$base/v1/codes" \
    -d "{\"channel\":\"email\",\"to\":\"$email\",\"purpose\":\"register\",\"captcha\":$(captcha)}" >/dev/null
  code="$(curl -s "$base/_dev/messages?to=$email" | json "['messages'][0]['code']")"
  token="$(curl -sf -X POST "$base/v1/accounts" \
    -d "{\"email\":\"$email\",\"password\":\"contract password\",\"code\":\"$code\"}" | json "['token']")"
  api_key="$(curl -sf -X POST "$base/_dev/api-keys" -d '{"name":"contract"}' | json "['api_key']")"

  run() {
    CONTRACT_BASE="$base" CONTRACT_TOKEN="$token" CONTRACT_API_KEY="$api_key" \
      PYTHONPATH=scripts/suites SCHEMATHESIS_HOOKS=contract_hooks \
      "$VENV/bin/schemathesis" --config-file scripts/suites/schemathesis.toml run "$base/openapi.yaml" --url "$base" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
      --max-examples "${CONTRACT_EXAMPLES:-30}" --seed "${CONTRACT_SEED:-1}" "$@" \
      || { echo "contract test failed on the $store store; dev server log:"; tail -n 50 "$log"; return 1; }
  }
  # Every phase: examples, coverage, fuzzing, and the stateful phase over the
  # links. (Log out and the other operations that end a session get a fresh
  # account from the hooks, so the shared session lives through the run.)
  run
  rm -f "$log"
}

against memory
if [ -n "${VERICODE_TEST_DYNAMODB:-}" ]; then
  against dynamodb
elif [ "${CI:-}" = true ]; then
  echo "VERICODE_TEST_DYNAMODB is not set: DynamoDB Local is not running (run scripts/test.sh)"; exit 1
fi
