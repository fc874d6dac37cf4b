"""Authenticated API answers are private, and carry the user's rate limit."""

import pytest

pytestmark = pytest.mark.django_db


def _private(response) -> bool:
    cache_control = response["Cache-Control"]
    return "private" in cache_control and "no-store" in cache_control


def test_authenticated_answers_are_never_cacheable_by_shared_caches(api, user):
    listed = api.get(f"/api/{user.pk}/conversations")
    turn = api.post(f"/api/{user.pk}/chat", {"message": "hi"}, format="json")
    history = api.get(
        f"/api/{user.pk}/conversations/{turn.json()['conversation_id']}/messages"
    )
    refused = api.get(f"/api/{user.pk + 1}/conversations")

    assert [r.status_code for r in (listed, turn, history, refused)] == [
        200,
        200,
        200,
        403,
    ]
    assert all(_private(r) for r in (listed, turn, history, refused))
    assert all("Authorization" in r["Vary"] for r in (listed, turn, history))


def test_requests_are_throttled_per_user(api, user, client_for, make_user, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "user": "2/day"}
    url = f"/api/{user.pk}/conversations"

    answers = [api.get(url) for _ in range(3)]
    other = make_user("carol")
    theirs = client_for(other).get(f"/api/{other.pk}/conversations")

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "throttled"
    assert int(answers[2]["Retry-After"]) >= 1
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert theirs.status_code == 200  # counted apart


def test_chat_turns_are_throttled_per_user(api, user, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "chat": "2/day"}
    url = f"/api/{user.pk}/chat"

    answers = [api.post(url, {"message": f"m{i}"}, format="json") for i in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2]["X-RateLimit-Limit"] == "2"
    # The refused turn stored nothing.
    from conversations.models import Message

    assert Message.objects.count() == 4
