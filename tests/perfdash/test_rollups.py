"""Rollups add sketches: hours and days read the same as the minutes."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from perfdash import selectors, services
from perfdash.models import (
    DbConnectionSample,
    ProcessSample,
    RequestStatDay,
    RequestStatHour,
    RequestStatMinute,
)

pytestmark = pytest.mark.django_db

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
ROUTES = ("api/<int:user_id>/chat", "api/token/", "admin/")
FIGURES = (
    "requests",
    "errors",
    "total_p50_ms",
    "total_p95_ms",
    "total_p99_ms",
    "app_p95_ms",
    "upstream_p99_ms",
    "statement_p95_ms",
    "statements_per_request",
    "cache_hit_ratio",
)


def _feed(rng: random.Random, hours: int) -> None:
    for minute in range(0, hours * 60, 11):
        for index, route in enumerate(ROUTES):
            total = [rng.lognormvariate(3, 0.7) for _ in range(rng.randint(1, 6))]
            services.record_request_stats(
                minute=DAY0 + timedelta(minutes=minute),
                route=route,
                method="POST" if index == 0 else "GET",
                status=503 if minute % 7 == 0 else 200,
                total_ms=total,
                upstream_ms=[t / 2 for t in total] if index == 0 else (),
                statement_ms=[rng.uniform(0.2, 9) for _ in range(3)],
                cache_hits=index + 1,
                cache_misses=1,
                host=f"host{minute % 2}",
                pid=100 + minute % 3,
            )


def _figures(result: object) -> dict[str, object]:
    return {name: getattr(result, name) for name in FIGURES}


def test_hour_and_day_rollups_read_like_minutes():
    _feed(random.Random(7), hours=50)
    start, end = DAY0, DAY0 + timedelta(hours=50)
    before = _figures(selectors.summary(start=start, end=end))
    before_routes = [_figures(r) for r in selectors.route_table(start=start, end=end)]
    before_chat = _figures(selectors.summary(start=start, end=end, route=ROUTES[0]))

    now = end + timedelta(hours=1)
    services.roll_up(level="hour", now=now)
    services.roll_up(level="day", now=now)

    assert RequestStatHour.objects.exists()
    assert RequestStatDay.objects.count() == 2 * len(ROUTES) * 2  # days x keys
    assert _figures(selectors.summary(start=start, end=end)) == before
    after_routes = [_figures(r) for r in selectors.route_table(start=start, end=end)]
    assert after_routes == before_routes
    chat = selectors.summary(start=start, end=end, route=ROUTES[0])
    assert _figures(chat) == before_chat

    # Reads really come from the rollups: without the minutes nothing changes.
    RequestStatMinute.objects.filter(bucket__lt=end).delete()
    assert _figures(selectors.summary(start=start, end=end)) == before


def test_rollup_again_after_a_late_flush_counts_it_once():
    minute = DAY0 + timedelta(minutes=30)
    services.record_request_stats(minute=minute, route="r", total_ms=[5, 6])
    now = DAY0 + timedelta(hours=2)
    services.roll_up(level="hour", now=now)

    # A worker flushing at exit writes into the closed hour afterwards.
    services.record_request_stats(minute=minute, route="r", total_ms=[7], pid=9)
    services.roll_up(level="hour", now=now)
    services.roll_up(level="hour", now=now)

    hour = RequestStatHour.objects.get()
    assert hour.requests == 3
    window = {"start": DAY0, "end": DAY0 + timedelta(hours=1)}
    assert selectors.summary(**window).requests == 3  # type: ignore[arg-type]


def test_series_steps_read_hours_once_rolled_up():
    _feed(random.Random(3), hours=4)
    start, end = DAY0, DAY0 + timedelta(hours=4)
    minutes = selectors.time_series(start=start, end=end, step_seconds=3600)

    services.roll_up(level="hour", now=end + timedelta(hours=1))
    hours = selectors.time_series(start=start, end=end, step_seconds=3600)

    assert [p.requests for p in hours] == [p.requests for p in minutes]
    assert [p.total_p95_ms for p in hours] == [p.total_p95_ms for p in minutes]
    five = selectors.time_series(start=start, end=end, step_seconds=300)
    assert sum(p.requests for p in five) == sum(p.requests for p in minutes)
    assert len(five) == 48


def test_retention_deletes_old_rows_in_batches():
    now = DAY0 + timedelta(days=400)
    for days_ago in (1, 8, 100, 366):
        at = now - timedelta(days=days_ago)
        services.record_request_stats(minute=at, route="r", total_ms=[1])
        RequestStatHour.objects.create(
            bucket=at, route="r", method="GET", status_class=2, requests=1
        )
        RequestStatDay.objects.create(
            bucket=at, route="r", method="GET", status_class=2, requests=1
        )
        services.record_process_sample(
            at=at, host="h", pid=1, cpu_percent=1, rss_bytes=1, memory_percent=1
        )
        services.record_db_connection_sample(at=at, connections=1, max_connections=9)

    counts = services.delete_expired(
        minute_days=7, hour_days=90, day_days=365, now=now, batch_size=1
    )

    assert counts["minutes"] == 3
    assert counts["hours"] == 2
    assert counts["days"] == 1
    assert RequestStatMinute.objects.count() == 1
    assert RequestStatHour.objects.count() == 2
    assert RequestStatDay.objects.count() == 3
    assert ProcessSample.objects.count() == 1
    assert DbConnectionSample.objects.count() == 1
