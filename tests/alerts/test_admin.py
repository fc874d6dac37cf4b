"""Admin: the test-email action sends a real email through SMTP."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from perfdash.alerts import services
from perfdash.alerts.models import Notification, Rule
from tests.alerts.conftest import free_port, plain_text

pytestmark = pytest.mark.django_db


def test_test_email_action_reaches_the_smtp_server(admin_client, inbox, staff):
    rule = Rule.objects.get(metric="error_rate")

    response = admin_client.post(
        reverse("admin:alerts_rule_changelist"),
        {"action": "send_test_email", "_selected_action": [rule.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert inbox.subjects == ["[TEST] Error rate: sample alert email"]
    message = inbox.messages[0]
    # The admin user of admin_client is staff with an email too.
    assert message["To"] == "admin@example.com, ops@example.com"
    assert "Immediate investigation required" in plain_text(message)
    assert message.get_body(("html",)) is not None
    notification = Notification.objects.get(kind="test")
    assert notification.status == "sent"
    assert notification.recipients == ["admin@example.com", "ops@example.com"]


def test_test_email_without_recipients_fails_visibly(admin_client, admin_user, inbox):
    rule = Rule.objects.get(metric="error_rate")
    admin_user.email = ""
    admin_user.save()

    response = admin_client.post(
        reverse("admin:alerts_rule_changelist"),
        {"action": "send_test_email", "_selected_action": [rule.pk]},
        follow=True,
    )

    assert "failed: no recipients" in response.content.decode()
    assert inbox.subjects == []
    assert Notification.objects.get(kind="test").status == "failed"


def test_rule_explicit_recipients_replace_staff(make_user, inbox, staff):
    rule = Rule.objects.get(metric="error_rate")
    rule.recipients.add(make_user("oncall", email="oncall@example.com"))

    services.send_test_email(rule=rule)

    assert [m["To"] for m in inbox.messages] == ["oncall@example.com"]


def test_rule_list_shows_each_rules_state(admin_client):
    response = admin_client.get(reverse("admin:alerts_rule_changelist"))

    assert response.status_code == 200
    assert response.content.decode().count("not evaluated yet") == Rule.objects.count()


@pytest.mark.parametrize("model", ["transition", "notification", "tick", "silence"])
def test_history_lists_open_in_admin(admin_client, model):
    response = admin_client.get(reverse(f"admin:alerts_{model}_changelist"))
    assert response.status_code == 200


def test_rule_page_opens_with_its_state_and_silences(admin_client):
    rule = Rule.objects.get(metric="error_rate")

    response = admin_client.get(reverse("admin:alerts_rule_change", args=[rule.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "not evaluated yet" in body
    assert 'name="silences-TOTAL_FORMS"' in body


def test_a_failed_test_email_is_not_resent_by_the_evaluator(
    inbox, staff, settings, django_capture_on_commit_callbacks
):
    rule = Rule.objects.get(metric="error_rate")
    working_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()
    assert services.send_test_email(rule=rule).status == "failed"
    settings.EMAIL_PORT = working_port

    with django_capture_on_commit_callbacks(execute=True):
        services.run_tick(now=timezone.now() + timedelta(minutes=2))

    assert Notification.objects.get(kind="test").status == "failed"
    assert inbox.subjects == []
