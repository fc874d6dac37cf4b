"""A chat turn end to end with the local backend: storage, context, order."""

import pytest
from django.core.cache import cache

from conversations import selectors
from conversations.models import Conversation, Message
from tests.conversations.conftest import chat

pytestmark = pytest.mark.django_db


def test_first_turn_starts_a_conversation_with_both_messages(api, user):
    response = chat(api, user, "Hello   there,\nfriend")

    assert response.status_code == 200
    body = response.json()
    conversation = Conversation.objects.get(pk=body["conversation_id"])
    assert conversation.owner_id == user.pk
    assert conversation.title == "Hello there, friend"
    assert conversation.last_seq == 2
    assert conversation.busy_until is None
    assert [m["seq"] for m in body["messages"]] == [1, 2]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
    assert body["messages"][0]["content"] == "Hello   there,\nfriend"
    assert body["messages"][1]["content"].startswith(
        "[local] I have seen 0 earlier messages"
    )
    assert body["truncated"] is False
    stored = list(
        Message.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", "role", "owner_id")
    )
    assert stored == [(1, "user", user.pk), (2, "assistant", user.pk)]


def test_reply_is_built_from_the_rebuilt_history(api, user):
    first = chat(api, user, "one").json()
    conversation_id = first["conversation_id"]
    chat(api, user, "two", conversation_id)
    cache.clear()  # the third turn must rebuild its window from the database

    third = chat(api, user, "three", conversation_id).json()

    assert third["messages"][1]["content"] == (
        "[local] I have seen 4 earlier messages; you said: 'three'"
    )
    assert third["context_messages"] == 4
    assert [m["seq"] for m in third["messages"]] == [5, 6]


def test_context_window_is_bounded_and_says_so(api, user, settings):
    settings.CHAT = {**settings.CHAT, "CONTEXT_MESSAGES": 3}
    conversation_id = chat(api, user, "m1").json()["conversation_id"]
    second = chat(api, user, "m2", conversation_id).json()
    assert second["truncated"] is False
    assert second["context_messages"] == 2

    third = chat(api, user, "m3", conversation_id).json()

    assert third["truncated"] is True
    assert third["context_messages"] == 3
    assert "seen 3 earlier messages" in third["messages"][1]["content"]


def test_cached_window_matches_the_database_window(api, user):
    conversation_id = chat(api, user, "a").json()["conversation_id"]
    chat(api, user, "b", conversation_id)
    key = selectors.window_key(
        owner_id=user.pk, conversation_id=conversation_id, last_seq=4
    )
    cached = cache.get(key)
    cache.delete(key)

    rebuilt, _ = selectors.context_window(
        owner_id=user.pk, conversation_id=conversation_id, last_seq=4
    )

    assert cached is not None
    assert cached == rebuilt
    assert [m["role"] for m in rebuilt] == ["user", "assistant"] * 2


def test_twenty_turns_alternate_strictly_in_order_on_every_read(api, user):
    conversation_id = None
    for turn in range(1, 21):
        body = chat(api, user, f"turn {turn}", conversation_id).json()
        conversation_id = body["conversation_id"]

        history = api.get(
            f"/api/{user.pk}/conversations/{conversation_id}/messages?page_size=200"
        ).json()["results"]

        assert [m["seq"] for m in history] == list(range(1, 2 * turn + 1))
        assert [m["role"] for m in history] == ["user", "assistant"] * turn
        assert [m["content"] for m in history[::2]] == [
            f"turn {n}" for n in range(1, turn + 1)
        ]


def test_rename_and_delete(api, user):
    conversation_id = chat(api, user, "a").json()["conversation_id"]
    url = f"/api/{user.pk}/conversations/{conversation_id}"

    renamed = api.patch(url, {"title": "Trip plans"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["title"] == "Trip plans"
    assert api.get(url).json()["title"] == "Trip plans"

    assert api.delete(url).status_code == 204
    assert not Conversation.objects.filter(pk=conversation_id).exists()
    assert not Message.objects.filter(conversation_id=conversation_id).exists()
    assert api.get(url).status_code == 404


def test_conversation_list_is_newest_first(api, user):
    older = chat(api, user, "older").json()["conversation_id"]
    newer = chat(api, user, "newer").json()["conversation_id"]
    chat(api, user, "older again", older)

    results = api.get(f"/api/{user.pk}/conversations").json()["results"]

    assert [c["id"] for c in results] == [older, newer]
    assert results[0]["message_count"] == 4
