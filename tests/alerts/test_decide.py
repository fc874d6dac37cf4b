"""The state machine alone: what each reading does to each state."""

from datetime import UTC, datetime, timedelta

import pytest

from perfdash.alerts.metrics import Reading
from perfdash.alerts.models import Rule
from perfdash.alerts.services import decide

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
RULE = Rule(
    comparison="gt",
    threshold=0.05,
    recovery_threshold=0.02,
    pending_for=timedelta(minutes=2),
    min_samples=10,
)


@pytest.mark.parametrize(
    ("state", "minutes_in_state", "value", "samples", "expected"),
    [
        ("ok", 9, 0.01, 100, "ok"),
        ("ok", 9, 0.10, 100, "pending"),
        ("ok", 9, 0.10, 9, "no_data"),
        ("ok", 9, None, 0, "no_data"),
        ("pending", 1, 0.10, 100, "pending"),
        ("pending", 2, 0.10, 100, "firing"),
        ("pending", 1, 0.04, 100, "ok"),
        ("firing", 5, 0.04, 100, "firing"),  # inside the recovery band
        ("firing", 5, 0.02, 100, "resolved"),
        ("firing", 5, 0.10, 3, "firing"),  # no data never closes an incident
        ("resolved", 1, 0.04, 100, "resolved"),
        ("resolved", 1, 0.10, 100, "pending"),
        ("no_data", 3, 0.01, 100, "ok"),
        ("no_data", 3, 0.10, 100, "pending"),
    ],
)
def test_next_state(state, minutes_in_state, value, samples, expected):
    since = AT - timedelta(minutes=minutes_in_state)
    reading = Reading(value=value, samples=samples)
    assert decide(rule=RULE, state=state, since=since, reading=reading, at=AT) == (
        expected
    )


def test_rule_without_pending_duration_fires_at_once():
    rule = Rule(comparison="lt", threshold=0.7, pending_for=timedelta(0), min_samples=1)
    reading = Reading(value=0.5, samples=10)
    assert decide(rule=rule, state="ok", since=AT, reading=reading, at=AT) == "firing"
