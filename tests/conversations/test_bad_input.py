"""Each kind of bad input gets its status and code, and nothing is written."""

import base64
import json

import pytest
from django.conf import settings as django_settings

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
    "body",
    [
        "[]",
        "{}",
        '{"title": ""}',
        '{"title": 3}',
        '{"title": "a\\u0000"}',
        '{"title": "two\\nlines"}',
        '{"title": "carriage\\rreturn"}',
        '{"title": "tab\\there"}',
        '{"title": "bell\\u0007"}',
        '{"title": "escape\\u001b[31m"}',
        '{"title": "line\\u2028separator"}',
    ],
)
def test_bad_rename_is_400_and_changes_nothing(api, user, body):
    conversation_id = chat(api, user, "keep my title").json()["conversation_id"]
    url = f"/api/{user.pk}/conversations/{conversation_id}"

    response = api.generic("PATCH", url, body, JSON)

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid", "invalid_body")
    assert api.get(url).json()["title"] == "keep my title"


def test_rename_keeps_a_one_line_title(api, user):
    conversation_id = chat(api, user, "x").json()["conversation_id"]
    url = f"/api/{user.pk}/conversations/{conversation_id}"

    response = api.patch(url, {"title": "Ünïcode, emoji 👩‍💻 ok"}, format="json")

    assert response.status_code == 200
    assert response.json()["title"] == "Ünïcode, emoji 👩‍💻 ok"


def test_title_made_from_a_message_holds_no_control_characters(api, user):
    response = chat(api, user, "ring\x07 the\r\nbell\x1b[0m  now")

    assert response.json()["title"] == "ring the bell [0m now"


@pytest.mark.parametrize("query", ["cursor=%%%", "cursor=bm90IGpzb24"])
def test_bad_cursor_is_400(api, user, query):
    conversation_id = chat(api, user, "a").json()["conversation_id"]

    for path in ("conversations", f"conversations/{conversation_id}/messages"):
        response = api.get(f"/api/{user.pk}/{path}?{query}")
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "invalid_cursor"


def _cursor(position: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


@pytest.mark.parametrize(
    "position",
    [
        {"u": "2026-02-30T00:00:00+00:00", "i": 1},
        {"u": "2026-01-01T00:00:00+99:00", "i": 1},
        {"u": "2026-13-01T00:00:00+00:00", "i": 1},
        {"u": "2026-01-01T25:00:00+00:00", "i": 1},
        {"u": "0001-01-01T00:00:00+05:00", "i": 1},
        {"u": "9999-12-31T23:59:59-05:00", "i": 1},
        {"u": "2026-01-01T00:00:00", "i": 1},
        {"u": "yesterday", "i": 1},
        {"u": 1767225600, "i": 1},
        {"u": "2026-01-01T00:00:00+00:00", "i": "1"},
        {"u": "2026-01-01T00:00:00+00:00", "i": True},
        {"u": "2026-01-01T00:00:00+00:00", "i": 1.5},
        {"u": "2026-01-01T00:00:00+00:00", "i": -1},
        {"u": "2026-01-01T00:00:00+00:00", "i": 2**63},
        {"u": "2026-01-01T00:00:00+00:00"},
        {"i": 1},
        [1, 2],
    ],
)
def test_tampered_conversation_cursor_is_400(api, user, position):
    chat(api, user, "a")

    response = api.get(f"/api/{user.pk}/conversations?cursor={_cursor(position)}")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "position", [{"s": -1}, {"s": 2**63}, {"s": 1.0}, {"s": "1"}, {"s": None}, {}]
)
def test_tampered_message_cursor_is_400(api, user, position):
    conversation_id = chat(api, user, "a").json()["conversation_id"]
    url = f"/api/{user.pk}/conversations/{conversation_id}/messages"

    response = api.get(f"{url}?cursor={_cursor(position)}")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_deeply_nested_or_over_long_cursor_is_400(api, user):
    nested = base64.urlsafe_b64encode(b"[" * 100_000).decode()

    for cursor in (nested, "A" * 10_000):
        response = api.get(f"/api/{user.pk}/conversations?cursor={cursor}")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("size", ["0", "abc", "201", "-1", "", "1.5", "\u0663"])
def test_bad_page_size_is_400_invalid_page_size(api, user, size):
    conversation_id = chat(api, user, "a").json()["conversation_id"]

    for path in ("conversations", f"conversations/{conversation_id}/messages"):
        response = api.get(f"/api/{user.pk}/{path}", {"page_size": size})
        assert response.status_code == 400, (path, response.content)
        assert response.json()["error"]["code"] == "invalid_page_size"
        assert "page_size" in response.json()["error"]["message"]


def _endpoints(api, user):
    """Return every POST/PATCH endpoint that reads a body, as (method, url)."""
    conversation_id = chat(api, user, "a").json()["conversation_id"]
    return [
        ("POST", f"/api/{user.pk}/chat"),
        ("PATCH", f"/api/{user.pk}/conversations/{conversation_id}"),
        ("POST", "/api/token/"),
        ("POST", "/api/token/refresh/"),
        ("POST", "/api/token/verify/"),
        ("POST", "/api/token/blacklist/"),
        ("POST", "/api/register/"),
    ]


def test_body_over_the_upload_limit_is_413_on_every_endpoint(api, user):
    limit = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps({"message": "x" * limit, "title": "t", "username": "u"})
    counts = row_counts()

    for method, url in _endpoints(api, user):
        response = api.generic(method, url, body, JSON)
        assert response.status_code == 413, (url, response.content[:200])
        error = response.json()["error"]
        assert error["code"] == "payload_too_large", url
        assert str(limit) in error["message"]
    assert row_counts() == (counts[0] + 1, counts[1] + 2, counts[2])


def test_deeply_nested_json_is_400_malformed_json_on_every_endpoint(api, user):
    depth = 100_000
    body = '{"message": "x", "y": ' + "[" * depth + "]" * depth + "}"
    counts = row_counts()

    for method, url in _endpoints(api, user):
        response = api.generic(method, url, body, JSON)
        assert response.status_code == 400, (url, response.content[:200])
        assert response.json()["error"]["code"] == "malformed_json", url
    assert row_counts() == (counts[0] + 1, counts[1] + 2, counts[2])


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
