"""Reply backends: local, and openai against a real local protocol server."""

import socket

import pytest
from django.core.exceptions import ImproperlyConfigured

from conversations.backends import ChatMessage, get_backend
from conversations.backends.local import LocalBackend
from conversations.models import Conversation
from perfdash.probes import UpstreamTimer
from tests.conversations.conftest import chat, row_counts

pytestmark = pytest.mark.django_db


def test_local_backend_is_deterministic_and_reads_its_context():
    messages: list[ChatMessage] = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "  what   did I\nsay? " + "z" * 100},
    ]

    one = LocalBackend().reply(messages=messages, timer=UpstreamTimer())
    two = LocalBackend().reply(messages=messages, timer=UpstreamTimer())

    assert one == two
    assert one.content == (
        "[local] I have seen 2 earlier messages; you said: 'what did I say? "
        + "z" * 64
        + "'"
    )


def test_backend_is_chosen_when_called(settings):
    settings.CHAT = {**settings.CHAT, "BACKEND": "local"}
    assert isinstance(get_backend(), LocalBackend)

    settings.CHAT = {**settings.CHAT, "BACKEND": "nonsense"}
    with pytest.raises(ImproperlyConfigured):
        get_backend()


def test_openai_backend_sends_the_window_and_stores_the_reply(api, user, fake_openai):
    conversation_id = chat(api, user, "first").json()["conversation_id"]

    body = chat(api, user, "second", conversation_id).json()

    sent = fake_openai.requests[-1]
    assert sent["model"] == "fake-model"
    assert sent["stream"] is True
    assert [m["content"] for m in sent["messages"]] == [
        "first",
        "[fake] 1 messages; last: first",
        "second",
    ]
    assistant = body["messages"][1]
    assert assistant["content"] == "[fake] 3 messages; last: second"
    assert assistant["model_name"] == "fake-model"
    assert assistant["prompt_tokens"] == 7
    assert assistant["completion_tokens"] == 5
    assert assistant["latency_ms"] > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("slow", 504, "upstream_timeout"),
        ("stall", 504, "upstream_timeout"),
        ("overloaded", 503, "upstream_unavailable"),
        ("rate_limited", 503, "upstream_unavailable"),
        ("error", 502, "upstream_error"),
        ("garbage", 502, "upstream_error"),
        ("drop", 502, "upstream_error"),
        ("empty", 502, "upstream_error"),
    ],
)
def test_upstream_failure_maps_to_an_error_and_stores_nothing(
    api, user, fake_openai, settings, mode, status, code
):
    settings.CHAT = {**settings.CHAT, "READ_TIMEOUT": 0.3}
    conversation_id = chat(api, user, "before").json()["conversation_id"]
    counts = row_counts()
    fake_openai.set_mode(mode, delay=3)

    response = chat(api, user, "during", conversation_id)
    fake_openai.set_mode("ok")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    if status == 503:
        assert int(response["Retry-After"]) >= 1
    assert row_counts() == counts
    # The claim was released: the next turn goes through at once.
    assert Conversation.objects.get(pk=conversation_id).busy_until is None
    assert chat(api, user, "after", conversation_id).status_code == 200


def test_unreachable_model_server_is_503(api, user, settings):
    settings.CHAT = {
        **settings.CHAT,
        "BACKEND": "openai",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{_free_port()}/v1",
        "CONNECT_TIMEOUT": 0.5,
    }
    counts = row_counts()

    response = chat(api, user, "anyone there?")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "upstream_unavailable"
    assert row_counts() == counts


def test_wrong_api_key_is_502(api, user, fake_openai, settings):
    settings.CHAT = {**settings.CHAT, "OPENAI_API_KEY": "wrong"}

    response = chat(api, user, "hi")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"


def test_failed_first_turn_leaves_no_conversation(api, user, fake_openai):
    fake_openai.set_mode("error")

    response = chat(api, user, "new one")

    assert response.status_code == 502
    assert row_counts() == (0, 0, 0)
