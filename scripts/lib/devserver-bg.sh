# Sourced by the test scripts: builds the dev server and starts it on a free
# port in the background (embedded store), stopping it when the script exits.
# Sets `base` (http://127.0.0.1:PORT) and `log` (its output).
cargo build --quiet -p devserver
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
log="$(mktemp)"
PORT="$port" target/debug/devserver >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "$base/" && break; sleep 0.1; done
