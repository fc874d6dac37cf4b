"""Evaluator health and history reads used by the dashboard."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from freezegun import freeze_time

from perfdash.alerts import dashboard, selectors, services
from perfdash.alerts.models import Rule, Tick
from tests.alerts.conftest import make_rule
from tests.alerts.test_evaluation import BASE, feed

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_evaluator_that_never_ran_is_late():
    assert selectors.last_evaluated_at() is None
    assert selectors.is_evaluator_late(now=NOW) is True


def test_evaluator_is_late_only_after_the_configured_gap(settings):
    settings.ALERTS = {**settings.ALERTS, "LATE_AFTER_SECONDS": 0, "TICK_SECONDS": 60}
    Tick.objects.create(at=NOW, started_at=NOW, finished_at=NOW + timedelta(seconds=1))
    Tick.objects.create(at=NOW + timedelta(minutes=1), started_at=NOW)  # unfinished

    assert selectors.last_evaluated_at() == NOW + timedelta(seconds=1)
    assert not selectors.is_evaluator_late(now=NOW + timedelta(seconds=181))
    assert selectors.is_evaluator_late(now=NOW + timedelta(seconds=182))


def test_dashboard_section_shows_health_states_and_history_of_the_range(
    inbox, staff, django_capture_on_commit_callbacks
):
    Rule.objects.update(enabled=False)
    make_rule(name="err")
    feed("error_rate", 0, "8")
    with (
        freeze_time(BASE + timedelta(minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.run_tick()
    inside = SimpleNamespace(start=BASE, end=BASE + timedelta(minutes=5))
    before = SimpleNamespace(start=BASE - timedelta(hours=1), end=BASE)

    context = dashboard.section_context(inside)
    html = render_to_string("alerts/dashboard_section.html", {"section": context})

    assert [t.to_state for t in context["transitions"]] == ["firing"]
    assert [(n.kind, n.status) for n in context["notifications"]] == [
        ("firing", "sent")
    ]
    assert context["is_late"] is True  # the frozen tick is long past
    assert "The evaluator is late" in html
    assert "ops@example.com" in html
    assert dashboard.section_context(before)["transitions"] == []
