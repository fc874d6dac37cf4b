"""Each kind of bad input gets its status and code, and nothing is written."""

import json

import pytest

from tests.conversations.conftest import chat, row_counts

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        ("{not json", JSON, 400, "malformed_json"),
        ('{"message": "hi",}', JSON, 400, "malformed_json"),
        ("[1, 2]", JSON, 400, "invalid_body"),
        ('"hello"', JSON, 400, "invalid_body"),
        ("null", JSON, 400, "invalid_body"),
        ("{}", JSON, 400, "invalid"),
        ('{"message": 5}', JSON, 400, "invalid"),
        ('{"message": null}', JSON, 400, "invalid"),
        ('{"message": ["a"]}', JSON, 400, "invalid"),
        ('{"message": ""}', JSON, 400, "invalid"),
        ('{"message": "   \\n "}', JSON, 400, "invalid"),
        ('{"message": "a\\u0000b"}', JSON, 400, "invalid"),
        ('{"message": "a\\ud800b"}', JSON, 400, "invalid"),
        ('{"message": "hi", "conversation_id": "abc"}', JSON, 400, "invalid"),
        ('{"message": "hi", "conversation_id": "1"}', JSON, 400, "invalid"),
        ('{"message": "hi", "conversation_id": true}', JSON, 400, "invalid"),
        ('{"message": "hi", "conversation_id": 1.5}', JSON, 400, "invalid"),
        ('{"message": "hi", "conversation_id": -3}', JSON, 400, "invalid"),
        ('{"message": "hi", "conversation_id": 0}', JSON, 400, "invalid"),
        ('{"message": "hi", "conversation_id": 99999999}', JSON, 404, "not_found"),
        ("message=hi", "application/x-www-form-urlencoded", 415, None),
        ('{"message": "hi"}', "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_bad_chat_request(api, user, raw, content_type, status, code):
    counts = row_counts()

    response = api.generic("POST", f"/api/{user.pk}/chat", raw, content_type)

    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == (code or "unsupported_media_type")
    assert error["message"]
    assert row_counts() == counts


def test_invalid_field_names_the_field(api, user):
    response = api.post(f"/api/{user.pk}/chat", {"message": 5}, format="json")

    assert response.json()["error"]["fields"] == {"message": ["Not a valid string."]}


def test_over_long_message_is_413(api, user, settings):
    settings.CHAT = {**settings.CHAT, "MAX_MESSAGE_CHARS": 100}
    counts = row_counts()

    at_limit = chat(api, user, "x" * 100)
    over = chat(api, user, "x" * 101)

    assert at_limit.status_code == 200
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "message_too_long"
    assert row_counts() == (counts[0] + 1, counts[1] + 2, counts[2])


def test_default_limit_is_8000_characters(api, user):
    counts = row_counts()

    response = chat(api, user, "y" * 8001)

    assert response.status_code == 413
    assert row_counts() == counts


@pytest.mark.parametrize(
    "path",
    [
        "/conversations/99999999",
        "/conversations/99999999/messages",
        "/conversations/99999999999999999999999",
        "/conversations/abc",
        "/conversations/-1",
    ],
)
def test_unknown_or_malformed_conversation_id_is_404(api, user, path):
    response = api.get(f"/api/{user.pk}{path}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "body", ["[]", "{}", '{"title": ""}', '{"title": 3}', '{"title": "a\\u0000"}']
)
def test_bad_rename_is_400_and_changes_nothing(api, user, body):
    conversation_id = chat(api, user, "keep my title").json()["conversation_id"]
    url = f"/api/{user.pk}/conversations/{conversation_id}"

    response = api.generic("PATCH", url, body, JSON)

    assert response.status_code == 400
    assert api.get(url).json()["title"] == "keep my title"


@pytest.mark.parametrize("query", ["cursor=%%%", "cursor=bm90IGpzb24", "page_size=0"])
def test_bad_cursor_is_400(api, user, query):
    conversation_id = chat(api, user, "a").json()["conversation_id"]

    for path in ("conversations", f"conversations/{conversation_id}/messages"):
        response = api.get(f"/api/{user.pk}/{path}?{query}")
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_bad_idempotency_key_is_400(api, user, key):
    counts = row_counts()

    response = api.post(
        f"/api/{user.pk}/chat",
        json.dumps({"message": "hi"}),
        content_type=JSON,
        headers={"Idempotency-Key": key},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert row_counts() == counts
