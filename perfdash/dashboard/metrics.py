"""The stored measurements in the Prometheus text format (``/perfdash/metrics``).

prometheus_client renders the exposition; the values are read from storage on
each scrape, so they are already summed over every process and host, and a
restarted worker does not reset them. Latency histograms are derived from the
stored DDSketches: a bucket counts the sketch buckets whose representative
value lies at or below its bound, exact up to the sketch's 1% accuracy.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db.models import Max
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from perfdash import selectors as perf
from perfdash import sketches
from perfdash.models import DbConnectionSample, ProcessSample

# Finer than the usual defaults below 100 ms, where a healthy API answers.
BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.2,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
# A process whose newest sample is older than this has exited: its pool
# gauges no longer count.
LIVE_PROCESS_WINDOW = timedelta(minutes=2)
_EVER = datetime(2000, 1, 1, tzinfo=UTC)


def _bound_label(bound: float) -> str:
    return repr(bound) if bound != int(bound) else f"{bound:.1f}"


class StoredMetricsCollector(Collector):
    """Collect perfdash's stored counters, histograms and pool gauges."""

    def collect(self) -> Iterable[Metric]:
        now = timezone.now()
        yield from self._request_metrics()
        yield self._duration_histogram(now)
        yield from self._pool_gauges(now)

    def _request_metrics(self) -> Iterable[Metric]:
        requests = CounterMetricFamily(
            "perfdash_requests",
            "Requests served, by route template, method and status class.",
            labels=["route", "method", "status"],
        )
        hits = CounterMetricFamily(
            "perfdash_cache_hits", "Cache hits inside requests.", labels=["route"]
        )
        misses = CounterMetricFamily(
            "perfdash_cache_misses", "Cache misses inside requests.", labels=["route"]
        )
        statements = CounterMetricFamily(
            "perfdash_db_statements",
            "SQL statements issued inside requests.",
            labels=["route"],
        )
        per_route: dict[str, list[int]] = {}
        for count in perf.request_counts():
            requests.add_metric(
                [count.route, count.method, f"{count.status_class}xx"],
                count.requests,
            )
            sums = per_route.setdefault(count.route, [0, 0, 0])
            sums[0] += count.cache_hits
            sums[1] += count.cache_misses
            sums[2] += count.db_statements
        for route, (hit, miss, statement) in sorted(per_route.items()):
            hits.add_metric([route], hit)
            misses.add_metric([route], miss)
            statements.add_metric([route], statement)
        return [requests, hits, misses, statements]

    def _duration_histogram(self, now: datetime) -> Metric:
        histogram = HistogramMetricFamily(
            "perfdash_request_duration_seconds",
            "Request duration (to the end of a streamed body), by route template.",
            labels=["route"],
        )
        by_route = perf.route_sketches(start=_EVER, end=now + timedelta(days=1))
        for route, sketch in sorted(by_route.items()):
            if not sketch.count:
                continue
            cumulative = sketches.cumulative_counts(sketch, BUCKETS)
            buckets = [
                (_bound_label(bound), value)
                for bound, value in zip(BUCKETS, cumulative, strict=True)
            ]
            buckets.append(("+Inf", sketch.count))
            histogram.add_metric([route], buckets, sum_value=sketch.sum)
        return histogram

    def _pool_gauges(self, now: datetime) -> Iterable[Metric]:
        latest = _latest_process_samples(now - LIVE_PROCESS_WINDOW)
        pooled = [s for s in latest if s.pool_max is not None]
        gauges = {
            "perfdash_db_pool_size": ("Connections the pools hold.", "pool_size"),
            "perfdash_db_pool_available": (
                "Idle connections in the pools.",
                "pool_available",
            ),
            "perfdash_db_pool_max": ("The pools' maximum sizes.", "pool_max"),
            "perfdash_db_pool_requests_waiting": (
                "Requests waiting for a pooled connection.",
                "requests_waiting",
            ),
        }
        for name, (doc, attribute) in gauges.items():
            gauge = GaugeMetricFamily(name, doc + " Summed over live processes.")
            if pooled:
                gauge.add_metric([], sum(getattr(s, attribute) or 0 for s in pooled))
            yield gauge

        in_use = GaugeMetricFamily(
            "perfdash_db_pool_in_use",
            "Connections lent out by the pools. Summed over live processes.",
        )
        if pooled:
            in_use.add_metric([], sum(s.pool_in_use or 0 for s in pooled))
        yield in_use

        processes = GaugeMetricFamily(
            "perfdash_processes", "Processes that sampled in the last two minutes."
        )
        processes.add_metric([], len(latest))
        yield processes

        server = DbConnectionSample.objects.order_by("-at").first()
        connections = GaugeMetricFamily(
            "perfdash_db_connections", "PostgreSQL client connections, all databases."
        )
        limit = GaugeMetricFamily(
            "perfdash_db_max_connections", "PostgreSQL's max_connections."
        )
        if server is not None:
            connections.add_metric([], server.connections)
            limit.add_metric([], server.max_connections)
        yield connections
        yield limit


def _latest_process_samples(since: datetime) -> list[ProcessSample]:
    """Return the newest sample of each process that sampled since a moment."""
    newest = (
        ProcessSample.objects.filter(at__gte=since)
        .values("host", "pid")
        .annotate(newest=Max("at"))
        .order_by()
    )
    moments = {(row["host"], row["pid"]): row["newest"] for row in newest}
    if not moments:
        return []
    candidates = ProcessSample.objects.filter(at__in=set(moments.values()))
    return [s for s in candidates if moments.get((s.host, s.pid)) == s.at]


def exposition() -> bytes:
    """Return the metrics page in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoredMetricsCollector())
    return generate_latest(registry)
