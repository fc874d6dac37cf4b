"""Measure what perfdash costs a request: off, on, and silk at 100%, in one run.

Run with the services a production box would use (the numbers on SQLite say
little)::

    DATABASE_URL=postgres://... REDIS_URL=redis://... \\
        .venv/bin/python bench/perfdash_overhead.py [--seconds 4] [--rounds 5]

Two measurements, each side by side in one run:

1. HTTP throughput: three gunicorn servers (one sync worker each, pinned to
   CPU 1 with taskset) differ only in PERFDASH_ENABLED / SILK_ENABLED; a
   raw-socket load generator pinned to CPU 0 drives each in turn, rounds
   interleaved so drift on the shared machine hits all three alike. Each
   server saturated by 4 connections: throughput = its capacity.
2. In-process time per request: Django's test client calls the same endpoint
   with perfdash on and off (alternating batches, fastest batch kept, as noise
   only ever adds) in this process, without network noise.
3. The measuring parts alone, each timed over many calls: the middleware
   around a view that does nothing, the statement wrapper per statement, the
   cache wrapper per lookup, and the flusher's folding per request (off the
   request path, but on the same CPU). Their sum for the endpoint's counts of
   statements and lookups is the cost perfdash adds to one request.

The endpoint is the chat turn (``POST /api/<id>/chat``, local reply backend)
when the chat app is installed, else the token verify endpoint (DRF, JSON).
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
# Tokens minted here must verify in the servers: one key for all of them.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)

CONFIGS = {
    "perfdash off": {"PERFDASH_ENABLED": "false", "SILK_ENABLED": "false"},
    "perfdash on": {"PERFDASH_ENABLED": "true", "SILK_ENABLED": "false"},
    "silk 100%": {
        "PERFDASH_ENABLED": "true",
        "SILK_ENABLED": "true",
        "SILK_PERCENT": "100",
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(*args: str, extra: dict[str, str] | None = None) -> None:
    env = {**os.environ, **(extra or {})}
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True
    )


def start_server(
    name: str, extra: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, **extra, "LOG_LEVEL": "WARNING", "DEBUG": "false"}
    env["SECURE_SSL_REDIRECT"] = "false"
    command = [
        "taskset", "-c", "1",
        sys.executable, "-m", "gunicorn", "-c", "chatbot/gunicorn.conf.py",
        "--bind", f"127.0.0.1:{port}", "--workers", "1",
        "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env)
    print(f"  {name}: gunicorn pid {process.pid} on 127.0.0.1:{port}, CPU 1")
    return process, port


def raw_request(port: int, payload: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head = b"".join(chunks)[:12]
    return int(head[9:12])


def load(port: int, payload: bytes, seconds: float, connections: int = 4) -> float:
    """Return requests per second answered 2xx over ``seconds``."""
    done = [0] * connections
    failed = [0] * connections
    stop_at = time.perf_counter() + seconds

    def run(slot: int) -> None:
        while time.perf_counter() < stop_at:
            if 200 <= raw_request(port, payload) < 300:
                done[slot] += 1
            else:
                failed[slot] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if sum(failed):
        raise RuntimeError(f"{sum(failed)} requests failed during the bench")
    return sum(done) / (time.perf_counter() - started)


def wait_ready(port: int, payload: bytes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            raw_request(port, payload)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def target(user: Any, token: str) -> tuple[str, str, bytes, str]:
    """Return (label, path, JSON body, bearer token) of the measured endpoint."""
    from django.urls import NoReverseMatch, reverse

    try:
        path = reverse("chat", kwargs={"user_id": user.pk})
    except NoReverseMatch:
        return (
            "token verify",
            "/api/token/verify/",
            f'{{"token":"{token}"}}'.encode(),
            "",
        )
    return "chat turn", path, b'{"message":"How fast is this?"}', token


def http_payload(path: str, body: bytes, bearer: str) -> bytes:
    lines = [
        f"POST {path} HTTP/1.0",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if bearer:
        lines.append(f"Authorization: Bearer {bearer}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def in_process(path: str, body: bytes, bearer: str, rounds: int, batch: int) -> dict:
    """Return median seconds per request with perfdash off and on, in-process."""
    from django.conf import settings
    from django.test import Client, override_settings

    from perfdash import recorder

    headers: dict[str, Any] = (
        {"HTTP_AUTHORIZATION": f"Bearer {bearer}"} if bearer else {}
    )
    results: dict[str, list[float]] = {"perfdash off": [], "perfdash on": []}
    for _ in range(rounds):
        for name, enabled in (("perfdash off", False), ("perfdash on", True)):
            config = {**settings.PERFDASH, "ENABLED": enabled, "FLUSH_SECONDS": 0}
            with override_settings(PERFDASH=config):
                client = Client(HTTP_HOST="127.0.0.1")
                client.post(path, body, content_type="application/json", **headers)
                started = time.perf_counter()
                for _ in range(batch):
                    response = client.post(
                        path, body, content_type="application/json", **headers
                    )
                    assert response.status_code < 300, response.status_code
                elapsed = time.perf_counter() - started
            results[name].append(elapsed / batch)
            recorder.discard()
    return {name: min(values) for name, values in results.items()}


def best_of(func: Any, calls: int, repeat: int = 7) -> float:
    """Return the fastest seconds per call of ``func`` over ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(calls):
            func()
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def parts(statements: int, lookups: int) -> dict[str, float]:
    """Time each measuring part alone; return seconds per unit."""
    from django.conf import settings
    from django.http import HttpResponse
    from django.test import RequestFactory, override_settings

    from perfdash import probes, recorder
    from perfdash.cache import MeasuredCache
    from perfdash.db import measure_statement
    from perfdash.middleware import PerfdashMiddleware

    response = HttpResponse(b"{}")
    request = RequestFactory().post("/api/token/verify/")

    def view(_request: Any) -> HttpResponse:
        return response

    config = {**settings.PERFDASH, "ENABLED": True, "FLUSH_SECONDS": 0}
    with override_settings(PERFDASH=config):
        middleware = PerfdashMiddleware(view)
        bare = best_of(lambda: view(request), 20_000)
        wrapped = best_of(lambda: middleware(request), 20_000)
        recorder.discard()

        def execute(sql: str, params: Any, many: bool, context: Any) -> None:
            return None

        probe, token = probes.start()
        sql = 'SELECT "t"."id" FROM "t" WHERE "t"."id" = %s LIMIT 21'
        plain_sql = best_of(lambda: execute(sql, (1,), False, {}), 50_000)
        measured_sql = best_of(
            lambda: measure_statement(execute, sql, (1,), False, {}), 50_000
        )
        # The wrapper around a local-memory backend: the wrapper's own cost,
        # without a network round trip's noise.
        measured = MeasuredCache(
            "bench",
            {"MEASURED_BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        )
        backend = measured._backend
        backend.set("bench:key", "value")
        plain_get = best_of(lambda: backend.get("bench:key"), 50_000)
        measured_get = best_of(lambda: measured.get("bench:key"), 50_000)
        probes.finish(token)

        # The flusher's fold of one request with the endpoint's counts.
        def one_request() -> probes.RequestProbe:
            sample = probes.RequestProbe()
            for index in range(statements):
                sample.statements[f"{sql} -- {index % 3}"] = [1, 0.0004]
                sample.statement_seconds.append(0.0004)
            sample.db_statements = statements
            sample.cache_hits = lookups
            return sample

        records = [
            (time.time(), "api/<int:user_id>/chat", "POST", 200, 0.004, one_request())
            for _ in range(5000)
        ]
        started = time.perf_counter()
        recorder._fold(records, 5)
        fold = (time.perf_counter() - started) / len(records)
    return {
        "middleware": wrapped - bare,
        "statement": measured_sql - plain_sql,
        "cache lookup": measured_get - plain_get,
        "flusher fold": fold,
    }


def counts(path: str, body: bytes, bearer: str) -> tuple[int, int]:
    """Return the statements and cache lookups of one request to the endpoint."""
    from django.conf import settings
    from django.test import Client, override_settings

    from perfdash import recorder

    headers: dict[str, Any] = (
        {"HTTP_AUTHORIZATION": f"Bearer {bearer}"} if bearer else {}
    )
    config = {**settings.PERFDASH, "ENABLED": True, "FLUSH_SECONDS": 0}
    with override_settings(PERFDASH=config):
        recorder.discard()
        Client(HTTP_HOST="127.0.0.1").post(
            path, body, content_type="application/json", **headers
        )
        probe = recorder._pending[-1][-1]
        recorder.discard()
    return probe.db_statements, probe.cache_hits + probe.cache_misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--batch", type=int, default=400)
    args = parser.parse_args()

    print("migrating (silk's tables included)")
    manage("migrate", "--noinput", "-v", "0", extra={"SILK_ENABLED": "true"})

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import RefreshToken

    user, _ = get_user_model().objects.get_or_create(username="perfdash-bench")
    token = str(RefreshToken.for_user(user).access_token)
    label, path, body, bearer = target(user, token)
    payload = http_payload(path, body, bearer)
    print(f"endpoint: {label} (POST {path})")

    servers = {name: start_server(name, extra) for name, extra in CONFIGS.items()}
    try:
        os.sched_setaffinity(0, {0})
        print(f"load generator pid {os.getpid()} on CPU 0")
        for _process, port in servers.values():
            wait_ready(port, payload)
        for _process, port in servers.values():
            load(port, payload, 1.0)  # warm up
        rps: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, (_process, port) in servers.items():
                rps[name].append(load(port, payload, args.seconds))
    finally:
        for process, _port in servers.values():
            process.terminate()
        for process, _port in servers.values():
            process.wait(timeout=60)

    print("\nHTTP throughput, one gunicorn sync worker on CPU 1 (requests/s)")
    base = statistics.median(rps["perfdash off"])
    for name, values in rps.items():
        median = statistics.median(values)
        loss = (1 - median / base) * 100
        added = (1 / median - 1 / base) * 1e6
        rounds = " ".join(f"{v:7.1f}" for v in values)
        print(
            f"  {name:13} median {median:7.1f}  loss {loss:5.1f}%  "
            f"+{added:6.1f} us/request   rounds: {rounds}"
        )

    os.sched_setaffinity(0, {1})
    timings = in_process(path, body, bearer, args.rounds, args.batch)
    off, on = timings["perfdash off"], timings["perfdash on"]
    print("\nIn-process, fastest batch (Django test client, this process on CPU 1)")
    print(f"  perfdash off {off * 1e6:8.1f} us/request")
    print(f"  perfdash on  {on * 1e6:8.1f} us/request")
    print(
        f"  added        {(on - off) * 1e6:8.1f} us/request "
        f"({(on / off - 1) * 100:.1f}%)"
    )

    statements, lookups = counts(path, body, bearer)
    cost = parts(statements, lookups)
    total = (
        cost["middleware"]
        + statements * cost["statement"]
        + lookups * cost["cache lookup"]
        + cost["flusher fold"]
    )
    print(f"\nParts alone (this process on CPU 1); {label}: {statements} statements,")
    print(f"{lookups} cache lookups per request")
    for name, seconds in cost.items():
        print(f"  {name:13} {seconds * 1e6:7.2f} us each")
    print(f"  total        {total * 1e6:7.2f} us per {label} request")


if __name__ == "__main__":
    main()
