"""Mint the simulated users' access tokens before a run starts.

Two ways, chosen explicitly by ``loadtest --tokens``:

* ``db``: the command shares the server's database. It creates the missing
  ``loadtest-N`` users with the ORM and signs access tokens itself
  (simplejwt's ``AccessToken.for_user``) with a lifetime that covers the
  run, so no token expires mid-run and nothing is written per token.
* ``api``: the server is elsewhere. The users already exist there with one
  shared password; each logs in once through ``POST /api/token/`` before
  the run. Their lifetime is the server's, so a run longer than it is
  refused up front.
"""

import base64
import json
import time
from datetime import timedelta

import httpx
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from rest_framework_simplejwt.tokens import AccessToken

USERNAME_PREFIX = "loadtest-"

UserToken = tuple[int, str]


class TokenError(Exception):
    """Tokens for the run could not be had."""


def ensure_load_users(*, count: int, prefix: str = USERNAME_PREFIX) -> list[int]:
    """Create the missing load-test users and return the ids of all of them."""
    User = get_user_model()
    names = [f"{prefix}{i}" for i in range(count)]
    existing = dict(
        User.objects.filter(username__in=names).values_list("username", "id")
    )
    missing = [name for name in names if name not in existing]
    if missing:
        # One unusable hash for all: these users never log in with a password.
        password = make_password(None)
        User.objects.bulk_create(
            [User(username=name, password=password) for name in missing],
            ignore_conflicts=True,
        )
        existing = dict(
            User.objects.filter(username__in=names).values_list("username", "id")
        )
    return [existing[name] for name in names]


def mint_tokens_locally(
    *, user_ids: list[int], lifetime_seconds: float
) -> list[UserToken]:
    """Sign an access token per user, valid for the given number of seconds."""
    User = get_user_model()
    tokens = []
    for user_id in user_ids:
        # for_user reads only the id (and the password hash when token
        # revocation is on), so an unsaved instance with the id is enough.
        token = AccessToken.for_user(User(id=user_id))
        token.set_exp(lifetime=timedelta(seconds=lifetime_seconds))
        tokens.append((user_id, str(token)))
    return tokens


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


# Logins are rate limited per client address; a throttled login waits as
# told (Retry-After), this many times at most.
LOGIN_ATTEMPTS = 5


def _login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    response = client.post(
        "/api/token/", json={"username": username, "password": password}
    )
    for _ in range(LOGIN_ATTEMPTS - 1):
        if response.status_code != 429:
            break
        time.sleep(min(float(response.headers.get("Retry-After", "1")), 60.0))
        response = client.post(
            "/api/token/", json={"username": username, "password": password}
        )
    return response


def mint_tokens_via_api(
    *,
    base_url: str,
    count: int,
    password: str,
    run_seconds: float,
    prefix: str = USERNAME_PREFIX,
) -> list[UserToken]:
    """Log each existing load-test user in once and return their tokens."""
    tokens = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for i in range(count):
            response = _login(client, f"{prefix}{i}", password)
            if response.status_code != 200:
                raise TokenError(
                    f"login of {prefix}{i} answered {response.status_code}; the "
                    "users must exist on the server with the given password"
                )
            access = response.json()["access"]
            claims = _claims(access)
            remaining = float(claims["exp"]) - time.time()  # type: ignore[arg-type]
            if remaining < run_seconds:
                raise TokenError(
                    f"the server's access tokens live {remaining:.0f} s, shorter than "
                    f"the {run_seconds:.0f} s run; raise JWT_ACCESS_LIFETIME_SECONDS "
                    "there or use --tokens db"
                )
            tokens.append((int(str(claims["user_id"])), access))
    return tokens
