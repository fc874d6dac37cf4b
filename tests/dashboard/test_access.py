"""Every dashboard page and JSON endpoint: staff only."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import token_for
from tests.dashboard.conftest import CHAT

PAGES = [
    "/admin/performance/",
    "/admin/performance/?range=15m",
    "/admin/performance/?range=6h&sort=total_p95_ms&dir=asc",
    "/admin/performance/?range=24h",
    "/admin/performance/?range=7d",
    "/admin/performance/?range=custom&start=2026-03-02T10:00&end=2026-03-02T10:30",
    f"/admin/performance/route/?route={CHAT}&range=1h",
]
ENDPOINTS = [
    "/perfdash/api/summary",
    f"/perfdash/api/summary?route={CHAT}&range=6h",
    "/perfdash/api/routes?range=24h&sort=error_rate",
    "/perfdash/api/series?range=7d",
    f"/perfdash/api/series?route={CHAT}",
    "/perfdash/api/statements?range=15m",
]

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", PAGES)
def test_staff_opens_every_page(staff_client, seeded, url):
    response = staff_client.get(url)
    assert response.status_code == 200
    assert b'id="tiles"' in response.content


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_gets_the_admin_login(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


@pytest.mark.parametrize("url", PAGES)
def test_non_staff_gets_the_admin_login(plain_client, url):
    response = plain_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


def test_inactive_staff_gets_the_admin_login(make_user):
    client = Client()
    client.force_login(make_user("gone", is_staff=True, is_active=False))
    response = client.get(PAGES[0])
    assert response.status_code == 302


@pytest.mark.parametrize("url", ENDPOINTS)
def test_staff_session_reads_every_endpoint(staff_client, seeded, url):
    response = staff_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_staff_token_reads_every_endpoint(staff, url):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(staff)}")
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", ENDPOINTS)
def test_anonymous_is_refused_by_every_endpoint(url):
    response = Client().get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_non_staff_is_refused_by_every_endpoint(plain, plain_client, url):
    assert plain_client.get(url).status_code == 403
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(plain)}")
    response = token.get(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_endpoints_answer_reads_only(staff_client):
    response = staff_client.post("/perfdash/api/summary", {})
    assert response.status_code == 405


def test_admin_index_links_the_dashboard(staff_client):
    response = staff_client.get("/admin/")
    assert response.status_code == 200
    assert b'href="/admin/performance/"' in response.content
    assert b"Performance" in response.content


def test_route_page_without_a_route_is_a_clear_400(staff_client):
    response = staff_client.get("/admin/performance/route/")
    assert response.status_code == 400
    assert b"Choose a route" in response.content
