"""Celery tasks: rollups, retention, connection sampling and silk's cleanup."""

import logging

from celery import shared_task
from django.conf import settings

from perfdash import services

logger = logging.getLogger(__name__)


@shared_task(name="perfdash.roll_up_hours", ignore_result=True)
def roll_up_hours() -> int:
    """Rebuild closed hour rows from minute rows."""
    return services.roll_up(level="hour", grace_seconds=_grace_seconds())


@shared_task(name="perfdash.roll_up_days", ignore_result=True)
def roll_up_days() -> int:
    """Rebuild closed day rows from hour rows."""
    return services.roll_up(level="day", grace_seconds=_grace_seconds())


def _grace_seconds() -> float:
    # A minute is closed once every process has flushed it at least twice.
    return 60.0 + 2 * float(settings.PERFDASH["FLUSH_SECONDS"])


@shared_task(name="perfdash.delete_expired", ignore_result=True)
def delete_expired() -> dict[str, int]:
    """Delete rows past their retention, in batches."""
    config = settings.PERFDASH
    return services.delete_expired(
        minute_days=config["RETENTION_MINUTE_DAYS"],
        hour_days=config["RETENTION_HOUR_DAYS"],
        day_days=config["RETENTION_DAY_DAYS"],
        batch_size=config.get("DELETE_BATCH_SIZE", 5000),
    )


@shared_task(name="perfdash.sample_db_connections", ignore_result=True)
def sample_db_connections() -> int | None:
    """Store PostgreSQL connection use (no-op on SQLite)."""
    sample = services.sample_db_connections()
    return None if sample is None else sample.connections


@shared_task(name="perfdash.collect_silk_garbage", ignore_result=True)
def collect_silk_garbage() -> int:
    """Trim silk's recorded requests to SILKY_MAX_RECORDED_REQUESTS."""
    return services.collect_silk_garbage()
