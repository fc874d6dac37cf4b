"""Every /api/ answer is JSON in the one error shape, with DEBUG on or off.

With DEBUG on, Django answers unknown URLs and crashes with its HTML debug
pages, and APPEND_SLASH turned a POST to ``/api/token`` into a 500 (off: a
301 that drops the body). ``make run`` serves with DEBUG on, so both matter.
"""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from chatbot.urls import (  # noqa: F401
    handler400,
    handler403,
    handler404,
    handler500,
)
from chatbot.urls import urlpatterns as project_urlpatterns
from tests.conversations.conftest import chat

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-pass-123"


def crash(request: HttpRequest) -> HttpResponse:
    """Fail the way a bug in a plain Django view would."""
    raise RuntimeError("a bug outside DRF")


# This module is the URLconf of the crash test (pytest.mark.urls).
urlpatterns = [path("api/test-crash", crash), *project_urlpatterns]

debug_on_and_off = pytest.mark.parametrize(
    "debug", [True, False], ids=["debug", "prod"]
)


def _assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@debug_on_and_off
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/no-such-thing/"),
        ("GET", "/api/no-such-thing"),
        ("POST", "/api/no-such-thing"),
        ("GET", "/api/1/conversations/"),
        ("POST", "/api/1/chat/"),
        ("DELETE", "/api/token/nope"),
    ],
)
def test_unknown_api_url_is_a_json_404(client, settings, debug, method, url):
    settings.DEBUG = debug

    response = client.generic(method, url, "{}", "application/json")

    _assert_error(response, 404, "not_found")


@debug_on_and_off
@pytest.mark.parametrize("slash", ["/", ""], ids=["slash", "no-slash"])
def test_token_routes_answer_with_or_without_the_trailing_slash(
    client, settings, make_user, debug, slash
):
    settings.DEBUG = debug
    make_user("bob")

    pair = client.post(
        f"/api/token{slash}",
        {"username": "bob", "password": PASSWORD},
        content_type="application/json",
    )
    assert pair.status_code == 200, pair.content[:300]
    refreshed = client.post(
        f"/api/token/refresh{slash}",
        {"refresh": pair.json()["refresh"]},
        content_type="application/json",
    )
    verified = client.post(
        f"/api/token/verify{slash}",
        {"token": pair.json()["access"]},
        content_type="application/json",
    )
    logged_out = client.post(
        f"/api/token/blacklist{slash}",
        {"refresh": refreshed.json()["refresh"]},
        content_type="application/json",
    )

    assert [r.status_code for r in (refreshed, verified, logged_out)] == [200] * 3


@debug_on_and_off
@pytest.mark.parametrize("slash", ["/", ""], ids=["slash", "no-slash"])
def test_register_answers_with_or_without_the_trailing_slash(
    client, settings, debug, slash
):
    settings.DEBUG = debug

    response = client.post(
        f"/api/register{slash}",
        {"username": f"new-{debug}", "password": "a-Long-pass-123"},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content[:300]


@debug_on_and_off
def test_wrong_method_on_a_plain_view_is_a_json_405(client, settings, debug):
    settings.DEBUG = debug

    response = client.post("/api/ping")

    _assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


@debug_on_and_off
@pytest.mark.urls(__name__)
def test_crash_outside_drf_is_a_json_500(settings, debug):
    settings.DEBUG = debug
    client = Client(raise_request_exception=False)

    response = client.get("/api/test-crash")

    _assert_error(response, 500, "internal_error")
    assert "a bug outside DRF" not in response.content.decode()


@debug_on_and_off
def test_json_errors_still_carry_the_api_headers(api, user, settings, debug):
    settings.DEBUG = debug

    missing = api.get(f"/api/{user.pk}/nothing-here")
    busy_free = chat(api, user, "still fine")

    _assert_error(missing, 404, "not_found")
    assert "no-store" in missing["Cache-Control"]
    assert busy_free.status_code == 200


def test_pages_outside_the_api_are_left_alone(client, settings):
    settings.DEBUG = True

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_schema_documents_each_token_route_once(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]

    assert "/api/token/" in paths and "/api/register/" in paths
    assert "/api/token" not in paths and "/api/register" not in paths
