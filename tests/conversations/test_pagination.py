"""Cursor pages: deterministic order, nothing skipped or repeated on ties."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Conversation
from tests.conversations.conftest import chat

pytestmark = pytest.mark.django_db


def _all_pages(api, url):
    pages, seen = 0, []
    while url and pages < 50:
        body = api.get(url).json()
        seen.extend(body["results"])
        url = body["next"]
        pages += 1
    return seen, pages


def test_conversations_with_tied_timestamps_are_each_listed_once(api, user):
    ids = [chat(api, user, f"c{n}").json()["conversation_id"] for n in range(7)]
    tie = timezone.now()
    # Five share one instant; one is newer and one older than the tie.
    Conversation.objects.filter(pk__in=ids[1:6]).update(updated_at=tie)
    Conversation.objects.filter(pk=ids[0]).update(updated_at=tie + timedelta(1))
    Conversation.objects.filter(pk=ids[6]).update(updated_at=tie - timedelta(1))

    seen, pages = _all_pages(api, f"/api/{user.pk}/conversations?page_size=2")

    listed = [c["id"] for c in seen]
    assert listed == [ids[0], *sorted(ids[1:6], reverse=True), ids[6]]
    assert pages == 4


def test_history_pages_cover_every_message_in_order(api, user):
    conversation_id = None
    for n in range(5):
        conversation_id = chat(api, user, f"m{n}", conversation_id).json()[
            "conversation_id"
        ]

    seen, pages = _all_pages(
        api, f"/api/{user.pk}/conversations/{conversation_id}/messages?page_size=3"
    )

    assert [m["seq"] for m in seen] == list(range(1, 11))
    assert pages == 4


def test_end_of_history_is_an_empty_page_not_a_404(api, user):
    conversation_id = chat(api, user, "only").json()["conversation_id"]
    past_the_end = base64.urlsafe_b64encode(json.dumps({"s": 2}).encode()).decode()
    url = f"/api/{user.pk}/conversations/{conversation_id}/messages"

    response = api.get(f"{url}?cursor={past_the_end}")

    assert response.status_code == 200
    assert response.json() == {"results": [], "next": None}
