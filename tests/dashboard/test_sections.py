"""Slots for the alerts and load-test sections: filled by their owners only."""

import pytest

from perfdash.dashboard import sections

pytestmark = pytest.mark.django_db


@pytest.fixture
def empty_loadtests():
    """Leave the load-test slot empty for the test, whatever is installed."""
    saved = sections._registry.pop("loadtests", None)
    yield
    if saved is not None:
        sections.register(saved)


def test_an_empty_slot_says_so_without_numbers(staff_client, empty_loadtests):
    content = staff_client.get("/admin/performance/").content.decode()
    block = content.split('id="section-loadtests"')[1].split("</div>")[0]
    assert "Not available in this installation yet." in block


def test_a_registered_section_renders_its_context(staff_client, empty_loadtests):
    seen = []

    def context(time_range):
        seen.append(time_range)
        return {"runs": 3}

    sections.register(
        sections.Section(
            slot="loadtests",
            title="Load tests",
            template="perfdash/tests/section_probe.html",
            context=context,
        )
    )
    try:
        response = staff_client.get("/admin/performance/?range=6h")
    finally:
        sections.unregister("loadtests")

    assert b"probe section: 3 runs" in response.content
    assert seen[0].preset == "6h"


def test_unknown_slots_are_refused():
    with pytest.raises(ValueError):
        sections.register(
            sections.Section(
                slot="weather", title="", template="", context=lambda _r: {}
            )
        )
