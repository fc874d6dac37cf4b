"""End to end: real gunicorn, Celery worker and beat on Redis, real SMTP.

Server errors served by gunicorn are measured by perfdash and stored as
minute rows; beat (ticking every 2 s here) has the worker evaluate the
error-rate rule, which emails the firing alert through aiosmtpd on loopback.
Worker and beat are then restarted while the rule fires, and must send
nothing new; good traffic then brings the resolved email, threaded to the
firing one.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from django.conf import settings
from django.db import connection

from perfdash.alerts.models import Notification, Rule, RuleState, Tick
from tests.alerts.conftest import Inbox, free_port, make_rule, plain_text

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
BROKER_DB = 4  # this branch's Redis database number


class Processes:
    """Servers started by the test, each in its own session, logs to files."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.running[name] = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)

    def tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )


def wait_for(
    what: str, check: Callable[[], bool], servers: Processes, seconds: float = 60.0
) -> None:
    """Poll ``check`` every 0.25 s for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}\n{servers.tail()}")


@pytest.fixture
def servers(tmp_path: Path, smtp_server: tuple[Inbox, int]) -> Iterator[Processes]:
    _inbox, smtp_port = smtp_server
    web_port = free_port()
    broker = f"redis://127.0.0.1:6379/{BROKER_DB}"
    redis.Redis.from_url(broker).flushdb()  # stale messages of an earlier run
    database = connection.settings_dict["NAME"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.alerts.e2e_settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": broker,
        "CACHE_KEY_PREFIX": "h_alerts_e2e",
        "CELERY_BROKER_URL": broker,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SITE_URL": f"http://127.0.0.1:{web_port}",
        "ALERTS_TICK_SECONDS": "2",
        "PERFDASH_FLUSH_SECONDS": "1",
        "VAR_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    processes = Processes(env, tmp_path)
    processes.web_url = f"http://127.0.0.1:{web_port}"  # type: ignore[attr-defined]
    processes.start(
        "web",
        str(BIN / "gunicorn"),
        "chatbot.wsgi",
        "--bind",
        f"127.0.0.1:{web_port}",
        "--workers",
        "1",
    )
    try:
        yield processes
    finally:
        processes.stop_all()


def start_celery(servers: Processes, schedule: Path) -> None:
    celery = str(BIN / "celery")
    servers.start(
        "worker",
        celery,
        "-A",
        "chatbot",
        "worker",
        "--pool",
        "solo",
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    )
    servers.start(
        "beat",
        celery,
        "-A",
        "chatbot",
        "beat",
        "--loglevel",
        "INFO",
        "--schedule",
        str(schedule),
    )


def get_all(client: httpx.Client, path: str, count: int, status: int) -> None:
    for _ in range(count):
        assert client.get(path).status_code == status


def test_firing_email_then_restart_sends_nothing_then_resolved_email(
    servers: Processes, inbox: Inbox, staff: Any, tmp_path: Path
) -> None:
    Rule.objects.update(enabled=False)
    rule = make_rule(
        name="e2e error rate",
        window=timedelta(minutes=1),
        pending_for=timedelta(0),
        min_samples=5,
    )
    web = servers.web_url  # type: ignore[attr-defined]
    start_celery(servers, tmp_path / "beat-schedule")

    def web_up() -> bool:
        try:
            return httpx.get(f"{web}/e2e/ok/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for("gunicorn", web_up, servers)
    wait_for("a first evaluation", lambda: Tick.objects.exists(), servers)

    # Breach: 5 server errors out of 25 requests (20% > 5%).
    with httpx.Client(base_url=web, timeout=10) as client:
        get_all(client, "/e2e/ok/", 20, 200)
        get_all(client, "/e2e/boom/", 5, 500)
    wait_for("the firing email", lambda: len(inbox.messages) >= 1, servers)

    firing = inbox.messages[0]
    assert str(firing["Subject"]).startswith("[CRITICAL] FIRING: e2e error rate")
    text = plain_text(firing)
    assert "Immediate investigation required" in text
    assert f"{web}/admin/alerts/rule/{rule.pk}/change/" in text
    assert f"{web}/admin/performance/?range=custom&start=" in text
    assert f"{web}/alerts/silence/" in text
    assert firing.get_body(("html",)) is not None
    assert RuleState.objects.get(rule=rule).state == "firing"

    # Restart worker and beat while the rule fires: nothing may be re-sent.
    # The worker goes first, so beat queues a backlog of ticks (one per 2 s)
    # that the restarted worker finds waiting.
    servers.stop("worker")
    time.sleep(6)
    servers.stop("beat")
    ticks_before = Tick.objects.count()
    start_celery(servers, tmp_path / "beat-schedule")
    wait_for(
        "three ticks after the restart",
        lambda: (
            Tick.objects.filter(finished_at__isnull=False).count() >= ticks_before + 3
        ),
        servers,
    )
    assert RuleState.objects.get(rule=rule).state == "firing"
    assert len(inbox.messages) == 1
    # The backlog expired instead of replaying (Celery's wording for it).
    assert "Discarding revoked task" in (tmp_path / "worker.log").read_text()
    assert Notification.objects.filter(rule=rule).count() == 1

    # Recovery: 300 good requests bring the rate to 5/325, under 2%.
    with httpx.Client(base_url=web, timeout=10) as client:
        get_all(client, "/e2e/ok/", 300, 200)
    wait_for("the resolved email", lambda: len(inbox.messages) >= 2, servers)

    resolved = inbox.messages[1]
    assert str(resolved["Subject"]).startswith("[CRITICAL] RESOLVED: e2e error rate")
    assert resolved["In-Reply-To"] == firing["Message-ID"]
    assert resolved["References"] == firing["Message-ID"]
    assert len(inbox.messages) == 2
    statuses = list(
        Notification.objects.filter(rule=rule)
        .order_by("created_at")
        .values_list("kind", "status")
    )
    assert statuses == [("firing", "sent"), ("resolved", "sent")]
