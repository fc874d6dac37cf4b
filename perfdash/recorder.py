"""The per-process accumulator and its background flusher.

The middleware hands each finished request to :func:`record`, which adds it
at once to this process's accumulator, keyed (minute, route, method, status
class): counters, plus the request's times appended to plain lists of floats
(a list append, not a sketch insertion, on the request path), plus
slow-statement and N+1 sightings. Nothing of the request object stays alive.

A daemon thread wakes every ``PERFDASH['FLUSH_SECONDS']``, turns the lists
into DDSketches (bucket keys counted in one pass, see
:func:`perfdash.sketches.add_many`), samples CPU, memory and the psycopg
pool, and adds it all to this process's rows. Nothing is written inside a
request. A final flush runs at exit (``atexit``, and gunicorn's
``worker_exit`` hook in ``chatbot/gunicorn.conf.py``), so a recycled worker
loses nothing.
"""

import atexit
import logging
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

import psutil
from django.conf import settings
from django.db import connections, transaction

from perfdash import services, sketches
from perfdash.normalize import normalize_sql
from perfdash.probes import RequestProbe
from perfdash.services import FingerprintDelta, FingerprintKey, StatDelta, StatKey

logger = logging.getLogger(__name__)

_lock = threading.Lock()  # guards _accumulator
_flush_lock = threading.Lock()  # one flush at a time
# "stats": key -> _Raw since the last flush; "carried": key -> StatDelta of
# flushes that failed, written with the next one.
_accumulator: dict[str, Any] = {
    "stats": {},
    "carried": {},
    "fingerprints": {},
    "requests": 0,
}
_state: dict[str, Any] = {"thread": None, "process": None}


class _Raw:
    """One key's counters and raw times since the last flush."""

    __slots__ = ("counts", "times")

    SKETCHES = ("total", "app", "upstream", "first_token", "db", "statement")

    def __init__(self) -> None:
        # Sketches stay empty until delta(): only the counters move here.
        self.counts = StatDelta()
        self.times: dict[str, list[float]] = {name: [] for name in self.SKETCHES}

    def add(self, seconds: float, probe: RequestProbe) -> None:
        """Add one request's figures."""
        counts, times = self.counts, self.times
        upstream = probe.upstream_seconds
        counts.requests += 1
        counts.total_seconds += seconds
        times["total"].append(seconds)
        times["app"].append(max(seconds - upstream, 0.0))
        if probe.upstream_calls:
            counts.upstream_requests += 1
            counts.upstream_seconds += upstream
            times["upstream"].append(upstream)
        if probe.upstream_first_token_seconds is not None:
            times["first_token"].append(probe.upstream_first_token_seconds)
        counts.db_statements += probe.db_statements
        counts.db_seconds += probe.db_seconds
        times["db"].append(probe.db_seconds)
        times["statement"].extend(probe.statement_seconds)
        counts.cache_hits += probe.cache_hits
        counts.cache_misses += probe.cache_misses
        counts.cache_seconds += probe.cache_seconds

    def delta(self) -> StatDelta:
        """Return the counters and sketches to write (built off the request path)."""
        for name, values in self.times.items():
            sketches.add_many(getattr(self.counts, f"{name}_sketch"), values)
        return self.counts


def record(
    *,
    finished_at: float,
    route: str,
    method: str,
    status: int,
    seconds: float,
    probe: RequestProbe,
    n_plus_one: int = 5,
) -> None:
    """Add one finished request to this process's accumulator (memory only)."""
    minute = finished_at - finished_at % 60
    with _lock:
        stats = _accumulator["stats"]
        key = (minute, route, method, status // 100)
        raw = stats.get(key)
        if raw is None:
            raw = stats[key] = _Raw()
        raw.add(seconds, probe)
        if probe.slow_statements or probe.db_statements >= n_plus_one:
            _see_statements(
                _accumulator["fingerprints"], probe, route, finished_at, n_plus_one
            )
        _accumulator["requests"] += 1
    if _state["thread"] is None:
        _start_flusher()


def _see_statements(
    fingerprints: dict[Any, FingerprintDelta],
    probe: RequestProbe,
    route: str,
    finished_at: float,
    threshold: int,
) -> None:
    at = datetime.fromtimestamp(finished_at, tz=UTC)
    for sql, elapsed in probe.slow_statements:
        shape, fingerprint = services.fingerprint_of(sql)
        _sighting(fingerprints, ("slow", route, fingerprint), shape, at).see(
            at=at, statements=1, seconds=elapsed, longest=elapsed
        )
    if probe.db_statements < threshold:
        return
    shapes: dict[str, list[float]] = {}
    for sql, (count, seconds) in probe.statements.items():
        entry = shapes.setdefault(normalize_sql(sql), [0, 0.0])
        entry[0] += count
        entry[1] += seconds
    for shape, (count, seconds) in shapes.items():
        if count >= threshold:
            _shape, fingerprint = services.fingerprint_of(shape)
            key = ("n_plus_one", route, fingerprint)
            _sighting(fingerprints, key, shape, at).see(
                at=at, statements=int(count), seconds=seconds, longest=seconds
            )


def _sighting(
    fingerprints: dict[Any, FingerprintDelta], key: Any, shape: str, at: datetime
) -> FingerprintDelta:
    delta = fingerprints.get(key)
    if delta is None:
        delta = fingerprints[key] = FingerprintDelta(
            sql=shape, first_seen=at, last_seen=at
        )
    return delta


def pending() -> int:
    """Return how many finished requests wait for a flush."""
    return int(_accumulator["requests"])


def discard() -> None:
    """Drop what waits for a flush (tests reset between cases)."""
    with _lock:
        _take()


def _take() -> tuple[
    dict[Any, _Raw], dict[Any, StatDelta], dict[Any, FingerprintDelta], int
]:
    taken = (
        _accumulator["stats"],
        _accumulator["carried"],
        _accumulator["fingerprints"],
        _accumulator["requests"],
    )
    _accumulator.update(stats={}, carried={}, fingerprints={}, requests=0)
    return taken


def _put_back(
    stats: dict[Any, StatDelta], fingerprints: dict[Any, FingerprintDelta], count: int
) -> None:
    """Keep deltas whose write failed for the next flush (caller locks)."""
    carried = _accumulator["carried"]
    for key, delta in stats.items():
        if key in carried:
            services.merge_stat_delta(delta, carried[key])
        carried[key] = delta
    seen = _accumulator["fingerprints"]
    for key, sighting in fingerprints.items():
        if key in seen:
            services.merge_fingerprint_delta(sighting, seen[key])
        seen[key] = sighting
    _accumulator["requests"] += count


def _start_flusher() -> None:
    interval = float(settings.PERFDASH["FLUSH_SECONDS"])
    with _flush_lock:
        if _state["thread"] is not None:
            return
        if interval <= 0:
            # Flushing is left to explicit flush() calls (tests, commands).
            _state["thread"] = False
            return
        thread = threading.Thread(
            target=_run, args=(interval,), name="perfdash-flusher", daemon=True
        )
        _state["thread"] = thread
        thread.start()
    atexit.register(flush_at_exit)


def _forget_flusher() -> None:
    # A forked child (gunicorn --preload) must start its own thread.
    _state["thread"] = None
    _state["process"] = None
    _take()


os.register_at_fork(after_in_child=_forget_flusher)


def _run(interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            flush()
        except Exception:
            logger.exception("perfdash flush failed; retrying next interval")
        finally:
            # Hand the thread's connection back to the pool between flushes.
            connections.close_all()


def _pool_stats() -> dict[str, int] | None:
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return None
    pool = getattr(connection, "pool", None)
    return None if pool is None else dict(pool.get_stats())


def _sample_process(host: str, pid: int) -> None:
    process = _state["process"]
    if process is None:
        process = _state["process"] = psutil.Process()
        process.cpu_percent(None)  # the first reading only sets the baseline
    with process.oneshot():
        services.record_process_sample(
            host=host,
            pid=pid,
            cpu_percent=process.cpu_percent(None),
            rss_bytes=process.memory_info().rss,
            memory_percent=process.memory_percent(),
            threads=process.num_threads(),
            pool=_pool_stats(),
        )


def flush(*, sample: bool = True) -> int:
    """Write what was measured (and a process sample); return requests written.

    Safe from any thread; flushes never run at the same time in a process.
    Deltas whose write fails are merged back for the next flush.
    """
    with _flush_lock:
        with _lock:
            raws, stats, fingerprints, count = _take()
        for key, raw in raws.items():
            delta = raw.delta()
            if key in stats:
                services.merge_stat_delta(delta, stats[key])
            stats[key] = delta
        host, pid = services.process_identity()
        rows: dict[StatKey, StatDelta] = {
            (datetime.fromtimestamp(minute, tz=UTC), *rest): delta
            for (minute, *rest), delta in stats.items()
        }
        sightings: dict[FingerprintKey, FingerprintDelta] = fingerprints
        try:
            # One transaction: a failed flush is retried whole, never twice.
            with transaction.atomic():
                services.write_minute_deltas(deltas=rows, host=host, pid=pid)
                services.write_fingerprint_deltas(deltas=sightings, host=host, pid=pid)
        except Exception:
            with _lock:
                _put_back(stats, fingerprints, count)
            raise
        if sample:
            _sample_process(host, pid)
        if count:
            logger.debug("perfdash flushed %d requests", count)
        return int(count)


def flush_at_exit() -> None:
    """Flush what is pending when a process stops (gunicorn ``worker_exit``)."""
    if _state["thread"] is None and not pending():
        return  # never served a request: nothing to write
    try:
        flush()
    except Exception:
        logger.exception("perfdash final flush failed; %d requests lost", pending())
    finally:
        connections.close_all()
