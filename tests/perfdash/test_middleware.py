"""The middleware and wrappers measure each request, in this process."""

from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from perfdash import recorder, selectors
from perfdash.models import RequestStatMinute, StatementFingerprint
from perfdash.probes import UNMATCHED_ROUTE
from tests.perfdash import views

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.perfdash.urls")]


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def _now() -> datetime:
    return timezone.now()


def _flushed() -> dict[tuple[str, str, int], selectors.RequestCount]:
    recorder.flush(sample=False)
    return {
        (row.route, row.method, row.status_class): row
        for row in selectors.request_counts()
    }


def test_route_template_is_stored_never_the_path(client):
    for item in (1, 2, 3):
        assert client.get(f"/perf-test/ok/{item}/").status_code == 200
    client.get("/no/such/page/42")

    counts = _flushed()

    assert counts[("perf-test/ok/<int:item>/", "GET", 2)].requests == 3
    assert counts[(UNMATCHED_ROUTE, "GET", 4)].requests == 1
    assert not RequestStatMinute.objects.filter(route__contains="/1/").exists()


def test_status_classes_are_counted_apart(client):
    client.get("/perf-test/status/201/")
    client.post("/perf-test/status/404/")
    client.get("/perf-test/status/503/")
    assert client.get("/perf-test/boom/").status_code == 500

    counts = _flushed()

    route = "perf-test/status/<int:code>/"
    assert counts[(route, "GET", 2)].requests == 1
    assert counts[(route, "POST", 4)].requests == 1
    assert counts[(route, "GET", 5)].requests == 1
    assert counts[("perf-test/boom/", "GET", 5)].requests == 1


def test_cache_hits_and_misses_follow_the_pattern(client):
    cache.set("perf:empty", "")
    cache.set("perf:none", None)
    for _ in range(2):
        client.get("/perf-test/cached/")

    row = _flushed()[("perf-test/cached/", "GET", 2)]

    assert row.cache_hits == 2 * views.CACHE_HITS_PER_REQUEST
    assert row.cache_misses == 2 * views.CACHE_MISSES_PER_REQUEST


def test_cache_lookups_outside_requests_are_not_counted(client):
    cache.get("perf:absent")
    client.get("/perf-test/raw/")

    row = _flushed()[("perf-test/raw/", "GET", 2)]

    assert (row.cache_hits, row.cache_misses) == (0, 0)


def test_raw_sql_counts_and_perfdash_statements_do_not(client):
    client.get("/perf-test/raw/")
    client.get("/perf-test/own/")

    counts = _flushed()

    assert counts[("perf-test/raw/", "GET", 2)].db_statements == 1
    assert counts[("perf-test/own/", "GET", 2)].db_statements == 0


def test_streamed_response_is_recorded_when_the_stream_closes(client):
    response = client.get("/perf-test/stream/")
    assert recorder.pending() == 0

    # The test client closes the response when the stream is exhausted, as a
    # WSGI server does after sending the last chunk.
    assert b"".join(response.streaming_content) == b"one two three"
    assert recorder.pending() == 1

    row = _flushed()[("perf-test/stream/", "GET", 2)]
    assert row.requests == 1
    assert row.db_statements == 1


def test_upstream_time_is_split_from_app_time(client):
    client.get("/perf-test/upstream/")
    client.get("/perf-test/raw/")
    recorder.flush(sample=False)

    start, end = _now() - timedelta(minutes=5), _now() + timedelta(1)
    result = selectors.summary(route="perf-test/upstream/", start=start, end=end)
    plain = selectors.summary(route="perf-test/raw/", start=start, end=end)

    assert result.upstream_requests == 1
    assert result.upstream_p50_ms is not None
    assert result.first_token_p95_ms is not None
    assert plain.upstream_requests == 0
    assert plain.upstream_p50_ms is None


def test_n_plus_one_suspect_keeps_the_shape_without_values(client):
    client.get("/perf-test/n-plus-one/")
    client.get("/perf-test/literal-n-plus-one/")
    client.get("/perf-test/ok/1/")
    recorder.flush(sample=False)

    suspects = StatementFingerprint.objects.filter(kind="n_plus_one")

    assert sorted(s.route for s in suspects) == [
        "perf-test/literal-n-plus-one/",
        "perf-test/n-plus-one/",
    ]
    orm = suspects.get(route="perf-test/n-plus-one/")
    assert orm.max_repeats == 6
    assert orm.occurrences == 1
    literal = suspects.get(route="perf-test/literal-n-plus-one/")
    assert literal.max_repeats == 5
    assert "secret" not in literal.sql
    assert "?" in literal.sql


def test_disabled_perfdash_measures_nothing(client, settings):
    settings.PERFDASH = {**settings.PERFDASH, "ENABLED": False}
    fresh = Client()

    fresh.get("/perf-test/raw/")

    assert recorder.pending() == 0


def test_flush_writes_nothing_twice(client):
    client.get("/perf-test/raw/")
    recorder.flush(sample=False)
    recorder.flush(sample=False)

    assert _flushed()[("perf-test/raw/", "GET", 2)].requests == 1


def test_async_stack_measures_requests_and_statements():
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    response = async_to_sync(AsyncClient().get)("/perf-test/raw/")

    assert response.status_code == 200
    row = _flushed()[("perf-test/raw/", "GET", 2)]
    assert row.requests == 1
    assert row.db_statements == 1


def test_get_or_set_counts_one_lookup_and_cache_time_is_kept(client):
    from perfdash import probes

    probe, token = probes.start()
    try:
        assert cache.get_or_set("perf:gos", lambda: "made") == "made"
        assert cache.get_or_set("perf:gos", "other") == "made"
    finally:
        probes.finish(token)

    assert (probe.cache_hits, probe.cache_misses) == (1, 1)
    assert probe.cache_seconds > 0
