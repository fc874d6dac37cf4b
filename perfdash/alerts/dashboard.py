"""The alerts section of the perfdash dashboard: evaluator health, history."""

from typing import Any

from perfdash.alerts import selectors


def section_context(time_range: Any) -> dict[str, Any]:
    """Return evaluator health, rule states and the alert history of a range.

    ``time_range`` is the dashboard's range (anything with ``start`` and
    ``end``); health and rule states are as of now, whatever the range.
    """
    return {
        "last_evaluated_at": selectors.last_evaluated_at(),
        "is_late": selectors.is_evaluator_late(),
        "rules": list(selectors.rules_with_state()),
        "transitions": list(
            selectors.recent_transitions(start=time_range.start, end=time_range.end)
        ),
        "notifications": list(
            selectors.recent_notifications(start=time_range.start, end=time_range.end)
        ),
    }


def register_section() -> None:
    """Add the alerts section to the dashboard when it is installed."""
    try:
        from perfdash.dashboard import sections
    except ImportError:
        return  # no dashboard in this installation: nothing to fill
    sections.register(
        sections.Section(
            slot="alerts",
            title="Alerts",
            template="alerts/dashboard_section.html",
            context=section_context,
        )
    )
