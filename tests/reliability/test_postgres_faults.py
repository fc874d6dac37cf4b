"""PostgreSQL restarted or out of connections under a running service."""

import threading
import time
from typing import Any

import httpx
import psycopg
import pytest

from tests import servers
from tests.reliability.conftest import assert_history, sign_up

pytestmark = [pytest.mark.faults, pytest.mark.slow]

POOL_TIMEOUT = 10.0


def _timed(call) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _assert_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    error = response.json()["error"]
    assert error["code"] in {"database_unavailable", "database_busy"}


def _until_ok(call, *, tries: int = 60) -> tuple[int, httpx.Response]:
    """Retry ``call`` (bounded) until it answers 200; return the 503s seen."""
    refused = 0
    for _ in range(tries):
        response = call()
        if response.status_code == 200:
            return refused, response
        _assert_503(response)
        refused += 1
        time.sleep(0.25)
    pytest.fail(f"no 200 after {tries} tries")


class Calls:
    """Run calls in threads; results (or exceptions) land in ``results``."""

    def __init__(self, calls: list[Any]) -> None:
        self.results: list[Any] = [None] * len(calls)
        self.done = 0
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(i, call))
            for i, call in enumerate(calls)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, i: int, call: Any) -> None:
        try:
            result = call()
        except Exception as exc:  # kept for the assertions
            result = exc
        with self._lock:
            self.results[i] = result
            self.done += 1

    def join(self) -> list[Any]:
        for thread in self._threads:
            thread.join(timeout=60)
        return self.results


def test_postgres_restart_fails_fast_and_the_pool_recovers(
    stack_env, private_pg, fake_model
):
    env = stack_env(DB_POOL_TIMEOUT=str(POOL_TIMEOUT), DB_POOL_MIN_SIZE="2")
    with servers.gunicorn(env, threads=8) as web:
        alice = sign_up(web.url)
        first = alice.chat("before the restart")
        assert first.status_code == 200
        conversation = first.json()["conversation_id"]
        ok_turns = 1

        # Three turns in flight, held inside the model call, across a restart.
        held: list[httpx.Response] = []
        in_flight = [
            threading.Thread(target=lambda: held.append(alice.chat("[hold] a turn")))
            for _ in range(3)
        ]
        for thread in in_flight:
            thread.start()
        servers.wait_until(
            lambda: len(fake_model.requests) == 4, timeout=20, what="held turns"
        )
        private_pg.restart()
        fake_model.release()
        for thread in in_flight:
            thread.join(timeout=30)
        assert len(held) == 3
        for response in held:
            # Either finished on a fresh connection or failed fast, never a 500.
            if response.status_code != 200:
                _assert_503(response)

        # Down: every request is a fast 503, none waits for the pool timeout.
        private_pg.stop()
        down = [
            _timed(lambda: alice.chat("while down", conversation)) for _ in range(5)
        ]
        private_pg.start()
        refused, response = _until_ok(lambda: alice.chat("after", conversation))
        ok_turns += 1
        after = [alice.chat(f"after {i}", conversation) for i in range(5)]
        ok_turns += sum(r.status_code == 200 for r in after)
        history = alice.messages(conversation)

    for response, seconds in down:
        _assert_503(response)
        assert seconds < POOL_TIMEOUT / 2, seconds
    assert refused <= 8  # recovered within about two seconds of polling
    assert [r.status_code for r in after] == [200] * 5
    assert_history(history, ok_turns)  # the failed turns left nothing behind


def test_exhausted_pool_answers_503_fast_and_recovers(
    stack_env, private_pg, database_url, fake_model
):
    env = stack_env(DB_POOL_MIN_SIZE="1", DB_POOL_MAX_SIZE="2", DB_POOL_TIMEOUT="1")
    with servers.gunicorn(env, threads=8) as web:
        users = [sign_up(web.url) for _ in range(2)]
        conversations = []
        for user in users:
            response = user.chat("hello")
            assert response.status_code == 200
            conversations.append(response.json()["conversation_id"])

        # Eight slow turns at once on a pool of two: the model call holds no
        # connection, so none of them runs out.
        fake_model.set_mode("slow", delay=1.0)
        slow = Calls(
            [lambda u=u: u.chat("slow turn") for u in users for _ in range(4)]
        ).join()
        fake_model.set_mode("ok")
        assert [getattr(r, "status_code", r) for r in slow] == [200] * 8

        # Now make queries wait on a lock: the two connections stay busy and
        # every further request is refused after the 1 s pool timeout.
        with psycopg.connect(database_url) as db:
            db.execute("LOCK TABLE conversations_conversation IN ACCESS EXCLUSIVE MODE")
            calls = Calls(
                [
                    lambda u=u, c=c: _timed(lambda: u.chat("burst", c))
                    for u, c in zip(users * 3, conversations * 3, strict=True)
                ]
            )
            # Two requests hold the two connections, stuck on the lock; the
            # other four must be refused while the lock is still held.
            servers.wait_until(lambda: calls.done >= 4, timeout=20, what="refusals")
            db.rollback()
        burst = calls.join()

        after = [
            u.chat("after the burst", c)
            for u, c in zip(users, conversations, strict=True)
        ]
        histories = [u.messages(c) for u, c in zip(users, conversations, strict=True)]

    assert all(isinstance(item, tuple) for item in burst), burst
    statuses = sorted(r.status_code for r, _ in burst)
    refused = [r for r, _ in burst if r.status_code == 503]
    # Two were served once the lock went; the rest were refused, not hung.
    assert statuses.count(200) + statuses.count(409) == 2
    assert len(refused) == 4
    for response in refused:
        _assert_503(response)
        assert response.json()["error"]["code"] == "database_busy"
    for response, seconds in burst:
        if response.status_code == 503:
            assert seconds < 5  # the 1 s pool timeout, not a hang
    assert [r.status_code for r in after] == [200, 200]
    for i, history in enumerate(histories):
        served = sum(r.status_code == 200 for r, _ in burst[i::2])
        assert_history(history, 1 + served + 1)  # nothing lost or doubled
