"""Sections that other parts of perfdash add to the overview.

The alerts (evaluator health, alert history) and the load tests (runs, the
stateless-vs-stateful comparison, the checklist) live in their own modules
and are built after the dashboard. Each registers a :class:`Section` with a
template and a function that reads its data for the page's range; a slot
with no provider says so on the page rather than showing made-up numbers.

Register from an ``AppConfig.ready`` (or a module it imports)::

    sections.register(Section(
        slot="alerts", title="Alerts", template="perfdash/alerts_section.html",
        context=alert_section_context,  # (time_range) -> dict
    ))
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perfdash.dashboard.ranges import TimeRange

# The slots the overview lays out, in page order, with what fills them.
SLOTS: dict[str, str] = {
    "alerts": "Alerts: evaluator health and history (the alerts issue)",
    "loadtests": "Load tests and the deployment checklist (the analysis issue)",
}


@dataclass(frozen=True, slots=True)
class Section:
    """A block of the overview, filled by the module that owns its data."""

    slot: str
    title: str
    template: str
    context: Callable[[TimeRange], dict[str, Any]]


_registry: dict[str, Section] = {}


def register(section: Section) -> None:
    """Add or replace the section that fills a slot."""
    if section.slot not in SLOTS:
        raise ValueError(f"unknown dashboard slot {section.slot!r}")
    _registry[section.slot] = section


def unregister(slot: str) -> None:
    """Empty a slot again (tests)."""
    _registry.pop(slot, None)


@dataclass(frozen=True, slots=True)
class RenderedSection:
    slot: str
    title: str
    template: str | None
    context: dict[str, Any]


def for_range(time_range: TimeRange) -> list[RenderedSection]:
    """Return every slot in page order, with its data where a provider exists."""
    rendered = []
    for slot, placeholder in SLOTS.items():
        section = _registry.get(slot)
        if section is None:
            rendered.append(RenderedSection(slot, placeholder, None, {}))
        else:
            rendered.append(
                RenderedSection(
                    slot, section.title, section.template, section.context(time_range)
                )
            )
    return rendered
