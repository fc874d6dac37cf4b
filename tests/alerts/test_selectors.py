"""Evaluator health and history reads used by the dashboard."""

from datetime import UTC, datetime, timedelta

import pytest

from perfdash.alerts import selectors
from perfdash.alerts.models import Tick

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_evaluator_that_never_ran_is_late():
    assert selectors.last_evaluated_at() is None
    assert selectors.is_evaluator_late(now=NOW) is True


def test_evaluator_is_late_only_after_the_configured_gap(settings):
    settings.ALERTS = {**settings.ALERTS, "LATE_AFTER_SECONDS": 180}
    Tick.objects.create(at=NOW, started_at=NOW, finished_at=NOW + timedelta(seconds=1))
    Tick.objects.create(at=NOW + timedelta(minutes=1), started_at=NOW)  # unfinished

    assert selectors.last_evaluated_at() == NOW + timedelta(seconds=1)
    assert not selectors.is_evaluator_late(now=NOW + timedelta(seconds=181))
    assert selectors.is_evaluator_late(now=NOW + timedelta(seconds=182))
