"""Fixtures for the chat API: turns, the fake model server, thread helpers."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from conversations.models import Conversation, IdempotentTurn, Message
from tests.fakes.openai_server import FakeOpenAI


def chat(
    client: APIClient,
    user: Any,
    message: str,
    conversation_id: int | None = None,
    **extra: Any,
) -> Any:
    """POST one chat turn as ``user`` and return the response."""
    body: dict[str, Any] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    return client.post(f"/api/{user.pk}/chat", body, format="json", **extra)


def row_counts() -> tuple[int, int, int]:
    """Return how many conversations, messages and idempotent turns exist."""
    return (
        Conversation.objects.count(),
        Message.objects.count(),
        IdempotentTurn.objects.count(),
    )


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    # Users are made per test; the production hasher costs ~0.2 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def fake_openai(settings: Any) -> Iterator[FakeOpenAI]:
    """Serve a fake OpenAI-compatible model and point the openai backend at it."""
    fake = FakeOpenAI(api_key="test-key").start()
    settings.CHAT = {
        **settings.CHAT,
        "BACKEND": "openai",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "test-key",
        "MODEL": "fake-model",
        "CONNECT_TIMEOUT": 2.0,
        "READ_TIMEOUT": 5.0,
    }
    yield fake
    fake.stop()


class InThread:
    """Run a callable in a thread with its own DB connection; keep its result."""

    def __init__(self, target: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._target = target
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.result = self._target()
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            connections.close_all()

    def start(self) -> "InThread":
        self._thread.start()
        return self

    def join(self, timeout: float = 20) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "thread did not finish"
        if self.error is not None:
            raise self.error
        return self.result
