"""Rules: the seeded defaults and the validation of recovery thresholds."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from perfdash.alerts.models import Rule

pytestmark = pytest.mark.django_db


def test_migration_seeds_the_four_design_defaults_enabled():
    enabled = {
        r.metric: (r.comparison, r.threshold, r.severity, r.guidance)
        for r in Rule.objects.filter(enabled=True)
    }
    assert enabled == {
        "response_time_p95": ("gt", 500.0, "warning", "Investigate slow queries"),
        "cache_hit_ratio": ("lt", 0.7, "warning", "Review cache strategies"),
        "db_connection_utilization": (
            "gt",
            0.9,
            "critical",
            "Scale database connections",
        ),
        "error_rate": ("gt", 0.05, "critical", "Immediate investigation required"),
    }


def test_migration_seeds_app_and_upstream_p95_rules_disabled():
    disabled = set(Rule.objects.filter(enabled=False).values_list("metric", flat=True))
    assert disabled == {"app_time_p95", "upstream_time_p95"}


def test_every_seeded_rule_passes_its_own_validation():
    for rule in Rule.objects.all():
        rule.full_clean()
        assert rule.min_samples > 0
        assert rule.recovery_threshold is not None


@pytest.mark.parametrize(
    ("comparison", "threshold", "recovery"),
    [("gt", 0.05, 0.06), ("lt", 0.7, 0.6)],
)
def test_recovery_threshold_on_the_firing_side_is_refused(
    comparison, threshold, recovery
):
    rule = Rule(
        name="bad",
        metric="error_rate",
        comparison=comparison,
        threshold=threshold,
        recovery_threshold=recovery,
        window=timedelta(minutes=5),
    )
    with pytest.raises(ValidationError) as raised:
        rule.full_clean()
    assert "recovery_threshold" in raised.value.message_dict


@pytest.mark.parametrize(
    ("comparison", "threshold", "recovery"),
    [("gt", 0.05, 0.02), ("gt", 0.05, 0.05), ("lt", 0.7, 0.75), ("lt", 0.7, None)],
)
def test_recovery_threshold_on_the_safe_side_is_accepted(
    comparison, threshold, recovery
):
    Rule(
        name="fine",
        metric="error_rate",
        comparison=comparison,
        threshold=threshold,
        recovery_threshold=recovery,
    ).full_clean()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"window": timedelta(seconds=30)}, "window"),
        ({"pending_for": timedelta(minutes=-1)}, "pending_for"),
        ({"repeat_interval": timedelta(0)}, "repeat_interval"),
        ({"threshold": 5.0, "recovery_threshold": 2.0}, "threshold"),
    ],
)
def test_spans_and_ratios_that_cannot_work_are_refused(fields, field):
    values = {
        "name": "bad",
        "metric": "error_rate",
        "threshold": 0.05,
        "recovery_threshold": 0.02,
        **fields,
    }
    with pytest.raises(ValidationError) as raised:
        Rule(**values).full_clean()
    assert field in raised.value.message_dict


def test_admin_form_refuses_a_recovery_threshold_on_the_wrong_side(admin_client):
    response = admin_client.post(
        reverse("admin:alerts_rule_add"),
        {
            "name": "p95 typo",
            "metric": "response_time_p95",
            "comparison": "gt",
            "threshold": "500",
            "recovery_threshold": "600",
            "window": "00:05:00",
            "pending_for": "00:02:00",
            "min_samples": "20",
            "severity": "warning",
            "enabled": "on",
            "silences-TOTAL_FORMS": "0",
            "silences-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert "recovery threshold must not exceed" in response.content.decode()
    assert not Rule.objects.filter(name="p95 typo").exists()
