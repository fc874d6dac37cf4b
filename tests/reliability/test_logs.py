"""Logs carry identifiers, never secrets, tokens or message content."""

import pytest

from tests import servers
from tests.reliability.conftest import PASSWORD, sign_up

pytestmark = [pytest.mark.slow]

MESSAGE_CANARY = "canary-message-7f3a9c"
API_KEY = "sk-canary-api-key-51d2e8"


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_no_secret_token_or_message_reaches_the_logs(stack_env, fake_model, level):
    env = stack_env(LOG_LEVEL=level, OPENAI_API_KEY=API_KEY)
    secret_key = env["SECRET_KEY"]
    with servers.gunicorn(env) as web:
        alice = sign_up(web.url)
        first = alice.chat(f"hello {MESSAGE_CANARY}")
        assert first.status_code == 200
        conversation = first.json()["conversation_id"]
        reply = first.json()["messages"][1]["content"]
        assert alice.chat(f"again {MESSAGE_CANARY}", conversation).status_code == 200
        fake_model.set_mode("garbage")
        assert alice.chat(f"bad {MESSAGE_CANARY}", conversation).status_code == 502
        fake_model.set_mode("ok")

        pair = alice.http.post(
            "/api/token/", json={"username": alice.username, "password": PASSWORD}
        ).json()
        refreshed = alice.http.post("/api/token/refresh/", json=pair).json()
        wrong = alice.http.post(
            "/api/token/", json={"username": alice.username, "password": "wrong-pw-x9"}
        )
        assert wrong.status_code == 401
        forged = alice.http.get(
            f"/api/{alice.user_id}/conversations",
            headers={"Authorization": f"Bearer {alice.token}x"},
        )
        assert forged.status_code == 401
        log = web.log()

    secrets = {
        "password": PASSWORD,
        "wrong password": "wrong-pw-x9",
        "access token": alice.token,
        "access token signature": alice.token.rsplit(".", 1)[1],
        "refresh token": pair["refresh"],
        "rotated refresh": refreshed["refresh"],
        "message": MESSAGE_CANARY,
        "reply": reply,
        "model api key": API_KEY,
        "secret key": secret_key,
    }
    assert "POST /api/" in log  # the log was captured at all
    assert (f" {level} " in log) is True
    leaked = [name for name, value in secrets.items() if value in log]
    assert leaked == []
