"""The embedded default that `make run` uses: worker and beat, no broker server.

A fresh SQLite file and kombu's filesystem transport in a temporary VAR_DIR;
beat ticks every second and the worker's evaluations land in the database.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = [pytest.mark.sqlite, pytest.mark.slow]

ROOT = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent


def _finished_ticks(database: Path) -> int:
    with sqlite3.connect(database) as db:
        row = db.execute(
            "SELECT count(*) FROM alerts_tick WHERE finished_at IS NOT NULL"
        ).fetchone()
    return int(row[0])


def test_worker_and_beat_evaluate_on_the_embedded_broker(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
    }
    env.update(VAR_DIR=str(tmp_path), ALERTS_TICK_SECONDS="1", PYTHONUNBUFFERED="1")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    log = (tmp_path / "celery.log").open("wb")
    celery = str(BIN / "celery")
    commands = [
        [celery, "-A", "chatbot", "worker", "--pool", "solo", "--loglevel", "INFO"],
        [celery, "-A", "chatbot", "beat", "--loglevel", "INFO"],
    ]
    processes = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for command in commands
    ]
    try:
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline and _finished_ticks(tmp_path / "db.sqlite3") < 3
        ):
            time.sleep(0.5)
        ticks = _finished_ticks(tmp_path / "db.sqlite3")
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)

    assert ticks >= 3, (tmp_path / "celery.log").read_text(errors="replace")[-3000:]
