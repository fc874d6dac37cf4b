"""A paused Redis costs one timeout per second per process, not one per call."""

import logging
import time

import pytest
from django.core.cache import caches

from chatbot import cache as chat_cache
from tests import servers

pytestmark = [pytest.mark.faults]


@pytest.fixture
def redis_cache(settings):
    with servers.private_redis() as redis:
        settings.CACHES = {
            **settings.CACHES,
            "breaker": {
                "BACKEND": "chatbot.cache.FallbackRedisCache",
                "LOCATION": redis.url(0),
                "OPTIONS": {
                    "CLIENT_CLASS": "chatbot.cache.BreakerClient",
                    "SOCKET_CONNECT_TIMEOUT": 0.25,
                    "SOCKET_TIMEOUT": 0.25,
                    "IGNORE_EXCEPTIONS": True,
                },
            },
        }
        chat_cache.BREAKER.skip_until = 0.0
        yield redis, caches["breaker"]
        chat_cache.BREAKER.skip_until = 0.0


def test_paused_redis_is_skipped_after_the_first_timeout(redis_cache, caplog):
    redis, cache = redis_cache
    cache.set("k", "v")
    assert cache.get("k") == "v"

    redis.pause()
    with caplog.at_level(logging.WARNING, logger="chatbot.cache"):
        answers = [cache.get("k") for _ in range(10)]
        cache.set("k", "w")
        count = cache.incr("counter") if cache.add("counter", 0) else None
    redis.resume()

    # Ten reads, a write and a count while paused: all misses or no-ops, and
    # only the first one waited for Redis (one warning, one timeout).
    assert answers == [None] * 10
    assert count is None
    warnings = [r for r in caplog.records if r.name == "chatbot.cache"]
    assert len(warnings) == 1

    time.sleep(chat_cache.SKIP_SECONDS + 0.1)
    assert cache.get("k") == "v"  # Redis is tried again, and answers


def test_stopped_redis_is_not_skipped_and_is_used_as_soon_as_it_returns(
    redis_cache,
):
    redis, cache = redis_cache
    redis.stop()
    assert cache.get("k") is None
    # Refused at once: nothing to save by skipping it.
    assert not chat_cache.BREAKER.is_open()

    redis.start()
    cache.set("k", "back")
    assert cache.get("k") == "back"
