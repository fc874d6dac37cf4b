"""Chat turns against a bare Django view, served by one gunicorn, side by side.

Serves the app with gunicorn (sync workers) on PostgreSQL and Redis, then
alternates rounds of ``GET /api/ping`` (no auth, no database, no cache) and
``POST /api/{user_id}/chat`` (a continuing turn on the local backend, warm
cache) at the same concurrency, and prints requests per second and p50/p95
for both, and their ratios. Each client thread owns one conversation, so no
turn waits on another's claim.

    DATABASE_URL=postgres://... REDIS_URL=redis://... \\
        .venv/bin/python bench/chat_vs_bare.py --workers 2 --requests 400

gunicorn is pinned to one core and the load generator to the other (when the
machine has two); PostgreSQL and Redis run where the OS puts them.
"""

import argparse
import base64
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
USERNAME = "bench"
PASSWORD = "bench-Password-4821"
START_SECONDS = 30.0
PHASE_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, body=None, token=None):
    """Send one request on a new connection; return (status, parsed body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body) if body is not None else None
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


class Phase:
    """Latencies and errors of one endpoint, over all rounds."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.errors = 0
        self.seconds = 0.0

    def run(self, threads: int, per_thread: int, call) -> None:
        lock = threading.Lock()

        def worker(index: int) -> None:
            mine, errors = [], 0
            deadline = time.monotonic() + PHASE_SECONDS
            for _ in range(per_thread):
                if time.monotonic() > deadline:
                    break
                started = time.perf_counter()
                status = call(index)
                mine.append(time.perf_counter() - started)
                errors += status != 200
            with lock:
                self.latencies.extend(mine)
                self.errors += errors

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        started = time.perf_counter()
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        self.seconds += time.perf_counter() - started

    def summary(self) -> dict[str, float]:
        return {
            "requests": len(self.latencies),
            "errors": self.errors,
            "rps": len(self.latencies) / self.seconds,
            "p50_ms": percentile(self.latencies, 50) * 1000,
            "p95_ms": percentile(self.latencies, 95) * 1000,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--requests", type=int, default=400, help="per endpoint")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL", "").startswith("postgres")):
        sys.exit("Set DATABASE_URL to PostgreSQL and REDIS_URL to Redis.")
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL to Redis.")

    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SECURE_SSL_REDIRECT": "false",
        "CHAT_BACKEND": "local",
        "LOG_LEVEL": "WARNING",
        "CHAT_USER_PASSWORD": PASSWORD,
        # One user sends every turn: the per-user limits would measure the
        # throttle, not the turn.
        "THROTTLE_CHAT_RATE": "none",
        "THROTTLE_USER_RATE": "none",
    }
    manage = [PYTHON, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    subprocess.run(
        [*manage, "create_chat_user", USERNAME],
        cwd=ROOT,
        env=env,
        capture_output=True,  # "already exists" on a second run is fine
    )

    cores = sorted(os.sched_getaffinity(0))
    server_cores = cores[-1:] if len(cores) > 1 else cores
    client_cores = cores[:-1] if len(cores) > 1 else cores
    port = free_port()
    gunicorn = subprocess.Popen(
        [
            "taskset", "-c", ",".join(map(str, server_cores)),
            PYTHON, "-m", "gunicorn", "chatbot.wsgi:application",
            "--workers", str(args.workers),
            "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    os.sched_setaffinity(0, client_cores)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if request(port, "GET", "/api/ping")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit("gunicorn did not start")
            time.sleep(0.2)

        _, tokens = request(
            port, "POST", "/api/token/", {"username": USERNAME, "password": PASSWORD}
        )
        token = tokens["access"]
        claims = base64.urlsafe_b64decode(token.split(".")[1] + "==")
        user_id = json.loads(claims)["user_id"]
        chat_path = f"/api/{user_id}/chat"
        conversations = []
        for i in range(args.threads):
            status, body = request(
                port, "POST", chat_path, {"message": f"bench thread {i}"}, token
            )
            assert status == 200, body
            conversations.append(body["conversation_id"])

        def bare(index: int) -> int:
            return request(port, "GET", "/api/ping")[0]

        def turn(index: int) -> int:
            body = {"message": "how fast?", "conversation_id": conversations[index]}
            return request(port, "POST", chat_path, body, token)[0]

        phases = {"bare": Phase("GET /api/ping"), "chat": Phase(f"POST {chat_path}")}
        per_thread = max(1, args.requests // args.rounds // args.threads)
        # Warm both paths (imports, pools, cache) before measuring.
        warm = Phase("warm")
        warm.run(args.threads, 5, bare)
        warm.run(args.threads, 5, turn)
        for _ in range(args.rounds):
            phases["bare"].run(args.threads, per_thread, bare)
            phases["chat"].run(args.threads, per_thread, turn)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)

    print(
        f"gunicorn: {args.workers} sync workers on core(s) {server_cores}; "
        f"load generator: {args.threads} threads on core(s) {client_cores}; "
        "PostgreSQL and Redis unpinned"
    )
    print(f"{args.rounds} alternating rounds, {per_thread} requests per thread each")
    results = {name: phase.summary() for name, phase in phases.items()}
    for name, phase in phases.items():
        r = results[name]
        print(
            f"{name:5} {phase.name:28} {r['requests']:5d} req  {r['errors']} errors  "
            f"{r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.2f} ms  "
            f"p95 {r['p95_ms']:7.2f} ms"
        )
    bare_r, chat_r = results["bare"], results["chat"]
    if bare_r["errors"] or chat_r["errors"]:
        # Refused requests are fast: a ratio over them would flatter the turn.
        sys.exit("errors above: no ratio reported")
    print(
        "chat/bare: throughput "
        f"{chat_r['rps'] / bare_r['rps']:.2f}x, p50 "
        f"{chat_r['p50_ms'] / bare_r['p50_ms']:.2f}x, p95 "
        f"{chat_r['p95_ms'] / bare_r['p95_ms']:.2f}x; chat turn cost over bare: "
        f"p50 +{chat_r['p50_ms'] - bare_r['p50_ms']:.2f} ms"
    )


if __name__ == "__main__":
    main()
