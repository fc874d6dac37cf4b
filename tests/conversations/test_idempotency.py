"""An Idempotency-Key makes a retried POST return the first result."""

import pytest
from rest_framework.test import APIClient

from conversations.models import IdempotentTurn, Message
from tests.conftest import token_for
from tests.conversations.conftest import InThread, chat, row_counts

pytestmark = pytest.mark.django_db


def test_retry_with_the_same_key_replays_without_a_second_turn(api, user, fake_openai):
    key = "retry-me-1"

    first = chat(api, user, "hello once", HTTP_IDEMPOTENCY_KEY=key)
    counts = row_counts()
    again = chat(api, user, "hello once", HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert row_counts() == counts
    assert Message.objects.filter(role="user").count() == 1
    assert Message.objects.filter(role="assistant").count() == 1
    assert len(fake_openai.requests) == 1


def test_retry_of_a_continuing_turn_replays(api, user, fake_openai):
    conversation_id = chat(api, user, "start").json()["conversation_id"]
    key = "continue-1"

    first = chat(api, user, "more", conversation_id, HTTP_IDEMPOTENCY_KEY=key)
    again = chat(api, user, "more", conversation_id, HTTP_IDEMPOTENCY_KEY=key)

    assert again.json() == first.json()
    assert Message.objects.filter(conversation_id=conversation_id).count() == 4
    assert len(fake_openai.requests) == 2


def test_same_key_with_another_body_is_422(api, user):
    chat(api, user, "first body", HTTP_IDEMPOTENCY_KEY="k-422")
    counts = row_counts()

    response = chat(api, user, "second body", HTTP_IDEMPOTENCY_KEY="k-422")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert row_counts() == counts


def test_keys_are_per_user(api, user, make_user, client_for):
    bob = make_user("bob")
    mine = chat(api, user, "same words", HTTP_IDEMPOTENCY_KEY="shared")
    his = chat(client_for(bob), bob, "same words", HTTP_IDEMPOTENCY_KEY="shared")

    assert his.status_code == 200
    assert his.json()["conversation_id"] != mine.json()["conversation_id"]


def test_failed_turn_frees_the_key_for_a_retry(api, user, fake_openai):
    fake_openai.set_mode("overloaded")
    failed = chat(api, user, "try me", HTTP_IDEMPOTENCY_KEY="k-fail")
    fake_openai.set_mode("ok")

    retried = chat(api, user, "try me", HTTP_IDEMPOTENCY_KEY="k-fail")

    assert failed.status_code == 503
    assert retried.status_code == 200
    assert Message.objects.count() == 2
    assert IdempotentTurn.objects.get(key="k-fail").response == retried.json()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_duplicate_while_the_first_is_in_flight_is_409(user, fake_openai):
    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
        return chat(client, user, "wait [hold]", HTTP_IDEMPOTENCY_KEY="k-flight")

    first = InThread(post).start()
    assert fake_openai.held.wait(10)
    duplicate = post()
    fake_openai.release()

    assert first.join().status_code == 200
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "idempotency_key_in_flight"
    assert duplicate["Retry-After"] == "1"
    assert Message.objects.count() == 2
    assert len(fake_openai.requests) == 1
