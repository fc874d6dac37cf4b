"""Two real gunicorn workers serve a known mix; the stored rows match it exactly."""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.core.cache import cache
from django.utils import timezone

from perfdash import selectors
from perfdash.models import ProcessSample, RequestStatMinute, StatementFingerprint
from perfdash.probes import UNMATCHED_ROUTE
from tests.perfdash import views
from tests.perfdash.servers import gunicorn

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

OK = "perf-test/ok/<int:item>/"
STATUS = "perf-test/status/<int:code>/"

# (method, path, (route, method, status class)), repeated as listed.
MIX = (
    [("GET", f"/perf-test/ok/{i}/", (OK, "GET", 2)) for i in range(1, 25)]
    + [("POST", "/perf-test/status/201/", (STATUS, "POST", 2))] * 6
    + [("GET", "/perf-test/status/404/", (STATUS, "GET", 4))] * 5
    + [("GET", "/perf-test/status/503/", (STATUS, "GET", 5))] * 4
    + [("GET", "/perf-test/boom/", ("perf-test/boom/", "GET", 5))] * 3
    + [("GET", f"/not/a/route/{i}", (UNMATCHED_ROUTE, "GET", 4)) for i in range(4)]
    + [("GET", "/perf-test/cached/", ("perf-test/cached/", "GET", 2))] * 5
    + [("GET", "/perf-test/slow/", ("perf-test/slow/", "GET", 2))]
    + [("GET", "/perf-test/n-plus-one/", ("perf-test/n-plus-one/", "GET", 2))]
    + [("GET", "/perf-test/stream/", ("perf-test/stream/", "GET", 2))] * 2
)


def _send(base: str, method: str, path: str) -> int:
    with httpx.Client(base_url=base, timeout=30) as client:
        response = client.request(method, path)
        response.read()
        return response.status_code


def test_two_workers_store_exactly_what_was_sent():
    cache.set("perf:empty", "")
    cache.set("perf:none", None)
    started = timezone.now()

    with gunicorn(workers=2) as server:
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(
                pool.map(lambda m: _send(server.url, m[0], m[1]), MIX, timeout=120)
            )
        # Let both workers' flushers write process and pool samples while
        # the server still runs.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            pooled = ProcessSample.objects.filter(
                at__gte=started, pool_max__isnull=False
            )
            if len({s.pid for s in pooled}) >= 2:
                break
            time.sleep(0.25)
        samples_while_running = list(pooled)
        ready_probes = server.ready_probes
    # gunicorn has exited: its workers flushed at exit.

    assert statuses.count(500) == 3
    expected = Counter(key for _method, _path, key in MIX)
    expected[(STATUS, "GET", 2)] += ready_probes
    stored = {
        (row.route, row.method, row.status_class): row
        for row in selectors.request_counts()
    }
    assert {key: row.requests for key, row in stored.items()} == dict(expected)

    assert len(set(RequestStatMinute.objects.values_list("pid", flat=True))) == 2
    assert stored[(OK, "GET", 2)].db_statements == 24
    cached = stored[("perf-test/cached/", "GET", 2)]
    assert cached.cache_hits == 5 * views.CACHE_HITS_PER_REQUEST
    assert cached.cache_misses == 5 * views.CACHE_MISSES_PER_REQUEST
    assert sum(row.cache_hits + row.cache_misses for row in stored.values()) == 25
    assert stored[("perf-test/stream/", "GET", 2)].db_statements == 2

    slow = list(StatementFingerprint.objects.filter(kind="slow"))
    assert [(s.route, s.sql, s.occurrences) for s in slow] == [
        ("perf-test/slow/", "SELECT pg_sleep(?)", 1)
    ]
    suspects = list(StatementFingerprint.objects.filter(kind="n_plus_one"))
    assert [(s.route, s.max_repeats) for s in suspects] == [
        ("perf-test/n-plus-one/", 6)
    ]
    assert "LIMIT" in suspects[0].sql and "%s" not in suspects[0].sql

    # Item 4: samples with pool statistics, CPU and memory, from both workers.
    assert len({s.pid for s in samples_while_running}) == 2
    for sample in samples_while_running:
        assert sample.pool_max == 10
        assert sample.pool_size is not None and sample.pool_available is not None
        assert sample.rss_bytes > 0
    minute = started.replace(second=0, microsecond=0)
    summary = selectors.summary(start=minute, end=timezone.now())
    assert summary.pool_utilization is not None
    assert summary.cpu_percent is not None
    assert summary.requests == sum(expected.values())


def test_recycled_workers_lose_no_request():
    sent = 60
    with gunicorn(workers=2, extra_env={"GUNICORN_MAX_REQUESTS": "7"}) as server:
        with ThreadPoolExecutor(max_workers=3) as pool:
            paths = [f"/perf-test/ok/{i}/" for i in range(sent)]
            statuses = list(
                pool.map(lambda p: _send(server.url, "GET", p), paths, timeout=120)
            )
        ready_probes = server.ready_probes

    assert statuses == [200] * sent
    stored = {
        (row.route, row.method, row.status_class): row.requests
        for row in selectors.request_counts()
    }
    assert stored == {(OK, "GET", 2): sent, (STATUS, "GET", 2): ready_probes}
    # Every worker served at most 7 requests, so at least 9 took part.
    pids = set(RequestStatMinute.objects.values_list("pid", flat=True))
    assert len(pids) >= -(-(sent + ready_probes) // 7)
