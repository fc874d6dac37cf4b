"""A real Celery worker runs perfdash's tasks against the test database."""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from chatbot.settings import BASE_DIR
from perfdash import services
from perfdash.models import DbConnectionSample, RequestStatHour, RequestStatMinute
from tests.perfdash.servers import server_database_url, stop

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def _wait_for(check, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def test_worker_rolls_up_deletes_and_samples_connections():
    old = timezone.now() - timedelta(days=30)
    recent = timezone.now() - timedelta(hours=3)
    services.record_request_stats(minute=old, route="r", total_ms=[1])
    services.record_request_stats(minute=recent, route="r", total_ms=[2, 3, 4])
    broker = settings.REDIS_URL
    env = {
        **os.environ,
        "DATABASE_URL": server_database_url(),
        "CELERY_BROKER_URL": broker,
        "LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "chatbot", "worker",
            "--pool", "solo", "--concurrency", "1", "--without-heartbeat",
            "--without-gossip", "--without-mingle", "--loglevel", "WARNING",
        ],
        cwd=BASE_DIR,
        env=env,
    )  # fmt: skip
    try:
        sender = Celery(broker=broker)
        for name in (
            "perfdash.delete_expired",
            "perfdash.roll_up_hours",
            "perfdash.sample_db_connections",
        ):
            sender.send_task(name)

        assert _wait_for(lambda: DbConnectionSample.objects.exists())
        assert _wait_for(lambda: RequestStatHour.objects.exists())
    finally:
        stop(worker)

    assert not RequestStatMinute.objects.filter(bucket__lt=old + timedelta(1)).exists()
    hour = RequestStatHour.objects.get()
    assert hour.requests == 3
    sample = DbConnectionSample.objects.get()
    assert sample.max_connections > 0
    # This test's own connection is one of the client backends counted.
    assert 1 <= sample.database_connections <= sample.connections
