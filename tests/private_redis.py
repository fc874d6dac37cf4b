"""A private redis-server for tests that stop and restart Redis for real.

Never the shared server: this one runs on a free port in a temporary folder,
owned by the test that started it.
"""

import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

START_SECONDS = 10.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        # No retries: SHUTDOWN closes the connection, which is the success.
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )

    def start(self) -> None:
        """Start the server (loading its dump file, if any) and wait for it."""
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.folder),
                "--dbfilename", "dump.rdb",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self, *, save: bool = False) -> None:
        """Stop the server for real; with ``save`` its data survives a restart."""
        if self.process is None:
            return
        try:
            self.client().shutdown(save=save, nosave=not save)
        except redis.ConnectionError:
            pass  # shutting down closes our connection, as it should
        try:
            self.process.wait(timeout=START_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(timeout=START_SECONDS)
        self.process = None
