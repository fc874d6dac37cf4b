"""Redis is an accelerator: with it stopped, chat and history still answer.

A private redis-server is started, stopped for real (its process exits) and
restarted with the data it had, so a stale context window is really there
to be served, and must not be.
"""

import logging

import pytest
from django.core.cache import cache

from conversations import selectors
from tests.conversations.conftest import chat
from tests.private_redis import PrivateRedis

pytestmark = [pytest.mark.services, pytest.mark.faults, pytest.mark.django_db]


@pytest.fixture
def private_redis(tmp_path, settings):
    server = PrivateRedis(tmp_path)
    server.start()
    options = settings.CACHES["default"]["OPTIONS"]
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": server.url,
            "OPTIONS": {
                **options,
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
            },
        }
    }
    yield server
    server.stop()


def _key(user, conversation_id, last_seq):
    return cache.make_key(
        selectors.window_key(
            owner_id=user.pk, conversation_id=conversation_id, last_seq=last_seq
        )
    )


def _history(api, user, conversation_id):
    response = api.get(f"/api/{user.pk}/conversations/{conversation_id}/messages")
    return response.status_code, [m["content"] for m in response.json()["results"]]


def test_chat_and_history_survive_a_redis_stop_and_nothing_stale_after(
    api, user, private_redis, caplog
):
    conversation_id = chat(api, user, "before the outage").json()["conversation_id"]
    stale_key = _key(user, conversation_id, 2)
    assert private_redis.client().exists(stale_key)

    private_redis.stop(save=True)
    with caplog.at_level(logging.WARNING, logger="chatbot.cache"):
        during = chat(api, user, "during the outage", conversation_id)
        status, history = _history(api, user, conversation_id)

    assert during.status_code == 200
    assert "seen 2 earlier messages" in during.json()["messages"][1]["content"]
    assert status == 200
    assert history[2] == "during the outage"
    warnings = [r for r in caplog.records if r.name == "chatbot.cache"]
    assert warnings
    assert all(r.levelno == logging.WARNING for r in warnings)

    private_redis.start()
    # The window cached before the outage is back, and now out of date.
    assert private_redis.client().exists(stale_key)
    after = chat(api, user, "after the outage", conversation_id)
    status, history = _history(api, user, conversation_id)

    assert after.status_code == 200
    assert "seen 4 earlier messages" in after.json()["messages"][1]["content"]
    assert status == 200
    assert history == [
        "before the outage",
        history[1],
        "during the outage",
        history[3],
        "after the outage",
        history[5],
    ]
    # The cache is used again: the next turn's window was written.
    assert private_redis.client().exists(_key(user, conversation_id, 6))


def test_a_new_conversation_starts_while_redis_is_down(api, user, private_redis):
    private_redis.stop()

    response = chat(api, user, "hello in the dark")

    assert response.status_code == 200
    conversation_id = response.json()["conversation_id"]
    assert _history(api, user, conversation_id)[0] == 200
