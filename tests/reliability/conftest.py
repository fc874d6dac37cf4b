"""Fixtures for fault and scale-out tests: a private stack and an HTTP client.

Each test gets its own database (copied from a migrated template in a
private PostgreSQL cluster), its own Redis server and its own fake model
server, so it can stop, pause or restart any of them.
"""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests import servers
from tests.fakes.openai_server import FakeOpenAI

PASSWORD = "a-Long-pass-123"
TEMPLATE_DB = "chat_template"


class ApiUser:
    """One end user talking HTTP to a server, as a real client would."""

    def __init__(self, base_url: str, user_id: int, username: str, token: str):
        self.base_url = base_url
        self.user_id = user_id
        self.username = username
        self.token = token
        self.http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(30.0, connect=5.0),
            headers={"Authorization": f"Bearer {token}"},
        )

    def on(self, base_url: str) -> "ApiUser":
        """Return the same user talking to another server."""
        return ApiUser(base_url, self.user_id, self.username, self.token)

    def chat(self, message: str, conversation_id: int | None = None) -> httpx.Response:
        body: dict[str, Any] = {"message": message}
        if conversation_id is not None:
            body["conversation_id"] = conversation_id
        return self.http.post(f"/api/{self.user_id}/chat", json=body)

    def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        """Return every message of a conversation, following the cursor."""
        url: str | None = (
            f"/api/{self.user_id}/conversations/{conversation_id}/messages"
            "?page_size=200"
        )
        found: list[dict[str, Any]] = []
        while url:
            response = self.http.get(url)
            assert response.status_code == 200, response.text
            page = response.json()
            found.extend(page["results"])
            url = page["next"]
        return found

    def conversations(self) -> list[dict[str, Any]]:
        response = self.http.get(f"/api/{self.user_id}/conversations?page_size=200")
        assert response.status_code == 200, response.text
        return response.json()["results"]


def sign_up(base_url: str, username: str | None = None) -> ApiUser:
    """Register a user over HTTP and sign in; return the client."""
    name = username or f"u{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=base_url, timeout=30) as http:
        credentials = {"username": name, "password": PASSWORD}
        made = http.post("/api/register/", json=credentials)
        assert made.status_code == 201, made.text
        token = http.post("/api/token/", json=credentials)
        assert token.status_code == 200, token.text
    return ApiUser(base_url, made.json()["id"], name, token.json()["access"])


def staff_session(base_url: str, username: str, password: str) -> httpx.Client:
    """Log into the admin over HTTP (CSRF and session cookie); return the client."""
    http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=True)
    http.get("/admin/login/")
    login = http.post(
        "/admin/login/?next=/admin/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"Referer": f"{base_url}/admin/login/"},
    )
    assert login.status_code == 200 and "sessionid" in http.cookies, login.text[:300]
    return http


def assert_history(messages: list[dict[str, Any]], turns: int) -> None:
    """Assert a conversation holds exactly ``turns`` whole turns, in order."""
    assert [m["seq"] for m in messages] == list(range(1, 2 * turns + 1))
    assert [m["role"] for m in messages] == ["user", "assistant"] * turns


def measured_requests(database_url: str) -> dict[tuple[str, str, int], int]:
    """Return perfdash's request counts by (route, method, status class)."""
    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "SELECT route, method, status_class, SUM(requests), COUNT(DISTINCT pid) "
            "FROM perfdash_requeststatminute GROUP BY route, method, status_class"
        ).fetchall()
    return {(route, method, status): int(n) for route, method, status, n, _ in rows}


def measured_processes(database_url: str) -> int:
    """Return how many web processes flushed perfdash rows."""
    with psycopg.connect(database_url) as db:
        row = db.execute(
            "SELECT COUNT(DISTINCT (host, pid)) FROM perfdash_requeststatminute"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture(scope="session")
def private_pg() -> Iterator[servers.PostgresCluster]:
    with servers.private_postgres(max_connections=80) as cluster:
        cluster.create_database(TEMPLATE_DB, migrate=True)
        yield cluster


@pytest.fixture
def database_url(private_pg: servers.PostgresCluster) -> str:
    return private_pg.create_database(
        f"t_{uuid.uuid4().hex[:12]}", template=TEMPLATE_DB
    )


@pytest.fixture
def redis() -> Iterator[servers.RedisServer]:
    with servers.private_redis() as server:
        yield server


@pytest.fixture
def fake_model() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def stack_env(
    database_url: str, redis: servers.RedisServer, fake_model: FakeOpenAI
) -> Callable[..., dict[str, str]]:
    """Return a builder of the server environment for this test's stack."""

    def build(**extra: str | None) -> dict[str, str]:
        base: dict[str, str | None] = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url(0),
            "CACHE_KEY_PREFIX": "faults",
            "CELERY_BROKER_URL": redis.url(1),
            "CHAT_BACKEND": "openai",
            "OPENAI_BASE_URL": fake_model.base_url,
            "CHAT_MODEL": "fake-model",
            "CHAT_CONNECT_TIMEOUT": "2",
            "CHAT_READ_TIMEOUT": "3",
            "THROTTLE_USER_RATE": "none",
            "THROTTLE_CHAT_RATE": "none",
            "THROTTLE_TOKEN_IP_RATE": "none",
            "THROTTLE_TOKEN_USER_RATE": "none",
        }
        base.update(extra)
        return servers.project_env(**base)

    return build
