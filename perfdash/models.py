"""Stored measurements: request rollups, process and database samples.

Minute rows are written by each process's flusher and keyed by host and pid,
so processes never overwrite each other and readers simply add. Hour and day
rows are rebuilt by Celery from the finer level by adding sketches.
Durations are seconds; sketches are the JSON form of :mod:`perfdash.sketches`.
"""

from django.db import models


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
