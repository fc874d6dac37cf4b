"""Redis stopped or paused under a running service: PostgreSQL carries on."""

import threading
import time

import pytest

from chatbot import cache as chat_cache
from tests import servers
from tests.reliability.conftest import (
    assert_history,
    measured_requests,
    sign_up,
    staff_session,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def _expected_reply(turns_before: int, message: str) -> str:
    # The fake model echoes how many messages it was given: the whole history
    # (two per earlier turn) plus the new message, so a stale window shows.
    return f"[fake] {2 * turns_before + 1} messages; last: {message[:40]}"


def test_chat_survives_redis_pause_and_stop_without_stale_history(
    stack_env, redis, fake_model, database_url
):
    env = stack_env(
        THROTTLE_CHAT_RATE="1000/hour",
        CHAT_CONTEXT_MESSAGES="100",
        SESSION_COOKIE_SECURE="false",  # the admin over loopback HTTP
        CSRF_COOKIE_SECURE="false",
        DJANGO_SUPERUSER_PASSWORD="x-Long-pass-123",
    )
    servers.manage(
        env, "createsuperuser", "--noinput", "--username", "ops", "--email", "o@x.io"
    )
    dashboard: list[int] = []

    def open_dashboard() -> None:
        admin = staff_session(web.url, "ops", "x-Long-pass-123")
        try:
            dashboard.append(admin.get("/admin/performance/").status_code)
        finally:
            admin.close()

    with servers.gunicorn(env) as web:
        alice = sign_up(web.url)
        statuses: list[int] = []
        turns = 0
        conversation_id = None

        def turn(label: str) -> None:
            nonlocal turns, conversation_id
            message = f"{label} turn {turns}"
            response = alice.chat(message, conversation_id)
            statuses.append(response.status_code)
            assert response.status_code == 200, (label, response.text)
            body = response.json()
            conversation_id = body["conversation_id"]
            assert body["messages"][1]["content"] == _expected_reply(turns, message)
            # Throttling counts in Redis; without it, requests pass uncounted.
            counted = "X-RateLimit-Limit" in response.headers
            assert counted == (label not in {"paused", "stopped"}), label
            turns += 1

        for _ in range(3):
            turn("healthy")

        redis.pause()
        for _ in range(3):
            turn("paused")
        open_dashboard()  # perfdash's dashboard, with Redis hanging
        # History reads come from PostgreSQL while Redis hangs.
        assert conversation_id is not None
        assert_history(alice.messages(conversation_id), turns)
        redis.resume()
        # After a timeout each process skips Redis for SKIP_SECONDS before
        # trying it again (chatbot.cache).
        time.sleep(chat_cache.SKIP_SECONDS)

        # The window cached before the pause is now 3 turns old: it must not
        # be served (the cache key carries the conversation's version).
        for _ in range(2):
            turn("resumed")

        redis.stop()
        for _ in range(3):
            turn("stopped")
        open_dashboard()
        redis.start()  # empty: everything comes from PostgreSQL again
        for _ in range(2):
            turn("restarted")

        assert conversation_id is not None
        history = alice.messages(conversation_id)

    assert statuses == [200] * turns  # no 5xx, nothing refused
    assert dashboard == [200, 200]
    assert_history(history, turns)  # nothing lost, nothing doubled
    upstream = [len(r["messages"]) for r in fake_model.requests]
    assert upstream == [2 * n + 1 for n in range(turns)]
    # perfdash measured every turn through the outage (flushed to PostgreSQL
    # when gunicorn stopped), and saw no server error.
    measured = measured_requests(database_url)
    chat_posts = {k: n for k, n in measured.items() if k[0].endswith("/chat")}
    assert chat_posts == {(next(iter(chat_posts))[0], "POST", 2): turns}
    assert not any(status == 5 for _, _, status in measured), measured


def test_concurrent_turns_through_redis_outages_lose_and_double_nothing(
    stack_env, redis, fake_model
):
    env = stack_env(CHAT_CONTEXT_MESSAGES="100")
    users_count, rounds = 4, 5
    with servers.gunicorn(env, workers=2, threads=4) as web:
        users = [sign_up(web.url) for _ in range(users_count)]
        conversations: dict[int, int] = {}
        statuses: list[int] = []
        lock = threading.Lock()

        def load(phase: str) -> None:
            # Every user takes one turn at the same moment, `rounds` times.
            for n in range(rounds):

                def turn(user, message: str) -> None:
                    response = user.chat(message, conversations.get(user.user_id))
                    with lock:
                        statuses.append(response.status_code)
                    if response.status_code == 200:
                        conversations[user.user_id] = response.json()["conversation_id"]

                threads = [
                    threading.Thread(target=turn, args=(u, f"{phase} {n}"))
                    for u in users
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=60)

        load("healthy")
        redis.pause()
        load("paused")
        redis.resume()
        load("resumed")
        redis.stop()
        load("stopped")
        redis.start()
        load("restarted")

        histories = {u.user_id: u.messages(conversations[u.user_id]) for u in users}

    assert statuses == [200] * (5 * rounds * users_count)
    for user in users:
        history = histories[user.user_id]
        assert_history(history, 5 * rounds)  # none lost, none doubled
        said = {m["content"] for m in history if m["role"] == "user"}
        assert len(said) == 5 * rounds  # each message stored once
