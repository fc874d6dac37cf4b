"""Alert metrics read from what perfdash stored, one metric at a time."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from perfdash import services as perfdash_services
from perfdash.alerts import metrics
from perfdash.alerts.metrics import Reading

pytestmark = pytest.mark.django_db

MINUTE = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
START, END = MINUTE, MINUTE + timedelta(minutes=1)


@pytest.fixture
def traffic() -> None:
    # 40 requests: 4 server errors, 4 with a slow model call; 30 hits, 10 misses.
    perfdash_services.record_request_stats(
        minute=MINUTE,
        route="/api/chat",
        status=200,
        # upstream_ms pairs with the first requests: app time is 100 ms each.
        total_ms=[900.0] * 4 + [100.0] * 32,
        upstream_ms=[800.0] * 4,
        cache_hits=30,
        cache_misses=10,
    )
    perfdash_services.record_request_stats(
        minute=MINUTE, route="/api/chat", status=500, total_ms=[50.0] * 4
    )


def test_request_metrics_count_requests_as_samples(traffic):
    assert metrics.read("error_rate", START, END) == Reading(0.1, 40)
    p95 = metrics.read("response_time_p95", START, END)
    assert p95.samples == 40
    assert p95.value == pytest.approx(900.0, rel=0.02)
    cache = metrics.read("cache_hit_ratio", START, END)
    assert cache == (pytest.approx(0.75), 40)


def test_upstream_time_is_kept_apart_from_app_time(traffic):
    upstream = metrics.read("upstream_time_p95", START, END)
    app = metrics.read("app_time_p95", START, END)
    assert upstream == (pytest.approx(800.0, rel=0.02), 4)
    assert app == (pytest.approx(100.0, rel=0.02), 40)


def test_connection_utilization_counts_its_samples():
    for connections in (80, 95, 95):
        perfdash_services.record_db_connection_sample(
            connections=connections, max_connections=100, at=MINUTE
        )

    reading = metrics.read("db_connection_utilization", START, END)

    assert reading == (pytest.approx(0.9), 3)


def test_an_empty_window_is_no_value_and_no_samples():
    assert metrics.read("error_rate", START, END) == Reading(None, 0)
    assert metrics.read("db_connection_utilization", START, END) == Reading(None, 0)


def test_read_many_reads_each_window_once(traffic):
    one_minute = timedelta(minutes=1)
    keys = {("error_rate", one_minute), ("cache_hit_ratio", one_minute)}

    with CaptureQueriesContext(connection) as single:
        metrics.read("error_rate", START, END)
    with CaptureQueriesContext(connection) as both:
        readings = metrics.read_many(keys, end=END)

    assert len(both) == len(single)
    assert readings[("error_rate", one_minute)] == Reading(0.1, 40)
    assert readings[("cache_hit_ratio", one_minute)] == Reading(0.75, 40)
