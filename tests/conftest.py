"""Shared fixtures: users, tokens, API clients and the service switches.

Tests marked ``services`` need real PostgreSQL and Redis and are skipped on the
embedded default; tests marked ``sqlite`` run only there. ``make test`` runs
both passes, so nothing is skipped overall.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
ON_REDIS = bool(settings.REDIS_URL)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    services = pytest.mark.skip(reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    embedded = pytest.mark.skip(reason="runs in the embedded-default pass")
    for item in items:
        if "services" in item.keywords and not (ON_POSTGRES and ON_REDIS):
            item.add_marker(services)
        if "sqlite" in item.keywords and ON_POSTGRES:
            item.add_marker(embedded)


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, **extra: Any) -> Any:
        name = username or f"user{next(counter)}"
        return get_user_model().objects.create_user(
            username=name, password="a-Long-pass-123", **extra
        )

    return make


@pytest.fixture
def user(make_user: Callable[..., Any]) -> Any:
    return make_user("alice")


def token_for(user: Any) -> str:
    """Return a fresh access token for the user."""
    return str(RefreshToken.for_user(user).access_token)


@pytest.fixture
def client_for() -> Callable[[Any], APIClient]:
    def make(user: Any) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
        return client

    return make


@pytest.fixture
def api(user: Any, client_for: Callable[[Any], APIClient]) -> APIClient:
    return client_for(user)


# --- perfdash: no background flusher inside the test process ---------------


@pytest.fixture(autouse=True)
def _perfdash_recorder(settings: Any) -> Iterator[None]:
    """Keep measured requests in memory until a test flushes them itself."""
    from perfdash import recorder

    settings.PERFDASH = {**settings.PERFDASH, "FLUSH_SECONDS": 0}
    recorder.discard()
    yield
    recorder.discard()


# --- reliability: each test starts with Redis not being skipped -------------


@pytest.fixture(autouse=True)
def _redis_breaker_closed() -> Iterator[None]:
    """Forget a Redis failure an earlier test provoked (chatbot.cache)."""
    from chatbot import cache as chat_cache

    chat_cache.BREAKER.skip_until = 0.0
    yield
    chat_cache.BREAKER.skip_until = 0.0
