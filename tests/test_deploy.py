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
    ],
    ids=["conn-max-age-with-pool", "no-secret", "short-secret"],
)
def test_gunicorn_refuses_to_start_with_impossible_settings(extra, message, capfd):
    env = servers.project_env(**extra)
    with pytest.raises(servers.ServerError) as caught:
        with servers.gunicorn(env, name="doomed") as web:
            pytest.fail(f"gunicorn answered on {web.url}")
    assert "exited at start" in str(caught.value)
    # The harness prints the server's log when the block fails.
    assert message in capfd.readouterr().err
