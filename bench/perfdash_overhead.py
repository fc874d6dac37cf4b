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
   with perfdash on and off (alternating batches; CPU time of this process,
   fastest batch kept, as noise only ever adds), without network noise.
3. The measuring parts alone, each timed over many calls: the middleware
   (with its fold into the in-memory deltas) around a view that does
   nothing, the statement wrapper per statement, the cache wrapper per
   lookup, the fold of the request's statement times, and the flusher's
   write spread over the requests one flush carries (off the request path,
   but on the same CPU). Their sum for the endpoint's counts of statements
   and lookups is the cost perfdash adds to one request.

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
# Throttles stay on (their cache work is part of a real turn) but never trip.
for _rate in ("THROTTLE_USER_RATE", "THROTTLE_CHAT_RATE"):
    os.environ.setdefault(_rate, "1000000/min")

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


def worker_cpu(master: int) -> float:
    """Return the CPU seconds (user + system) used so far by gunicorn's workers."""
    import psutil

    return sum(
        sum(child.cpu_times()[:2]) for child in psutil.Process(master).children()
    )


def load(
    port: int, payloads: list[bytes], seconds: float, master: int | None = None
) -> tuple[float, float]:
    """Drive one connection per payload; return (requests/s, worker CPU s/request)."""
    connections = len(payloads)
    done = [0] * connections
    failed = [0] * connections
    stop_at = time.perf_counter() + seconds
    cpu_before = worker_cpu(master) if master else 0.0

    def run(slot: int) -> None:
        while time.perf_counter() < stop_at:
            if 200 <= raw_request(port, payloads[slot]) < 300:
                done[slot] += 1
            else:
                failed[slot] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if sum(failed):
        raise RuntimeError(f"{sum(failed)} requests failed during the bench")
    cpu = (worker_cpu(master) - cpu_before) if master else 0.0
    return sum(done) / elapsed, cpu / max(sum(done), 1)


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


def target(user: Any, token: str, slots: int) -> tuple[str, str, list[bytes], str]:
    """Return (label, path, one JSON body per connection, bearer token).

    Each connection continues its own conversation, so turns never wait for
    one another's claim and every turn reads a context window (cache first).
    """
    import json

    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    try:
        path = reverse("chat", kwargs={"user_id": user.pk})
    except NoReverseMatch:
        verify = f'{{"token":"{token}"}}'.encode()
        return "token verify", "/api/token/verify/", [verify] * slots, ""
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    bodies = []
    for _ in range(slots):
        first = client.post(path, {"message": "Hello"}, content_type="application/json")
        conversation = first.json()["conversation_id"]
        message = {"message": "How fast is this?", "conversation_id": conversation}
        bodies.append(json.dumps(message).encode())
    return "chat turn", path, bodies, token


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


def in_process(
    path: str, body: bytes, bearer: str, rounds: int, batch: int
) -> dict[str, list[float]]:
    """Return CPU seconds per request per round, perfdash off and on, in-process."""
    from django.conf import settings
    from django.test import Client, override_settings

    from perfdash import recorder

    headers: dict[str, Any] = (
        {"HTTP_AUTHORIZATION": f"Bearer {bearer}"} if bearer else {}
    )
    results: dict[str, list[float]] = {"perfdash off": [], "perfdash on": []}
    order = (("perfdash off", False), ("perfdash on", True))
    for index in range(rounds):
        # Alternate which goes first, so neither always follows the other.
        for name, enabled in order if index % 2 == 0 else order[::-1]:
            config = {**settings.PERFDASH, "ENABLED": enabled, "FLUSH_SECONDS": 0}
            with override_settings(PERFDASH=config):
                client = Client(HTTP_HOST="127.0.0.1")
                client.post(path, body, content_type="application/json", **headers)
                started = time.process_time()
                for _ in range(batch):
                    response = client.post(
                        path, body, content_type="application/json", **headers
                    )
                    assert response.status_code < 300, response.status_code
                elapsed = time.process_time() - started
            results[name].append(elapsed / batch)
            recorder.discard()
    return results


def paired(base: list[float], other: list[float]) -> tuple[float, float]:
    """Return the median ratio and median difference of rounds run side by side."""
    ratios = [o / b for b, o in zip(base, other, strict=True)]
    differences = [o - b for b, o in zip(base, other, strict=True)]
    return statistics.median(ratios), statistics.median(differences)


def added_cost(plain: Any, measured: Any, calls: int, repeat: int = 21) -> float:
    """Return the fastest ``measured`` minus the fastest ``plain``, per call.

    The two alternate run by run, so drift on a shared CPU hits both alike.
    """
    best = {"plain": float("inf"), "measured": float("inf")}
    for _ in range(repeat):
        for name, func in (("plain", plain), ("measured", measured)):
            started = time.perf_counter()
            for _ in range(calls):
                func()
            best[name] = min(best[name], (time.perf_counter() - started) / calls)
    return best["measured"] - best["plain"]


def parts(statements: int, lookups: int, per_flush: int) -> dict[str, float]:
    """Time each measuring part alone; return seconds per unit.

    ``per_flush`` is how many requests one flush writes at the measured rate:
    a flush's database write costs about the same for 50 requests as for
    500, so its share per request shrinks as traffic grows.
    """
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
        middleware_cost = added_cost(
            lambda: view(request), lambda: middleware(request), 20_000
        )
        recorder.discard()

        def execute(sql: str, params: Any, many: bool, context: Any) -> None:
            return None

        probe, token = probes.start()
        sql = 'SELECT "t"."id" FROM "t" WHERE "t"."id" = %s LIMIT 21'
        statement_cost = added_cost(
            lambda: execute(sql, (1,), False, {}),
            lambda: measure_statement(execute, sql, (1,), False, {}),
            50_000,
        )
        probe.statement_seconds.clear()
        # The wrapper around a local-memory backend: the wrapper's own cost,
        # without a network round trip's noise.
        measured = MeasuredCache(
            "bench",
            {"MEASURED_BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        )
        backend = measured._backend
        backend.set("bench:key", "value")
        cache_cost = added_cost(
            lambda: backend.get("bench:key"), lambda: measured.get("bench:key"), 50_000
        )
        probes.finish(token)

        # Folding a request with the endpoint's statements into the deltas,
        # beyond what the middleware's empty request above already folded.
        def one_request(count: int) -> probes.RequestProbe:
            sample = probes.RequestProbe()
            for index in range(count):
                sample.statements[f"{sql} -- {index % 3}"] = [1, 0.0004]
                sample.statement_seconds.append(0.0004)
            sample.db_statements = count
            sample.cache_hits = lookups
            return sample

        full, empty = one_request(statements), one_request(0)
        route = "api/<int:user_id>/chat"

        def fold(probe: probes.RequestProbe) -> Any:
            return lambda: recorder.record(
                finished_at=time.time(),
                route=route,
                method="POST",
                status=200,
                seconds=0.004,
                probe=probe,
            )

        fold_cost = added_cost(fold(empty), fold(full), 20_000)
        recorder.discard()

        # A whole flush of per_flush requests (database write and process
        # sample), CPU time, spread over those requests.
        flushes = []
        for _ in range(7):
            for _ in range(per_flush):
                fold(full)()
            started = time.process_time()
            recorder.flush()
            flushes.append(time.process_time() - started)
    return {
        "middleware": middleware_cost,
        "statement": statement_cost,
        "cache lookup": cache_cost,
        "statement fold": fold_cost,
        "flush": min(flushes) / per_flush,
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
        (raw,) = recorder._accumulator["stats"].values()
        recorder.discard()
    return raw.counts.db_statements, raw.counts.cache_hits + raw.counts.cache_misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    print("migrating (silk's tables included)")
    manage("migrate", "--noinput", "-v", "0", extra={"SILK_ENABLED": "true"})

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import RefreshToken

    user, _ = get_user_model().objects.get_or_create(username="perfdash-bench")
    token = str(RefreshToken.for_user(user).access_token)
    slots = 4
    label, path, bodies, bearer = target(user, token, slots)
    payloads = [http_payload(path, body, bearer) for body in bodies]
    print(f"endpoint: {label} (POST {path}), {slots} connections")

    servers = {name: start_server(name, extra) for name, extra in CONFIGS.items()}
    try:
        os.sched_setaffinity(0, {0})
        print(f"load generator pid {os.getpid()} on CPU 0")
        for _process, port in servers.values():
            wait_ready(port, payloads[0])
        for _process, port in servers.values():
            load(port, payloads, 1.0)  # warm up
        rps: dict[str, list[float]] = {name: [] for name in servers}
        cpu: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, (process, port) in servers.items():
                rate, cpu_each = load(port, payloads, args.seconds, process.pid)
                rps[name].append(rate)
                cpu[name].append(cpu_each)
    finally:
        for process, _port in servers.values():
            process.terminate()
        for process, _port in servers.values():
            process.wait(timeout=60)

    print("\nHTTP throughput, one gunicorn sync worker on CPU 1 (requests/s);")
    print("ratios and differences are medians over rounds run side by side")
    for name, values in rps.items():
        ratio, _ = paired(rps["perfdash off"], values)
        added = statistics.median(
            1 / o - 1 / b for b, o in zip(rps["perfdash off"], values, strict=True)
        )
        print(
            f"  {name:13} median {statistics.median(values):7.1f}  "
            f"loss {(1 - ratio) * 100:5.1f}%  +{added * 1e6:8.1f} us/request"
        )
        print("      rounds: " + " ".join(f"{v:.0f}" for v in values))

    print("\nWorker CPU per request (user + system; waiting for a busy CPU costs")
    print("no CPU time, so this is steadier than wall time on a shared machine)")
    for name, values in cpu.items():
        ratio, added = paired(cpu["perfdash off"], values)
        print(
            f"  {name:13} median {statistics.median(values) * 1e6:8.1f} us  "
            f"+{added * 1e6:7.1f} us ({(ratio - 1) * 100:+5.1f}%)  "
            f"throughput at equal CPU {(1 / ratio - 1) * 100:+5.1f}%"
        )

    os.sched_setaffinity(0, {1})
    timings = in_process(path, bodies[0], bearer, args.rounds, args.batch)
    ratio, added = paired(timings["perfdash off"], timings["perfdash on"])
    print("\nIn-process CPU per request (Django test client, this process, CPU 1)")
    for name, values in timings.items():
        print(f"  {name:13} median {statistics.median(values) * 1e6:8.1f} us")
    print(f"  added        {added * 1e6:+8.1f} us/request ({(ratio - 1) * 100:+.1f}%)")

    statements, lookups = counts(path, bodies[0], bearer)
    from django.conf import settings

    rate = statistics.median(rps["perfdash on"])
    per_flush = max(1, round(rate * float(settings.PERFDASH["FLUSH_SECONDS"])))
    cost = parts(statements, lookups, per_flush)
    on_path = (
        cost["middleware"]
        + statements * cost["statement"]
        + lookups * cost["cache lookup"]
        + cost["statement fold"]
    )
    off_path = cost["flush"]
    print(f"\nParts alone (this process on CPU 1); {label}: {statements} statements,")
    print(f"{lookups} cache lookups per request; {per_flush} requests per flush")
    for name, seconds in cost.items():
        print(f"  {name:13} {seconds * 1e6:7.2f} us each")
    print(f"  on the request path  {on_path * 1e6:7.2f} us per {label}")
    print(f"  in the flusher       {off_path * 1e6:7.2f} us per {label}")
    print(f"  total                {(on_path + off_path) * 1e6:7.2f} us per {label}")


if __name__ == "__main__":
    main()
