"""Stored load-test runs, their latency series and the mode comparisons."""

from django.db import models


class LoadTestRun(models.Model):
    """One run of one scenario, with its steady-state figures and verdict."""

    name = models.CharField(max_length=100)
    target_url = models.CharField(max_length=300)
    # The scenario exactly as run (rates, durations, thresholds).
    scenario = models.JSONField()
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    # Free text that says what was special about the run ("stateful mode").
    label = models.CharField(max_length=100, blank=True, default="")

    target_rps = models.FloatField()
    achieved_rps = models.FloatField()
    requests = models.PositiveIntegerField()
    failures = models.PositiveIntegerField()
    missed_slots = models.PositiveIntegerField()
    error_rate_pct = models.FloatField(null=True)
    avg_ms = models.FloatField(null=True)
    p50_ms = models.FloatField(null=True)
    p95_ms = models.FloatField(null=True)
    p99_ms = models.FloatField(null=True)
    max_ms = models.FloatField(null=True)
    # Everything else measured (other percentiles, resources, isolation).
    figures = models.JSONField(default=dict)
    # One entry per judged threshold: name, value, limit, passed.
    checks = models.JSONField(default=list)
    passed = models.BooleanField()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        verdict = "pass" if self.passed else "fail"
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M} {verdict}"


class LoadTestInterval(models.Model):
    """Latency and load of one interval of a run, for the over-time chart."""

    run = models.ForeignKey(
        LoadTestRun, on_delete=models.CASCADE, related_name="intervals"
    )
    offset_s = models.FloatField()
    in_ramp = models.BooleanField()
    requests = models.PositiveIntegerField()
    failures = models.PositiveIntegerField()
    missed = models.PositiveIntegerField()
    p50_ms = models.FloatField(null=True)
    p95_ms = models.FloatField(null=True)
    p99_ms = models.FloatField(null=True)
    server_cpu_pct = models.FloatField(null=True)
    server_rss_mb = models.FloatField(null=True)

    class Meta:
        ordering = ["run", "offset_s"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "offset_s"], name="loadtest_interval_once"
            )
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} +{self.offset_s:.0f}s"


class ModeComparison(models.Model):
    """The same load run against the stateless and the stateful history mode."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    memory_budget_mb = models.FloatField()
    # Load and server shape shared by both runs.
    settings = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Mode comparison {self.created_at:%Y-%m-%d %H:%M}"


class ModeResult(models.Model):
    """What one history mode measured in a comparison."""

    comparison = models.ForeignKey(
        ModeComparison, on_delete=models.CASCADE, related_name="results"
    )
    mode = models.CharField(max_length=20)
    run = models.ForeignKey(
        LoadTestRun, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    avg_ms = models.FloatField(null=True)
    p95_ms = models.FloatField(null=True)
    requests_measured = models.PositiveIntegerField()
    statements = models.PositiveIntegerField()
    statements_per_request = models.FloatField(null=True)
    active_sessions = models.PositiveIntegerField()
    # Web-process memory grown per session, and cache memory per session.
    process_bytes_per_session = models.FloatField(null=True)
    cache_bytes_per_session = models.FloatField(null=True)
    sessions_in_budget = models.PositiveIntegerField(null=True)

    class Meta:
        ordering = ["comparison", "mode"]
        constraints = [
            models.UniqueConstraint(
                fields=["comparison", "mode"], name="mode_result_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.mode} in comparison {self.comparison_id}"
