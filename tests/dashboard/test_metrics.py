"""``/perfdash/metrics``: Prometheus text, stored counts, staff or token only."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from perfdash import selectors as perf
from perfdash import services
from tests.dashboard.conftest import CHAT

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-metrics-token-for-tests"


def _families(response) -> dict:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_request_counts_equal_what_was_stored(staff_client, seeded):
    families = _families(staff_client.get("/perfdash/metrics"))

    requests = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in families["perfdash_requests"].samples
    }
    assert requests == {
        (route, method, f"{status}xx"): float(n)
        for (route, method, status), n in seeded.requests.items()
    }


def test_cache_and_statement_counters_equal_the_stored_totals(staff_client, seeded):
    families = _families(staff_client.get("/perfdash/metrics"))
    stored = perf.summary(start=seeded.start, end=seeded.end)

    def total(name: str) -> float:
        return sum(s.value for s in families[name].samples if s.name.endswith("_total"))

    assert total("perfdash_cache_hits") == stored.cache_hits
    assert total("perfdash_cache_misses") == stored.cache_misses
    assert total("perfdash_db_statements") == stored.db_statements


def test_duration_histogram_comes_from_the_sketches(staff_client, seeded):
    families = _families(staff_client.get("/perfdash/metrics"))
    histogram = families["perfdash_request_duration_seconds"]
    assert histogram.type == "histogram"

    chat = [s for s in histogram.samples if s.labels["route"] == CHAT]
    buckets = [s for s in chat if s.name.endswith("_bucket")]
    counts = [s.value for s in buckets]
    assert counts == sorted(counts), "cumulative buckets never decrease"
    count = next(s.value for s in chat if s.name.endswith("_count"))
    sent = sum(n for (route, _m, _s), n in seeded.requests.items() if route == CHAT)
    assert count == sent
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == sent
    # The seeded durations are log-normal around 37 ms: none under 1 ms,
    # most under 100 ms.
    le = {s.labels["le"]: s.value for s in buckets}
    assert le["0.001"] == 0
    assert 0.5 * sent < le["0.1"] < sent


def test_counts_add_rows_of_every_level_once(staff_client, seeded):
    before = _families(staff_client.get("/perfdash/metrics"))
    services.roll_up(level="hour", now=timezone.now())
    after = _families(staff_client.get("/perfdash/metrics"))
    assert [s.value for s in after["perfdash_requests"].samples] == [
        s.value for s in before["perfdash_requests"].samples
    ]


def test_pool_gauges_sum_the_live_processes(staff_client):
    now = timezone.now()
    for pid, size, available in ((1, 4, 1), (2, 6, 2)):
        services.record_process_sample(
            at=now,
            host="web",
            pid=pid,
            cpu_percent=5,
            rss_bytes=2**20,
            memory_percent=1,
            pool={"pool_max": 10, "pool_size": size, "pool_available": available},
        )
    # An exited process's old sample no longer counts.
    services.record_process_sample(
        at=now - timedelta(minutes=30),
        host="web",
        pid=3,
        cpu_percent=5,
        rss_bytes=2**20,
        memory_percent=1,
        pool={"pool_max": 10, "pool_size": 10, "pool_available": 0},
    )
    services.record_db_connection_sample(at=now, connections=17, max_connections=100)

    families = _families(staff_client.get("/perfdash/metrics"))

    def gauge(name: str) -> float:
        return families[name].samples[0].value

    assert gauge("perfdash_db_pool_size") == 10
    assert gauge("perfdash_db_pool_available") == 3
    assert gauge("perfdash_db_pool_in_use") == 7
    assert gauge("perfdash_db_pool_max") == 20
    assert gauge("perfdash_processes") == 2
    assert gauge("perfdash_db_connections") == 17
    assert gauge("perfdash_db_max_connections") == 100


def test_anonymous_is_refused():
    response = Client().get("/perfdash/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_non_staff_is_refused(plain_client):
    assert plain_client.get("/perfdash/metrics").status_code == 403


def test_the_token_opens_it_and_a_wrong_one_does_not(settings, seeded):
    settings.PERFDASH = {**settings.PERFDASH, "METRICS_TOKEN": TOKEN}
    client = Client()
    ok = client.get("/perfdash/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert "perfdash_requests" in _families(ok)
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, "Bearer "):
        response = client.get("/perfdash/metrics", HTTP_AUTHORIZATION=wrong)
        assert response.status_code == 401, wrong


def test_an_unset_token_opens_nothing(settings):
    settings.PERFDASH = {**settings.PERFDASH, "METRICS_TOKEN": ""}
    response = Client().get("/perfdash/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 401


def test_only_get_is_allowed(staff_client):
    assert staff_client.post("/perfdash/metrics").status_code == 405
