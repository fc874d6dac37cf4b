"""One turn at a time per conversation, and nothing held while the model works.

A message with ``[hold]`` keeps the fake model server's answer back until the
test releases it, so the first turn is in flight for certain, not by timing.
"""

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from conversations.models import Conversation, Message
from tests.conftest import token_for
from tests.conversations.conftest import InThread, chat

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


def _held_turn(user, fake_openai, conversation_id: int, message: str) -> InThread:
    """Start a turn whose model call the fake server holds; return once held."""
    turn = InThread(
        lambda: chat(_client(user), user, f"{message} [hold]", conversation_id)
    ).start()
    assert fake_openai.held.wait(10), "the turn never reached the model"
    return turn


def test_second_concurrent_turn_is_409_and_other_conversations_go_on(user, fake_openai):
    conversation_id = chat(_client(user), user, "start").json()["conversation_id"]
    other_id = chat(_client(user), user, "elsewhere").json()["conversation_id"]

    first = InThread(
        lambda: chat(_client(user), user, "slow one [hold]", conversation_id)
    ).start()
    assert fake_openai.held.wait(10), "the first turn never reached the model"

    second = chat(_client(user), user, "impatient", conversation_id)
    elsewhere = chat(_client(user), user, "meanwhile", other_id)
    fake_openai.release()
    first_response = first.join()

    assert first_response.status_code == 200
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conversation_busy"
    # Turns take milliseconds to seconds: retry soon, not after the claim.
    assert second["Retry-After"] == "1"
    assert elsewhere.status_code == 200
    contents = list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("seq")
        .values_list("content", flat=True)
    )
    assert contents[2] == "slow one [hold]"
    assert "impatient" not in contents
    assert len(contents) == 4


def _open_transactions_on_test_db() -> int:
    params = connection.get_connection_params()
    with psycopg.connect(
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        dbname="postgres",
        autocommit=True,
    ) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = %s AND state LIKE 'idle in transaction%%'",
            [settings.DATABASES["default"]["NAME"]],
        ).fetchone()
    assert row is not None
    return row[0]


def test_backend_works_with_no_transaction_and_no_pooled_connection_held(
    user, fake_openai
):
    conversation_id = chat(_client(user), user, "start").json()["conversation_id"]
    pool = connection.pool  # type: ignore[attr-defined]
    connection.close()  # the test thread gives its own connection back too
    in_use_before = pool.get_stats()["pool_size"] - pool.get_stats()["pool_available"]

    turn = InThread(
        lambda: chat(_client(user), user, "think hard [hold]", conversation_id)
    ).start()
    assert fake_openai.held.wait(10)
    stats = pool.get_stats()
    in_use_during = stats["pool_size"] - stats["pool_available"]
    idle_in_transaction = _open_transactions_on_test_db()
    fake_openai.release()

    assert turn.join().status_code == 200
    assert in_use_before == 0
    assert in_use_during == 0
    assert idle_in_transaction == 0


def test_turn_that_outlived_its_claim_stores_nothing(user, fake_openai):
    conversation_id = chat(_client(user), user, "start").json()["conversation_id"]
    slow = _held_turn(user, fake_openai, conversation_id, "very slow")
    # The slow turn's claim runs out (as after a crash or a stuck model) ...
    Conversation.objects.filter(pk=conversation_id).update(
        busy_until=timezone.now() - timedelta(seconds=1)
    )
    # ... so another turn may claim the conversation, and does.
    fake_openai.release()
    retaken = chat(_client(user), user, "fresh", conversation_id)
    late = slow.join()

    assert retaken.status_code == 200
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "conversation_busy"
    stored = list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("seq")
        .values_list("seq", "content")
    )
    assert [seq for seq, _ in stored] == [1, 2, 3, 4]
    assert stored[2][1] == "fresh"


def _is_claim(sql: str) -> bool:
    return sql.lstrip().startswith("UPDATE") and "busy_until IS NULL" in sql


def _is_busy_read(sql: str) -> bool:
    return sql.lstrip().startswith("SELECT") and "busy_until" in sql


def test_turn_whose_rival_finishes_between_claim_and_check_is_not_404(
    user, fake_openai
):
    """The claim misses while a rival turn runs; the rival is done by the check."""
    conversation_id = chat(_client(user), user, "start").json()["conversation_id"]
    rival = _held_turn(user, fake_openai, conversation_id, "rival")
    finished: list[Any] = []

    def rival_finishes_after_the_missed_claim(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if _is_claim(sql) and context["cursor"].rowcount == 0 and not finished:
            fake_openai.release()
            finished.append(rival.join())
        return result

    with connection.execute_wrapper(rival_finishes_after_the_missed_claim):
        response = chat(_client(user), user, "patient", conversation_id)

    assert finished and finished[0].status_code == 200
    assert response.status_code == 200, response.content
    contents = list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("seq")
        .values_list("content", flat=True)
    )
    assert contents[2::2] == ["rival [hold]", "patient"]


def test_turn_retries_its_claim_once_then_answers_409(user, fake_openai):
    """Freed at the check but taken again before the retry: 409, not 404."""
    conversation_id = chat(_client(user), user, "start").json()["conversation_id"]
    first = _held_turn(user, fake_openai, conversation_id, "first")
    steps: list[str] = []
    third: list[InThread] = []

    def others_come_and_go(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if _is_claim(sql) and not steps:
            steps.append("missed")
            fake_openai.release()
            first.join()
            fake_openai.arm_hold()
        elif _is_busy_read(sql) and steps == ["missed"]:
            steps.append("seen free")
            third.append(_held_turn(user, fake_openai, conversation_id, "third"))
        return result

    with connection.execute_wrapper(others_come_and_go):
        response = chat(_client(user), user, "unlucky", conversation_id)
    fake_openai.release()

    assert steps == ["missed", "seen free"]
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "conversation_busy"
    assert response["Retry-After"] == "1"
    assert third[0].join().status_code == 200


def test_turn_on_a_missing_conversation_is_still_404(user):
    response = chat(_client(user), user, "hello?", 987654321)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
