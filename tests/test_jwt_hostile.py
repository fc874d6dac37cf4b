"""Hostile tokens and headers: each is a 401 in the one error shape, never a 500."""

import base64
import json
import time
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.conftest import token_for

pytestmark = [
    pytest.mark.django_db,
    # The HS512 forgery signs with the (short) dev key on purpose.
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

AUTH_CODES = {
    "not_authenticated",
    "authentication_failed",
    "token_not_valid",
    "token_expired",
    "bad_authorization_header",
    "no_active_account",
}


# /api/token/verify/ checks signature and expiry only: any unexpired token we
# signed verifies, whatever its type or claims (simplejwt's UntypedToken).
SIGNED_BY_US = {
    "refresh as access",
    "token without scheme",
    "no user_id claim",
    "no token_type",
    "unicode lookalike scheme",  # the scheme is no part of the body sent here
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(user: Any, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": "0" * 32,
        "user_id": str(user.pk),
    }
    claims.update(extra)
    return claims


def _signed(claims: dict[str, Any], *, key: str | None = None, alg: str = "HS256"):
    return jwt.encode(claims, key or settings.SECRET_KEY, algorithm=alg)


def _unsigned(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _assert_401(response) -> None:
    assert response.status_code == 401, response.content[:300]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] in AUTH_CODES


def _hostile_headers(user: Any) -> dict[str, str]:
    good = token_for(user)
    head, payload, signature = good.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    forged_payload = _b64(json.dumps(_claims(user, user_id="1")).encode())
    return {
        "alg none": f"Bearer {_unsigned(_claims(user))}",
        "alg none, no dot": f"Bearer {_unsigned(_claims(user))[:-1]}",
        "changed signature": f"Bearer {head}.{payload}.{flipped}",
        "no signature": f"Bearer {head}.{payload}.",
        "payload swapped, old signature": f"Bearer {head}.{forged_payload}.{signature}",
        "another key": f"Bearer {_signed(_claims(user), key='k' * 64)}",
        "same key, HS512": f"Bearer {_signed(_claims(user), alg='HS512')}",
        "expired": "Bearer "
        + _signed(_claims(user, exp=int(time.time()) - 10, iat=1_000_000)),
        "refresh as access": f"Bearer {RefreshToken.for_user(user)}",
        "no user_id claim": "Bearer "
        + _signed({k: v for k, v in _claims(user).items() if k != "user_id"}),
        "no token_type": "Bearer "
        + _signed({k: v for k, v in _claims(user).items() if k != "token_type"}),
        "10 KB token": "Bearer " + ".".join(["A" * 3413, "B" * 3413, "C" * 3414]),
        "10 KB junk": "Bearer " + "x" * 10240,
        "empty bearer": "Bearer",
        "bearer and space": "Bearer ",
        "three parts": f"Bearer {good} extra",
        "two dots only": "Bearer ..",
        "not base64": "Bearer !!!.@@@.###",
        "json segments": "Bearer {}.{}.{}",
        "latin-1 bytes": "Bearer \xe9\xff\xfe",
        "control characters": "Bearer \x01\x02\x03",
        "Basic scheme": "Basic YWxpY2U6YS1Mb25nLXBhc3MtMTIz",
        "token without scheme": good,
        "unicode lookalike scheme": f"B\u0435arer {good}".encode().decode("latin-1"),
    }


def test_every_hostile_authorization_header_is_401(user):
    url = f"/api/{user.pk}/conversations"
    tried = _hostile_headers(user)

    outcomes = {
        name: APIClient().get(url, HTTP_AUTHORIZATION=header)
        for name, header in tried.items()
    }

    for name, response in outcomes.items():
        assert response.status_code == 401, (name, response.content[:300])
        _assert_401(response)
    assert len(outcomes) >= 20


def _expired(user: Any, **extra: Any) -> str:
    claims = _claims(user, exp=int(time.time()) - 10, iat=1_000_000, **extra)
    return _signed(claims)


def test_expired_access_token_is_401_token_expired_pointing_at_refresh(user):
    header = f"Bearer {_expired(user)}"
    client = APIClient()

    responses = [
        client.get(f"/api/{user.pk}/conversations", HTTP_AUTHORIZATION=header),
        client.post(
            f"/api/{user.pk}/chat",
            {"message": "hi"},
            format="json",
            HTTP_AUTHORIZATION=header,
        ),
    ]

    for response in responses:
        _assert_401(response)
        error = response.json()["error"]
        assert error["code"] == "token_expired"
        assert "/api/token/refresh/" in error["message"]
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "name",
    ["changed signature", "another key", "alg none", "refresh as access", "10 KB junk"],
)
def test_other_invalid_tokens_keep_token_not_valid(user, name):
    header = _hostile_headers(user)[name]

    url = f"/api/{user.pk}/conversations"
    response = APIClient().get(url, HTTP_AUTHORIZATION=header)

    _assert_401(response)
    assert response.json()["error"]["code"] == "token_not_valid"


def test_expired_token_signed_with_another_key_is_not_called_expired(user):
    forged = _signed(
        _claims(user, exp=int(time.time()) - 10, iat=1_000_000), key="k" * 64
    )

    response = APIClient().get(
        f"/api/{user.pk}/conversations", HTTP_AUTHORIZATION=f"Bearer {forged}"
    )

    _assert_401(response)
    assert response.json()["error"]["code"] == "token_not_valid"


def test_a_good_token_still_works_alongside(user):
    url = f"/api/{user.pk}/conversations"
    response = APIClient().get(url, HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    assert response.status_code == 200


def test_hostile_tokens_on_the_chat_post_are_401_and_store_nothing(user):
    from conversations.models import Conversation

    url = f"/api/{user.pk}/chat"
    for name, header in _hostile_headers(user).items():
        response = APIClient().post(
            url, {"message": "hi"}, format="json", HTTP_AUTHORIZATION=header
        )
        assert response.status_code == 401, name
    assert Conversation.objects.count() == 0


def test_verify_endpoint_rejects_hostile_tokens_with_401(user):
    for name, header in _hostile_headers(user).items():
        token = header.partition(" ")[2] or header
        if not token.strip():
            continue
        response = APIClient().post(
            "/api/token/verify/", {"token": token}, format="json"
        )
        if name in SIGNED_BY_US:
            continue
        assert response.status_code == 401, name
        _assert_401(response)


def _refresh(refresh: str):
    return APIClient().post("/api/token/refresh/", {"refresh": refresh}, format="json")


def test_rotated_refresh_token_cannot_be_reused(user):
    first = str(RefreshToken.for_user(user))

    rotated = _refresh(first)
    reused = _refresh(first)

    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first
    _assert_401(reused)
    assert _refresh(rotated.json()["refresh"]).status_code == 200


def test_blacklisted_refresh_token_is_401(user):
    refresh = str(RefreshToken.for_user(user))
    out = APIClient().post("/api/token/blacklist/", {"refresh": refresh}, format="json")
    assert out.status_code == 200
    _assert_401(_refresh(refresh))


def test_refresh_for_an_inactive_user_is_401(user):
    refresh = str(RefreshToken.for_user(user))
    user.is_active = False
    user.save(update_fields=["is_active"])
    _assert_401(_refresh(refresh))


def test_refresh_for_a_deleted_user_is_401(user):
    refresh = str(RefreshToken.for_user(user))
    user.delete()
    _assert_401(_refresh(refresh))


def test_access_token_is_not_a_refresh_token(user):
    _assert_401(_refresh(token_for(user)))


@pytest.mark.parametrize(
    "body",
    [
        {"refresh": ""},
        {"refresh": "x" * 10240},
        {"refresh": ["a", "b"]},
        {"refresh": {"nested": 1}},
        {"refresh": None},
    ],
    ids=["empty", "10KB", "list", "object", "null"],
)
def test_malformed_refresh_bodies_are_4xx(user, body):
    response = APIClient().post("/api/token/refresh/", body, format="json")
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    "body",
    [
        {"username": ["alice"], "password": "x"},
        {"username": "alice" * 2048, "password": "x"},
        {"username": "alice", "password": {"a": 1}},
        {"username": "\x00", "password": "\x00"},
        {},
    ],
    ids=["list", "10KB", "object", "nul", "empty"],
)
def test_malformed_token_requests_are_4xx(user, body):
    response = APIClient().post("/api/token/", body, format="json")
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error"}
