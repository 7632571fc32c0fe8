"""Chromium for the browser tests: where it is, the marks that skip a test without it, one browser per test
module, and signing in on the dashboard's page as a user does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.role_users import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_TESTS = [pytest.mark.browser,
                 pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)")]


def launch(playwright: object) -> object:
    """A headless Chromium that reaches out to nothing but the service under test."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"])


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium for the test module (import it into the module: `from tests.chromium import browser`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def sign_in(page: object, url: str, username: str, timeout: float = 20_000) -> None:
    """Sign in on the dashboard's sign-in page and wait for the first page (an admin starts on Admin)."""
    page.goto(url + "/")
    page.fill("#signin-username", username)
    page.fill("#signin-password", PASSWORD)
    page.press("#signin-password", "Enter")  # the keyboard is enough
    page.wait_for_selector(".tile .value, #admin-runs", timeout=timeout)
