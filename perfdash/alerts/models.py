"""Alert rules, their evaluation state, the transition log and notifications.

Every step the evaluator takes is claimed in the database so that two beat
processes, duplicated task messages or a restart never send an email twice:
an evaluation tick is a row with a unique time, a transition bumps the rule
state's version by compare-and-set and is stored under a unique
``(rule, version)``, and a notification carries a unique ``dedupe_key``.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class Metric(models.TextChoices):
    RESPONSE_TIME_P95 = "response_time_p95", "Response time p95"
    APP_TIME_P95 = "app_time_p95", "App time p95 (model time excluded)"
    UPSTREAM_TIME_P95 = "upstream_time_p95", "Upstream model time p95"
    ERROR_RATE = "error_rate", "Error rate (server errors)"
    CACHE_HIT_RATIO = "cache_hit_ratio", "Cache hit ratio"
    DB_CONNECTION_UTILIZATION = (
        "db_connection_utilization",
        "DB connection utilization",
    )
    POOL_UTILIZATION = "pool_utilization", "Connection pool utilization"


RATIO_METRICS = frozenset(
    {
        Metric.ERROR_RATE,
        Metric.CACHE_HIT_RATIO,
        Metric.DB_CONNECTION_UTILIZATION,
        Metric.POOL_UTILIZATION,
    }
)


class Comparison(models.TextChoices):
    ABOVE = "gt", "above"
    BELOW = "lt", "below"


class Severity(models.TextChoices):
    WARNING = "warning", "warning"
    CRITICAL = "critical", "critical"


class State(models.TextChoices):
    OK = "ok", "ok"
    PENDING = "pending", "pending"
    FIRING = "firing", "firing"
    RESOLVED = "resolved", "resolved"
    NO_DATA = "no_data", "no data"


class Rule(models.Model):
    """A threshold on one perfdash metric over a sliding window."""

    name = models.CharField(max_length=100, unique=True)
    metric = models.CharField(max_length=40, choices=Metric.choices)
    comparison = models.CharField(
        max_length=2, choices=Comparison.choices, default=Comparison.ABOVE
    )
    threshold = models.FloatField()
    recovery_threshold = models.FloatField(
        null=True,
        blank=True,
        help_text=(
            "The value must come back past this before a firing rule resolves, "
            "so a value hovering at the threshold does not flap. Empty: the "
            "threshold itself."
        ),
    )
    window = models.DurationField(
        default=timedelta(minutes=5), help_text="Judge the metric over this span."
    )
    pending_for = models.DurationField(
        default=timedelta(minutes=2),
        help_text="Fire only after the threshold has been crossed this long.",
    )
    min_samples = models.PositiveIntegerField(
        default=20,
        help_text="Fewer samples than this in the window means no data.",
    )
    severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.WARNING
    )
    repeat_interval = models.DurationField(
        null=True,
        blank=True,
        help_text="Remind while still firing this often. Empty: never remind.",
    )
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="alert_rules",
        help_text="Empty: every active staff user with an email address.",
    )
    guidance = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def recovery_value(self) -> float:
        """Return the recovery threshold, defaulting to the threshold."""
        if self.recovery_threshold is None:
            return self.threshold
        return self.recovery_threshold

    def clean(self) -> None:
        """Refuse spans, ratios and recovery thresholds that cannot work."""
        errors: dict[str, str] = {}
        if self.window is not None and self.window < timedelta(minutes=1):
            errors["window"] = "perfdash stores minutes: the window is one or more."
        if self.pending_for is not None and self.pending_for < timedelta(0):
            errors["pending_for"] = "The pending duration cannot be negative."
        if self.repeat_interval is not None and self.repeat_interval <= timedelta(0):
            errors["repeat_interval"] = "Leave empty for no reminders, or be positive."
        if self.metric in RATIO_METRICS:
            for name in ("threshold", "recovery_threshold"):
                value = getattr(self, name)
                if value is not None and not 0 <= value <= 1:
                    errors[name] = "A ratio is between 0 and 1 (0.05 is 5%)."
        if errors:
            raise ValidationError(errors)
        if self.recovery_threshold is None:
            return
        above = self.comparison == Comparison.ABOVE
        if above and self.recovery_threshold > self.threshold:
            raise ValidationError(
                {
                    "recovery_threshold": (
                        "A rule that fires above its threshold recovers below it: "
                        "the recovery threshold must not exceed the threshold."
                    )
                }
            )
        if not above and self.recovery_threshold < self.threshold:
            raise ValidationError(
                {
                    "recovery_threshold": (
                        "A rule that fires below its threshold recovers above it: "
                        "the recovery threshold must not be under the threshold."
                    )
                }
            )


class RuleState(models.Model):
    """The evaluator's current view of one rule, changed by compare-and-set."""

    rule = models.OneToOneField(
        Rule, on_delete=models.CASCADE, primary_key=True, related_name="state"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.OK)
    since = models.DateTimeField()
    value = models.FloatField(null=True, blank=True)
    sample_count = models.PositiveIntegerField(default=0)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every transition; a writer must name the version it read.
    version = models.PositiveIntegerField(default=0)
    incident = models.ForeignKey(
        "Transition",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The transition to firing of the open incident.",
    )

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.state}"


class Tick(models.Model):
    """One evaluation run, claimed by inserting its unique time."""

    at = models.DateTimeField(unique=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    rules_evaluated = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at"]
        get_latest_by = "at"

    def __str__(self) -> str:
        return self.at.isoformat()


class Transition(models.Model):
    """A change of a rule's state, with the reading that caused it."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="transitions")
    version = models.PositiveIntegerField()
    from_state = models.CharField(max_length=10, choices=State.choices)
    to_state = models.CharField(max_length=10, choices=State.choices)
    at = models.DateTimeField()
    value = models.FloatField(null=True, blank=True)
    sample_count = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    # How long the rule had been in from_state when it left it.
    previous_duration = models.DurationField()
    # The threshold and recovery threshold in force, kept for the history.
    threshold = models.FloatField()
    recovery_threshold = models.FloatField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "version"], name="alerts_transition_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.from_state}->{self.to_state} at {self.at}"


class Notification(models.Model):
    """One email for a rule, recorded before it is sent, with its outcome."""

    class Kind(models.TextChoices):
        FIRING = "firing", "firing"
        RESOLVED = "resolved", "resolved"
        REMINDER = "reminder", "reminder"
        TEST = "test", "test"

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"
        SILENCED = "silenced", "silenced"
        SKIPPED = "skipped", "skipped"

    rule = models.ForeignKey(
        Rule, on_delete=models.CASCADE, related_name="notifications"
    )
    transition = models.ForeignKey(
        Transition,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    incident = models.ForeignKey(
        Transition,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    dedupe_key = models.CharField(max_length=120, unique=True)
    message_id = models.CharField(max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.rule_id} ({self.status})"


class Silence(models.Model):
    """A span during which a rule is evaluated but emails nobody."""

    class Source(models.TextChoices):
        ADMIN = "admin", "admin"
        EMAIL_LINK = "email_link", "link in an email"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="silences")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(
        max_length=12, choices=Source.choices, default=Source.ADMIN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-ends_at"]

    def __str__(self) -> str:
        return f"{self.rule_id} until {self.ends_at}"

    def clean(self) -> None:
        """Refuse a silence that ends before it starts."""
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "A silence must end after it starts."})
