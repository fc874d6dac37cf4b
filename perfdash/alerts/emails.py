"""Render alert emails (plain text and HTML) with their threading headers."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from perfdash.alerts import metrics
from perfdash.alerts.models import (
    RATIO_METRICS,
    Comparison,
    Metric,
    Notification,
    Rule,
)

SILENCE_SALT = "perfdash.alerts.silence"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def site_domain() -> str:
    """Return the host name of the site, for Message-IDs."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def format_value(metric: str, value: float | None) -> str:
    """Return a metric value as staff read it: milliseconds or a percentage."""
    if value is None:
        return "no data"
    if metric in RATIO_METRICS:
        return f"{value * 100:.1f}%"
    return f"{value:.0f} ms"


def format_duration(span: timedelta) -> str:
    """Return a span as hours, minutes and seconds, largest units first."""
    seconds = max(int(span.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if seconds or not parts:
        parts.append(f"{seconds} s")
    return " ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def silence_token(*, rule: Rule, minutes: int) -> str:
    """Return a signed, timestamped token that silences ``rule``."""
    return signing.dumps({"rule": rule.pk, "minutes": minutes}, salt=SILENCE_SALT)


def dashboard_url(*, start: datetime, end: datetime) -> str:
    """Return the absolute dashboard link for a UTC window of whole minutes."""
    # The dashboard reads whole minutes: round the end up so a window that
    # ends mid-minute still shows that minute.
    minute = end.replace(second=0, microsecond=0)
    if minute != end:
        end = minute + timedelta(minutes=1)
    query = urlencode(
        {
            "range": "custom",
            "start": start.astimezone(UTC).isoformat(),
            "end": end.astimezone(UTC).isoformat(),
        }
    )
    return _absolute(f"{settings.ALERTS['DASHBOARD_PATH']}?{query}")


def _context(notification: Notification) -> dict[str, Any]:
    rule = notification.rule
    kind = notification.kind
    transition = notification.transition
    incident = notification.incident
    if transition is not None:
        value, samples = transition.value, transition.sample_count
        start, end = transition.window_start, transition.at
    else:
        state = getattr(rule, "state", None)
        value = state.value if state else None
        samples = state.sample_count if state else 0
        end = notification.created_at
        start = metrics.window_start(end=end, window=rule.window)

    if kind == Notification.Kind.FIRING and transition is not None:
        from_pending = transition.from_state == "pending"
        since = transition.at - (
            transition.previous_duration if from_pending else timedelta(0)
        )
        state_line = f"Past the threshold since {_utc(since)}"
        in_state = transition.at - since
    elif incident is not None:
        state_line = f"Firing since {_utc(incident.at)}"
        in_state = end - incident.at
    else:
        state_line, in_state = "", timedelta(0)

    headline = {
        Notification.Kind.FIRING: "FIRING",
        Notification.Kind.RESOLVED: "RESOLVED",
        Notification.Kind.REMINDER: "STILL FIRING",
        Notification.Kind.TEST: "TEST",
    }[Notification.Kind(kind)]
    above = rule.comparison == Comparison.ABOVE
    minutes = int(settings.ALERTS["SILENCE_LINK_MINUTES"])
    return {
        "rule": rule,
        "kind": kind,
        "headline": headline,
        "severity": rule.severity.upper(),
        "metric_label": Metric(rule.metric).label,
        "comparison_word": "above" if above else "below",
        "recovery_word": "below" if above else "above",
        "value": format_value(rule.metric, value),
        "threshold": format_value(rule.metric, rule.threshold),
        "recovery_threshold": format_value(rule.metric, rule.recovery_value),
        "window_start": _utc(start),
        "window_end": _utc(end),
        "window_length": format_duration(end - start),
        "sample_count": samples,
        "min_samples": rule.min_samples,
        "state_line": state_line,
        "time_in_state": format_duration(in_state),
        "guidance": rule.guidance,
        "dashboard_url": dashboard_url(start=start, end=end),
        "rule_url": _absolute(reverse("admin:alerts_rule_change", args=[rule.pk])),
        "silence_minutes": minutes,
        "silence_url": _absolute(
            reverse(
                "alerts:silence",
                args=[silence_token(rule=rule, minutes=minutes)],
            )
        ),
    }


def render(notification: Notification) -> Rendered:
    """Return the subject, text and HTML bodies of a notification."""
    context = _context(notification)
    rule = notification.rule
    op = ">" if rule.comparison == Comparison.ABOVE else "<"
    if notification.kind == Notification.Kind.RESOLVED:
        detail = f"{context['value']}, back {context['recovery_word']} "
        detail += context["recovery_threshold"]
    else:
        detail = f"{context['value']} {op} {context['threshold']}"
    subject = f"[{context['severity']}] {context['headline']}: {rule.name} ({detail})"
    if notification.kind == Notification.Kind.TEST:
        subject = f"[TEST] {rule.name}: sample alert email"
    return Rendered(
        subject=subject,
        text=render_to_string("alerts/email/alert.txt", context),
        html=render_to_string("alerts/email/alert.html", context),
    )


def build_message(
    *, notification: Notification, recipients: list[str]
) -> EmailMultiAlternatives:
    """Return the email for a notification, threaded to its incident's first."""
    rendered = render(notification)
    headers = {"Message-ID": notification.message_id}
    if notification.in_reply_to:
        headers["In-Reply-To"] = notification.in_reply_to
        headers["References"] = notification.in_reply_to
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        to=recipients,
        headers=headers,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message
