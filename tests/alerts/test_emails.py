"""Rendered alert emails: stored expected text per default rule, headers."""

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core import signing
from django.utils.html import escape
from freezegun import freeze_time

from perfdash.alerts import emails
from perfdash.alerts.models import Notification, Rule, Transition

pytestmark = pytest.mark.django_db

EXPECTED = Path(__file__).parent / "expected"
AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
# A value on the firing side of each seeded rule's threshold.
FIRING_VALUES = {
    "response_time_p95": 734.2,
    "cache_hit_ratio": 0.612,
    "db_connection_utilization": 0.95,
    "error_rate": 0.125,
    "app_time_p95": 641.0,
    "upstream_time_p95": 7210.0,
}


@pytest.fixture
def fixed_site(settings):
    settings.SITE_URL = "https://perf.example.com"
    settings.SECRET_KEY = "alerts-expected-text-key-0123456789abcdef"


def _transition(
    rule: Rule,
    *,
    to_state: str,
    value: float,
    version: int,
    at: datetime,
    previous: timedelta,
) -> Transition:
    return Transition.objects.create(
        rule=rule,
        version=version,
        from_state="pending" if to_state == "firing" else "firing",
        to_state=to_state,
        at=at,
        value=value,
        sample_count=240,
        window_start=at - rule.window,
        window_end=at,
        previous_duration=previous,
        threshold=rule.threshold,
        recovery_threshold=rule.recovery_value,
    )


def _firing(rule: Rule) -> Notification:
    transition = _transition(
        rule,
        to_state="firing",
        value=FIRING_VALUES[rule.metric],
        version=2,
        at=AT,
        previous=rule.pending_for,
    )
    return Notification.objects.create(
        rule=rule,
        transition=transition,
        incident=transition,
        kind="firing",
        dedupe_key=f"firing:{transition.pk}",
        message_id=f"<firing.{rule.pk}@perf.example.com>",
        created_at=AT,
    )


def _as_text(rendered: emails.Rendered, rule: Rule) -> str:
    """Return subject and text with the rule's id and signed token stood in.

    The id depends on the database's sequence; the token is checked to
    silence this very rule before it is replaced.
    """
    text = f"Subject: {rendered.subject}\n\n{rendered.text}"
    token = re.search(r"/alerts/silence/([^/\s]+)/", text)
    assert token is not None
    payload = signing.loads(token.group(1), salt=emails.SILENCE_SALT)
    assert payload == {"rule": rule.pk, "minutes": 60}
    text = text.replace(token.group(1), "<token>")
    return text.replace(f"/admin/alerts/rule/{rule.pk}/", "/admin/alerts/rule/<id>/")


def _check(name: str, actual: str) -> None:
    path = EXPECTED / name
    if os.environ.get("ALERTS_WRITE_EXPECTED"):
        # Used once to create a file; the file is then read and reviewed.
        path.write_text(actual)
    assert actual == path.read_text()


@pytest.mark.parametrize("metric", sorted(FIRING_VALUES))
@freeze_time(AT)
def test_firing_email_of_each_seeded_rule_matches_expected_text(fixed_site, metric):
    rule = Rule.objects.get(metric=metric)
    rendered = emails.render(_firing(rule))

    _check(f"firing_{metric}.txt", _as_text(rendered, rule))
    assert rendered.html.count(escape(rule.guidance)) == 1
    assert emails.format_value(metric, FIRING_VALUES[metric]) in rendered.html


@freeze_time(AT + timedelta(minutes=42))
def test_resolved_email_matches_expected_text_and_threads_to_the_firing(
    fixed_site,
):
    rule = Rule.objects.get(metric="error_rate")
    firing = _firing(rule)
    resolved_at = AT + timedelta(minutes=42)
    transition = _transition(
        rule,
        to_state="resolved",
        value=0.011,
        version=3,
        at=resolved_at,
        previous=resolved_at - AT,
    )
    resolved = Notification.objects.create(
        rule=rule,
        transition=transition,
        incident=firing.transition,
        kind="resolved",
        dedupe_key=f"resolved:{transition.pk}",
        message_id="<resolved@perf.example.com>",
        in_reply_to=firing.message_id,
        created_at=resolved_at,
    )

    _check("resolved_error_rate.txt", _as_text(emails.render(resolved), rule))
    message = emails.build_message(notification=resolved, recipients=["a@b.c"])
    headers = message.message()
    assert headers["Message-ID"] == "<resolved@perf.example.com>"
    assert headers["In-Reply-To"] == firing.message_id
    assert headers["References"] == firing.message_id
    assert message.alternatives[0][1] == "text/html"


@pytest.mark.parametrize(
    ("metric", "value", "shown"),
    [("error_rate", 0.0512, "5.1%"), ("response_time_p95", 512.6, "513 ms")],
)
def test_values_are_shown_in_the_metric_unit(metric, value, shown):
    assert emails.format_value(metric, value) == shown
