"""Selectors read what the services wrote, across processes and levels."""

from datetime import UTC, datetime, timedelta

import pytest

from perfdash import selectors, services

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def test_summary_adds_processes_and_reads_every_figure():
    services.record_request_stats(
        minute=T0,
        route="api/<int:user_id>/chat",
        method="POST",
        total_ms=[10, 20, 30],
        upstream_ms=[4, 4, 4],
        statement_ms=[1, 1, 2, 2],
        cache_hits=3,
        cache_misses=1,
        host="a",
        pid=1,
    )
    services.record_request_stats(
        minute=T0 + timedelta(seconds=30),
        route="api/<int:user_id>/chat",
        method="POST",
        status=503,
        total_ms=[40],
        host="b",
        pid=2,
    )
    services.record_process_sample(
        at=T0,
        host="a",
        pid=1,
        cpu_percent=50,
        rss_bytes=100,
        memory_percent=1.0,
        pool={"pool_max": 10, "pool_size": 4, "pool_available": 1},
    )
    services.record_db_connection_sample(at=T0, connections=20, max_connections=100)

    result = selectors.summary(start=T0, end=T0 + timedelta(minutes=1))

    assert result.requests == 4
    assert result.errors == 1
    assert result.error_rate == pytest.approx(0.25)
    assert result.rate_per_second == pytest.approx(4 / 60)
    assert result.total_p50_ms == pytest.approx(20, rel=0.01)
    assert result.app_p50_ms == pytest.approx(16, rel=0.01)
    assert result.upstream_p95_ms == pytest.approx(4, rel=0.01)
    assert result.statements_per_request == pytest.approx(1.0)
    assert result.statement_p95_ms == pytest.approx(2, rel=0.01)
    assert result.cache_hit_ratio == pytest.approx(0.75)
    assert result.pool_utilization == pytest.approx(0.3)
    assert result.connection_utilization == pytest.approx(0.2)
    assert result.db_connection_utilization == pytest.approx(0.2)
    assert result.cpu_percent == pytest.approx(50)
    assert selectors.freshness() is not None


def test_rollup_reads_equal_minute_reads():
    for minute in range(0, 120, 7):
        services.record_request_stats(
            minute=T0 + timedelta(minutes=minute),
            route="r",
            total_ms=[minute + 1, 2 * minute + 3],
            host="h",
            pid=minute % 3,
        )
    end = T0 + timedelta(hours=2)
    before = selectors.summary(start=T0, end=end)

    written = services.roll_up(level="hour", now=T0 + timedelta(hours=3))
    assert written == 2
    assert services.roll_up(level="hour", now=T0 + timedelta(hours=3)) == 2
    after = selectors.summary(start=T0, end=end)

    assert after.requests == before.requests == 2 * len(range(0, 120, 7))
    assert after.total_p95_ms == before.total_p95_ms
    assert after.total_p50_ms == before.total_p50_ms
    series = selectors.time_series(start=T0, end=end, step_seconds=3600)
    assert [p.requests for p in series] == [18, 18]
