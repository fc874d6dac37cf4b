"""Accounts: registration, the create_chat_user command, tokens end to end."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_register_creates_a_user_who_can_chat(settings):
    settings.REGISTRATION_OPEN = True
    client = APIClient()

    created = client.post(
        "/api/register/",
        {"username": "carol", "password": "a-Long-pass-123"},
        format="json",
    )
    tokens = client.post(
        "/api/token/",
        {"username": "carol", "password": "a-Long-pass-123"},
        format="json",
    ).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    turn = client.post(
        f"/api/{created.json()['id']}/chat", {"message": "hi"}, format="json"
    )

    assert created.status_code == 201
    assert created.json()["username"] == "carol"
    assert turn.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "dave", "password": "123"}, "password"),
        ({"username": "dave", "password": "password"}, "password"),
        ({"username": "davidson", "password": "davidson1"}, "password"),
        ({"username": "no spaces!", "password": "a-Long-pass-123"}, "username"),
        ({"username": "alice", "password": "a-Long-pass-123"}, "username"),
        ({"password": "a-Long-pass-123"}, "username"),
    ],
)
def test_register_validates(user, body, field):
    count = get_user_model().objects.count()

    response = APIClient().post("/api/register/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert get_user_model().objects.count() == count


def test_register_is_403_when_closed(settings):
    settings.REGISTRATION_OPEN = False

    response = APIClient().post(
        "/api/register/",
        {"username": "eve", "password": "a-Long-pass-123"},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "registration_closed"
    assert not get_user_model().objects.filter(username="eve").exists()


def test_create_chat_user_command(monkeypatch, capsys):
    monkeypatch.setenv("CHAT_USER_PASSWORD", "a-Long-pass-123")

    call_command("create_chat_user", "frank", "--email", "f@example.com")

    user = get_user_model().objects.get(username="frank")
    assert user.check_password("a-Long-pass-123")
    assert f"id {user.pk}" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("create_chat_user", "frank")


def test_create_chat_user_refuses_a_weak_password(monkeypatch):
    monkeypatch.setenv("CHAT_USER_PASSWORD", "12345678")

    with pytest.raises(CommandError):
        call_command("create_chat_user", "gina")
    assert not get_user_model().objects.filter(username="gina").exists()


def test_demo_user_command_prints_the_port_it_serves_on(settings, capsys):
    settings.PORT = 9137

    call_command("create_demo_user")

    out = capsys.readouterr().out
    assert "http://127.0.0.1:9137/admin/" in out
    assert ":8000" not in out


def test_refresh_rotates_and_blacklist_logs_out(user):
    client = APIClient()
    pair = client.post(
        "/api/token/",
        {"username": "alice", "password": "a-Long-pass-123"},
        format="json",
    ).json()

    rotated = client.post("/api/token/refresh/", pair, format="json")
    reused = client.post("/api/token/refresh/", pair, format="json")
    latest = {"refresh": rotated.json()["refresh"]}
    logout = client.post("/api/token/blacklist/", latest, format="json")
    after_logout = client.post("/api/token/refresh/", latest, format="json")

    assert rotated.status_code == 200
    assert reused.status_code == 401
    assert logout.status_code == 200
    assert after_logout.status_code == 401
    assert after_logout.json()["error"]["code"] == "token_not_valid"
