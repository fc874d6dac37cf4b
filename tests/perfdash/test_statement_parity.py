"""Measuring a request adds no SQL statement to it (chat turns included)."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from perfdash import recorder
from perfdash.normalize import normalize_sql
from tests.conftest import token_for

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.perfdash.urls")]

Scenario = Callable[[APIClient, Any], Any]
SAVEPOINT = re.compile(r'"s\d+_x\d+"')


def _token_pair(client: APIClient, user: Any) -> Any:
    return client.post(
        "/api/token/",
        {"username": user.username, "password": "a-Long-pass-123"},
        format="json",
    )


def _token_verify(client: APIClient, user: Any) -> Any:
    return client.post("/api/token/verify/", {"token": token_for(user)}, format="json")


def _views(client: APIClient, user: Any) -> Any:
    client.get("/perf-test/cached/")
    client.get("/perf-test/n-plus-one/")
    return client.get(f"/perf-test/ok/{user.pk}/")


def _chat_turns(client: APIClient, user: Any) -> Any:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    first = client.post(f"/api/{user.pk}/chat", {"message": "hello"}, format="json")
    assert first.status_code == 200, first.content
    conversation = first.json()["conversation_id"]
    return client.post(
        f"/api/{user.pk}/chat",
        {"message": "and again", "conversation_id": conversation},
        format="json",
    )


def _history(client: APIClient, user: Any) -> Any:
    _chat_turns(client, user)
    return client.get(f"/api/{user.pk}/conversations")


SCENARIOS: dict[str, Scenario] = {
    "chat turns": _chat_turns,
    "conversation list": _history,
    "token pair": _token_pair,
    "token verify": _token_verify,
    "views": _views,
}


def _statements(settings: Any, make_user: Any, enabled: bool, scenario: Scenario):
    settings.PERFDASH = {**settings.PERFDASH, "ENABLED": enabled}
    client = APIClient()  # a new client builds the middleware chain anew
    user = make_user()
    with CaptureQueriesContext(connection) as captured:
        response = scenario(client, user)
    assert response.status_code == 200
    # Savepoint names carry a per-thread counter; the statements are the same.
    return [
        SAVEPOINT.sub('"savepoint"', normalize_sql(query["sql"]))
        for query in captured.captured_queries
    ]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_statements_are_the_same_with_perfdash_on_and_off(name, settings, make_user):
    scenario = SCENARIOS[name]

    off = _statements(settings, make_user, False, scenario)
    assert recorder.pending() == 0
    on = _statements(settings, make_user, True, scenario)

    assert recorder.pending() >= 1
    assert len(on) == len(off)
    assert on == off
