"""Silences: from the signed link in an email and from admin."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from perfdash.alerts import emails, selectors
from perfdash.alerts.models import Rule, Silence

pytestmark = pytest.mark.django_db


def _link(rule: Rule, minutes: int = 60) -> str:
    return reverse(
        "alerts:silence", args=[emails.silence_token(rule=rule, minutes=minutes)]
    )


def test_opening_the_link_only_asks_and_posting_silences(client):
    rule = Rule.objects.get(metric="error_rate")

    asked = client.get(_link(rule, minutes=30))
    assert asked.status_code == 200
    assert not Silence.objects.exists()

    done = client.post(_link(rule, minutes=30))
    assert done.status_code == 200
    silence = Silence.objects.get()
    assert silence.rule == rule
    assert silence.source == "email_link"
    assert silence.ends_at - silence.starts_at == timedelta(minutes=30)
    assert selectors.silenced_rule_ids(at=timezone.now()) == {rule.pk}
    later = timezone.now() + timedelta(minutes=31)
    assert selectors.silenced_rule_ids(at=later) == set()


def test_tampered_link_is_400_in_the_error_shape(client):
    rule = Rule.objects.get(metric="error_rate")
    other = Rule.objects.get(metric="cache_hit_ratio")
    link = _link(rule).replace(
        emails.silence_token(rule=rule, minutes=60).split(":")[0],
        emails.silence_token(rule=other, minutes=60).split(":")[0],
    )

    response = client.post(link)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_link"
    assert not Silence.objects.exists()


def test_expired_link_is_410(client, settings):
    rule = Rule.objects.get(metric="error_rate")
    with freeze_time(timezone.now() - timedelta(days=8)):
        link = _link(rule)

    response = client.post(link)

    assert response.status_code == 410
    assert response.json()["error"]["code"] == "link_expired"


def test_admin_action_silences_for_an_hour(admin_client):
    rule = Rule.objects.get(metric="error_rate")

    response = admin_client.post(
        reverse("admin:alerts_rule_changelist"),
        {"action": "silence_for_an_hour", "_selected_action": [rule.pk]},
    )

    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == ["Silenced 1 rule for an hour."]
    silence = Silence.objects.get()
    assert silence.source == "admin"
    assert silence.created_by is not None
    assert silence.ends_at - silence.starts_at == timedelta(hours=1)


def test_admin_action_message_counts_rules_in_the_plural(admin_client):
    rules = list(Rule.objects.values_list("pk", flat=True)[:2])

    response = admin_client.post(
        reverse("admin:alerts_rule_changelist"),
        {"action": "silence_for_an_hour", "_selected_action": rules},
    )

    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == ["Silenced 2 rules for an hour."]
