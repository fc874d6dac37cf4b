"""Reply backend faults and a web worker killed mid-turn, through gunicorn."""

import os
import signal
import threading

import httpx
import psycopg
import pytest

from tests import servers
from tests.reliability.conftest import assert_history, sign_up

pytestmark = [pytest.mark.faults, pytest.mark.slow]

# Mode of the fake model server -> the answer the API must give.
BACKEND_FAULTS = {
    "slow": (504, "upstream_timeout"),
    "stall": (504, "upstream_timeout"),
    "error": (502, "upstream_error"),
    "overloaded": (503, "upstream_unavailable"),
    "rate_limited": (503, "upstream_unavailable"),
    "garbage": (502, "upstream_error"),
    "drop": (502, "upstream_error"),
    "empty": (502, "upstream_error"),
}


def test_backend_faults_are_mapped_and_leave_nothing_half_stored(stack_env, fake_model):
    env = stack_env(CHAT_READ_TIMEOUT="1")
    fake_model.delay = 3.0
    outcomes: dict[str, tuple[int, str, str | None]] = {}
    with servers.gunicorn(env, threads=4) as web:
        alice = sign_up(web.url)
        first = alice.chat("hello")
        assert first.status_code == 200
        conversation = first.json()["conversation_id"]
        turns = 1

        for mode in BACKEND_FAULTS:
            fake_model.set_mode(mode)
            on_old = alice.chat(f"during {mode}", conversation)
            on_new = alice.chat(f"new conversation during {mode}")
            for response in (on_old, on_new):
                outcomes[mode] = (
                    response.status_code,
                    response.json()["error"]["code"],
                    response.headers.get("Retry-After"),
                )
                assert set(response.json()) == {"error"}
            assert on_new.status_code == on_old.status_code

            # Usable at once: no claim left behind, no 409.
            fake_model.set_mode("ok")
            again = alice.chat(f"after {mode}", conversation)
            assert again.status_code == 200, (mode, again.text)
            turns += 1

        history = alice.messages(conversation)
        conversations = alice.conversations()

    assert {m: o[:2] for m, o in outcomes.items()} == BACKEND_FAULTS
    assert outcomes["overloaded"][2] is not None  # Retry-After on 503s
    assert_history(history, turns)  # only whole turns were stored
    assert [c["id"] for c in conversations] == [conversation]
    assert not any(m["content"].startswith("during") for m in history)


def test_worker_killed_mid_turn_frees_the_conversation_when_the_claim_expires(
    stack_env, fake_model, database_url
):
    # Long enough that gunicorn has booted a new worker before it expires,
    # even on a busy machine (checked below, not assumed).
    env = stack_env(CHAT_TURN_CLAIM_SECONDS="10")
    with servers.gunicorn(env, workers=1, threads=4) as web:
        alice = sign_up(web.url)
        first = alice.chat("hello")
        assert first.status_code == 200
        conversation = first.json()["conversation_id"]

        lost: list[object] = []

        def doomed_turn() -> None:
            try:
                lost.append(alice.chat("[hold] this turn dies", conversation))
            except httpx.HTTPError as exc:  # the worker died under it
                lost.append(exc)

        thread = threading.Thread(target=doomed_turn)
        thread.start()
        fake_model.held.wait(timeout=20)
        (worker,) = web.worker_pids()
        os.kill(worker, signal.SIGKILL)
        thread.join(timeout=30)
        fake_model.release()

        # gunicorn boots a new worker; the dead turn's claim still stands.
        with psycopg.connect(database_url) as db:
            row = db.execute(
                "SELECT busy_until > now() + interval '1 second' "
                "FROM conversations_conversation WHERE id = %s",
                [conversation],
            ).fetchone()
        claimed = bool(row and row[0])
        busy = alice.chat("too soon", conversation)
        servers.wait_until(
            lambda: alice.chat("after expiry", conversation).status_code == 200,
            timeout=40,
            interval=0.5,
            what="the claim to expire",
        )
        history = alice.messages(conversation)

    assert len(lost) == 1 and not isinstance(lost[0], httpx.Response)
    assert claimed  # the dead worker's claim outlived it...
    assert busy.status_code == 409  # ...and turned the next turn away
    assert busy.json()["error"]["code"] == "conversation_busy"
    assert int(busy.headers["Retry-After"]) >= 1
    assert_history(history, 2)  # the dead turn stored nothing
    assert [m["content"] for m in history if m["role"] == "user"] == [
        "hello",
        "after expiry",
    ]
