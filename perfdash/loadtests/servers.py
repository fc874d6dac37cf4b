"""Start and stop a gunicorn server of this project on a free loopback port.

Used by ``compare_modes`` (one server per history mode), the benchmarks and
the tests. The server gets this process's database, cache and secret key,
so tokens minted here are valid there and both read the same rows.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import connection

# The development key is refused with DEBUG off (see settings), so a server
# started from a process that has it runs with DEBUG on.
DEV_KEY_PREFIX = "dev-only-insecure-key"


class ServerError(Exception):
    """The server did not come up."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    """Return a URL for the database this process is connected to."""
    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(conf["NAME"])
        if name == ":memory:" or name.startswith("file:memorydb"):
            raise ServerError("an in-memory SQLite database cannot be shared")
        return f"sqlite:///{name}"
    user = quote(conf.get("USER") or "")
    password = quote(conf.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = conf.get("HOST") or "127.0.0.1"
    port = f":{conf['PORT']}" if conf.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{conf['NAME']}"


def server_environment(**overrides: str) -> dict[str, str]:
    """Return the environment of a server that shares this process's stores."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        CACHE_KEY_PREFIX=settings.CACHE_KEY_PREFIX,
        SECRET_KEY=settings.SECRET_KEY,
        DEBUG="True" if settings.SECRET_KEY.startswith(DEV_KEY_PREFIX) else "False",
        SECURE_SSL_REDIRECT="False",
        PYTHONPATH=str(settings.BASE_DIR),
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    else:
        env.pop("REDIS_URL", None)
    env.update(overrides)
    return env


@dataclass
class Server:
    process: "subprocess.Popen[bytes]"
    url: str
    log: IO[Any]

    @property
    def pid(self) -> int:
        """Return the gunicorn master's pid."""
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def log_text(self) -> str:
        """Return what the server wrote so far."""
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    *,
    workers: int = 1,
    threads: int = 8,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Server:
    """Start gunicorn on a free port and return once it answers."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(
        mode="w+", prefix="server-", suffix=".log", delete=False
    )
    config = Path(settings.BASE_DIR) / "chatbot" / "gunicorn.conf.py"
    # The project's config adds the hook that flushes perfdash at worker exit.
    config_args = ["--config", str(config)] if config.exists() else []
    command = [sys.executable, "-m", "gunicorn", *config_args]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += ["--threads", str(threads), "--worker-class", "gthread"]
    # The default control socket is one path per user: servers started side
    # by side would take it from each other.
    command += ["--no-control-socket", "chatbot.wsgi:application"]
    process = subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env=env or server_environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(process=process, url=f"http://127.0.0.1:{port}", log=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = server.log_text()[-2000:]
            server.stop()
            raise ServerError(f"the server exited with {process.returncode}:\n{text}")
        try:
            if httpx.get(f"{server.url}/api/ping", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise ServerError(f"the server did not answer within {timeout:.0f} s")
