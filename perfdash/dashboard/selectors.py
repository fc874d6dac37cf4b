"""Reads for the dashboard pages: perfdash's selectors, judged and charted.

Every figure comes from :mod:`perfdash.selectors` for the page's range; this
module only picks which, compares them with the targets and lays them out,
so the page and the JSON API always show the selectors' numbers.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

from perfdash import selectors as perf
from perfdash.dashboard import sections
from perfdash.dashboard.charts import Chart, line_chart
from perfdash.dashboard.ranges import TimeRange

# The chat endpoint whose p95 the first target judges (the URL pattern the
# measurement records as the route).
CHAT_ROUTE = "api/<int:user_id>/chat"

# The targets the dashboard judges against (DESIGN.md, "Targets").
CHAT_P95_TARGET_MS = 200.0
CACHE_HIT_TARGET = 0.80
STATEMENT_P95_TARGET_MS = 50.0
POOL_UTILIZATION_TARGET = 0.80
ERROR_RATE_TARGET = 0.01

# CPU and memory charts draw at most this many processes, the busiest first.
MAX_PROCESS_LINES = 8


@dataclass(frozen=True, slots=True)
class Tile:
    """One figure at the top of a page, with its target and verdict."""

    key: str
    label: str
    raw: float | None
    display: str
    target: str = ""
    passed: bool | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    numeric: bool
    sort_query: str


@dataclass(frozen=True, slots=True)
class RouteLine:
    """A route-table row: the selector's row plus what the template shows."""

    row: perf.RouteRow
    query: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)

    @property
    def error_rate_display(self) -> str:
        return percent(self.row.error_rate, digits=2)

    @property
    def p50_display(self) -> str:
        return milliseconds(self.row.total_p50_ms)

    @property
    def p95_display(self) -> str:
        return milliseconds(self.row.total_p95_ms)

    @property
    def p99_display(self) -> str:
        return milliseconds(self.row.total_p99_ms)

    @property
    def statements_display(self) -> str:
        return number(self.row.statements_per_request)

    @property
    def cache_hit_display(self) -> str:
        return percent(self.row.cache_hit_ratio)


@dataclass(frozen=True, slots=True)
class StatementLine:
    fingerprint: str
    count: int
    routes: list[str]
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class DashboardPage:
    """Everything one dashboard page shows."""

    summary: perf.Summary
    chat: perf.RequestFigures | None
    tiles: list[Tile]
    charts: list[Chart]
    routes: list[RouteLine]
    route_columns: list[Column]
    slow_statements: list[StatementLine]
    n_plus_one: list[StatementLine]
    freshness: datetime | None
    sections: list[sections.RenderedSection]
    range_query_without_route: str


# --- formatting ------------------------------------------------------------


def milliseconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"


def percent(value: float | None, *, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def rate(value: float) -> str:
    return f"{value:.2f}/s" if value >= 0.1 or value == 0 else f"{value:.2g}/s"


def number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def age(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "no data yet"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


# --- tiles ---------------------------------------------------------------------


def _target_tile(
    key: str,
    label: str,
    value: float | None,
    shown: str,
    *,
    limit: float,
    above: bool = False,
    target: str,
    note: str,
) -> Tile:
    """Return a tile judged against a limit: below it passes, or above it."""
    passed = None if value is None else (value > limit if above else value < limit)
    return Tile(
        key=key,
        label=label,
        raw=value,
        display=shown,
        target=target,
        passed=passed,
        note=note,
    )


def build_tiles(
    *,
    summary: perf.Summary,
    chat: perf.RequestFigures | None,
    route: str | None,
    fresh: datetime | None,
    now: datetime,
) -> list[Tile]:
    """Return the target tiles, request rate and freshness for a page."""
    latency = chat if chat is not None else summary
    s = summary
    pool_note = (
        "no pool samples (no PostgreSQL pool)"
        if s.pool_utilization is None
        else f"peak {percent(s.pool_utilization_max)}; all routes"
    )
    return [
        _target_tile(
            "chat_p95",
            "P95 chat response" if route is None else "P95 response",
            latency.total_p95_ms,
            milliseconds(latency.total_p95_ms),
            limit=CHAT_P95_TARGET_MS,
            target=f"< {CHAT_P95_TARGET_MS:.0f} ms",
            note=f"{latency.requests} requests"
            + (f" to {CHAT_ROUTE}" if route is None else ""),
        ),
        _target_tile(
            "cache_hit_ratio",
            "Cache hit ratio",
            s.cache_hit_ratio,
            percent(s.cache_hit_ratio),
            limit=CACHE_HIT_TARGET,
            above=True,
            target=f"> {CACHE_HIT_TARGET:.0%}",
            note=f"{s.cache_hits} hits, {s.cache_misses} misses",
        ),
        _target_tile(
            "statement_p95",
            "DB statement time p95",
            s.statement_p95_ms,
            milliseconds(s.statement_p95_ms),
            limit=STATEMENT_P95_TARGET_MS,
            target=f"< {STATEMENT_P95_TARGET_MS:.0f} ms",
            note=f"{s.db_statements} statements",
        ),
        _target_tile(
            "pool_utilization",
            "Connection pool utilization",
            s.pool_utilization,
            percent(s.pool_utilization),
            limit=POOL_UTILIZATION_TARGET,
            target=f"< {POOL_UTILIZATION_TARGET:.0%}",
            note=pool_note,
        ),
        _target_tile(
            "error_rate",
            "Error rate (5xx)",
            s.error_rate,
            percent(s.error_rate, digits=2),
            limit=ERROR_RATE_TARGET,
            target=f"< {ERROR_RATE_TARGET:.0%}",
            note=f"{s.errors} of {s.requests} requests",
        ),
        Tile(
            key="request_rate",
            label="Request rate",
            raw=s.rate_per_second,
            display=rate(s.rate_per_second),
            note=f"{s.requests} requests in range",
        ),
        Tile(
            key="freshness",
            label="Data freshness",
            raw=None if fresh is None else (now - fresh).total_seconds(),
            display=age(fresh, now),
            note="newest flush or process sample",
        ),
    ]


# --- charts -----------------------------------------------------------------------


def chart_window(time_range: TimeRange) -> tuple[datetime, timedelta]:
    """Return the chart start (aligned to the step) and the step.

    Aligned steps of an hour or more let the series read hour and day rows.
    """
    step = time_range.step
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start = time_range.start - (time_range.start - epoch) % step
    return start, step


def _scaled(
    points: Sequence[Any], getter: Callable[[Any], float | None], factor: float
) -> list[float | None]:
    values = []
    for point in points:
        value = getter(point)
        values.append(None if value is None else value * factor)
    return values


def _requests_only(
    points: Sequence[perf.SeriesPoint], getter: Callable[[Any], float | None]
) -> list[float | None]:
    # A step with no requests has no latency: a gap, not a zero.
    return [getter(p) if p.requests else None for p in points]


def _app_only(point: perf.SeriesPoint) -> float | None:
    """Return app time less the DB and cache time spent inside it."""
    if point.mean_app_ms is None:
        return None
    inside = (point.mean_db_ms or 0.0) + (point.mean_cache_ms or 0.0)
    return max(0.0, point.mean_app_ms - inside)


def build_charts(
    *,
    points: Sequence[perf.SeriesPoint],
    processes: Sequence[perf.ProcessPoint],
    step: timedelta,
) -> list[Chart]:
    """Return the page's charts from one time series and the process series."""
    times = [point.at for point in points]

    def chart(key: str, title: str, series: dict[str, Any], **kw: Any) -> Chart:
        return line_chart(
            key=key, title=title, times=times, series=series, step=step, **kw
        )

    charts = [
        chart(
            "request_rate",
            "Request rate",
            {"requests": [p.rate_per_second for p in points]},
            unit="/s",
        ),
        chart(
            "latency",
            "Response time",
            {
                "p50": _requests_only(points, lambda p: p.total_p50_ms),
                "p95": _requests_only(points, lambda p: p.total_p95_ms),
                "p99": _requests_only(points, lambda p: p.total_p99_ms),
            },
            unit=" ms",
            target=CHAT_P95_TARGET_MS,
        ),
        chart(
            "time_split",
            "Mean time per request: app, DB, cache, upstream model",
            {
                "app": _requests_only(points, _app_only),
                "DB": _requests_only(points, lambda p: p.mean_db_ms),
                "cache": _requests_only(points, lambda p: p.mean_cache_ms),
                "upstream": _requests_only(points, lambda p: p.mean_upstream_ms),
            },
            unit=" ms",
        ),
        chart(
            "cache_hit_ratio",
            "Cache hit ratio",
            {"hit ratio": _scaled(points, lambda p: p.cache_hit_ratio, 100)},
            unit="%",
            target=CACHE_HIT_TARGET * 100,
        ),
        chart(
            "statements",
            "SQL statements per request",
            {"statements": [p.statements_per_request for p in points]},
        ),
        chart(
            "utilization",
            "Pool and connection utilization",
            {
                "pool": _scaled(points, lambda p: p.pool_utilization, 100),
                "PostgreSQL connections": _scaled(
                    points, lambda p: p.connection_utilization, 100
                ),
            },
            unit="%",
            target=POOL_UTILIZATION_TARGET * 100,
        ),
        chart(
            "error_rate",
            "Error rate (5xx)",
            {"errors": _scaled(points, lambda p: p.error_rate, 100)},
            unit="%",
            target=ERROR_RATE_TARGET * 100,
        ),
    ]
    return charts + _process_charts(processes, times, step)


def _process_charts(
    processes: Sequence[perf.ProcessPoint],
    times: list[datetime],
    step: timedelta,
) -> list[Chart]:
    index = {moment: i for i, moment in enumerate(times)}
    cpu: dict[str, list[float | None]] = {}
    memory: dict[str, list[float | None]] = {}
    weight: dict[str, float] = {}
    for point in processes:
        slot = index.get(point.at)
        if slot is None:
            continue
        name = f"{point.host}:{point.pid}"
        if name not in cpu:
            cpu[name] = [None] * len(times)
            memory[name] = [None] * len(times)
            weight[name] = 0.0
        cpu[name][slot] = point.cpu_percent
        memory[name][slot] = point.rss_bytes / 2**20
        weight[name] += point.cpu_percent + 1
    shown = sorted(weight, key=lambda name: -weight[name])[:MAX_PROCESS_LINES]
    return [
        line_chart(
            key="cpu",
            title="CPU per process",
            times=times,
            series={name: cpu[name] for name in shown},
            step=step,
            unit="%",
        ),
        line_chart(
            key="memory",
            title="Memory (RSS) per process",
            times=times,
            series={name: memory[name] for name in shown},
            step=step,
            unit=" MiB",
        ),
    ]


# --- route table and statements ---------------------------------------------


ROUTE_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("route", "Route", False),
    ("requests", "Requests", True),
    ("error_rate", "Error rate", True),
    ("total_p50_ms", "p50", True),
    ("total_p95_ms", "p95", True),
    ("total_p99_ms", "p99", True),
    ("statements_per_request", "Statements/request", True),
    ("cache_hit_ratio", "Cache hit ratio", True),
)
SORT_KEYS = {key for key, _label, _numeric in ROUTE_COLUMNS}


def parse_sort(raw_sort: str | None, raw_dir: str | None) -> tuple[str, bool]:
    """Return the route-table sort column and direction, defaulting to requests."""
    sort = raw_sort if raw_sort in SORT_KEYS else "requests"
    descending = raw_dir != "asc" if raw_dir in ("asc", "desc") else sort != "route"
    return sort, descending


def sort_routes(
    rows: list[perf.RouteRow], *, sort: str, descending: bool
) -> list[perf.RouteRow]:
    """Return rows sorted by a column; rows without the figure go last."""
    present = [row for row in rows if getattr(row, sort) is not None]
    missing = [row for row in rows if getattr(row, sort) is None]
    present.sort(key=lambda row: getattr(row, sort), reverse=descending)
    return present + missing


def _columns(base: dict[str, str], sort: str, descending: bool) -> list[Column]:
    columns = []
    for key, label, numeric in ROUTE_COLUMNS:
        flip = "asc" if key == sort and descending else "desc"
        if key != sort:
            flip = "desc" if numeric else "asc"
        query = urlencode({**base, "sort": key, "dir": flip})
        columns.append(Column(key=key, label=label, numeric=numeric, sort_query=query))
    return columns


def _statement_lines(rows: list[perf.StatementRow]) -> list[StatementLine]:
    """Merge a fingerprint's per-route rows into one line listing its routes."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        line = merged.setdefault(
            row.fingerprint,
            {"sql": row.sql, "count": 0, "routes": [], "last_seen": row.last_seen},
        )
        line["count"] += row.occurrences
        line["routes"].append(row.route)
        line["last_seen"] = max(line["last_seen"], row.last_seen)
    return sorted(
        (
            StatementLine(
                fingerprint=line["sql"],
                count=line["count"],
                routes=sorted(line["routes"]),
                last_seen=line["last_seen"],
            )
            for line in merged.values()
        ),
        key=lambda line: (-line.count, line.fingerprint),
    )


# --- the page ------------------------------------------------------------------


def range_summary(
    *, time_range: TimeRange, route: str | None
) -> tuple[perf.Summary, perf.Summary | None, datetime | None]:
    """Return the range's summary, the chat route's (overview only), freshness."""
    start, end = time_range.start, time_range.end
    summary = perf.summary(start=start, end=end, route=route)
    chat = (
        perf.summary(start=start, end=end, route=CHAT_ROUTE) if route is None else None
    )
    return summary, chat, perf.freshness()


# The sketches whose percentiles a page shows; every other figure (rates,
# means, ratios, resources) comes from sums. The JSON API reads them all.
CHART_SKETCHES = ("total_sketch",)
PAGE_SUMMARY_SKETCHES = ("statement_sketch",)
ROUTE_SKETCHES = ("total_sketch", "statement_sketch")


def chart_series(
    *,
    time_range: TimeRange,
    route: str | None,
    sketch_fields: Sequence[str] = CHART_SKETCHES,
) -> tuple[list[perf.SeriesPoint], list[perf.ProcessPoint]]:
    """Return the request and process series the charts draw."""
    chart_start, step = chart_window(time_range)
    step_seconds = int(step.total_seconds())
    points = perf.time_series(
        start=chart_start,
        end=time_range.end,
        step_seconds=step_seconds,
        route=route,
        sketch_fields=sketch_fields,
    )
    processes = perf.process_series(
        start=chart_start, end=time_range.end, step_seconds=step_seconds
    )
    return points, processes


def dashboard_page(
    *,
    time_range: TimeRange,
    route: str | None = None,
    sort: str = "requests",
    descending: bool = True,
    now: datetime | None = None,
) -> DashboardPage:
    """Return the overview (``route`` None) or one route's page for a range."""
    now = now or timezone.now()
    start, end = time_range.start, time_range.end
    # Only the percentiles the page shows are computed: the statement p95
    # tile, the route's p95 tile, the table's p50/p95/p99.
    summary = perf.summary(
        start=start,
        end=end,
        route=route,
        sketch_fields=PAGE_SUMMARY_SKETCHES if route is None else ROUTE_SKETCHES,
    )
    fresh = perf.freshness()
    points, processes = chart_series(time_range=time_range, route=route)

    base = time_range.query()
    route_rows = perf.route_table(start=start, end=end, sketch_fields=CHART_SKETCHES)
    # The chat tile reads the chat route's row: the same rows and sketches
    # as ``summary(route=CHAT_ROUTE)``, without reading them a second time.
    chat: perf.RequestFigures | None = None
    if route is None:
        chat = next((row for row in route_rows if row.route == CHAT_ROUTE), None)
        chat = chat or perf.RequestFigures()
    else:
        route_rows = [row for row in route_rows if row.route == route]
    routes = [
        RouteLine(row=row, query=urlencode({"route": row.route, **base}))
        for row in sort_routes(route_rows, sort=sort, descending=descending)
    ]
    table_base = {**base, "route": route} if route else base

    return DashboardPage(
        summary=summary,
        chat=chat,
        tiles=build_tiles(
            summary=summary, chat=chat, route=route, fresh=fresh, now=now
        ),
        charts=build_charts(points=points, processes=processes, step=time_range.step),
        routes=routes,
        route_columns=_columns(table_base, sort, descending),
        slow_statements=_statement_lines(
            perf.slow_statements(start=start, end=end, route=route)
        ),
        n_plus_one=_statement_lines(
            perf.n_plus_one_suspects(start=start, end=end, route=route)
        ),
        freshness=fresh,
        sections=sections.for_range(time_range) if route is None else [],
        range_query_without_route=urlencode(base),
    )
