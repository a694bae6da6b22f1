#!/usr/bin/env bash
# Contract test: schemathesis generates requests from openapi.yaml against the
# dev server and checks that no response is a 5xx and every response conforms
# to the spec (status, content type, body schema, headers). It logs in first so
# the authenticated endpoints are exercised too. It runs on the embedded store,
# and on DynamoDB Local when VERICODE_TEST_DYNAMODB is set (scripts/test.sh
# sets it; with CI=true it must be).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${VERICODE_CACHE:-$HOME/.cache/vericode}/venv"

cargo build --quiet -p devserver
# Every request and JSON response in openapi.yaml has an example, and each
# example is valid against its schema.
"$VENV/bin/python" scripts/check-openapi.py

json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

against() { # memory | dynamodb
  local store="$1" port base log server
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  base="http://127.0.0.1:$port"
  log="$(mktemp)"
  echo "-- contract on the $store store"
  STORE="$store" PORT="$port" TABLE_NAME="contract-$port-$RANDOM" \
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
  local email="contract-$port@example.com" code token
  curl -sf -X POST "$base/v1/codes" \
    -d "{\"channel\":\"email\",\"to\":\"$email\",\"purpose\":\"register\",\"captcha\":$(captcha)}" >/dev/null
  code="$(curl -s "$base/_dev/outbox?to=$email" | json "['messages'][0]['code']")"
  token="$(curl -sf -X POST "$base/v1/accounts" \
    -d "{\"email\":\"$email\",\"password\":\"contract password\",\"code\":\"$code\"}" | json "['token']")"

  run() {
    "$VENV/bin/schemathesis" run "$base/openapi.yaml" --url "$base" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
      --header "Authorization: Bearer $token" \
      --max-examples "${CONTRACT_EXAMPLES:-30}" --seed "${CONTRACT_SEED:-1}" "$@" \
      || { echo "contract test failed on the $store store; dev server log:"; tail -n 50 "$log"; return 1; }
  }
  # Every phase (examples, coverage, fuzzing, and the stateful phase over the
  # links) on everything but log out first — log out ends the session the
  # rest uses — then log out alone (no links reach it: no stateful phase).
  run --exclude-operation-id logOut
  run --include-operation-id logOut --phases examples,coverage,fuzzing
  rm -f "$log"
}

against memory
if [ -n "${VERICODE_TEST_DYNAMODB:-}" ]; then
  against dynamodb
elif [ "${CI:-}" = true ]; then
  echo "VERICODE_TEST_DYNAMODB is not set: DynamoDB Local is not running (run scripts/test.sh)"; exit 1
fi
