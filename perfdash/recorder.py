"""The per-process accumulator and its background flusher.

The middleware hands each finished request to :func:`record`, which only
appends to a deque. A daemon thread wakes every ``PERFDASH['FLUSH_SECONDS']``,
folds the pending requests into per-minute deltas (counts and DDSketches per
route, method and status class), samples CPU, memory and the psycopg pool,
and adds it all to this process's rows. Nothing is written inside a request.
A final flush runs at exit (``atexit``, and gunicorn's ``worker_exit`` hook
in ``chatbot/gunicorn.conf.py``), so a recycled worker loses nothing.
"""

import atexit
import logging
import os
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import psutil
from django.conf import settings
from django.db import connections, transaction

from perfdash import services
from perfdash.normalize import normalize_sql
from perfdash.probes import RequestProbe
from perfdash.services import FingerprintDelta, FingerprintKey, StatDelta, StatKey

logger = logging.getLogger(__name__)

# (finished at, route, method, status code, total seconds, probe)
Finished = tuple[float, str, str, int, float, RequestProbe]

_pending: deque[Finished] = deque()
# While the database is unreachable, requests wait in memory up to this many;
# beyond it the oldest are dropped (and logged) so memory stays bounded.
MAX_PENDING = 200_000
_flush_lock = threading.Lock()
_state: dict[str, Any] = {"thread": None, "process": None}


def record(
    *,
    finished_at: float,
    route: str,
    method: str,
    status: int,
    seconds: float,
    probe: RequestProbe,
) -> None:
    """Queue one finished request for the next flush (cheap: one append)."""
    _pending.append((finished_at, route, method, status, seconds, probe))
    if _state["thread"] is None:
        _start_flusher()


def pending() -> int:
    """Return how many finished requests wait for a flush."""
    return len(_pending)


def discard() -> None:
    """Drop the requests waiting for a flush (tests reset between cases)."""
    _pending.clear()


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
    _pending.clear()


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


def _fold(
    records: list[Finished], threshold: int
) -> tuple[dict[StatKey, StatDelta], dict[FingerprintKey, FingerprintDelta]]:
    """Fold finished requests into per-minute deltas and fingerprint sightings."""
    deltas: dict[StatKey, StatDelta] = {}
    fingerprints: dict[FingerprintKey, FingerprintDelta] = {}
    for finished_at, route, method, status, seconds, probe in records:
        minute = datetime.fromtimestamp(finished_at - finished_at % 60, tz=UTC)
        key = (minute, route, method, status // 100)
        delta = deltas.get(key)
        if delta is None:
            delta = deltas[key] = StatDelta()
        upstream = probe.upstream_seconds
        delta.requests += 1
        delta.total_seconds += seconds
        delta.total_sketch.add(seconds)
        delta.app_sketch.add(max(seconds - upstream, 0.0))
        if probe.upstream_calls:
            delta.upstream_requests += 1
            delta.upstream_seconds += upstream
            delta.upstream_sketch.add(upstream)
        if probe.upstream_first_token_seconds is not None:
            delta.first_token_sketch.add(probe.upstream_first_token_seconds)
        delta.db_statements += probe.db_statements
        delta.db_seconds += probe.db_seconds
        delta.db_sketch.add(probe.db_seconds)
        for elapsed in probe.statement_seconds:
            delta.statement_sketch.add(elapsed)
        delta.cache_hits += probe.cache_hits
        delta.cache_misses += probe.cache_misses
        delta.cache_seconds += probe.cache_seconds
        at = datetime.fromtimestamp(finished_at, tz=UTC)
        _see_statements(fingerprints, probe, route, at, threshold)
    return deltas, fingerprints


def _see_statements(
    fingerprints: dict[FingerprintKey, FingerprintDelta],
    probe: RequestProbe,
    route: str,
    at: datetime,
    threshold: int,
) -> None:
    for sql, elapsed in probe.slow_statements:
        shape, fingerprint = services.fingerprint_of(sql)
        key = ("slow", route, fingerprint)
        delta = fingerprints.setdefault(
            key, FingerprintDelta(sql=shape, first_seen=at, last_seen=at)
        )
        delta.see(at=at, statements=1, seconds=elapsed, longest=elapsed)
    if probe.db_statements < threshold:
        return
    shapes: dict[str, list[float]] = {}
    for sql, (count, seconds) in probe.statements.items():
        entry = shapes.setdefault(normalize_sql(sql), [0, 0.0])
        entry[0] += count
        entry[1] += seconds
    for shape, (count, seconds) in shapes.items():
        if count < threshold:
            continue
        _shape, fingerprint = services.fingerprint_of(shape)
        key = ("n_plus_one", route, fingerprint)
        delta = fingerprints.setdefault(
            key, FingerprintDelta(sql=shape, first_seen=at, last_seen=at)
        )
        delta.see(at=at, statements=int(count), seconds=seconds, longest=seconds)


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
    """Write every pending request (and a process sample); return requests written.

    Safe from any thread; flushes never run at the same time in a process.
    Requests whose write fails are put back for the next flush.
    """
    with _flush_lock:
        records = []
        while _pending:
            records.append(_pending.popleft())
        host, pid = services.process_identity()
        try:
            deltas, fingerprints = _fold(
                records, int(settings.PERFDASH["N_PLUS_ONE_THRESHOLD"])
            )
            # One transaction: a failed flush is retried whole, never twice.
            with transaction.atomic():
                services.write_minute_deltas(deltas=deltas, host=host, pid=pid)
                services.write_fingerprint_deltas(
                    deltas=fingerprints, host=host, pid=pid
                )
        except Exception:
            _pending.extendleft(reversed(records))
            excess = len(_pending) - MAX_PENDING
            if excess > 0:
                for _ in range(excess):
                    _pending.popleft()
                logger.warning("perfdash dropped %d unflushed requests", excess)
            raise
        if sample:
            _sample_process(host, pid)
        if records:
            logger.debug("perfdash flushed %d requests", len(records))
        return len(records)


def flush_at_exit() -> None:
    """Flush what is pending when a process stops (gunicorn ``worker_exit``)."""
    if _state["thread"] is None and not _pending:
        return  # never served a request: nothing to write
    try:
        flush()
    except Exception:
        logger.exception("perfdash final flush failed; %d requests lost", pending())
    finally:
        connections.close_all()
