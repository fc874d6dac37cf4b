"""Production settings: check --deploy is clean; impossible settings fail at start."""

import secrets

import pytest

from tests import servers

PRODUCTION = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "chat.example.com",
    "SECURE_SSL_REDIRECT": None,  # the production default (on)
}


def _production_env(**extra: str | None) -> dict[str, str]:
    return servers.project_env(
        **{**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50), **extra}
    )


def test_check_deploy_is_clean_on_the_embedded_default():
    result = servers.manage(
        _production_env(), "check", "--deploy", "--fail-level", "WARNING"
    )
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_with_postgres_and_redis():
    # Settings only: check --deploy opens no connection to either.
    env = _production_env(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/chatbot",
        REDIS_URL="redis://127.0.0.1:6379/0",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/1",
    )
    result = servers.manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert "no issues" in result.stdout


def test_pool_with_persistent_connections_fails_at_start():
    env = _production_env(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/chatbot", CONN_MAX_AGE="60"
    )
    with pytest.raises(servers.ServerError) as caught:
        servers.manage(env, "check")
    assert "CONN_MAX_AGE must be 0 with the PostgreSQL connection pool" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("CHAT_BACKEND", "nope", "local, openai"),
        ("CHAT_BACKEND", "OpenAI", "local, openai"),
        ("CHAT_HISTORY_MODE", "redis", "stateless, stateful"),
        ("THROTTLE_CHAT_RATE", "banana", '"N/min"'),
        ("THROTTLE_USER_RATE", "10", '"N/min"'),
        ("THROTTLE_TOKEN_IP_RATE", "10/fortnight", '"N/min"'),
        ("THROTTLE_TOKEN_USER_RATE", "0/min", "N at least 1"),
        ("THROTTLE_TOKEN_USER_RATE", "-5/min", '"none"'),
    ],
)
def test_setting_that_cannot_work_fails_at_start_naming_it(variable, value, allowed):
    with pytest.raises(servers.ServerError) as caught:
        servers.manage(_production_env(**{variable: value}), "check")

    output = str(caught.value)
    assert "ImproperlyConfigured" in output
    assert variable in output
    assert repr(value) in output
    assert allowed in output


def test_the_other_documented_choices_start():
    env = _production_env(
        CHAT_BACKEND="openai",
        CHAT_HISTORY_MODE="stateful",
        THROTTLE_CHAT_RATE="none",
        THROTTLE_USER_RATE="5/second",
        THROTTLE_TOKEN_IP_RATE="100/hours",
        THROTTLE_TOKEN_USER_RATE="1000/day",
    )

    result = servers.manage(env, "check")

    assert "no issues" in result.stdout


def _printed_setting(env: dict[str, str], name: str) -> str:
    code = f"from django.conf import settings; print(settings.{name})"
    return servers.manage(env, "shell", "-c", code).stdout.strip().splitlines()[-1]


def test_site_url_follows_port_unless_set():
    by_port = _production_env(PORT="9137", SITE_URL=None)
    explicit = _production_env(PORT="9137", SITE_URL="https://chat.example.com")

    assert _printed_setting(by_port, "SITE_URL") == "http://127.0.0.1:9137"
    assert _printed_setting(explicit, "SITE_URL") == "https://chat.example.com"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {
                "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/chatbot",
                "CONN_MAX_AGE": "60",
            },
            "CONN_MAX_AGE must be 0",
        ),
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"CHAT_BACKEND": "nope"}, "CHAT_BACKEND='nope' is not supported"),
        ({"THROTTLE_CHAT_RATE": "banana"}, "THROTTLE_CHAT_RATE: 'banana'"),
    ],
    ids=[
        "conn-max-age-with-pool",
        "no-secret",
        "short-secret",
        "unknown-backend",
        "bad-rate",
    ],
)
def test_gunicorn_refuses_to_start_with_impossible_settings(extra, message, capfd):
    env = servers.project_env(**extra)
    with pytest.raises(servers.ServerError) as caught:
        with servers.gunicorn(env, name="doomed") as web:
            pytest.fail(f"gunicorn answered on {web.url}")
    assert "exited at start" in str(caught.value)
    # The harness prints the server's log when the block fails.
    assert message in capfd.readouterr().err
