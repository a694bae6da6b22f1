"""Cold start of each function binary under a local Lambda Runtime API.

`python scripts/bench/lambda_init.py BIN_DIR FUNCTION...` starts each function's
release binary against a small Runtime API served here (the interface the
Lambda service gives a `provided.al2023` function), with DynamoDB Local as
its table (`VERICODE_TEST_DYNAMODB`) and moto as SES/SNS
(`VERICODE_TEST_AWS`). It measures:

- init: from starting the process to its first "next invocation" request,
  which is what Lambda bills as the init phase of a custom runtime;
- first: the first invocation (its sample event from `events/`), from handing
  it over to the function's response;
- peak RSS: the process's high-water mark (VmHWM) after that invocation.

Each function starts RUNS times; the table shows the median init and first
invocation and the largest peak RSS. Prints one row per function.

With `LAMBDA_RUNNER` set (e.g. `qemu-aarch64-static -L /` for arm64 binaries
on an x86_64 machine with Debian's arm64 libc installed; the cross
toolchain's `/usr/aarch64-linux-gnu` holds a different glibc build, and a
binary hangs under it), each binary runs under it once and
the table only says that it started and answered its event: an emulator's
times and memory are not the function's.
"""

import http.server
import json
import os
import shlex
import statistics
import subprocess
import sys
import threading
import time
import uuid

import boto3

RUNS = int(os.environ.get("INIT_RUNS", "5"))
RUNNER = shlex.split(os.environ.get("LAMBDA_RUNNER", ""))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Runtime(http.server.BaseHTTPRequestHandler):
    """One invocation: hands out `event`, records when things happened."""

    def log_message(self, *_):
        pass

    def do_GET(self):
        rig = self.server.rig
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        if rig["next_at"] is None:
            rig["next_at"] = time.perf_counter()
            body = json.dumps(rig["event"]).encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", rig["request_id"])
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
            self.send_header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:000000000000:function:bench",
            )
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        # The second "next": the invocation is over; hold it until killed.
        rig["done"].wait(10)
        self.send_error(503)

    def do_POST(self):
        rig = self.server.rig
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length)
        rig["answered_at"] = time.perf_counter()
        rig["outcome"] = "error" if "/error" in self.path else "ok"
        rig["payload"] = payload[:300]
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        rig["answered"].set()


class QuietServer(http.server.ThreadingHTTPServer):
    """The held second "next" ends with the process: no traceback for that."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def event_for(function):
    names = sorted(f for f in os.listdir(os.path.join(ROOT, "events")) if f.startswith(function + "."))
    preferred = [n for n in names if ".default." in n or ".email." in n or ".code." in n or ".bounce." in n]
    with open(os.path.join(ROOT, "events", (preferred or names)[0])) as f:
        return json.load(f)


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def cold_start(binary, function, env):
    rig = {
        "event": event_for(function),
        "request_id": str(uuid.uuid4()),
        "next_at": None,
        "answered_at": None,
        "answered": threading.Event(),
        "done": threading.Event(),
        "outcome": None,
    }
    server = QuietServer(("127.0.0.1", 0), Runtime)
    server.rig = rig
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
               AWS_LAMBDA_FUNCTION_NAME=function)
    started = time.perf_counter()
    proc = subprocess.Popen([*RUNNER, binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not rig["answered"].wait(20):
            err = proc.stderr.read1(2000).decode(errors="replace") if proc.poll() is not None else ""
            raise RuntimeError(f"{function}: no answer within 20 s {err}")
        rss = peak_rss_kib(proc.pid)
    finally:
        rig["done"].set()
        proc.kill()
        proc.wait()
        server.shutdown()
    if rig["outcome"] != "ok":
        raise RuntimeError(f"{function}: the invocation failed: {rig['payload']!r}")
    return (rig["next_at"] - started) * 1e3, (rig["answered_at"] - rig["next_at"]) * 1e3, rss


def main():
    bin_dir, functions = sys.argv[1], sys.argv[2:]
    table = f"bench-{uuid.uuid4()}"
    dynamodb = os.environ["VERICODE_TEST_DYNAMODB"]
    boto3.client("dynamodb", endpoint_url=dynamodb, region_name="us-east-1").create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": os.environ.get("VERICODE_TEST_AWS", "http://127.0.0.1:1"),
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "TABLE_NAME": table,
        "EMAIL_FROM": "no-reply@example.com",
        "JWT_SIGNING_KEY": "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
        "CODE_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "RUST_LOG": "warn",
    }
    if RUNNER:
        print(f"under {' '.join(RUNNER)}: each function starts and answers its sample event")
        for function in functions:
            cold_start(os.path.join(bin_dir, function), function, env)
            print(f"{function:<22} ok")
        return
    print(f"cold start under a local Runtime API, {RUNS} runs each (median; RSS: largest)")
    print(f"{'function':<22} {'init ms':>8} {'first ms':>9} {'peak RSS MiB':>13}")
    for function in functions:
        runs = [cold_start(os.path.join(bin_dir, function), function, env) for _ in range(RUNS)]
        init = statistics.median(r[0] for r in runs)
        first = statistics.median(r[1] for r in runs)
        rss = max(r[2] for r in runs) / 1024
        print(f"{function:<22} {init:>8.1f} {first:>9.1f} {rss:>13.1f}")


if __name__ == "__main__":
    main()
