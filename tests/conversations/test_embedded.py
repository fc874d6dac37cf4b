"""The chat turn on the embedded default: SQLite and the local-memory cache."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.models import Conversation
from tests.conversations.conftest import chat
from tests.conversations.test_statements import statements

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db]


def test_continuing_turn_on_sqlite_uses_the_same_three_statements(api, user):
    conversation_id = chat(api, user, "first").json()["conversation_id"]

    with CaptureQueriesContext(connection) as captured:
        response = chat(api, user, "second", conversation_id)

    assert response.status_code == 200
    assert "seen 2 earlier messages" in response.json()["messages"][1]["content"]
    assert [s.split()[0] for s in statements(captured)] == [
        "UPDATE",
        "UPDATE",
        "INSERT",
    ]


def test_busy_conversation_is_409_until_the_claim_expires(api, user):
    conversation_id = chat(api, user, "first").json()["conversation_id"]
    claimed = Conversation.objects.filter(pk=conversation_id)

    claimed.update(busy_until=timezone.now() + timedelta(seconds=30))
    busy = chat(api, user, "now?", conversation_id)
    claimed.update(busy_until=timezone.now() - timedelta(seconds=1))
    expired = chat(api, user, "now!", conversation_id)

    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "conversation_busy"
    assert 1 <= int(busy["Retry-After"]) <= 30
    assert expired.status_code == 200
    assert [m["seq"] for m in expired.json()["messages"]] == [3, 4]
