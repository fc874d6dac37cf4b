"""Another user's conversation is 404 for every verb; a foreign path is 403."""

import pytest

from conversations.models import Conversation, Message
from tests.conversations.conftest import chat, row_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def bobs_conversation(make_user, client_for):
    bob = make_user("bob")
    body = chat(client_for(bob), bob, "bob's secret").json()
    return Conversation.objects.get(pk=body["conversation_id"])


def _snapshot(conversation):
    conversation.refresh_from_db()
    messages = list(
        Message.objects.filter(conversation=conversation).values_list("seq", "content")
    )
    return (
        conversation.title,
        conversation.last_seq,
        conversation.busy_until,
        conversation.updated_at,
        messages,
    )


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"title": "stolen"}),
        ("delete", "", None),
        ("get", "/messages", None),
    ],
)
def test_foreign_conversation_is_404_and_untouched(
    api, user, bobs_conversation, method, suffix, body
):
    before, counts = _snapshot(bobs_conversation), row_counts()
    url = f"/api/{user.pk}/conversations/{bobs_conversation.pk}{suffix}"

    response = getattr(api, method)(url, body, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "secret" not in response.content.decode()
    assert row_counts() == counts
    assert _snapshot(bobs_conversation) == before


def test_foreign_conversation_turn_is_404_and_untouched(api, user, bobs_conversation):
    before, counts = _snapshot(bobs_conversation), row_counts()

    response = chat(api, user, "let me in", bobs_conversation.pk)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert row_counts() == counts
    assert _snapshot(bobs_conversation) == before


def test_foreign_conversations_are_not_listed(api, user, bobs_conversation):
    response = api.get(f"/api/{user.pk}/conversations")

    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("post", "/chat"),
        ("get", "/conversations"),
        ("get", "/conversations/{cid}"),
        ("patch", "/conversations/{cid}"),
        ("delete", "/conversations/{cid}"),
        ("get", "/conversations/{cid}/messages"),
    ],
)
def test_token_for_another_users_path_is_403(api, bobs_conversation, method, suffix):
    counts = row_counts()
    path = suffix.format(cid=bobs_conversation.pk)
    url = f"/api/{bobs_conversation.owner_id}{path}"

    response = getattr(api, method)(url, {"message": "x", "title": "x"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert row_counts() == counts


def test_missing_token_is_401(user):
    from rest_framework.test import APIClient

    response = APIClient().get(f"/api/{user.pk}/conversations")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
