"""django-silk, when enabled, stores no credential or message text; staff only.

Traffic: token pair, verify and refresh, two chat turns, a message history
read, a note written by a test view, and a token in a query string.

Silk is an installed app only when SILK_ENABLED is set at start, so these
tests run a real gunicorn with it on (after migrating silk's tables into the
test database) and read silk's tables with plain SQL.
"""

import os
import re
import subprocess
import sys

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from chatbot.settings import BASE_DIR
from tests.perfdash.servers import gunicorn, server_database_url

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "Correct-Horse-Battery-9"
MESSAGE = "my bank PIN is 4096 and my cat is called Marmalade"
QUERY_TOKEN = "qs-token-5d1e0c"
# Silk may keep 3 requests: only the Celery task may trim to that, never a
# request (SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT = 0).
SILK_ENV = {
    "SILK_ENABLED": "true",
    "SILK_PERCENT": "100",
    "SILK_MAX_RECORDED_REQUESTS": "3",
}


def _manage(*args: str) -> str:
    """Run a management command with silk installed; return its output."""
    env = {
        **os.environ,
        **SILK_ENV,
        "DJANGO_SETTINGS_MODULE": "tests.perfdash.settings_server",
        "DATABASE_URL": server_database_url(),
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout


def _silk_rows() -> tuple[dict[str, int], str]:
    """Return row counts per silk table and every stored value as one text."""
    names = connection.introspection.table_names()
    tables = [name for name in names if name.startswith("silk_")]
    counts: dict[str, int] = {}
    texts: list[str] = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}"')  # names from the catalog
            rows = cursor.fetchall()
            counts[table] = len(rows)
            texts.extend(str(value) for row in rows for value in row)
    return counts, "\n".join(texts)


def _login(client: httpx.Client, username: str) -> None:
    client.get("/perf-test/login/")
    response = client.post(
        "/perf-test/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302, response.text[:300]


def test_silk_stores_no_secret_and_is_staff_only():
    users = get_user_model().objects
    users.create_user("silk-user", password=PASSWORD)
    users.create_user("silk-staff", password=PASSWORD, is_staff=True)
    _manage("migrate", "silk", "--noinput")

    with gunicorn(workers=1, extra_env=SILK_ENV) as server:
        api = httpx.Client(base_url=server.url, timeout=30)
        pair = api.post(
            "/api/token/", json={"username": "silk-user", "password": PASSWORD}
        ).json()
        access, refresh = pair["access"], pair["refresh"]
        bearer = {"Authorization": f"Bearer {access}"}
        assert api.post("/api/token/verify/", json={"token": access}).status_code == 200
        refreshed = api.post("/api/token/refresh/", json={"refresh": refresh}).json()
        note = api.post("/perf-test/note/", json={"message": MESSAGE}, headers=bearer)
        assert note.status_code == 200, note.text
        user_id = users.get(username="silk-user").pk
        turn = api.post(
            f"/api/{user_id}/chat", json={"message": MESSAGE}, headers=bearer
        )
        assert turn.status_code == 200, turn.text
        again = api.post(
            f"/api/{user_id}/chat",
            json={
                "message": MESSAGE,
                "conversation_id": turn.json()["conversation_id"],
            },
            headers=bearer,
        )
        assert again.status_code == 200, again.text
        api.get(
            f"/api/{user_id}/conversations/{turn.json()['conversation_id']}/messages",
            headers=bearer,
        )
        api.get(f"/perf-test/ok/1/?token={QUERY_TOKEN}", headers=bearer)

        anonymous = httpx.Client(base_url=server.url, timeout=30)
        refused = anonymous.get("/silk/", follow_redirects=False)
        plain = httpx.Client(base_url=server.url, timeout=30)
        _login(plain, "silk-user")
        forbidden = plain.get("/silk/", follow_redirects=False)
        staff = httpx.Client(base_url=server.url, timeout=30)
        _login(staff, "silk-staff")
        allowed = staff.get("/silk/", follow_redirects=False)
        session = staff.cookies["sessionid"]

    assert refused.status_code == 302
    assert refused.headers["location"].startswith("/admin/login/")
    assert forbidden.status_code == 403
    assert allowed.status_code == 200

    counts, stored = _silk_rows()
    assert counts["silk_request"] >= 8  # recorded, and not trimmed in requests
    assert counts["silk_sqlquery"] > 0
    assert counts["silk_response"] >= 8
    # Statements are kept as shapes: useful to read, holding no value.
    assert 'FROM "auth_user" WHERE "auth_user"."username" = ? LIMIT ?' in stored
    assert "(statement not captured)" not in stored
    secrets = {
        "password": PASSWORD,
        "access token": access,
        "refresh token": refresh,
        "rotated access": refreshed["access"],
        "rotated refresh": refreshed["refresh"],
        "message text": MESSAGE,
        "message word": "Marmalade",
        "query token": QUERY_TOKEN,
        "session cookie": session,
    }
    leaked = [name for name, value in secrets.items() if value in stored]
    assert leaked == []
    assert not re.search(r"Bearer\s+\S", stored)
    # A token's signature part is enough to forge nothing, but must not show.
    assert access.split(".")[2] not in stored

    # Garbage collection runs as perfdash's Celery task (here called directly
    # in a process with silk installed) and trims to the configured count.
    task = "from perfdash.tasks import collect_silk_garbage as t; print(t())"
    assert _manage("shell", "-c", task).strip().splitlines()[-1] == "3"
    assert _silk_rows()[0]["silk_request"] == 3
