"""The comparison-only ``stateful`` history mode (conversations/history.py)."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import history


@pytest.fixture(autouse=True)
def _empty_memory() -> Iterator[None]:
    history.forget_all()
    yield
    history.forget_all()


def _turn(api: Any, user: Any, message: str, conversation_id: int | None = None) -> Any:
    body: dict[str, Any] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    response = api.post(f"/api/{user.pk}/chat", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _second_turn_statements(api: Any, user: Any) -> tuple[int, str]:
    first = _turn(api, user, "one")
    # Nothing in the cache: only process memory can spare the window query.
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        second = _turn(api, user, "two", first["conversation_id"])
    return len(queries), second["messages"][1]["content"]


@pytest.mark.parametrize("mode", ["stateless", "stateful"])
def test_both_modes_send_the_whole_window(
    api: Any, user: Any, settings: Any, mode: str
) -> None:
    settings.CHAT = {**settings.CHAT, "HISTORY_MODE": mode}

    _, reply = _second_turn_statements(api, user)

    assert "seen 2 earlier messages" in reply


def test_stateful_mode_reads_the_window_from_memory_not_the_database(
    api: Any, user: Any, settings: Any
) -> None:
    settings.CHAT = {**settings.CHAT, "HISTORY_MODE": "stateless"}
    stateless, _ = _second_turn_statements(api, user)
    settings.CHAT = {**settings.CHAT, "HISTORY_MODE": "stateful"}

    stateful, _ = _second_turn_statements(api, user)

    assert stateful == stateless - 1
    assert history.kept_sessions() == 1


def test_a_kept_window_is_only_given_back_to_its_owner_at_its_version(
    settings: Any,
) -> None:
    settings.CHAT = {**settings.CHAT, "HISTORY_MODE": "stateful"}
    window: list[Any] = [{"role": "user", "content": "mine"}]

    assert history.keep(owner_id=1, conversation_id=9, last_seq=2, window=window)

    assert history.recall(owner_id=1, conversation_id=9, last_seq=2) == window
    assert history.recall(owner_id=2, conversation_id=9, last_seq=2) is None
    assert history.recall(owner_id=1, conversation_id=9, last_seq=4) is None


def test_stateless_mode_keeps_nothing_in_memory(settings: Any) -> None:
    settings.CHAT = {**settings.CHAT, "HISTORY_MODE": "stateless"}

    assert not history.keep(owner_id=1, conversation_id=9, last_seq=2, window=[])
    assert history.recall(owner_id=1, conversation_id=9, last_seq=2) is None
    assert history.kept_sessions() == 0
