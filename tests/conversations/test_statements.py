"""SQL statement budgets on PostgreSQL: auth, a warm turn, a history read."""

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIRequestFactory

from chatbot.auth import StatelessJWTAuthentication
from tests.conftest import token_for
from tests.conversations.conftest import chat

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def statements(captured: CaptureQueriesContext) -> list[str]:
    """Return the captured SQL without transaction control."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
    ]


def test_authenticating_a_chat_request_takes_no_query(user):
    request = APIRequestFactory().post(
        f"/api/{user.pk}/chat", HTTP_AUTHORIZATION=f"Bearer {token_for(user)}"
    )

    with CaptureQueriesContext(connection) as captured:
        authenticated = StatelessJWTAuthentication().authenticate(request)

    assert authenticated is not None
    assert str(authenticated[0].pk) == str(user.pk)
    assert statements(captured) == []


def test_a_request_refused_after_authentication_takes_no_query(api, make_user):
    other = make_user("other")

    with CaptureQueriesContext(connection) as captured:
        response = chat(api, other, "hi")

    assert response.status_code == 403
    assert statements(captured) == []


def _warm_conversation(api: Any, user: Any) -> int:
    return chat(api, user, "first").json()["conversation_id"]


def test_warm_cache_continuing_turn_takes_three_statements(api, user):
    conversation_id = _warm_conversation(api, user)

    with CaptureQueriesContext(connection) as captured:
        response = chat(api, user, "second", conversation_id)

    assert response.status_code == 200
    sql = statements(captured)
    assert len(sql) <= 3, sql
    assert [s.split()[0] for s in sql] == ["UPDATE", "UPDATE", "INSERT"]
    assert "RETURNING" in sql[0]


def test_cold_cache_turn_adds_exactly_the_window_query(api, user):
    conversation_id = _warm_conversation(api, user)
    cache.clear()

    with CaptureQueriesContext(connection) as captured:
        response = chat(api, user, "second", conversation_id)

    assert response.status_code == 200
    sql = statements(captured)
    assert [s.split()[0] for s in sql] == ["UPDATE", "SELECT", "UPDATE", "INSERT"]


def test_history_read_takes_one_statement(api, user):
    conversation_id = _warm_conversation(api, user)
    url = f"/api/{user.pk}/conversations/{conversation_id}/messages"

    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)

    assert response.status_code == 200
    assert len(response.json()["results"]) == 2
    assert len(statements(captured)) == 1


def test_conversation_list_takes_one_statement(api, user):
    _warm_conversation(api, user)
    _warm_conversation(api, user)

    with CaptureQueriesContext(connection) as captured:
        response = api.get(f"/api/{user.pk}/conversations")

    assert len(response.json()["results"]) == 2
    assert len(statements(captured)) == 1
