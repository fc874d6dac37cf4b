"""The evaluator minute by minute, fed through perfdash's stored minute rows.

Each case is a table: a metric series written one value per minute, the
state expected after each minute's tick, and the emails the SMTP server
receives. Minute ``i``'s requests are stored in the minute row starting at
``BASE + i`` and judged by the tick at ``BASE + i + 1`` with a one-minute
window, with the clock frozen at that tick.

Series tokens: ``8`` is 8% server errors (error rate rules) or a p95 of
8 ms (p95 rules) over 100 requests; ``8@5`` is the same over 5 requests;
``-`` is a minute without requests. States: O ok, P pending, F firing,
R resolved, N no data.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from perfdash import services as perfdash_services
from perfdash.alerts import services
from perfdash.alerts.models import Notification, Rule, RuleState
from tests.alerts.conftest import free_port, make_rule

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
LETTERS = {"O": "ok", "P": "pending", "F": "firing", "R": "resolved", "N": "no_data"}


@dataclass
class Case:
    id: str
    series: str
    rules: dict[str, dict[str, Any]]
    states: dict[str, str]
    emails: list[str]
    metric: str = "error_rate"
    # Ticks (minute indexes) during which the named rule is silenced.
    silenced: dict[str, tuple[int, int]] = field(default_factory=dict)


CASES = [
    Case(
        id="pending_just_under_the_duration_never_fires",
        series="0 8 8 8 0 0",
        rules={"err": {"pending_for": timedelta(minutes=3)}},
        states={"err": "O P P P O O"},
        emails=[],
    ),
    Case(
        id="pending_just_over_the_duration_fires_then_resolves",
        series="0 8 8 8 8 0 0",
        rules={"err": {"pending_for": timedelta(minutes=3)}},
        states={"err": "O P P P F R R"},
        emails=["4 CRITICAL FIRING err", "5 CRITICAL RESOLVED err"],
    ),
    Case(
        id="inside_the_recovery_band_keeps_firing_without_flapping",
        series="8 4 3 4 1 4 8",
        rules={"err": {}},
        states={"err": "F F F F R R F"},
        emails=[
            "0 CRITICAL FIRING err",
            "4 CRITICAL RESOLVED err",
            "6 CRITICAL FIRING err",
        ],
    ),
    Case(
        id="below_the_minimum_sample_count_is_no_data",
        series="8@5 - 8@9 8@10 0@9 0@10",
        rules={"err": {"min_samples": 10}},
        states={"err": "N N N F F R"},
        emails=["3 CRITICAL FIRING err", "5 CRITICAL RESOLVED err"],
    ),
    Case(
        id="a_silence_holds_the_firing_email_until_it_ends",
        series="0 8 8 8 8 0",
        rules={"err": {}},
        states={"err": "O F F F F R"},
        silenced={"err": (0, 3)},
        emails=["3 CRITICAL FIRING err", "5 CRITICAL RESOLVED err"],
    ),
    Case(
        id="an_incident_silenced_throughout_sends_nothing",
        series="0 8 8 0 0",
        rules={"err": {}},
        states={"err": "O F F R R"},
        silenced={"err": (0, 5)},
        emails=[],
    ),
    Case(
        id="repeat_interval_reminds_while_firing",
        series="8 8 8 8 8 8 0",
        rules={"err": {"repeat_interval": timedelta(minutes=2)}},
        states={"err": "F F F F F F R"},
        emails=[
            "0 CRITICAL FIRING err",
            "2 CRITICAL STILL FIRING err",
            "4 CRITICAL STILL FIRING err",
            "6 CRITICAL RESOLVED err",
        ],
    ),
    Case(
        id="warning_then_critical_on_the_same_metric",
        metric="response_time_p95",
        series="300 700 1200 1200 700 300",
        rules={
            "slow": {
                "severity": "warning",
                "threshold": 500.0,
                "recovery_threshold": 400.0,
            },
            "very slow": {
                "severity": "critical",
                "threshold": 1000.0,
                "recovery_threshold": 800.0,
            },
        },
        states={"slow": "O F F F F R", "very slow": "O O F F R R"},
        emails=[
            "1 WARNING FIRING slow",
            "2 CRITICAL FIRING very slow",
            "4 CRITICAL RESOLVED very slow",
            "5 WARNING RESOLVED slow",
        ],
    ),
]


def feed(metric: str, minute: int, token: str) -> None:
    """Store one minute of requests whose metric is the token's value."""
    if token == "-":
        return
    value_text, _, count_text = token.partition("@")
    value, count = float(value_text), int(count_text or 100)
    at = BASE + timedelta(minutes=minute)
    if metric == "error_rate":
        errors = round(value / 100 * count)
        groups = [(500, errors), (200, count - errors)]
        for status, requests in groups:
            if requests:
                perfdash_services.record_request_stats(
                    minute=at, route="/api/x", status=status, total_ms=[20.0] * requests
                )
    else:
        perfdash_services.record_request_stats(
            minute=at, route="/api/x", total_ms=[value] * count
        )


def _summary(message: Any, minute: int) -> str:
    # "[CRITICAL] STILL FIRING: err (8.0% > 5.0%)" -> "m CRITICAL STILL FIRING err"
    subject = str(message["Subject"])
    severity, rest = subject[1:].split("] ", 1)
    headline, rest = rest.split(": ", 1)
    return f"{minute} {severity} {headline} {rest.rsplit(' (', 1)[0]}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_state_and_emails_per_minute(
    case, inbox, staff, django_capture_on_commit_callbacks
):
    Rule.objects.update(enabled=False)
    rules = {
        name: make_rule(name=name, metric=case.metric, **fields)
        for name, fields in case.rules.items()
    }
    for name, (first, last) in case.silenced.items():
        services.silence_rule(
            rule=rules[name],
            minutes=(last - first),
            source="admin",
            now=BASE + timedelta(minutes=first + 1),
        )
    tokens = case.series.split()

    seen: dict[str, list[str]] = {name: [] for name in rules}
    emails: list[str] = []
    first_message_of: dict[str, str] = {}
    for minute, token in enumerate(tokens):
        feed(case.metric, minute, token)
        tick = BASE + timedelta(minutes=minute + 1)
        with (
            freeze_time(tick),
            django_capture_on_commit_callbacks(execute=True),
        ):
            services.run_tick()
        states = dict(
            RuleState.objects.filter(rule__in=rules.values()).values_list(
                "rule__name", "state"
            )
        )
        for name in rules:
            seen[name].append(states[name])
        for message in inbox.messages:
            summary = _summary(message, minute)
            emails.append(summary)
            name = summary.split(" FIRING ")[-1].split(" RESOLVED ")[-1]
            if message["In-Reply-To"]:
                # Reminders and resolved emails thread to the incident's first.
                assert message["In-Reply-To"] == first_message_of[name]
                assert message["References"] == first_message_of[name]
            else:
                first_message_of[name] = str(message["Message-ID"])
        inbox.clear()

    expected = {
        name: [LETTERS[letter] for letter in letters.split()]
        for name, letters in case.states.items()
    }
    assert seen == expected
    assert emails == case.emails
    assert not Notification.objects.filter(status__in=["pending", "failed"]).exists()


def test_every_transition_is_logged_with_value_window_and_samples(
    inbox, staff, django_capture_on_commit_callbacks
):
    Rule.objects.update(enabled=False)
    rule = make_rule(name="err", window=timedelta(minutes=2))
    for minute, token in enumerate("0 8 8 0 0".split()):
        feed("error_rate", minute, token)
    with (
        freeze_time(BASE + timedelta(minutes=3)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.run_tick()

    transition = rule.transitions.get()
    assert (transition.from_state, transition.to_state) == ("ok", "firing")
    assert transition.value == pytest.approx(0.08)
    assert transition.sample_count == 200
    assert transition.window_start == BASE + timedelta(minutes=1)
    assert transition.window_end == BASE + timedelta(minutes=3)
    assert rule.notifications.get().status == "sent"


def test_a_tick_runs_once_however_often_it_is_triggered(
    inbox, staff, django_capture_on_commit_callbacks
):
    Rule.objects.update(enabled=False)
    make_rule(name="err")
    feed("error_rate", 0, "8")
    tick = BASE + timedelta(minutes=1, seconds=5)

    with freeze_time(tick), django_capture_on_commit_callbacks(execute=True):
        first = services.run_tick()
        again = services.run_tick(now=tick + timedelta(seconds=30))

    assert first is not None and again is None
    assert len(inbox.messages) == 1


def test_an_email_that_failed_is_sent_on_a_later_tick_once(
    inbox, staff, settings, django_capture_on_commit_callbacks
):
    Rule.objects.update(enabled=False)
    rule = make_rule(name="err")
    feed("error_rate", 0, "8")
    feed("error_rate", 1, "8")
    working_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens: the send fails

    with (
        freeze_time(BASE + timedelta(minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.run_tick()
    failed = rule.notifications.get()
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.error

    settings.EMAIL_PORT = working_port
    for minute in (2, 3):
        with (
            freeze_time(BASE + timedelta(minutes=minute)),
            django_capture_on_commit_callbacks(execute=True),
        ):
            services.run_tick()

    sent = rule.notifications.get()
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert inbox.subjects == ["[CRITICAL] FIRING: err (8.0% > 5.0%)"]


def _tick_queries(minute: int) -> int:
    with (
        freeze_time(BASE + timedelta(minutes=minute)),
        CaptureQueriesContext(connection) as queries,
    ):
        services.run_tick()
    return len(queries)


def test_steady_tick_costs_one_write_per_rule_and_one_read_per_window():
    Rule.objects.update(enabled=False)
    for name in ("a", "b"):
        make_rule(name=name, metric="error_rate")
    for minute in range(4):
        feed("error_rate", minute, "1")
    _tick_queries(1)  # first tick creates the states and logs ok
    two_rules = _tick_queries(2)

    for name in ("c", "d", "e", "f"):
        make_rule(name=name, metric="cache_hit_ratio", comparison="lt", threshold=0.1)
    _tick_queries(3)
    six_rules = _tick_queries(4)

    print(f"queries per steady tick: 2 rules {two_rules}, 6 rules {six_rules}")
    assert six_rules - two_rules == 4  # one state update each, reads shared
