"""The one place alerts read metric values: perfdash's stored rows.

A window ``[end - window, end)`` is widened at its start to the whole minute,
because perfdash stores requests per minute: a minute row counts when any
part of it falls in the window.
"""

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from perfdash import selectors as perfdash_selectors
from perfdash.alerts.models import Metric
from perfdash.selectors import Summary


class Reading(NamedTuple):
    """A metric's value over a window and how many samples it rests on."""

    value: float | None
    samples: int


def _connections(s: Summary) -> Reading:
    # perfdash falls back to pool use when the server was not sampled.
    if s.connection_utilization is not None:
        return Reading(s.connection_utilization, s.connection_samples)
    return Reading(s.pool_utilization, s.process_samples)


_READERS: dict[str, Callable[[Summary], Reading]] = {
    Metric.RESPONSE_TIME_P95: lambda s: Reading(s.total_p95_ms, s.requests),
    Metric.APP_TIME_P95: lambda s: Reading(s.app_p95_ms, s.requests),
    Metric.UPSTREAM_TIME_P95: lambda s: Reading(s.upstream_p95_ms, s.upstream_requests),
    Metric.ERROR_RATE: lambda s: Reading(s.error_rate, s.requests),
    Metric.CACHE_HIT_RATIO: lambda s: Reading(
        s.cache_hit_ratio, s.cache_hits + s.cache_misses
    ),
    Metric.DB_CONNECTION_UTILIZATION: _connections,
    Metric.POOL_UTILIZATION: lambda s: Reading(s.pool_utilization, s.process_samples),
}


def window_start(*, end: datetime, window: timedelta) -> datetime:
    """Return the first minute a window ending at ``end`` reads."""
    start = end - window
    return start.replace(second=0, microsecond=0)


def read(metric: str, start: datetime, end: datetime) -> Reading:
    """Return ``metric`` over ``[start, end)`` from perfdash's stored rows."""
    return _READERS[metric](perfdash_selectors.summary(start=start, end=end))


def read_many(
    keys: Iterable[tuple[str, timedelta]], *, end: datetime
) -> dict[tuple[str, timedelta], Reading]:
    """Return a reading for each ``(metric, window)`` over the window to ``end``.

    perfdash's summary holds every metric, so it is read once per window.
    """
    keys = set(keys)
    summaries = {
        window: perfdash_selectors.summary(
            start=window_start(end=end, window=window), end=end
        )
        for window in {window for _metric, window in keys}
    }
    return {
        (metric, window): _READERS[metric](summaries[window]) for metric, window in keys
    }
