"""Headless Chromium from the system's packages, driven through selenium.

The browser and its driver come from Debian's ``chromium`` and
``chromium-driver`` packages (``make browser`` installs them); selenium is
pointed at both paths so it never looks for a browser build of its own.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1100",
)


def find_browser() -> tuple[str, str]:
    """Return the Chromium and chromedriver paths, or skip (fail in CI)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    message = "needs chromium and chromium-driver (`make browser` installs them)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """Start headless Chromium with a fresh profile; quit it afterwards."""
    browser, driver_path = find_browser()
    profile = tempfile.mkdtemp(prefix="perfdash-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """Return the console messages logged as errors since the last call."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")  # type: ignore[no-untyped-call]
        if entry["level"] == "SEVERE"
    ]


def screenshot_dir() -> Path:
    path = Path(__file__).resolve().parents[2] / "build" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
