"""Reads for the alert evaluator, its emails and the dashboard.

The dashboard shows evaluator health with :func:`last_evaluated_at` and
:func:`is_evaluator_late`, and the alert history with
:func:`recent_transitions` and :func:`recent_notifications`.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from perfdash.alerts.models import Notification, Rule, Silence, Tick, Transition


def last_evaluated_at() -> datetime | None:
    """Return when the evaluator last finished a tick, or None if never."""
    return (
        Tick.objects.filter(finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )


def is_evaluator_late(*, now: datetime | None = None) -> bool:
    """Return whether the evaluator has not finished a tick recently enough."""
    last = last_evaluated_at()
    if last is None:
        return True
    seconds = float(settings.ALERTS["LATE_AFTER_SECONDS"]) or (
        3 * float(settings.ALERTS["TICK_SECONDS"])
    )
    late_after = timedelta(seconds=seconds)
    return (now or timezone.now()) - last > late_after


def recent_transitions(
    *,
    limit: int = 50,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Transition]:
    """Return the latest state changes, newest first, optionally in a range."""
    transitions = Transition.objects.select_related("rule")
    if start is not None:
        transitions = transitions.filter(at__gte=start)
    if end is not None:
        transitions = transitions.filter(at__lt=end)
    return transitions.order_by("-at", "-id")[:limit]


def recent_notifications(
    *,
    limit: int = 50,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Notification]:
    """Return the latest notifications with their outcome, optionally in a range."""
    notifications = Notification.objects.select_related("rule")
    if start is not None:
        notifications = notifications.filter(created_at__gte=start)
    if end is not None:
        notifications = notifications.filter(created_at__lt=end)
    return notifications.order_by("-created_at", "-id")[:limit]


def rules_with_state() -> QuerySet[Rule]:
    """Return every rule with its current evaluation state."""
    return Rule.objects.select_related("state").order_by("name")


def silenced_rule_ids(*, at: datetime) -> set[int]:
    """Return the ids of rules muted by a silence in force at ``at``."""
    return set(
        Silence.objects.filter(starts_at__lte=at, ends_at__gt=at).values_list(
            "rule_id", flat=True
        )
    )


def recipient_emails(*, rule: Rule) -> list[str]:
    """Return who gets a rule's emails: its recipients, else all staff."""
    chosen = list(
        rule.recipients.filter(is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if chosen:
        return sorted(set(chosen))
    staff = (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    return sorted(set(staff))
