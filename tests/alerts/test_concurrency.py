"""Two evaluators on the same tick at once, each with its own connection.

The race is forced, not hoped for: an execute wrapper holds each thread at
the claiming INSERT until both threads have reached it, so both have read
the same state and decided the same transition before either writes.
"""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from perfdash.alerts import services
from perfdash.alerts.models import Notification, Rule, Tick, Transition
from tests.alerts.conftest import make_rule
from tests.alerts.test_evaluation import feed

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BASE = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _race(work: Callable[[], Any], claim_table: str) -> list[Any]:
    """Run ``work`` in two threads that meet at the INSERT into claim_table."""
    barrier = threading.Barrier(2, timeout=10)
    results: list[Any] = []
    errors: list[BaseException] = []

    def hold_at_claim(execute: Any, sql: str, *args: Any) -> Any:
        if sql.startswith(f'INSERT INTO "{claim_table}"'):
            barrier.wait()
        return execute(sql, *args)

    def run() -> None:
        try:
            with connection.execute_wrapper(hold_at_claim):
                results.append(work())
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


@pytest.fixture
def firing_setup(staff: Any) -> Rule:
    Rule.objects.update(enabled=False)
    rule = make_rule(name="err")
    feed("error_rate", 0, "8")
    return rule


def test_two_beats_on_one_tick_make_one_transition_and_one_email(firing_setup, inbox):
    tick = BASE + timedelta(minutes=1)

    results = _race(lambda: services.run_tick(now=tick), "alerts_tick")

    assert sorted(r is None for r in results) == [False, True]
    assert Tick.objects.count() == 1
    assert Transition.objects.filter(rule=firing_setup).count() == 1
    assert Notification.objects.filter(status="sent").count() == 1
    assert len(inbox.messages) == 1


def test_two_evaluators_past_the_tick_claim_still_make_one_of_each(firing_setup, inbox):
    # Duplicated task messages or two beats on offset clocks reach the rule
    # itself together: the unique (rule, version) is then the claim.
    at = BASE + timedelta(minutes=1)

    results = _race(lambda: services.evaluate_rules(at=at), "alerts_transition")

    assert results == [1, 1]  # both judged the rule; one lost the claim
    transition = Transition.objects.get(rule=firing_setup)
    assert (transition.from_state, transition.to_state) == ("ok", "firing")
    assert Notification.objects.filter(status="sent").count() == 1
    assert len(inbox.messages) == 1
    assert inbox.subjects[0].startswith("[CRITICAL] FIRING: err")
