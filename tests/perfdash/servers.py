"""Start real gunicorn servers for perfdash tests, on free loopback ports."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.db import connection

from chatbot.settings import BASE_DIR


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_database_url() -> str:
    """Return a URL to the database this test session uses (test_<name>)."""
    params = connection.settings_dict
    return (
        f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}/"
        f"{params['NAME']}"
    )


@dataclass
class Server:
    """A running gunicorn: its base URL, process and how many probes it took."""

    url: str
    process: subprocess.Popen[bytes]
    ready_probes: int = 0


READY_PATH = "/perf-test/status/204/"


@contextmanager
def gunicorn(
    *, workers: int = 2, extra_env: dict[str, str] | None = None, timeout: float = 60
) -> Iterator[Server]:
    """Run gunicorn with the test views until the block ends, then SIGTERM it.

    Readiness is polled with GET ``READY_PATH``; each answered poll is a real
    request, counted in ``Server.ready_probes`` so tests can expect it.
    """
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.perfdash.settings_server",
        "DATABASE_URL": server_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": settings.CACHE_KEY_PREFIX,
        "PERFDASH_FLUSH_SECONDS": "0.5",
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "chatbot/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ],
        cwd=BASE_DIR,
        env=env,
    )
    server = Server(url=f"http://127.0.0.1:{port}", process=process)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early: {process.returncode}")
            try:
                # Only a refused connection is retried: a request that reached
                # the server is awaited, so every served probe is counted.
                httpx.get(server.url + READY_PATH, timeout=30).raise_for_status()
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                continue
            server.ready_probes += 1
            break
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 40) -> int:
    """SIGTERM gunicorn (workers flush at exit) and wait; return its exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode
