"""Per-request measurement state shared by the middleware and the wrappers.

The middleware opens a :class:`RequestProbe` for each request in a context
variable; the DB, cache and reply-backend wrappers add to it when one is open
and do nothing otherwise (management commands, Celery tasks).
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

UNMATCHED_ROUTE = "(unmatched)"
"""Route label of requests that matched no URL pattern."""


@dataclass(slots=True)
class RequestProbe:
    """Counters for one request; only ever touched by the request's thread."""

    started: float = field(default_factory=time.perf_counter)
    db_statements: int = 0
    db_seconds: float = 0.0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_seconds: float = 0.0
    upstream_calls: int = 0
    upstream_seconds: float = 0.0
    upstream_first_token_seconds: float | None = None
    # Per raw statement text: [executions, seconds]; shapes are computed at
    # flush time, off the request path.
    statements: dict[str, list[float]] = field(default_factory=dict)
    statement_seconds: list[float] = field(default_factory=list)
    slow_statements: list[tuple[str, float]] = field(default_factory=list)
    slow_seconds: float = 0.05


_current: ContextVar[RequestProbe | None] = ContextVar("perfdash_probe", default=None)


def current() -> RequestProbe | None:
    """Return the probe of the request being served, if any."""
    return _current.get()


def start() -> tuple[RequestProbe, object]:
    """Open a probe for a new request; return it and the token to close it."""
    probe = RequestProbe()
    return probe, _current.set(probe)


def finish(token: object) -> None:
    """Close the probe opened by :func:`start`."""
    _current.reset(token)  # type: ignore[arg-type]


@contextmanager
def active(probe: RequestProbe) -> Iterator[None]:
    """Make ``probe`` current again, e.g. while a streamed response is sent."""
    token = _current.set(probe)
    try:
        yield
    finally:
        _current.reset(token)


class UpstreamTimer:
    """Handle given to a reply backend to mark its first token."""

    __slots__ = ("started", "first_token")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first_token: float | None = None

    def mark_first_token(self) -> None:
        """Record the time to first token, once."""
        if self.first_token is None:
            self.first_token = time.perf_counter() - self.started


@contextmanager
def track_upstream() -> Iterator[UpstreamTimer]:
    """Time a call to the reply backend as upstream (model) time."""
    timer = UpstreamTimer()
    try:
        yield timer
    finally:
        probe = _current.get()
        if probe is not None:
            probe.upstream_calls += 1
            probe.upstream_seconds += time.perf_counter() - timer.started
            if timer.first_token is not None:
                probe.upstream_first_token_seconds = timer.first_token
