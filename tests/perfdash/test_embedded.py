"""perfdash on the embedded default: SQLite and the local-memory cache."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from perfdash import recorder, selectors, services
from perfdash.models import ProcessSample, RequestStatHour

pytestmark = [
    pytest.mark.sqlite,
    pytest.mark.django_db,
    pytest.mark.urls("tests.perfdash.urls"),
]


def test_requests_flush_roll_up_and_read_on_sqlite():
    cache.set("perf:empty", "")
    cache.set("perf:none", None)
    client = Client()
    for item in range(3):
        client.get(f"/perf-test/ok/{item}/")
    client.get("/perf-test/cached/")

    assert recorder.flush() == 4

    sample = ProcessSample.objects.get()
    assert sample.pool_max is None  # no connection pool on SQLite
    assert sample.rss_bytes > 0
    now = timezone.now()
    start = now.replace(second=0, microsecond=0)
    result = selectors.summary(start=start, end=now + timedelta(minutes=1))
    assert result.requests == 4
    assert result.db_statements == 3
    assert result.cache_hit_ratio == pytest.approx(3 / 5)
    assert result.pool_utilization is None
    assert result.cpu_percent is not None

    services.roll_up(level="hour", now=now + timedelta(hours=2))
    assert sum(RequestStatHour.objects.values_list("requests", flat=True)) == 4


def test_connection_sampling_is_a_no_op_on_sqlite():
    assert services.sample_db_connections() is None
