"""Fixtures for the dashboard: staff and plain users, and a stored mix of data."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from perfdash import services

CHAT = "api/<int:user_id>/chat"
LIST = "api/<int:user_id>/conversations"
TOKEN = "api/token/"
# A fixed past hour: tests read it back with a custom range, so the numbers
# do not move while a test runs.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PASSWORD = "a-Long-pass-123"


@dataclass
class Seeded:
    """What :func:`seed_metrics` stored: the range and the counts sent."""

    start: datetime
    end: datetime
    requests: dict[tuple[str, str, int], int]

    def query(self) -> str:
        return (
            f"range=custom&start={self.start:%Y-%m-%dT%H:%M}"
            f"&end={self.end:%Y-%m-%dT%H:%M}"
        )


def seed_metrics(start: datetime, minutes: int = 30, seed: int = 7) -> Seeded:
    """Store a known mix of requests, samples and fingerprints from ``start``."""
    rng = random.Random(seed)
    sent: dict[tuple[str, str, int], int] = {}
    for offset in range(minutes):
        minute = start + timedelta(minutes=offset)
        for route, method, status, n in (
            (CHAT, "POST", 200, 6 + offset % 5),
            (LIST, "GET", 200, 3 + offset % 3),
            (TOKEN, "POST", 200, 1),
            (CHAT, "POST", 502, 1 if offset % 3 == 0 else 0),
        ):
            if not n:
                continue
            # Two processes on two hosts share the minute, as in production.
            for host, pid, part in (("web-a", 11, n // 2), ("web-b", 22, n - n // 2)):
                if not part:
                    continue
                services.record_request_stats(
                    minute=minute,
                    route=route,
                    method=method,
                    status=status,
                    total_ms=[rng.lognormvariate(3.6, 0.5) for _ in range(part)],
                    upstream_ms=[rng.uniform(5, 25) for _ in range(part // 2)],
                    statement_ms=[rng.uniform(0.2, 6.0) for _ in range(part * 2)],
                    cache_hits=part * 4,
                    cache_misses=part,
                    host=host,
                    pid=pid,
                )
            key = (route, method, status // 100)
            sent[key] = sent.get(key, 0) + n
        for host, pid in (("web-a", 11), ("web-b", 22)):
            services.record_process_sample(
                at=minute + timedelta(seconds=30),
                host=host,
                pid=pid,
                cpu_percent=rng.uniform(2, 60),
                rss_bytes=rng.randint(90, 140) * 2**20,
                memory_percent=rng.uniform(0.5, 2.0),
                pool={"pool_max": 10, "pool_size": 4, "pool_available": offset % 4},
            )
        services.record_db_connection_sample(
            at=minute + timedelta(seconds=30),
            connections=10 + offset % 7,
            max_connections=100,
        )
    services.record_statement_fingerprint(
        kind="slow",
        route=CHAT,
        sql="SELECT * FROM conversations_message WHERE conversation_id = 42",
        at=start + timedelta(minutes=3),
        seconds=0.075,
    )
    services.record_statement_fingerprint(
        kind="n_plus_one",
        route=LIST,
        sql="SELECT * FROM auth_user WHERE id = 7",
        at=start + timedelta(minutes=4),
        statements=9,
    )
    return Seeded(start=start, end=start + timedelta(minutes=minutes), requests=sent)


@pytest.fixture
def seeded(db: None) -> Seeded:
    return seed_metrics(T0)


@pytest.fixture
def staff(make_user: Callable[..., Any]) -> Any:
    return make_user("staffer", is_staff=True)


@pytest.fixture
def plain(make_user: Callable[..., Any]) -> Any:
    return make_user("plain")


@pytest.fixture
def staff_client(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def plain_client(plain: Any) -> Client:
    client = Client()
    client.force_login(plain)
    return client
