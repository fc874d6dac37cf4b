"""Alerts under scale-out and faults: real gunicorn, Celery workers and beats.

A rule on the model's p95 time fires when the fake model server is slow.
Two workers and two beats must send its email once; with the worker down
the dashboard's alerts section says the evaluator is late, and the email
comes, once, when a worker is back.
"""

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller

from tests import servers
from tests.alerts.conftest import Inbox
from tests.reliability.conftest import sign_up, staff_session

pytestmark = [pytest.mark.faults, pytest.mark.slow]

SETUP_RULE = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from perfdash.alerts.models import Rule
Rule.objects.update(enabled=False)
get_user_model().objects.create_user(
    "ops", "ops@example.com", "x-Long-pass-123", is_staff=True
)
Rule.objects.create(
    name="slow model", metric="upstream_time_p95", comparison="gt",
    threshold=300, recovery_threshold=200, window=timedelta(minutes=3),
    pending_for=timedelta(0), min_samples=3, severity="warning",
    guidance="Check the model server",
)
"""

DASHBOARD_SAYS = """
import json
from types import SimpleNamespace
from django.utils import timezone
from perfdash.alerts.dashboard import section_context
now = timezone.now()
context = section_context(SimpleNamespace(start=now, end=now))
print(json.dumps({"is_late": context["is_late"]}))
"""


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    port = servers.free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def alert_env(stack_env, inbox, redis) -> dict[str, str]:
    _box, port = inbox
    env = stack_env(
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        CELERY_BROKER_URL=redis.url(1),
        ALERTS_TICK_SECONDS="2",
        ALERTS_LATE_AFTER_SECONDS="6",
        PERFDASH_FLUSH_SECONDS="1",
        # The admin is read over plain loopback HTTP here.
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
    )
    servers.manage(env, "shell", "-c", SETUP_RULE)
    return env


def _count(database_url: str, sql: str) -> int:
    with psycopg.connect(database_url) as db:
        row = db.execute(sql.encode()).fetchone()
    return int(row[0]) if row else 0


def _finished_ticks(database_url: str) -> int:
    return _count(
        database_url, "SELECT COUNT(*) FROM alerts_tick WHERE finished_at IS NOT NULL"
    )


def _evaluator_late(env: dict[str, str]) -> bool:
    out = servers.manage(env, "shell", "-c", DASHBOARD_SAYS).stdout
    return bool(json.loads(out.strip().splitlines()[-1])["is_late"])


def _email_then_more_ticks(box: Inbox, database_url: str, *, ticks: int) -> None:
    """Wait for the first email, then for ``ticks`` more finished evaluations."""
    servers.wait_until(lambda: len(box.messages) >= 1, timeout=90, what="an email")
    seen = _finished_ticks(database_url)
    servers.wait_until(
        lambda: _finished_ticks(database_url) >= seen + ticks,
        timeout=60,
        what=f"{ticks} more evaluations",
    )


LATE_TEXT = "The evaluator is late"


def _dashboard_says_late(web_url: str) -> bool:
    """Return whether the admin's performance dashboard warns of a late evaluator."""
    admin = staff_session(web_url, "ops", "x-Long-pass-123")
    try:
        page = admin.get("/admin/performance/")
    finally:
        admin.close()
    assert page.status_code == 200, page.text[:300]
    return LATE_TEXT in page.text


def _slow_traffic(web_url: str, fake_model: Any) -> None:
    fake_model.set_mode("slow", delay=0.6)
    user = sign_up(web_url)
    for i in range(4):
        assert user.chat(f"slow {i}").status_code == 200
    fake_model.set_mode("ok")


def test_two_workers_and_two_beats_send_each_alert_once(
    alert_env, inbox, database_url, fake_model
):
    box, _port = inbox
    with (
        servers.gunicorn(alert_env) as web,
        servers.celery_worker(alert_env, name="worker-a") as worker_a,
        servers.celery_worker(alert_env, name="worker-b") as worker_b,
        servers.celery_beat(alert_env, name="beat-a"),
        servers.celery_beat(alert_env, name="beat-b"),
    ):
        _slow_traffic(web.url, fake_model)
        _email_then_more_ticks(box, database_url, ticks=4)
        skipped = sum(
            w.log().count("already claimed; skipping") for w in (worker_a, worker_b)
        )
        ran = [w.log().count("evaluate_alerts") for w in (worker_a, worker_b)]

    assert len(box.messages) == 1
    assert str(box.messages[0]["Subject"]).startswith("[WARNING] FIRING: slow model")
    assert _count(database_url, "SELECT COUNT(*) FROM alerts_notification") == 1
    firing = "SELECT COUNT(*) FROM alerts_transition WHERE to_state = 'firing'"
    assert _count(database_url, firing) == 1
    # Both beats sent each tick; the second message of a tick was skipped.
    print(f"ticks skipped as already claimed: {skipped}; tasks per worker: {ran}")
    assert sum(ran) > 0


def test_worker_down_makes_alerts_late_not_lost(
    alert_env, inbox, database_url, fake_model
):
    box, _port = inbox
    with servers.gunicorn(alert_env) as web, servers.celery_beat(alert_env):
        with servers.celery_worker(alert_env, name="worker-1"):
            servers.wait_until(
                lambda: _finished_ticks(database_url) >= 1,
                timeout=60,
                what="a first evaluation",
            )
            assert not _evaluator_late(alert_env)
            assert not _dashboard_says_late(web.url)
        # Worker down: traffic breaches the rule, but nobody evaluates it.
        _slow_traffic(web.url, fake_model)
        servers.wait_until(
            lambda: _evaluator_late(alert_env), timeout=30, interval=1, what="late"
        )
        emails_while_down = len(box.messages)
        late_on_dashboard = _dashboard_says_late(web.url)

        with servers.celery_worker(alert_env, name="worker-2"):
            _email_then_more_ticks(box, database_url, ticks=3)
            late_after_recovery = _evaluator_late(alert_env)
            late_on_dashboard_after = _dashboard_says_late(web.url)

    assert emails_while_down == 0
    assert len(box.messages) == 1  # late, not lost, and not doubled
    assert str(box.messages[0]["Subject"]).startswith("[WARNING] FIRING: slow model")
    assert late_after_recovery is False
    assert late_on_dashboard is True  # the page an admin opens says so
    assert late_on_dashboard_after is False
