"""Headless Chromium: log in, read the overview and a route page with data.

Fails on any console error and on any chart without a drawn line; saves a
screenshot of each page under ``build/screenshots/``.
"""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.dashboard.browser import chromium, console_errors, screenshot_dir
from tests.dashboard.conftest import CHAT, PASSWORD, seed_metrics

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _assert_charts_drawn(driver: webdriver.Chrome, page: str) -> int:
    charts = driver.find_elements(By.CSS_SELECTOR, "figure.perfdash-chart")
    assert len(charts) >= 9, page
    for chart in charts:
        name = chart.get_attribute("id")
        assert not chart.find_elements(By.CSS_SELECTOR, "text.no_data"), (page, name)
        assert int(chart.get_attribute("data-points") or 0) > 0, (page, name)
        # Data series come first; a dashed target line (last) does not count.
        drawn = []
        for index in range(int(chart.get_attribute("data-series") or 0)):
            serie = f"g.plot g.serie-{index}"
            drawn += [
                line
                for line in chart.find_elements(By.CSS_SELECTOR, f"{serie} path.line")
                if " L" in (line.get_attribute("d") or "")
            ]
            drawn += chart.find_elements(By.CSS_SELECTOR, f"{serie} circle.dot")
        assert drawn, f"{page}: chart {name} draws no data"
        box = chart.find_element(By.TAG_NAME, "svg").rect
        assert box["width"] > 200 and box["height"] > 100, (page, name)
    return len(charts)


def _check_page(driver: webdriver.Chrome, page: str) -> None:
    assert console_errors(driver) == [], page
    # Grow the window to the page's height so the screenshot shows all of it.
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, min(int(height) + 40, 8000))
    driver.save_screenshot(str(screenshot_dir() / f"{page}.png"))
    driver.set_window_size(1400, 1100)


def test_staff_reads_the_dashboard_in_chromium(live_server, make_user, settings):
    # A page reloading itself mid-check would make its elements stale.
    settings.PERFDASH = {**settings.PERFDASH, "REFRESH_SECONDS": 600}
    make_user("admin", is_staff=True)
    # Data in the last half hour, so the default range (1h) shows it.
    now = timezone.now().replace(second=0, microsecond=0)
    seed_metrics(now - timedelta(minutes=30), minutes=30)

    with chromium() as driver:
        driver.get(f"{live_server.url}/admin/performance/")
        assert "/admin/login/" in driver.current_url
        driver.find_element(By.NAME, "username").send_keys("admin")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

        # The click returns before the next page is parsed: wait for it.
        WebDriverWait(driver, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".perfdash-tile")
        )
        assert driver.current_url.endswith("/admin/performance/")
        tiles = driver.find_elements(By.CSS_SELECTOR, ".perfdash-tile")
        assert len(tiles) == 7
        verdicts = driver.find_elements(By.CSS_SELECTOR, ".perfdash-tile .verdict")
        assert {v.text for v in verdicts} <= {"PASS", "FAIL"}
        _assert_charts_drawn(driver, "overview")
        _check_page(driver, "overview")

        driver.find_element(By.LINK_TEXT, CHAT).click()
        assert f"route={quote(CHAT, safe='')}" in driver.current_url
        assert CHAT in driver.find_element(By.TAG_NAME, "h1").text
        _assert_charts_drawn(driver, "route")
        _check_page(driver, "route")

        driver.find_element(By.LINK_TEXT, "7d").click()
        assert "range=7d" in driver.current_url
        _assert_charts_drawn(driver, "route-7d")
        _check_page(driver, "route-7d")

        driver.get(f"{live_server.url}/admin/")
        driver.find_element(By.LINK_TEXT, "Dashboard").click()
        assert driver.current_url.endswith("/admin/performance/")
        _check_page(driver, "admin-index-to-overview")
