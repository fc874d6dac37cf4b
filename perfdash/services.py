"""Writes: minute rows, fingerprints, samples, rollups and retention.

Every writer adds to what is stored rather than overwriting it, so flushes
from many processes and hosts, repeated flushes and re-run rollups all leave
the same totals. Feeding helpers (``record_*``) take plain values so tests
and other apps can write a series without going through HTTP.
"""

import hashlib
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ddsketch import DDSketch
from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from perfdash import sketches
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
from perfdash.normalize import normalize_sql

logger = logging.getLogger(__name__)

StatKey = tuple[datetime, str, str, int]
"""(minute start, route, method, status class)."""

FingerprintKey = tuple[str, str, str]
"""(kind, route, fingerprint)."""

POOL_FIELDS = (
    "pool_min",
    "pool_max",
    "pool_size",
    "pool_available",
    "requests_waiting",
    "requests_errors",
    "requests_num",
    "connections_errors",
)


def process_identity() -> tuple[str, int]:
    """Return this process's (host, pid), the key of everything it writes."""
    return socket.gethostname()[:128], os.getpid()


def minute_start(moment: datetime) -> datetime:
    """Return the start of the UTC minute holding ``moment``."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass
class StatDelta:
    """Counters and sketches gathered in memory before a flush adds them."""

    requests: int = 0
    total_seconds: float = 0.0
    upstream_seconds: float = 0.0
    upstream_requests: int = 0
    db_statements: int = 0
    db_seconds: float = 0.0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_seconds: float = 0.0
    total_sketch: DDSketch = field(default_factory=sketches.new_sketch)
    app_sketch: DDSketch = field(default_factory=sketches.new_sketch)
    upstream_sketch: DDSketch = field(default_factory=sketches.new_sketch)
    first_token_sketch: DDSketch = field(default_factory=sketches.new_sketch)
    db_sketch: DDSketch = field(default_factory=sketches.new_sketch)
    statement_sketch: DDSketch = field(default_factory=sketches.new_sketch)


@dataclass
class FingerprintDelta:
    """A statement shape's slow or repeated sightings since the last flush."""

    sql: str
    first_seen: datetime
    last_seen: datetime
    occurrences: int = 0
    statements: int = 0
    total_seconds: float = 0.0
    max_seconds: float = 0.0
    max_repeats: int = 0

    def see(
        self, *, at: datetime, statements: int, seconds: float, longest: float
    ) -> None:
        """Add one sighting (one slow execution or one repeating request)."""
        self.occurrences += 1
        self.statements += statements
        self.total_seconds += seconds
        self.max_seconds = max(self.max_seconds, longest)
        self.max_repeats = max(self.max_repeats, statements)
        self.first_seen = min(self.first_seen, at)
        self.last_seen = max(self.last_seen, at)


def merge_stat_delta(into: StatDelta, other: StatDelta) -> None:
    """Add ``other``'s counts and sketches to ``into``."""
    for name in RequestStatBase.SUM_FIELDS:
        setattr(into, name, getattr(into, name) + getattr(other, name))
    for name in RequestStatBase.SKETCH_FIELDS:
        sketch = getattr(other, name)
        if sketch.count:
            getattr(into, name).merge(sketch)


def merge_fingerprint_delta(into: FingerprintDelta, other: FingerprintDelta) -> None:
    """Add ``other``'s sightings to ``into``."""
    into.occurrences += other.occurrences
    into.statements += other.statements
    into.total_seconds += other.total_seconds
    into.max_seconds = max(into.max_seconds, other.max_seconds)
    into.max_repeats = max(into.max_repeats, other.max_repeats)
    into.first_seen = min(into.first_seen, other.first_seen)
    into.last_seen = max(into.last_seen, other.last_seen)


def fingerprint_of(sql: str) -> tuple[str, str]:
    """Return (normalized statement, its SHA-1 fingerprint)."""
    shape = normalize_sql(sql)
    return shape, hashlib.sha1(shape.encode(), usedforsecurity=False).hexdigest()


def _locked(queryset: QuerySet[Any]) -> QuerySet[Any]:
    # SQLite serializes writers already (IMMEDIATE transactions).
    if connection.features.has_select_for_update:
        return queryset.select_for_update()
    return queryset


def _add_delta(row: RequestStatBase, delta: StatDelta) -> None:
    for name in RequestStatBase.SUM_FIELDS:
        setattr(row, name, getattr(row, name) + getattr(delta, name))
    for name in RequestStatBase.SKETCH_FIELDS:
        setattr(
            row,
            name,
            sketches.merge_into_text(getattr(row, name), getattr(delta, name)),
        )


def _add_to_rows(
    *,
    stored: QuerySet[Any],
    key_fields: Sequence[str],
    unique_fields: Sequence[str],
    deltas: Mapping[Any, Any],
    new_row: Callable[[Any, Any], Model],
    add: Callable[[Any, Any], None],
    update_fields: Sequence[str],
) -> int:
    """Add each delta to its stored row (locked) or to a new one; return rows."""
    with transaction.atomic():
        existing = {
            tuple(getattr(row, name) for name in key_fields): row
            for row in _locked(stored)
        }
        changed, created = [], []
        for key, delta in deltas.items():
            row = existing.get(key)
            if row is None:
                row = new_row(key, delta)
                created.append(row)
            else:
                changed.append(row)
            add(row, delta)
        # One INSERT .. ON CONFLICT DO UPDATE writes new and merged rows alike
        # (the merge already happened above, under the rows' lock); Django's
        # bulk_update would build a CASE per field per row instead.
        for row in changed:
            row.pk = None
        stored.model._default_manager.bulk_create(
            [*changed, *created],
            update_conflicts=True,
            unique_fields=unique_fields,
            update_fields=update_fields,
        )
    return len(changed) + len(created)


def write_minute_deltas(
    *, deltas: Mapping[StatKey, StatDelta], host: str, pid: int
) -> int:
    """Add in-memory deltas to this process's minute rows; return rows touched."""
    if not deltas:
        return 0
    now = timezone.now()

    def new_row(key: StatKey, _delta: StatDelta) -> RequestStatMinute:
        bucket, route, method, status_class = key
        return RequestStatMinute(
            bucket=bucket,
            route=route,
            method=method,
            status_class=status_class,
            host=host,
            pid=pid,
        )

    def add(row: RequestStatMinute, delta: StatDelta) -> None:
        _add_delta(row, delta)
        row.updated_at = now  # bulk_update skips auto_now

    return _add_to_rows(
        stored=RequestStatMinute.objects.filter(
            host=host, pid=pid, bucket__in={key[0] for key in deltas}
        ),
        key_fields=("bucket", "route", "method", "status_class"),
        unique_fields=("bucket", "route", "method", "status_class", "host", "pid"),
        deltas=deltas,
        new_row=new_row,
        add=add,
        update_fields=[
            *RequestStatBase.SUM_FIELDS,
            *RequestStatBase.SKETCH_FIELDS,
            "updated_at",
        ],
    )


_FINGERPRINT_SUMS = ("occurrences", "statements", "total_seconds")
_FINGERPRINT_MAXES = ("max_seconds", "max_repeats", "last_seen")


def write_fingerprint_deltas(
    *, deltas: Mapping[FingerprintKey, FingerprintDelta], host: str, pid: int
) -> int:
    """Add slow-statement and N+1 sightings to this process's fingerprints."""
    if not deltas:
        return 0

    def new_row(key: FingerprintKey, delta: FingerprintDelta) -> StatementFingerprint:
        kind, route, fingerprint = key
        return StatementFingerprint(
            kind=kind,
            route=route,
            fingerprint=fingerprint,
            sql=delta.sql,
            host=host,
            pid=pid,
            first_seen=delta.first_seen,
            last_seen=delta.last_seen,
        )

    def add(row: StatementFingerprint, delta: FingerprintDelta) -> None:
        for name in _FINGERPRINT_SUMS:
            setattr(row, name, getattr(row, name) + getattr(delta, name))
        for name in _FINGERPRINT_MAXES:
            setattr(row, name, max(getattr(row, name), getattr(delta, name)))

    return _add_to_rows(
        stored=StatementFingerprint.objects.filter(
            host=host, pid=pid, fingerprint__in={key[2] for key in deltas}
        ),
        key_fields=("kind", "route", "fingerprint"),
        unique_fields=("kind", "route", "fingerprint", "host", "pid"),
        deltas=deltas,
        new_row=new_row,
        add=add,
        update_fields=[*_FINGERPRINT_SUMS, *_FINGERPRINT_MAXES],
    )


def _seconds(values_ms: Iterable[float]) -> list[float]:
    return [value / 1000.0 for value in values_ms]


def record_request_stats(
    *,
    minute: datetime,
    route: str,
    method: str = "GET",
    status: int = 200,
    total_ms: Sequence[float] = (),
    requests: int | None = None,
    upstream_ms: Sequence[float] = (),
    first_token_ms: Sequence[float] = (),
    db_ms: Sequence[float] = (),
    statement_ms: Sequence[float] = (),
    db_statements: int | None = None,
    cache_hits: int = 0,
    cache_misses: int = 0,
    cache_ms: float = 0.0,
    host: str = "feed",
    pid: int = 0,
) -> None:
    """Add requests to the minute row holding ``minute``, as a flush would.

    ``total_ms`` holds one duration per request (``requests`` defaults to its
    length); ``upstream_ms``, when given, pairs with its first requests and
    app time is total minus upstream. ``statement_ms`` holds one duration per
    statement (``db_statements`` defaults to its length); ``cache_ms`` is the
    total time spent in the cache by all these requests.
    """
    total = _seconds(total_ms)
    upstream = _seconds(upstream_ms)
    if len(upstream) > len(total):
        raise ValueError("upstream_ms has more values than total_ms")
    statements = _seconds(statement_ms)
    delta = StatDelta(
        requests=len(total) if requests is None else requests,
        total_seconds=sum(total),
        upstream_seconds=sum(upstream),
        upstream_requests=len(upstream),
        db_statements=len(statements) if db_statements is None else db_statements,
        db_seconds=sum(_seconds(db_ms)) if db_ms else sum(statements),
        cache_hits=cache_hits,
        cache_misses=cache_misses,
        cache_seconds=cache_ms / 1000.0,
        total_sketch=sketches.new_sketch(total),
        app_sketch=sketches.new_sketch(
            t - (upstream[i] if i < len(upstream) else 0.0) for i, t in enumerate(total)
        ),
        upstream_sketch=sketches.new_sketch(upstream),
        first_token_sketch=sketches.new_sketch(_seconds(first_token_ms)),
        db_sketch=sketches.new_sketch(_seconds(db_ms)),
        statement_sketch=sketches.new_sketch(statements),
    )
    key = (minute_start(minute), route, method.upper(), status // 100)
    write_minute_deltas(deltas={key: delta}, host=host, pid=pid)


def record_statement_fingerprint(
    *,
    kind: str,
    route: str,
    sql: str,
    at: datetime,
    statements: int = 1,
    seconds: float = 0.0,
    host: str = "feed",
    pid: int = 0,
) -> str:
    """Add one sighting of a slow or repeated statement; return its fingerprint."""
    shape, fingerprint = fingerprint_of(sql)
    delta = FingerprintDelta(sql=shape, first_seen=at, last_seen=at)
    delta.see(at=at, statements=statements, seconds=seconds, longest=seconds)
    write_fingerprint_deltas(
        deltas={(kind, route, fingerprint): delta}, host=host, pid=pid
    )
    return fingerprint


def record_process_sample(
    *,
    host: str,
    pid: int,
    cpu_percent: float,
    rss_bytes: int,
    memory_percent: float,
    threads: int = 0,
    pool: Mapping[str, int] | None = None,
    at: datetime | None = None,
) -> ProcessSample:
    """Store one process's CPU, memory and (when given) pool statistics."""
    pool = pool or {}
    return ProcessSample.objects.create(
        at=at or timezone.now(),
        host=host,
        pid=pid,
        cpu_percent=cpu_percent,
        rss_bytes=rss_bytes,
        memory_percent=memory_percent,
        threads=threads,
        **{name: pool.get(name) for name in POOL_FIELDS},
    )


def record_db_connection_sample(
    *,
    connections: int,
    max_connections: int,
    database_connections: int | None = None,
    active: int = 0,
    idle: int = 0,
    idle_in_transaction: int = 0,
    at: datetime | None = None,
) -> DbConnectionSample:
    """Store one count of PostgreSQL connections against the server's limit."""
    return DbConnectionSample.objects.create(
        at=at or timezone.now(),
        connections=connections,
        database_connections=(
            connections if database_connections is None else database_connections
        ),
        active=active,
        idle=idle,
        idle_in_transaction=idle_in_transaction,
        max_connections=max_connections,
    )


_PG_CONNECTIONS_SQL = """
SELECT count(*),
       count(*) FILTER (WHERE datname = current_database()),
       count(*) FILTER (WHERE state = 'active'),
       count(*) FILTER (WHERE state = 'idle'),
       count(*) FILTER (WHERE state LIKE 'idle in transaction%%'),
       current_setting('max_connections')::int
FROM pg_stat_activity
WHERE backend_type = 'client backend'
"""


def sample_db_connections() -> DbConnectionSample | None:
    """Sample ``pg_stat_activity`` against ``max_connections`` (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(_PG_CONNECTIONS_SQL)
        total, database, active, idle, in_transaction, limit = cursor.fetchone()
    return record_db_connection_sample(
        connections=total,
        database_connections=database,
        active=active,
        idle=idle,
        idle_in_transaction=in_transaction,
        max_connections=limit,
    )


# --- rollups ---------------------------------------------------------------

Level = Literal["hour", "day"]
_ROLLUPS: dict[str, tuple[type[RequestStatBase], type[RequestStatBase], timedelta]] = {
    "hour": (RequestStatMinute, RequestStatHour, timedelta(hours=1)),
    "day": (RequestStatHour, RequestStatDay, timedelta(days=1)),
}
# Closed buckets this far behind the watermark are rebuilt again, so minute
# rows flushed late (a worker exiting, a slow flush) still reach the rollup.
_RELOOK = {"hour": timedelta(hours=2), "day": timedelta(days=1)}


def floor_to(moment: datetime, level: str) -> datetime:
    """Return the start of the UTC hour or day holding ``moment``."""
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if level == "day" else moment


def complete_until(level: str) -> datetime | None:
    """Return the end of the rolled-up span of a level, if any."""
    state = RollupState.objects.filter(level=level).first()
    return state.complete_until if state else None


def _closed_until(level: Level, now: datetime, grace: timedelta) -> datetime:
    if level == "hour":
        return floor_to(now - grace, "hour")
    hours_done = complete_until("hour")
    if hours_done is None:
        return floor_to(datetime.min.replace(tzinfo=UTC), "day")
    return floor_to(hours_done, "day")


def _aggregate(rows: Iterable[RequestStatBase], level: str) -> dict[StatKey, StatDelta]:
    merged: dict[StatKey, StatDelta] = {}
    for row in rows:
        key = (floor_to(row.bucket, level), row.route, row.method, row.status_class)
        delta = merged.setdefault(key, StatDelta())
        for name in RequestStatBase.SUM_FIELDS:
            setattr(delta, name, getattr(delta, name) + getattr(row, name))
        for name in RequestStatBase.SKETCH_FIELDS:
            text = getattr(row, name)
            if text:
                getattr(delta, name).merge(sketches.loads(text))
    return merged


def roll_up(
    *, level: Level, now: datetime | None = None, grace_seconds: float = 120
) -> int:
    """Rebuild closed hour or day rows from the finer level; return rows written.

    Idempotent: a closed bucket is recomputed from its source rows and
    replaces what was stored, so running twice, or after late flushes, gives
    the same rows as running once.
    """
    source, target, width = _ROLLUPS[level]
    now = now or timezone.now()
    end = _closed_until(level, now, timedelta(seconds=grace_seconds))
    done = complete_until(level)
    if done is not None:
        start = done - _RELOOK[level]
    else:
        oldest = source._default_manager.order_by("bucket").values_list(
            "bucket", flat=True
        )
        first = oldest.first()
        if first is None:
            return 0
        start = floor_to(first, level)
    if start >= end:
        return 0

    written = 0
    chunk = width * (24 if level == "hour" else 31)
    while start < end:
        stop = min(start + chunk, end)
        merged = _aggregate(
            source._default_manager.filter(
                bucket__gte=start, bucket__lt=stop
            ).iterator(),
            level,
        )
        rows = []
        for (bucket, route, method, status_class), delta in merged.items():
            row = target(
                bucket=bucket, route=route, method=method, status_class=status_class
            )
            _add_delta(row, delta)
            rows.append(row)
        with transaction.atomic():
            target._default_manager.filter(bucket__gte=start, bucket__lt=stop).delete()
            target._default_manager.bulk_create(rows)
            RollupState.objects.update_or_create(
                level=level, defaults={"complete_until": stop}
            )
        written += len(rows)
        start = stop
    logger.info("perfdash rollup %s: %d rows up to %s", level, written, end)
    return written


# --- retention -------------------------------------------------------------


def _delete_in_batches(queryset: QuerySet[Any], batch_size: int) -> int:
    model: type[Model] = queryset.model
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        model._default_manager.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch_size:
            return deleted


def delete_expired(
    *,
    minute_days: int,
    hour_days: int,
    day_days: int,
    now: datetime | None = None,
    batch_size: int = 5000,
) -> dict[str, int]:
    """Delete rows older than their retention, in batches; return counts."""
    now = now or timezone.now()
    minute_cut = now - timedelta(days=minute_days)
    targets: dict[str, QuerySet[Any]] = {
        "minutes": RequestStatMinute.objects.filter(bucket__lt=minute_cut),
        "hours": RequestStatHour.objects.filter(
            bucket__lt=now - timedelta(days=hour_days)
        ),
        "days": RequestStatDay.objects.filter(
            bucket__lt=now - timedelta(days=day_days)
        ),
        "process_samples": ProcessSample.objects.filter(at__lt=minute_cut),
        "db_samples": DbConnectionSample.objects.filter(at__lt=minute_cut),
        "fingerprints": StatementFingerprint.objects.filter(
            last_seen__lt=now - timedelta(days=hour_days)
        ),
    }
    counts = {
        name: _delete_in_batches(queryset, batch_size)
        for name, queryset in targets.items()
    }
    logger.info("perfdash retention deleted %s", counts)
    return counts


# --- django-silk ---------------------------------------------------------------


def collect_silk_garbage() -> int:
    """Run silk's garbage collection now; return the requests left (0 if off)."""
    from django.apps import apps

    if not apps.is_installed("silk"):
        return 0
    from silk.models import Request

    # Forced: requests never collect (SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT
    # is 0), so the cost stays in Celery.
    Request.garbage_collect(force=True)
    return Request.objects.count()
