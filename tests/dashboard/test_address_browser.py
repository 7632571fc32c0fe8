"""The view in the address, in a real browser: a page that writes its scope (or month) into the address keeps
the page it drew, its picker and what was typed into it, and draws its figures once; Back and Forward show
the view the address names. Counted from the browser's own requests (page loads and the dashboard's
callbacks by what they draw)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from test_pages_browser import Session, signed_in

from tests.chromium import BROWSER_TESTS, browser  # noqa: F401  (browser: a fixture)
from tests.role_users import PASSWORD

pytestmark = BROWSER_TESTS


class Requests:
    """The page loads and the callback requests a page makes, as the browser sends them."""

    def __init__(self, page: object) -> None:
        self.loads: list[str] = []  # full page loads (documents)
        self.outputs: list[str] = []  # each callback request's outputs, e.g. "..today-tiles.children..."
        self.pending: set[object] = set()
        self.last = time.monotonic()
        page.on("request", self._sent)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _sent(self, request: object) -> None:
        if request.resource_type == "document":
            self.loads.append(request.url)
        elif urlsplit(request.url).path == "/_dash-update-component":
            self.outputs.append(json.loads(request.post_data)["output"])
        else:
            return
        self.pending.add(request)
        self.last = time.monotonic()

    def _ended(self, request: object) -> None:
        if request in self.pending:
            self.pending.discard(request)
            self.last = time.monotonic()

    def draws(self, component: str) -> int:
        """How many times the page asked the server to draw `component` (its children)."""
        return sum(f"{component}.children" in o for o in self.outputs)

    def settle(self, page: object, quiet: float = 2.0, timeout: float = 60) -> None:
        """Until no page load or callback has been in flight for `quiet` seconds."""
        until(page, lambda: not self.pending and time.monotonic() - self.last > quiet, timeout)


def until(page: object, condition: Callable[[], bool], timeout: float = 20) -> None:
    """Wait for a Python condition (the dashboard's Content-Security-Policy refuses evaluated strings)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


def _mark(s: Session, selector: str) -> None:
    s.page.locator(selector).evaluate("e => { e.dataset.drawn = 'first'; }")


def _still_marked(s: Session, selector: str) -> bool:
    return s.page.locator(selector).evaluate("e => e.dataset.drawn === 'first'")


def test_typing_into_todays_picker_on_arrival_is_kept_and_the_figures_are_drawn_once(browser, live_service) -> None:
    s = Session(browser, live_service.url)
    seen = Requests(s.page)
    held: list[object] = []  # the page's first write of its scope into the address, held until the user has typed

    def hold_the_first_address_write(route: object) -> None:
        if not held and "url.search" in json.loads(route.request.post_data)["output"]:
            held.append(route)
        else:
            route.continue_()

    s.page.route("**/_dash-update-component*", hold_the_first_address_write)
    s.page.goto(live_service.url + "/")
    s.page.fill("#signin-username", live_service.users["head_of_service"])
    s.page.fill("#signin-password", PASSWORD)
    s.page.press("#signin-password", "Enter")
    s.page.wait_for_selector("#today-scope", timeout=20_000)
    _mark(s, "#today-scope")
    # the user types the moment the picker shows, before the page has written its scope into the address
    s.page.focus("#today-scope")
    s.page.keyboard.type("(")
    search = s.page.locator("input.dash-dropdown-search")
    search.wait_for(timeout=15_000)
    search.focus()
    s.page.keyboard.type(live_service.team, delay=10)
    until(s.page, lambda: bool(held))
    held[0].continue_()  # now the page writes its scope into the address
    until(s.page, lambda: "service=" in s.page.url)
    seen.settle(s.page)
    assert _still_marked(s, "#today-scope"), "the picker was replaced"
    assert search.is_visible() and search.input_value() == f"({live_service.team}", "what was typed was lost"
    assert [u for u in seen.loads if "/today" in u] == [live_service.url + "/today"], seen.loads  # loaded once
    assert seen.draws("today-tiles") == 1 and seen.draws("today-qa") == 1, seen.outputs  # figures fetched once
    s.page.locator("[role=option]", has_text=f"({live_service.team})").first.wait_for(timeout=15_000)
    s.page.keyboard.press("Enter")  # and the choice is made, and written into the address
    s.page.wait_for_selector(f"#today-tiles .as-at >> text=({live_service.team})", timeout=20_000)
    until(s.page, lambda: f"team={live_service.team}" in s.page.url)
    seen.settle(s.page)
    assert seen.draws("today-tiles") == 2 and len([u for u in seen.loads if "/today" in u]) == 1, (seen.loads, seen.outputs)
    assert not s.errors, s.errors
    s.close()


@pytest.mark.parametrize(("path", "control", "body", "written"), [
    ("/team", "#team-picker", "team-body", "team="),
    ("/trends", "#trends-month", "trends-body", "month="),
    ("/qa", "#qa-scope", "qa-body", "service="),
])
def test_each_page_writing_its_view_into_the_address_draws_once(browser, live_service, path: str, control: str,
                                                                 body: str, written: str) -> None:
    s = signed_in(browser, live_service, "head_of_service")
    seen = Requests(s.page)
    s.page.goto(live_service.url + path)
    s.page.wait_for_selector(control, timeout=20_000)
    _mark(s, control)
    until(s.page, lambda: written in s.page.url, 30)
    seen.settle(s.page)
    assert _still_marked(s, control), "the page was drawn again"
    assert seen.loads == [live_service.url + path], seen.loads
    assert seen.draws(body) == 1, seen.outputs
    assert not s.errors, s.errors
    s.close()


def test_back_and_forward_show_the_scope_the_address_names(browser, live_service) -> None:
    s = signed_in(browser, live_service, "head_of_service")
    until(s.page, lambda: "service=" in s.page.url)
    s.pick("#today-scope", f"({live_service.team})")
    s.page.wait_for_selector(f"#today-tiles .as-at >> text=({live_service.team})", timeout=20_000)
    until(s.page, lambda: f"team={live_service.team}" in s.page.url)
    s.page.go_back()
    until(s.page, lambda: "service=" in s.page.url)
    s.page.wait_for_selector(f"#today-tiles .as-at >> text={live_service.service}", timeout=20_000)
    assert live_service.service in s.page.inner_text("#today-scope")
    s.page.go_forward()
    s.page.wait_for_selector(f"#today-tiles .as-at >> text=({live_service.team})", timeout=20_000)
    assert f"({live_service.team})" in s.page.inner_text("#today-scope") and f"team={live_service.team}" in s.page.url
    assert not s.errors, s.errors
    s.close()


def _history_length(s: Session) -> int:
    return s.page.evaluate("() => history.length")


def test_back_leaves_a_page_that_filled_in_its_view(browser, live_service) -> None:
    """A page opened at a bare address (/team) fills in its view (?team=...) in place of that address, not
    after it: Back then returns to the page before, where it once returned to the bare address, whose page
    filled in the same view again, so Back never left the page."""
    s = signed_in(browser, live_service, "head_of_service")
    until(s.page, lambda: "service=" in s.page.url)
    today = s.page.url
    s.page.wait_for_selector(f"#today-tiles .as-at >> text={live_service.service}", timeout=20_000)
    before = _history_length(s)
    s.page.click("#nav >> text=Team")
    until(s.page, lambda: "/team?team=" in s.page.url, 30)
    s.page.wait_for_selector("#team-picker", timeout=20_000)
    Requests(s.page).settle(s.page)
    assert _history_length(s) == before + 1, "the bare address was kept as an entry of its own"
    s.page.go_back()
    until(s.page, lambda: s.page.url == today, 30)
    s.page.wait_for_selector(f"#today-tiles .as-at >> text={live_service.service}", timeout=20_000)
    s.page.go_forward()  # and Forward returns to the view the page filled in
    until(s.page, lambda: "/team?team=" in s.page.url, 30)
    s.page.wait_for_selector("#team-picker", timeout=20_000)
    assert not s.errors, s.errors
    s.close()
