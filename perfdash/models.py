"""Stored measurements: request rollups, process and database samples.

Minute rows are written by each process's flusher and keyed by host and pid,
so processes never overwrite each other and readers simply add. Hour and day
rows are rebuilt by Celery from the finer level by adding sketches.
Durations are seconds; sketches are the JSON form of :mod:`perfdash.sketches`.
"""

from typing import Any

from django.db import models
from django.db.models import Count, F, FloatField, Max, Min, Q, Sum
from django.db.models.functions import Cast, Coalesce

# A sample that carries pool statistics, and the share of its pool lent out.
POOLED = Q(pool_max__gt=0, pool_size__isnull=False, pool_available__isnull=False)


def pool_use() -> Any:
    """Return the expression of a sample's pool utilization (0..1)."""
    return Cast(F("pool_size") - F("pool_available"), FloatField()) / F("pool_max")


class RequestStatBase(models.Model):
    """Counters and sketches for one (bucket, route, method, status class)."""

    bucket = models.DateTimeField(help_text="Start of the minute, hour or day.")
    route = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    status_class = models.PositiveSmallIntegerField(help_text="2 for 2xx, 5 for 5xx.")
    requests = models.PositiveBigIntegerField(default=0)
    total_seconds = models.FloatField(default=0.0)
    upstream_seconds = models.FloatField(default=0.0)
    upstream_requests = models.PositiveBigIntegerField(
        default=0, help_text="Requests that called the reply backend."
    )
    db_statements = models.PositiveBigIntegerField(default=0)
    db_seconds = models.FloatField(default=0.0)
    cache_hits = models.PositiveBigIntegerField(default=0)
    cache_misses = models.PositiveBigIntegerField(default=0)
    cache_seconds = models.FloatField(default=0.0)
    # Sketches: per request (total, app, upstream, first token, DB time) and
    # per statement (statement time).
    total_sketch = models.TextField(blank=True, default="")
    app_sketch = models.TextField(blank=True, default="")
    upstream_sketch = models.TextField(blank=True, default="")
    first_token_sketch = models.TextField(blank=True, default="")
    db_sketch = models.TextField(blank=True, default="")
    statement_sketch = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True

    SKETCH_FIELDS = (
        "total_sketch",
        "app_sketch",
        "upstream_sketch",
        "first_token_sketch",
        "db_sketch",
        "statement_sketch",
    )
    SUM_FIELDS = (
        "requests",
        "total_seconds",
        "upstream_seconds",
        "upstream_requests",
        "db_statements",
        "db_seconds",
        "cache_hits",
        "cache_misses",
        "cache_seconds",
    )


class RequestStatMinute(RequestStatBase):
    """One process's requests in one minute."""

    host = models.CharField(max_length=128)
    pid = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bucket", "route", "method", "status_class", "host", "pid"],
                name="perfdash_minute_key",
            )
        ]
        indexes = [models.Index(fields=["bucket", "route"])]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d %H:%M} {self.method} {self.route}"


class RequestStatHour(RequestStatBase):
    """All processes' requests in one hour, rolled up from minutes."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bucket", "route", "method", "status_class"],
                name="perfdash_hour_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d %H}h {self.method} {self.route}"


class RequestStatDay(RequestStatBase):
    """All processes' requests in one day, rolled up from hours."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bucket", "route", "method", "status_class"],
                name="perfdash_day_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d} {self.method} {self.route}"


class RequestStatHourTotal(RequestStatBase):
    """All routes' requests in one hour (``route`` is empty), for the overview.

    Written by the hour rollup with the per-route hour rows, so a week's
    overview adds 168 rows per method and status class instead of every
    route's.
    """

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bucket", "method", "status_class"],
                name="perfdash_hour_total_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d %H}h {self.method} all routes"


class RequestStatDayTotal(RequestStatBase):
    """All routes' requests in one day (``route`` is empty), for the overview."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bucket", "method", "status_class"],
                name="perfdash_day_total_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d} {self.method} all routes"


class RollupState(models.Model):
    """How far a level is rolled up: buckets before ``complete_until`` are read."""

    level = models.CharField(max_length=10, unique=True)
    complete_until = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.level} until {self.complete_until:%Y-%m-%d %H:%M}"


class ProcessSample(models.Model):
    """One process's CPU, memory and connection-pool statistics at a moment."""

    at = models.DateTimeField(db_index=True)
    host = models.CharField(max_length=128)
    pid = models.PositiveIntegerField()
    cpu_percent = models.FloatField(help_text="Process CPU since the last sample.")
    rss_bytes = models.PositiveBigIntegerField()
    memory_percent = models.FloatField()
    threads = models.PositiveIntegerField(default=0)
    # psycopg pool statistics (``pool.get_stats()``); null without a pool.
    pool_min = models.PositiveIntegerField(null=True, blank=True)
    pool_max = models.PositiveIntegerField(null=True, blank=True)
    pool_size = models.PositiveIntegerField(null=True, blank=True)
    pool_available = models.PositiveIntegerField(null=True, blank=True)
    requests_waiting = models.PositiveIntegerField(null=True, blank=True)
    requests_errors = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Cumulative since the process started."
    )
    requests_num = models.PositiveBigIntegerField(null=True, blank=True)
    connections_errors = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["host", "pid", "at"])]

    def __str__(self) -> str:
        return f"{self.host}:{self.pid} at {self.at:%H:%M:%S}"

    @property
    def pool_in_use(self) -> int | None:
        """Return the pool's connections lent out at the moment."""
        if self.pool_size is None or self.pool_available is None:
            return None
        return self.pool_size - self.pool_available


class ProcessSampleHour(models.Model):
    """One process's samples in one hour as sums and extremes, rolled up.

    Means over any set of whole hours are the sums over the sample counts,
    the same figures as averaging the raw samples; pool errors keep the
    lowest and highest cumulative count so a range can take the difference.
    """

    bucket = models.DateTimeField(help_text="Start of the hour.")
    host = models.CharField(max_length=128)
    pid = models.PositiveIntegerField()
    samples = models.PositiveIntegerField(default=0)
    cpu_sum = models.FloatField(default=0.0)
    cpu_max = models.FloatField(default=0.0)
    rss_sum = models.FloatField(default=0.0)
    rss_max = models.PositiveBigIntegerField(default=0)
    memory_sum = models.FloatField(default=0.0)
    pooled = models.PositiveIntegerField(
        default=0, help_text="Samples with pool statistics."
    )
    pool_use_sum = models.FloatField(default=0.0)
    pool_use_max = models.FloatField(null=True, blank=True)
    waiting_max = models.PositiveIntegerField(null=True, blank=True)
    errors_low = models.PositiveBigIntegerField(null=True, blank=True)
    errors_high = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bucket", "host", "pid"], name="perfdash_process_hour_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.host}:{self.pid} {self.bucket:%Y-%m-%d %H}h"

    SUMS = ("samples", "cpu_sum", "rss_sum", "memory_sum", "pooled", "pool_use_sum")
    MAXES = ("cpu_max", "rss_max", "pool_use_max", "waiting_max", "errors_high")
    MINS = ("errors_low",)

    @staticmethod
    def of_samples() -> dict[str, Any]:
        """Return aggregates of raw samples, named ``agg_<field>`` of this model."""
        return {
            "agg_samples": Count("id"),
            "agg_cpu_sum": Sum("cpu_percent"),
            "agg_cpu_max": Max("cpu_percent"),
            "agg_rss_sum": Sum(Cast("rss_bytes", FloatField())),
            "agg_rss_max": Max("rss_bytes"),
            "agg_memory_sum": Sum("memory_percent"),
            "agg_pooled": Count("id", filter=POOLED),
            "agg_pool_use_sum": Sum(pool_use(), filter=POOLED),
            "agg_pool_use_max": Max(pool_use(), filter=POOLED),
            "agg_waiting_max": Max(Coalesce("requests_waiting", 0), filter=POOLED),
            "agg_errors_low": Min(Coalesce("requests_errors", 0), filter=POOLED),
            "agg_errors_high": Max(Coalesce("requests_errors", 0), filter=POOLED),
        }

    @classmethod
    def of_hours(cls) -> dict[str, Any]:
        """Return the same aggregates over hour rows."""
        aggregates: dict[str, Any] = {}
        for names, function in ((cls.SUMS, Sum), (cls.MAXES, Max), (cls.MINS, Min)):
            for name in names:
                aggregates[f"agg_{name}"] = function(name)
        return aggregates


class DbConnectionSample(models.Model):
    """PostgreSQL connections in use against ``max_connections``."""

    at = models.DateTimeField(db_index=True)
    connections = models.PositiveIntegerField(help_text="Client backends, all DBs.")
    database_connections = models.PositiveIntegerField(help_text="This database.")
    active = models.PositiveIntegerField(default=0)
    idle = models.PositiveIntegerField(default=0)
    idle_in_transaction = models.PositiveIntegerField(default=0)
    max_connections = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.connections}/{self.max_connections} at {self.at:%H:%M:%S}"


class StatementFingerprint(models.Model):
    """A normalized statement seen slow, or repeated (N+1) in one request."""

    class Kind(models.TextChoices):
        SLOW = "slow", "Slow statement"
        N_PLUS_ONE = "n_plus_one", "N+1 suspect"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    route = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=40, help_text="SHA-1 of the shape.")
    sql = models.TextField(help_text="Normalized: no parameter values.")
    host = models.CharField(max_length=128)
    pid = models.PositiveIntegerField()
    occurrences = models.PositiveBigIntegerField(
        default=0, help_text="Slow executions, or requests with the repetition."
    )
    statements = models.PositiveBigIntegerField(default=0)
    total_seconds = models.FloatField(default=0.0)
    max_seconds = models.FloatField(default=0.0)
    max_repeats = models.PositiveIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "route", "fingerprint", "host", "pid"],
                name="perfdash_fingerprint_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.route} {self.fingerprint[:8]}"
