"""Reads for the dashboard, the metrics endpoint and the alert evaluator.

Every function takes an aware ``start`` (inclusive) and ``end`` (exclusive)
and reads the coarsest stored level that covers each part of the range: day
rows, then hour rows, then minute rows for the edges and for whatever the
rollups have not reached yet. Latencies are milliseconds, ratios are 0..1,
and a figure with nothing to stand on is ``None``, never 0.

- :func:`summary`: one range, optionally one route: requests, rate, error
  rate (5xx share), p50/p95/p99 of total, app and upstream time, time to
  first token, statements per request, statement time p95, DB time, cache hit
  ratio, pool and connection utilization, CPU and memory.
- :func:`route_table`: the request figures of :func:`summary`, per route.
- :func:`time_series`: request and resource figures per step (a multiple of
  60 seconds), for charts; empty steps are present with zero requests.
- :func:`process_series`: CPU and memory per process and step.
- :func:`slow_statements` and :func:`n_plus_one_suspects`: normalized
  statement fingerprints seen in the range, with counts, route, last seen.
- :func:`request_counts`: stored requests per (route, method, status class)
  with cache and statement totals (the Prometheus counters).
- :func:`route_sketches`: the merged total-time sketch per route (histograms).
- :func:`freshness`: when the newest measurement was written.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ddsketch import DDSketch
from django.db.models import (
    Avg,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Floor

from perfdash import probes, sketches
from perfdash.models import (
    DbConnectionSample,
    ProcessSample,
    RequestStatBase,
    RequestStatDay,
    RequestStatHour,
    RequestStatMinute,
    RollupState,
    StatementFingerprint,
)

UNMATCHED_ROUTE = probes.UNMATCHED_ROUTE

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


# --- result types ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RequestFigures:
    """Request figures over a range (or a step of a series)."""

    requests: int = 0
    rate_per_second: float = 0.0
    errors: int = 0
    error_rate: float | None = None
    client_errors: int = 0
    total_p50_ms: float | None = None
    total_p95_ms: float | None = None
    total_p99_ms: float | None = None
    app_p50_ms: float | None = None
    app_p95_ms: float | None = None
    app_p99_ms: float | None = None
    upstream_requests: int = 0
    upstream_p50_ms: float | None = None
    upstream_p95_ms: float | None = None
    upstream_p99_ms: float | None = None
    first_token_p95_ms: float | None = None
    mean_total_ms: float | None = None
    mean_app_ms: float | None = None
    mean_upstream_ms: float | None = None
    mean_db_ms: float | None = None
    mean_cache_ms: float | None = None
    db_statements: int = 0
    statements_per_request: float | None = None
    statement_p95_ms: float | None = None
    db_p95_ms: float | None = None
    cache_hits: int = 0
    cache_misses: int = 0
    cache_hit_ratio: float | None = None


@dataclass(frozen=True, kw_only=True)
class ResourceFigures:
    """Pool, connection, CPU and memory figures from samples in a range."""

    process_samples: int = 0
    pool_utilization: float | None = None
    pool_utilization_max: float | None = None
    pool_waiting_max: int | None = None
    pool_errors: int | None = None
    connection_samples: int = 0
    connection_utilization: float | None = None
    connection_utilization_max: float | None = None
    connections_max: int | None = None
    max_connections: int | None = None
    cpu_percent: float | None = None
    cpu_percent_max: float | None = None
    rss_bytes: float | None = None
    rss_bytes_max: int | None = None
    memory_percent: float | None = None

    @property
    def db_connection_utilization(self) -> float | None:
        """Return server connection use, else pool use (mean over the range)."""
        if self.connection_utilization is not None:
            return self.connection_utilization
        return self.pool_utilization


@dataclass(frozen=True, kw_only=True)
class Summary(RequestFigures, ResourceFigures):
    """Everything measured over one range, optionally for one route."""

    start: datetime
    end: datetime
    route: str | None = None


@dataclass(frozen=True, kw_only=True)
class RouteRow(RequestFigures):
    """One route's request figures over a range."""

    route: str
    methods: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SeriesPoint(RequestFigures, ResourceFigures):
    """Figures of one step of a time series, starting at ``at``."""

    at: datetime


@dataclass(frozen=True, kw_only=True)
class ProcessPoint:
    """One process's mean CPU and memory over one step."""

    at: datetime
    host: str
    pid: int
    cpu_percent: float
    rss_bytes: float
    memory_percent: float


@dataclass(frozen=True, kw_only=True)
class StatementRow:
    """A statement fingerprint summed over processes, for one route."""

    kind: str
    route: str
    fingerprint: str
    sql: str
    occurrences: int
    statements: int
    total_ms: float
    max_ms: float
    max_repeats: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, kw_only=True)
class RequestCount:
    """Stored totals of one (route, method, status class)."""

    route: str
    method: str
    status_class: int
    requests: int
    db_statements: int
    cache_hits: int
    cache_misses: int
    total_seconds: float


# --- reading rows across levels ----------------------------------------------


def _complete_until() -> dict[str, datetime]:
    return dict(RollupState.objects.values_list("level", "complete_until"))


def _ceil(moment: datetime, width: timedelta) -> datetime:
    floor = _floor(moment, width)
    return floor if floor == moment else floor + width


def _floor(moment: datetime, width: timedelta) -> datetime:
    moment = moment.astimezone(UTC)
    if width == _DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if width == _HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(second=0, microsecond=0)


_LEVELS: tuple[tuple[str, type[RequestStatBase], timedelta], ...] = (
    ("day", RequestStatDay, _DAY),
    ("hour", RequestStatHour, _HOUR),
)


def _segments(
    start: datetime, end: datetime, done: dict[str, datetime], levels: int = 0
) -> Iterator[tuple[type[RequestStatBase], datetime, datetime]]:
    """Split a range into (model, start, end) parts, coarsest level first."""
    if start >= end:
        return
    for index in range(levels, len(_LEVELS)):
        level, model, width = _LEVELS[index]
        if level not in done:
            continue
        first = _ceil(start, width)
        last = min(_floor(end, width), done[level])
        if first < last:
            yield from _segments(start, first, done, index + 1)
            yield model, first, last
            yield from _segments(last, end, done, index + 1)
            return
    yield RequestStatMinute, start, end


def _stat_rows(
    start: datetime,
    end: datetime,
    *,
    route: str | None = None,
    step: timedelta | None = None,
    fields: Iterable[str] = RequestStatBase.SKETCH_FIELDS,
) -> Iterator[Any]:
    """Yield stored request rows covering [start, end) once each.

    Each row is a named tuple with the keys, the sums and ``fields``.
    """
    done = _complete_until()
    if step is not None:
        # A series may only use a level whose buckets fit its steps.
        done = {
            level: until
            for level, _model, width in _LEVELS
            if (until := done.get(level)) is not None
            and step % width == timedelta(0)
            and _floor(start, width) == start
        }
    columns = [
        "bucket",
        "route",
        "method",
        "status_class",
        *RequestStatBase.SUM_FIELDS,
        *fields,
    ]
    for model, first, last in _segments(start, end, done):
        rows = model._default_manager.filter(bucket__gte=first, bucket__lt=last)
        if route is not None:
            rows = rows.filter(route=route)
        # Named tuples, not model instances: a week's read is thousands of
        # rows, and building a model per row costs more than using it.
        yield from rows.values_list(*columns, named=True).iterator(chunk_size=2000)


@dataclass
class _Totals:
    """Running sums and sketch mergers for one group of rows."""

    requests: int = 0
    errors: int = 0
    client_errors: int = 0
    total_seconds: float = 0.0
    upstream_seconds: float = 0.0
    upstream_requests: int = 0
    db_statements: int = 0
    db_seconds: float = 0.0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_seconds: float = 0.0
    methods: set[str] = field(default_factory=set)
    sketch: dict[str, sketches.SketchMerger] = field(default_factory=dict)

    def add(self, row: Any, fields: Iterable[str]) -> None:
        for name in RequestStatBase.SUM_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(row, name))
        if row.status_class == 5:
            self.errors += row.requests
        elif row.status_class == 4:
            self.client_errors += row.requests
        self.methods.add(row.method)
        for name in fields:
            merger = self.sketch.get(name)
            if merger is None:
                merger = self.sketch[name] = sketches.SketchMerger()
            merger.add_text(getattr(row, name))

    def quantile_ms(self, name: str, q: float) -> float | None:
        merger = self.sketch.get(name)
        if merger is None or not merger.count:
            return None
        value = merger.quantile(q)
        return None if value is None else value * 1000.0

    def figures(self, seconds: float) -> dict[str, Any]:
        requests = self.requests
        looked_up = self.cache_hits + self.cache_misses
        total = {q: self._q("total_sketch", q) for q in (0.5, 0.95, 0.99)}
        app = {q: self._q("app_sketch", q) for q in (0.5, 0.95, 0.99)}
        upstream = {q: self._q("upstream_sketch", q) for q in (0.5, 0.95, 0.99)}
        return {
            "requests": requests,
            "rate_per_second": requests / seconds if seconds > 0 else 0.0,
            "errors": self.errors,
            "error_rate": self.errors / requests if requests else None,
            "client_errors": self.client_errors,
            "total_p50_ms": total[0.5],
            "total_p95_ms": total[0.95],
            "total_p99_ms": total[0.99],
            "app_p50_ms": app[0.5],
            "app_p95_ms": app[0.95],
            "app_p99_ms": app[0.99],
            "upstream_requests": self.upstream_requests,
            "upstream_p50_ms": upstream[0.5],
            "upstream_p95_ms": upstream[0.95],
            "upstream_p99_ms": upstream[0.99],
            "first_token_p95_ms": self._q("first_token_sketch", 0.95),
            "mean_total_ms": self._mean(self.total_seconds, requests),
            "mean_app_ms": self._mean(
                self.total_seconds - self.upstream_seconds, requests
            ),
            "mean_upstream_ms": self._mean(self.upstream_seconds, requests),
            "mean_db_ms": self._mean(self.db_seconds, requests),
            "mean_cache_ms": self._mean(self.cache_seconds, requests),
            "db_statements": self.db_statements,
            "statements_per_request": (
                self.db_statements / requests if requests else None
            ),
            "statement_p95_ms": self._q("statement_sketch", 0.95),
            "db_p95_ms": self._q("db_sketch", 0.95),
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "cache_hit_ratio": self.cache_hits / looked_up if looked_up else None,
        }

    def _q(self, name: str, q: float) -> float | None:
        return self.quantile_ms(name, q)

    @staticmethod
    def _mean(seconds: float, requests: int) -> float | None:
        return seconds * 1000.0 / requests if requests else None


# --- resources ------------------------------------------------------------------
# Process samples arrive every few seconds per process (a week is hundreds of
# thousands of rows), so resource figures are aggregated by the database,
# per step where a series needs them, and never loaded row by row.


class _EpochSeconds(Func):
    """Seconds since 1970 of a datetime column (PostgreSQL and SQLite)."""

    output_field = FloatField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM %(expressions)s)::double precision",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


def _slot(start: datetime, step: timedelta) -> Floor:
    """Return the SQL step index of a sample's ``at`` from ``start``."""
    # The millisecond keeps a sample taken exactly on a step boundary in that
    # step despite SQLite's floating-point julianday.
    origin = start.timestamp() - 0.001
    return Floor(
        (_EpochSeconds("at") - Value(origin)) / Value(step.total_seconds()),
        output_field=IntegerField(),
    )


_POOLED = Q(pool_max__gt=0, pool_size__isnull=False, pool_available__isnull=False)


def _pool_use() -> Any:
    return Cast(F("pool_size") - F("pool_available"), FloatField()) / F("pool_max")


def _connection_use() -> Any:
    return Cast("connections", FloatField()) / F("max_connections")


def _resources(
    start: datetime, end: datetime, step: timedelta | None = None
) -> dict[int, dict[str, Any]]:
    """Return resource figures over [start, end), per step index (0 if no step)."""
    process = ProcessSample.objects.filter(at__gte=start, at__lt=end)
    connections = DbConnectionSample.objects.filter(at__gte=start, at__lt=end)
    if step is not None:
        process = process.annotate(slot=_slot(start, step))
        connections = connections.annotate(slot=_slot(start, step))
    else:
        process = process.annotate(slot=Value(0, output_field=IntegerField()))
        connections = connections.annotate(slot=Value(0, output_field=IntegerField()))

    figures: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"process_samples": 0, "connection_samples": 0}
    )
    for row in (
        process.values("slot")
        .annotate(
            n=Count("id"),
            pooled=Count("id", filter=_POOLED),
            pool_mean=Avg(_pool_use(), filter=_POOLED),
            pool_high=Max(_pool_use(), filter=_POOLED),
            waiting_high=Max(Coalesce("requests_waiting", 0), filter=_POOLED),
            cpu_mean=Avg("cpu_percent"),
            cpu_high=Max("cpu_percent"),
            rss_mean=Avg("rss_bytes"),
            rss_high=Max("rss_bytes"),
            memory_mean=Avg("memory_percent"),
        )
        .order_by()
    ):
        if not row["n"]:
            continue  # an empty range still yields one group on some backends
        into = figures[row["slot"]]
        into["process_samples"] = row["n"]
        into["cpu_percent"] = row["cpu_mean"]
        into["cpu_percent_max"] = row["cpu_high"]
        into["rss_bytes"] = float(row["rss_mean"])
        into["rss_bytes_max"] = row["rss_high"]
        into["memory_percent"] = row["memory_mean"]
        if row["pooled"]:
            into["pool_utilization"] = row["pool_mean"]
            into["pool_utilization_max"] = row["pool_high"]
            into["pool_waiting_max"] = row["waiting_high"]
            into["pool_errors"] = 0
    # Pool errors are cumulative per process: what each process added.
    for grp in (
        process.filter(_POOLED)
        .values("slot", "host", "pid")
        .annotate(
            high=Max(Coalesce("requests_errors", 0)),
            low=Min(Coalesce("requests_errors", 0)),
        )
        .order_by()
    ):
        figures[grp["slot"]]["pool_errors"] += grp["high"] - grp["low"]
    for use in (
        connections.values("slot")
        .annotate(
            n=Count("id"),
            use_mean=Avg(_connection_use()),
            use_high=Max(_connection_use()),
            connections_high=Max("connections"),
            limit_high=Max("max_connections"),
        )
        .order_by()
    ):
        if not use["n"]:
            continue
        into = figures[use["slot"]]
        into["connection_samples"] = use["n"]
        into["connection_utilization"] = use["use_mean"]
        into["connection_utilization_max"] = use["use_high"]
        into["connections_max"] = use["connections_high"]
        into["max_connections"] = use["limit_high"]
    return figures


# --- public reads -----------------------------------------------------------------


def summary(
    *,
    start: datetime,
    end: datetime,
    route: str | None = None,
    sketch_fields: Iterable[str] = RequestStatBase.SKETCH_FIELDS,
) -> Summary:
    """Return request and resource figures over [start, end), for one route or all.

    Resource figures (pool, connections, CPU, memory) are process-wide and do
    not depend on ``route``. Percentiles are computed for ``sketch_fields``
    only; a page that shows a few of them need not read every sketch.
    """
    totals = _Totals()
    fields = tuple(sketch_fields)
    for row in _stat_rows(start, end, route=route, fields=fields):
        totals.add(row, fields)
    seconds = (end - start).total_seconds()
    return Summary(
        start=start,
        end=end,
        route=route,
        **totals.figures(seconds),
        **_resources(start, end)[0],
    )


ROUTE_TABLE_SKETCHES = (
    "total_sketch",
    "app_sketch",
    "upstream_sketch",
    "statement_sketch",
)


def route_table(
    *,
    start: datetime,
    end: datetime,
    sketch_fields: Iterable[str] = ROUTE_TABLE_SKETCHES,
) -> list[RouteRow]:
    """Return one row per route seen in [start, end), busiest first."""
    fields = tuple(sketch_fields)
    per_route: dict[str, _Totals] = defaultdict(_Totals)
    for row in _stat_rows(start, end, fields=fields):
        per_route[row.route].add(row, fields)
    seconds = (end - start).total_seconds()
    rows = [
        RouteRow(route=route, methods=tuple(sorted(t.methods)), **t.figures(seconds))
        for route, t in per_route.items()
    ]
    return sorted(rows, key=lambda r: (-r.requests, r.route))


def time_series(
    *,
    start: datetime,
    end: datetime,
    step_seconds: int,
    route: str | None = None,
    sketch_fields: Iterable[str] = RequestStatBase.SKETCH_FIELDS,
) -> list[SeriesPoint]:
    """Return one point per step from ``start`` (floored to the minute) to ``end``.

    ``step_seconds`` must be a positive multiple of 60. Steps that are whole
    hours or days read rolled-up rows when ``start`` is aligned to them.
    Percentiles are computed for ``sketch_fields`` only (the others are None),
    so a chart of total time need not read the other sketches.
    """
    if step_seconds <= 0 or step_seconds % 60:
        raise ValueError("step_seconds must be a positive multiple of 60")
    step = timedelta(seconds=step_seconds)
    start = _floor(start, timedelta(minutes=1))
    count = max(1, -(-int((end - start).total_seconds()) // step_seconds))
    buckets = [_Totals() for _ in range(count)]
    fields = tuple(sketch_fields)
    for row in _stat_rows(start, end, route=route, step=step, fields=fields):
        index = int((row.bucket - start) / step)
        if 0 <= index < count:
            buckets[index].add(row, fields)
    resources = _resources(start, end, step)
    seconds = step.total_seconds()
    return [
        SeriesPoint(
            at=start + step * index,
            **totals.figures(seconds),
            **resources.get(index, {}),
        )
        for index, totals in enumerate(buckets)
    ]


def process_series(
    *, start: datetime, end: datetime, step_seconds: int
) -> list[ProcessPoint]:
    """Return each process's mean CPU and memory per step, ordered by step."""
    if step_seconds <= 0:
        raise ValueError("step_seconds must be positive")
    step = timedelta(seconds=step_seconds)
    groups = (
        ProcessSample.objects.filter(at__gte=start, at__lt=end)
        .annotate(slot=_slot(start, step))
        .values("slot", "host", "pid")
        .annotate(
            cpu=Avg("cpu_percent"), rss=Avg("rss_bytes"), memory=Avg("memory_percent")
        )
        .order_by("slot", "host", "pid")
    )
    return [
        ProcessPoint(
            at=start + step * group["slot"],
            host=group["host"],
            pid=group["pid"],
            cpu_percent=group["cpu"],
            rss_bytes=float(group["rss"]),
            memory_percent=group["memory"],
        )
        for group in groups
    ]


def _statements(
    kind: str, start: datetime, end: datetime, route: str | None, limit: int
) -> list[StatementRow]:
    rows = StatementFingerprint.objects.filter(
        kind=kind, last_seen__gte=start, first_seen__lt=end
    )
    if route is not None:
        rows = rows.filter(route=route)
    grouped = (
        rows.values("kind", "route", "fingerprint")
        .annotate(
            sql=Max("sql"),
            occurrences=Sum("occurrences"),
            statements=Sum("statements"),
            total_seconds=Sum("total_seconds"),
            max_seconds=Max("max_seconds"),
            max_repeats=Max("max_repeats"),
            first_seen=Min("first_seen"),
            last_seen=Max("last_seen"),
        )
        .order_by("-occurrences", "-last_seen")[:limit]
    )
    return [
        StatementRow(
            kind=g["kind"],
            route=g["route"],
            fingerprint=g["fingerprint"],
            sql=g["sql"],
            occurrences=g["occurrences"],
            statements=g["statements"],
            total_ms=g["total_seconds"] * 1000.0,
            max_ms=g["max_seconds"] * 1000.0,
            max_repeats=g["max_repeats"],
            first_seen=g["first_seen"],
            last_seen=g["last_seen"],
        )
        for g in grouped
    ]


def slow_statements(
    *, start: datetime, end: datetime, route: str | None = None, limit: int = 50
) -> list[StatementRow]:
    """Return statement shapes that ran at least the slow threshold in the range.

    Counts are lifetime counts of fingerprints seen in the range (fingerprints
    are kept per process, not per minute).
    """
    return _statements(StatementFingerprint.Kind.SLOW, start, end, route, limit)


def n_plus_one_suspects(
    *, start: datetime, end: datetime, route: str | None = None, limit: int = 50
) -> list[StatementRow]:
    """Return statement shapes repeated N+1 times in one request, in the range."""
    return _statements(StatementFingerprint.Kind.N_PLUS_ONE, start, end, route, limit)


def request_counts(
    *, start: datetime | None = None, end: datetime | None = None
) -> list[RequestCount]:
    """Return stored totals per (route, method, status class) over a range.

    Without bounds, every stored request is counted once (each level covers
    the span the finer one no longer holds).
    """
    start = start or datetime(2000, 1, 1, tzinfo=UTC)
    end = end or datetime(9999, 1, 1, tzinfo=UTC)
    totals: dict[tuple[str, str, int], dict[str, float]] = defaultdict(
        lambda: defaultdict(float)
    )
    sums = ("requests", "db_statements", "cache_hits", "cache_misses", "total_seconds")
    for model, first, last in _segments(start, end, _complete_until()):
        grouped = (
            model._default_manager.filter(bucket__gte=first, bucket__lt=last)
            .values("route", "method", "status_class")
            .annotate(**{f"sum_{name}": Sum(name) for name in sums})
            .order_by()
        )
        for group in grouped:
            g: dict[str, Any] = dict(group)
            into = totals[(g["route"], g["method"], g["status_class"])]
            for name in sums:
                into[name] += g[f"sum_{name}"] or 0
    return [
        RequestCount(
            route=route,
            method=method,
            status_class=status_class,
            requests=int(t["requests"]),
            db_statements=int(t["db_statements"]),
            cache_hits=int(t["cache_hits"]),
            cache_misses=int(t["cache_misses"]),
            total_seconds=t["total_seconds"],
        )
        for (route, method, status_class), t in sorted(totals.items())
    ]


def route_sketches(
    *, start: datetime, end: datetime, name: str = "total_sketch"
) -> dict[str, DDSketch]:
    """Return the merged sketch ``name`` per route over a range (seconds)."""
    mergers: dict[str, sketches.SketchMerger] = defaultdict(sketches.SketchMerger)
    for row in _stat_rows(start, end, fields=(name,)):
        mergers[row.route].add_text(getattr(row, name))
    return {route: merger.sketch() for route, merger in mergers.items()}


def freshness() -> datetime | None:
    """Return when the newest request row or process sample was written."""
    # The newest minute bucket's rows are the last written (flushes add to
    # the current minute); reading them walks the bucket index, where a
    # maximum of updated_at would scan a week of rows on every page.
    newest = [
        RequestStatMinute.objects.filter(
            bucket=RequestStatMinute.objects.order_by("-bucket").values("bucket")[:1]
        ).aggregate(newest=Max("updated_at"))["newest"],
        ProcessSample.objects.aggregate(newest=Max("at"))["newest"],
    ]
    present = [moment for moment in newest if moment is not None]
    return max(present) if present else None


def sample_counts(*, start: datetime, end: datetime) -> dict[str, int]:
    """Return how many process and connection samples the range holds."""
    process = ProcessSample.objects.filter(at__gte=start, at__lt=end).aggregate(
        n=Count("id"), pooled=Count("id", filter=Q(pool_max__isnull=False))
    )
    return {
        "process": process["n"],
        "pooled": process["pooled"],
        "connections": DbConnectionSample.objects.filter(
            at__gte=start, at__lt=end
        ).count(),
    }
