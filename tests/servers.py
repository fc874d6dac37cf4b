"""Private servers for fault and scale-out tests.

Every server here is a real process started for the test on a free loopback
port: Redis, a throwaway PostgreSQL cluster, gunicorn serving this project,
and Celery workers and beats. Tests may stop, pause or restart them freely;
the machine's shared PostgreSQL and Redis are never touched.

Each process writes its output to a log file under its own temporary folder;
when a ``with`` block using a server fails, the tail of the server's log is
written to stderr so pytest shows it with the failure. Every wait is bounded.

Typical use::

    with private_redis() as redis, private_postgres() as pg:
        db_url = pg.create_database("chat", migrate=True)
        env = project_env(DATABASE_URL=db_url, REDIS_URL=redis.url(0))
        with gunicorn(env) as web:
            web.url  # "http://127.0.0.1:PORT"
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# Variables that tie a process to the shared services or the test settings;
# project_env() drops them so a server sees only what the test gives it.
_SERVICE_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CACHE_KEY_PREFIX",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "DJANGO_SETTINGS_MODULE",
    "PYTEST_ADDOPTS",
    "PYTEST_CURRENT_TEST",
)


class ServerError(RuntimeError):
    """A private server did not start, answer or stop in time."""


def require(program: str) -> str:
    """Return the path of ``program``; skip the test without it, fail it in CI."""
    found = shutil.which(program)
    if found:
        return found
    message = f"{program} is not installed (apt-get install redis-server postgresql)"
    if os.environ.get("CI"):
        raise ServerError(message)
    import pytest

    pytest.skip(message)


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str = "condition",
) -> None:
    """Poll ``check`` until it returns true; raise ServerError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise ServerError(f"timed out after {timeout:.0f} s waiting for {what}")


# A server under test runs as in production (DEBUG off, a real secret), but
# on plain loopback HTTP.
_PRODUCTION_LIKE = {
    "DEBUG": "false",
    "SECRET_KEY": "test-only-secret-" + "k" * 40,
    "SECURE_SSL_REDIRECT": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "PYTHONUNBUFFERED": "1",
}


def project_env(**overrides: str | None) -> dict[str, str]:
    """Return a production-like environment for a project process.

    It is this process's environment minus the service variables, with DEBUG
    off; ``overrides`` win, and a value of ``None`` removes the variable.
    """
    env = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARS}
    env.update(_PRODUCTION_LIKE)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(
    env: Mapping[str, str], *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` with ``env``; raise ServerError with its output on failure."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise ServerError(
            f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


class Process:
    """A child process in its own session, with its output in a log file."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self, argv: list[str], *, env: Mapping[str, str] | None = None) -> None:
        """Start ``argv``; its stdout and stderr append to the log file."""
        # The child keeps its own copy of the descriptor.
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                argv,
                cwd=PROJECT_DIR,
                env=dict(env) if env is not None else None,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Own process group: a stop reaches gunicorn's and Celery's
                # children too, and no signal of ours hits the test runner.
                start_new_session=True,
            )
        finally:
            log.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} is not running"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        """Return everything the process wrote so far."""
        return _tail(self.log_path, chars=10_000_000)

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the process group."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signum)

    def stop(self, *, timeout: float = 20.0, signum: int = signal.SIGTERM) -> None:
        """Stop gracefully with ``signum``; SIGKILL the group after ``timeout``."""
        if not self.alive():
            return
        assert self.proc is not None
        self.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
        self.send_signal(signum)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        # Children that outlived their parent (e.g. gunicorn workers).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def kill(self) -> None:
        """Kill the whole process group at once, as a crash would."""
        self.stop(timeout=10, signum=signal.SIGKILL)

    def report(self) -> None:
        """Write the tail of the log to stderr (shown by pytest on failure)."""
        sys.stderr.write(f"\n----- {self.name} log ({self.log_path}) -----\n")
        sys.stderr.write(_tail(self.log_path))
        sys.stderr.write(f"\n----- end of {self.name} log -----\n")


@contextlib.contextmanager
def _workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"chatbot-{prefix}-"))
    try:
        yield path
    finally:
        if os.environ.get("KEEP_SERVER_LOGS"):
            sys.stderr.write(f"kept server files in {path}\n")
        else:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _reported(*processes: Process) -> Iterator[None]:
    """Show the processes' logs if the block fails, then re-raise."""
    try:
        yield
    except BaseException:
        for process in processes:
            process.report()
        raise


# --- Redis -----------------------------------------------------------------


class RedisServer(Process):
    """A private ``redis-server`` with no persistence."""

    def __init__(self, workdir: Path) -> None:
        super().__init__("redis", workdir)
        self.port = free_port()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        self.spawn(
            [
                require("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ]
        )
        wait_until(self._ping, timeout=15, what="private redis to answer PING")

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections hang instead of failing."""
        self.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Thaw a paused server (SIGCONT)."""
        self.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        """Stop and start again on the same port, empty (no persistence)."""
        self.stop()
        self.start()


@contextlib.contextmanager
def private_redis() -> Iterator[RedisServer]:
    """Run a private Redis for the block and stop it afterwards."""
    with _workdir("redis") as workdir:
        server = RedisServer(workdir)
        try:
            with _reported(server):
                server.start()
                yield server
        finally:
            server.stop()


# --- PostgreSQL ------------------------------------------------------------


def _pg_bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        bindir = subprocess.run(
            [found, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if bindir and (Path(bindir) / "initdb").exists():
            return Path(bindir)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        return Path(require("initdb")).parent
    return Path(candidates[-1]).parent


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb refuses to run as root; run the server as the postgres user then.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


class PostgresCluster:
    """A throwaway PostgreSQL cluster in a temp folder, driven by ``pg_ctl``."""

    def __init__(self, workdir: Path, *, max_connections: int = 50) -> None:
        self.workdir = workdir
        self.datadir = workdir / "data"
        self.log_path = workdir / "postgres.log"
        self.port = free_port()
        self.max_connections = max_connections
        self.bindir = _pg_bindir()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        result = subprocess.run(
            _as_postgres([str(self.bindir / argv[0]), *argv[1:]]),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise ServerError(
                f"{argv[0]} failed ({result.returncode}): "
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )

    def init(self) -> None:
        """Create the cluster's files (trust auth, no fsync: data is disposable)."""
        if os.geteuid() == 0:
            shutil.chown(self.workdir, user="postgres", group="postgres")
        self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale",
            "C",
        )

    def start(self) -> None:
        """Start the server and wait (bounded) until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
            f"-c max_connections={self.max_connections} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``immediate`` is a crash, ``fast`` ends sessions."""
        if (self.datadir / "postmaster.pid").exists():
            self._run(
                "pg_ctl",
                "-D",
                str(self.datadir),
                "-m",
                mode,
                "-w",
                "-t",
                "30",
                "stop",
            )

    def restart(self, mode: str = "fast") -> None:
        """Stop and start on the same port: every open connection is cut."""
        self.stop(mode)
        self.start()

    def execute(self, sql: str, *, dbname: str = "postgres") -> list[tuple]:
        """Run one statement in autocommit; return its rows, if any."""
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=5) as c:
            cursor = c.execute(sql.encode())
            return cursor.fetchall() if cursor.description else []

    def create_database(
        self, name: str, *, template: str | None = None, migrate: bool = False
    ) -> str:
        """Create database ``name`` (optionally from a template); return its URL."""
        clause = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{clause}')
        url = self.url(name)
        if migrate:
            manage(project_env(DATABASE_URL=url), "migrate", "--noinput")
        return url

    def report(self) -> None:
        sys.stderr.write(f"\n----- postgres log ({self.log_path}) -----\n")
        sys.stderr.write(_tail(self.log_path))
        sys.stderr.write("\n----- end of postgres log -----\n")


@contextlib.contextmanager
def private_postgres(*, max_connections: int = 50) -> Iterator[PostgresCluster]:
    """Run a private PostgreSQL cluster for the block and remove it afterwards."""
    with _workdir("pg") as workdir:
        cluster = PostgresCluster(workdir, max_connections=max_connections)
        try:
            cluster.init()
            cluster.start()
            yield cluster
        except BaseException:
            cluster.report()
            raise
        finally:
            with contextlib.suppress(Exception):
                cluster.stop("immediate")


# --- the project's own processes --------------------------------------------


class Gunicorn(Process):
    """gunicorn serving ``chatbot.wsgi`` on a free loopback port."""

    def __init__(self, workdir: Path, name: str = "gunicorn") -> None:
        super().__init__(name, workdir)
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answers(self) -> bool:
        """Return whether the server answers HTTP at all (any status counts)."""
        try:
            urllib.request.urlopen(f"{self.url}/api/ping", timeout=2).close()
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def start(
        self,
        env: Mapping[str, str],
        *,
        workers: int = 1,
        threads: int = 4,
        timeout: int = 30,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        """Start gunicorn and wait (bounded) until it answers HTTP."""
        self.spawn(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "chatbot.wsgi:application",
                # The project's config: its worker_exit hook flushes metrics,
                # and its header limits apply.
                "--config",
                str(PROJECT_DIR / "chatbot" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                str(timeout),
                "--graceful-timeout",
                "10",
                "--access-logfile",
                "-",
                # Several instances run side by side: no shared control socket.
                "--no-control-socket",
                *extra_args,
            ],
            env=env,
        )

        def ready() -> bool:
            if not self.alive():
                raise ServerError(f"{self.name} exited at start")
            return self.answers()

        wait_until(ready, timeout=45, interval=0.2, what=f"{self.name} to answer")

    def worker_pids(self) -> list[int]:
        """Return the pids of the arbiter's worker processes."""
        result = subprocess.run(
            ["pgrep", "-P", str(self.pid)], capture_output=True, text=True
        )
        return [int(p) for p in result.stdout.split()]


@contextlib.contextmanager
def gunicorn(
    env: Mapping[str, str],
    *,
    name: str = "gunicorn",
    workers: int = 1,
    threads: int = 4,
    timeout: int = 30,
    extra_args: tuple[str, ...] = (),
) -> Iterator[Gunicorn]:
    """Serve the project with gunicorn for the block; SIGTERM it afterwards.

    SIGTERM is gunicorn's graceful stop: workers finish their requests and run
    their exit hooks (e.g. a last metrics flush) before the arbiter exits.
    """
    with _workdir(name) as workdir:
        server = Gunicorn(workdir, name)
        try:
            with _reported(server):
                server.start(
                    env,
                    workers=workers,
                    threads=threads,
                    timeout=timeout,
                    extra_args=extra_args,
                )
                yield server
        finally:
            server.stop(timeout=20)


class CeleryProcess(Process):
    """A ``celery worker`` or ``celery beat`` of the project's app."""

    def start(
        self,
        env: Mapping[str, str],
        argv: list[str],
        *,
        ready_text: str,
        timeout: float = 45,
    ) -> None:
        """Start Celery and wait (bounded) until ``ready_text`` is in its log."""
        self.spawn([PYTHON, "-m", "celery", "-A", "chatbot", *argv], env=env)

        def ready() -> bool:
            if not self.alive():
                raise ServerError(f"{self.name} exited at start")
            return ready_text in self.log()

        wait_until(ready, timeout=timeout, interval=0.2, what=f"{self.name} ready")


@contextlib.contextmanager
def celery_worker(
    env: Mapping[str, str], *, name: str = "worker", queues: str | None = None
) -> Iterator[CeleryProcess]:
    """Run a solo-pool Celery worker for the block; warm-stop it afterwards."""
    with _workdir(name) as workdir:
        process = CeleryProcess(name, workdir)
        argv = [
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--hostname",
            f"{name}-{os.getpid()}@%h",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        if queues:
            argv += ["--queues", queues]
        try:
            with _reported(process):
                process.start(env, argv, ready_text="ready.")
                yield process
        finally:
            process.stop(timeout=20)


@contextlib.contextmanager
def celery_beat(
    env: Mapping[str, str], *, name: str = "beat"
) -> Iterator[CeleryProcess]:
    """Run a Celery beat with its own schedule file for the block."""
    with _workdir(name) as workdir:
        process = CeleryProcess(name, workdir)
        argv = [
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(workdir / "celerybeat-schedule"),
            "--pidfile",
            "",
        ]
        try:
            with _reported(process):
                process.start(env, argv, ready_text="beat: Starting")
                yield process
        finally:
            process.stop(timeout=20)
