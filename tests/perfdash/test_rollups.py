"""Rollups add sketches: hours and days read the same as the minutes."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from perfdash import selectors, services
from perfdash.models import (
    DbConnectionSample,
    ProcessSample,
    ProcessSampleHour,
    RequestStatDay,
    RequestStatDayTotal,
    RequestStatHour,
    RequestStatHourTotal,
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


def test_all_route_totals_read_like_minutes_and_rebuild_idempotently():
    _feed(random.Random(11), hours=30)
    start, end = DAY0, DAY0 + timedelta(hours=30)
    before = _figures(selectors.summary(start=start, end=end))
    series = selectors.time_series(start=start, end=end, step_seconds=3600)
    before_series = [_figures(point) for point in series]

    now = end + timedelta(hours=1)
    for _ in range(2):  # a second run rebuilds the same rows
        services.roll_up(level="hour", now=now)
        services.roll_up(level="day", now=now)

    # One total row per hour (or day) and (method, status class), routes added.
    keys = {(r.method, r.status_class) for r in RequestStatMinute.objects.all()}
    hours = RequestStatHourTotal.objects.all()
    assert hours.count() == len(
        {(h.bucket, h.method, h.status_class) for h in RequestStatHour.objects.all()}
    )
    assert {(h.method, h.status_class) for h in hours} == keys
    assert {h.route for h in hours} == {services.ALL_ROUTES}
    assert sum(h.requests for h in hours) == sum(
        r.requests for r in RequestStatMinute.objects.all()
    )
    assert RequestStatDayTotal.objects.filter(bucket=DAY0).count() == len(keys)

    # Reads over every route come from the totals alone: drop the minutes
    # and the per-route rows, and nothing changes.
    RequestStatMinute.objects.all().delete()
    RequestStatHour.objects.all().delete()
    RequestStatDay.objects.all().delete()
    assert _figures(selectors.summary(start=start, end=end)) == before
    series = selectors.time_series(start=start, end=end, step_seconds=3600)
    assert [_figures(point) for point in series] == before_series
    assert selectors.route_table(start=start, end=end) == []


RESOURCES = (
    "process_samples",
    "cpu_percent",
    "cpu_percent_max",
    "rss_bytes",
    "rss_bytes_max",
    "memory_percent",
    "pool_utilization",
    "pool_utilization_max",
    "pool_waiting_max",
    "pool_errors",
)


def _resources(result: object) -> dict[str, object]:
    values = {name: getattr(result, name) for name in RESOURCES}
    # Means are sums over counts either way; only the adding order differs.
    return {
        name: pytest.approx(value) if isinstance(value, float) else value
        for name, value in values.items()
    }


def _sample_hours(rng: random.Random, hours: int) -> None:
    for second in range(0, hours * 3600, 290):
        for pid in (1, 2):
            services.record_process_sample(
                at=DAY0 + timedelta(seconds=second),
                host="web",
                pid=pid,
                cpu_percent=rng.uniform(0, 90),
                rss_bytes=rng.randint(80, 140) * 2**20,
                memory_percent=rng.uniform(1, 2),
                pool=None
                if pid == 2 and second % 3
                else {
                    "pool_max": 10,
                    "pool_size": 6,
                    "pool_available": rng.randint(0, 6),
                    "requests_waiting": rng.randint(0, 3),
                    "requests_errors": second // 1000,
                },
            )


def test_process_hours_read_like_the_samples():
    _sample_hours(random.Random(5), hours=5)
    # A range with ragged edges: raw samples at both ends, hours between.
    start = DAY0 + timedelta(minutes=17)
    end = DAY0 + timedelta(hours=4, minutes=41)
    before = _resources(selectors.summary(start=start, end=end))
    window_end = DAY0 + timedelta(hours=5)

    def series() -> list[dict[str, object]]:
        points = selectors.time_series(start=DAY0, end=window_end, step_seconds=3600)
        return [_resources(point) for point in points]

    def processes() -> list[selectors.ProcessPoint]:
        return selectors.process_series(start=DAY0, end=window_end, step_seconds=3600)

    before_series = series()
    before_processes = processes()

    now = DAY0 + timedelta(hours=6)
    for _ in range(2):
        services.roll_up(level="hour", now=now)
    assert ProcessSampleHour.objects.count() == 5 * 2  # hours x processes
    assert sum(h.samples for h in ProcessSampleHour.objects.all()) == (
        ProcessSample.objects.count()
    )

    # Drop the raw samples of the hours inside the range: the hour rows serve.
    ProcessSample.objects.filter(
        at__gte=DAY0 + timedelta(hours=1), at__lt=DAY0 + timedelta(hours=4)
    ).delete()
    assert _resources(selectors.summary(start=start, end=end)) == before
    ProcessSample.objects.all().delete()
    assert series() == before_series
    after = processes()
    assert [(p.at, p.host, p.pid) for p in after] == [
        (p.at, p.host, p.pid) for p in before_processes
    ]
    assert [p.cpu_percent for p in after] == pytest.approx(
        [p.cpu_percent for p in before_processes]
    )
    assert [p.rss_bytes for p in after] == pytest.approx(
        [p.rss_bytes for p in before_processes]
    )


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
