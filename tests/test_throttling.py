"""Throttling: atomic counters, headers, trusted proxies, a dead Redis."""

import threading

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from chatbot.throttling import count_in_window, parse_rate
from tests import servers

TOKEN_URL = "/api/token/"


def _guess(client: APIClient, username: str = "alice", **extra):
    return client.post(
        TOKEN_URL, {"username": username, "password": "wrong"}, format="json", **extra
    )


@pytest.fixture
def rates(settings):
    # Tests set per-day rates, so no window boundary falls inside a test
    # (but at midnight UTC).
    settings.THROTTLE_RATES = {
        "user": "none",
        "chat": "none",
        "token_ip": "none",
        "token_user": "none",
    }
    return settings.THROTTLE_RATES


def test_parse_rate_reads_drf_style_rates():
    assert parse_rate("30/min") == (30, 60)
    assert parse_rate("5/s") == (5, 1)
    assert parse_rate("100/hour") == (100, 3600)
    assert parse_rate("none") is None
    assert parse_rate(None) is None


@pytest.mark.django_db
def test_token_issue_is_throttled_per_username_with_retry_after(rates, user):
    rates["token_user"] = "3/day"
    client = APIClient()

    answers = [_guess(client, "Alice", REMOTE_ADDR=f"10.0.0.{i}") for i in range(1, 5)]

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    throttled = answers[-1]
    assert throttled.json()["error"]["code"] == "throttled"
    assert throttled["X-RateLimit-Limit"] == "3"
    assert 1 <= int(throttled["Retry-After"]) <= 86400
    assert 1 <= int(throttled["X-RateLimit-Reset"]) <= 86400
    # Another user is not punished for Alice's guesses.
    assert _guess(client, "bob").status_code == 401


@pytest.mark.django_db
def test_token_issue_is_throttled_per_ip_and_forwarded_for_is_not_trusted(rates, user):
    rates["token_ip"] = "2/day"
    client = APIClient()

    answers = [
        _guess(client, f"name{i}", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
        for i in range(3)
    ]

    # NUM_PROXIES is 0: a client cannot pose as many clients with the header.
    assert [a.status_code for a in answers] == [401, 401, 429]


@pytest.mark.django_db
def test_forwarded_for_is_read_through_the_trusted_proxies_only(rates, settings, user):
    rates["token_ip"] = "1/day"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = APIClient()

    def through_proxy(forwarded_for: str) -> int:
        return _guess(client, HTTP_X_FORWARDED_FOR=forwarded_for).status_code

    # The one trusted proxy appends the real client: distinct clients count
    # apart; a forged first entry does not make a new client.
    assert through_proxy("198.51.100.1") == 401
    assert through_proxy("198.51.100.2") == 401
    assert through_proxy("6.6.6.6, 198.51.100.1") == 429
    assert through_proxy("7.7.7.7, 198.51.100.2") == 429


@pytest.mark.django_db
def test_successful_token_issue_counts_and_is_not_cacheable(rates, user):
    rates["token_user"] = "5/day"
    response = APIClient().post(
        TOKEN_URL,
        {"username": "alice", "password": "a-Long-pass-123"},
        format="json",
    )
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "4"
    cache_control = response["Cache-Control"]
    assert "private" in cache_control and "no-store" in cache_control
    assert "Authorization" in response["Vary"]


@pytest.mark.services
def test_counter_is_atomic_across_concurrent_clients():
    key = "throttle:test:atomic"
    results: list[int | None] = []
    lock = threading.Lock()

    def hit() -> None:
        for _ in range(25):
            value = count_in_window(key, seconds=60)
            with lock:
                results.append(value)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # 200 increments from 8 threads: every value once, none lost or repeated.
    assert sorted(v for v in results if v is not None) == list(range(1, 201))
    assert cache.get(key) == 200


@pytest.mark.faults
@pytest.mark.django_db
def test_token_issue_works_without_throttling_when_redis_is_down(rates, settings, user):
    rates["token_user"] = "1/day"
    with servers.private_redis() as redis:
        settings.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": redis.url(0),
                "OPTIONS": {
                    "SOCKET_CONNECT_TIMEOUT": 0.25,
                    "SOCKET_TIMEOUT": 0.25,
                    "IGNORE_EXCEPTIONS": True,
                },
            }
        }
        client = APIClient()
        assert _guess(client).status_code == 401
        assert _guess(client).status_code == 429

        redis.pause()
        paused = [_guess(client) for _ in range(2)]
        redis.resume()
        redis.stop()
        stopped = [_guess(client) for _ in range(2)]

    # Degraded, not failed: every guess is answered, none throttled or 500.
    down = paused + stopped
    assert [a.status_code for a in down] == [401, 401, 401, 401]
    assert all("X-RateLimit-Limit" not in a for a in down)
