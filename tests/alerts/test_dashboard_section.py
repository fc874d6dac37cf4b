"""The alerts section on the perfdash overview (once the dashboard is merged)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_overview_shows_evaluator_health_and_rule_states(admin_client):
    sections = pytest.importorskip(
        "perfdash.dashboard.sections", reason="the dashboard is not in this tree yet"
    )
    assert "alerts" in sections._registry

    response = admin_client.get(reverse("admin:perfdash_overview"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "The evaluator has never run." in body
    assert "Error rate" in body
