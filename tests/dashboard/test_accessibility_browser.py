"""Accessibility (WCAG 2.2 AA) in a real browser: axe-core over every page and the records dialog with 0
violations, and what axe cannot judge by itself: the page language, a title per view, headings in order,
the dialog's focus trap and return, the grid as one tab stop, buttons that name their KPI, the scope
picker labelled and filtered by typing, one visible focus style, nothing focusable inside aria-hidden."""

from __future__ import annotations

import re

import pytest
from axe import axe_violations
from test_address_browser import until
from test_pages_browser import Session, signed_in

from tests.chromium import BROWSER_TESTS, browser  # noqa: F401  (browser: a fixture)

pytestmark = BROWSER_TESTS

HEADINGS_IN_ORDER = """() => {
  const levels = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
    .filter(h => h.offsetParent !== null && !h.closest('[aria-hidden=true]')).map(h => +h.tagName[1]);
  const skips = [];
  levels.forEach((l, i) => { if (i > 0 && l > levels[i - 1] + 1) skips.push(levels[i - 1] + '->' + l); });
  return {first: levels[0], h1s: levels.filter(l => l === 1).length, skips};
}"""

FOCUSABLE_IN_HIDDEN = """() => [...document.querySelectorAll('[aria-hidden=true] a[href], [aria-hidden=true] button, '
  + '[aria-hidden=true] input, [aria-hidden=true] select, [aria-hidden=true] [tabindex]')]
  .filter(e => e.tabIndex >= 0 && !e.disabled && e.getClientRects().length > 0)  // what Tab can reach
  .map(e => e.outerHTML.slice(0, 120))"""


def _check_page(s: Session, name: str) -> None:
    assert s.page.evaluate("() => document.documentElement.lang") == "en-GB"
    headings = s.page.evaluate(HEADINGS_IN_ORDER)
    assert headings["first"] == 1 and headings["h1s"] == 1 and not headings["skips"], (name, headings)
    assert not s.page.evaluate(FOCUSABLE_IN_HIDDEN), name
    violations = axe_violations(s.page)
    s.shot(f"axe-{name}")
    assert not violations, (name, violations)


def test_sign_in_page_passes_axe(browser, live_service) -> None:
    s = Session(browser, live_service.url)
    s.page.goto(live_service.url + "/")
    s.page.wait_for_selector("#signin-username")
    assert s.page.title() == "Sign in · kpidash"
    _check_page(s, "sign-in")
    assert not s.errors, s.errors
    s.close()


@pytest.mark.parametrize(("path", "title", "ready"), [
    ("/today", "Today", ".tile .value"),
    ("/team", "Team", "#team-summary"),
    ("/trends", "Trends", "#trends-body svg.xmr"),
    ("/qa", "Quality assurance", "#qa-body .tile"),
])
def test_every_page_passes_axe(browser, live_service, path: str, title: str, ready: str) -> None:
    s = signed_in(browser, live_service, "executive")
    s.page.goto(live_service.url + path)
    s.page.wait_for_selector(ready, timeout=60_000)
    s.page.wait_for_load_state("networkidle")
    assert s.page.title().startswith(title) and s.page.title().endswith("· kpidash")
    # the freshness banner on every page, in the trust's (London) time
    assert re.search(r"taken \d{1,2} [A-Z][a-z]+ \d{4} at \d\d:\d\d", s.page.inner_text("#freshness"))
    _check_page(s, path.strip("/"))
    # no blank panel: every card, chart and tile says something, if only that there is no data
    blank = s.page.evaluate("() => [...document.querySelectorAll('#page .card, #page .tile, #page .html-host')]"
                            ".filter(e => e.offsetParent !== null && !e.innerText.trim() && !e.querySelector('svg, img'))"
                            ".map(e => e.id || e.className)")
    assert not blank, blank
    assert not s.errors, s.errors
    s.close()


def _active(s: Session) -> dict:
    return s.page.evaluate("""() => { const a = document.activeElement;
      return {id: a.id, inDialog: !!a.closest('#drawer .drawer'), inGrid: !!a.closest('.ag-header, .ag-body'),
              text: (a.textContent || '').trim().slice(0, 80)}; }""")


def test_records_dialog_passes_axe_traps_focus_and_gives_it_back(browser, live_service) -> None:
    s = signed_in(browser, live_service, "executive")
    opener = s.page.locator("#tile-allocation_rate button")
    assert opener.evaluate("b => b.textContent") == "Show the children: Cases allocated"  # names its KPI
    opener.focus()
    s.page.keyboard.press("Enter")
    s.page.wait_for_selector("#drawer .ag-row", timeout=20_000)
    s.page.wait_for_load_state("networkidle")
    assert _active(s)["id"] == "drawer-close"
    violations = axe_violations(s.page, "#drawer")
    s.shot("axe-records-dialog")
    assert not violations, violations
    # Shift+Tab from the first stop goes to the last, Tab from the last back to the first: focus stays inside
    s.page.keyboard.press("Shift+Tab")
    assert _active(s)["inDialog"]
    for _ in range(40):
        s.page.keyboard.press("Tab")
        assert _active(s)["inDialog"], _active(s)
    # the grid is one Tab stop: from a cell, Tab leaves the grid (arrow keys move inside it)
    s.page.click("#drawer .ag-row[row-index='0'] .ag-cell >> nth=0")
    assert _active(s)["inGrid"]
    s.page.keyboard.press("ArrowRight")
    assert _active(s)["inGrid"]
    s.page.keyboard.press("Tab")
    assert not _active(s)["inGrid"] and _active(s)["inDialog"], _active(s)
    s.page.keyboard.press("Escape")
    s.page.wait_for_selector("#drawer", state="hidden", timeout=5_000)
    assert "allocation_rate" in s.page.evaluate("document.activeElement.id")  # back on its opener
    assert not s.errors, s.errors
    s.close()


def test_scope_picker_is_labelled_and_filters_as_you_type(browser, live_service) -> None:
    s = signed_in(browser, live_service, "executive")
    picker = s.page.get_by_label("Show figures for")  # the label names the control
    assert picker.evaluate("e => e.id") == "today-scope"
    s.page.focus("#sign-out")  # Tab from the header reaches the picker (one stop, nothing hidden on the way)
    s.page.keyboard.press("Tab")
    assert _active(s)["id"] == "today-scope"
    picker.focus()
    typed = live_service.service[:5]
    s.page.keyboard.type(typed[0])  # typing on the closed picker opens its search box with what was typed
    search = s.page.locator("input.dash-dropdown-search")
    search.wait_for(timeout=15_000)
    s.page.keyboard.type(typed[1:], delay=50)
    assert search.input_value() == typed
    s.page.wait_for_timeout(300)
    options = s.page.locator("[role=option]").all_inner_texts()
    assert options and all(typed.lower() in o.lower() for o in options), options
    s.page.keyboard.press("Enter")
    s.page.wait_for_function(f"() => document.querySelector('.as-at')?.innerText.includes({live_service.service!r})",
                             timeout=20_000)
    s.shot("scope-picker-typed")
    assert not s.errors, s.errors
    s.close()


def test_fast_overlapping_keys_on_the_picker_keep_every_letter_in_order(browser, live_service) -> None:
    """A fast typist's next key goes down before the last comes up: Dash's dropdown read the button's letters
    as their keys came up and lost one that came up after its search box took focus
    (dashboard/assets/keyboard.js)."""
    s = signed_in(browser, live_service, "executive")
    s.page.focus("#today-scope")
    keys = s.page.keyboard
    keys.down("(")
    keys.down("T")
    keys.up("(")
    s.page.wait_for_timeout(60)  # the search box takes focus meanwhile
    keys.up("T")
    keys.type("0")
    search = s.page.locator("input.dash-dropdown-search")
    search.wait_for(timeout=15_000)
    until(s.page, lambda: search.input_value() == "(T0", 5)
    assert s.page.evaluate("() => document.activeElement.className").find("dash-dropdown-search") >= 0
    options = s.page.locator("[role=option]").all_inner_texts()
    assert options and all("(t0" in o.lower() for o in options), options
    assert not s.errors, s.errors
    s.close()


def _hold_frames(s: Session) -> None:
    """Animation frames asked for from now on wait (a busy machine, made certain) until _release_frames."""
    s.page.evaluate("() => { window.heldFrames = []; window.ownFrame = window.requestAnimationFrame;"
                    " window.requestAnimationFrame = f => { window.heldFrames.push(f); return 0; }; }")


def _release_frames(s: Session) -> None:
    """The held frames run, in the order they were asked for."""
    s.page.evaluate("() => { window.requestAnimationFrame = window.ownFrame;"
                    " window.heldFrames.splice(0).forEach(f => f(performance.now())); }")


def test_letters_typed_on_the_picker_come_before_those_typed_into_its_box(browser, live_service) -> None:
    """On a busy machine the search box shows, and a user (or a test) types into it, before the letters typed
    on the button are written there: they were typed first, so they come first ("(" then "T0", not "T0(")."""
    s = signed_in(browser, live_service, "executive")
    _hold_frames(s)
    s.page.focus("#today-scope")
    s.page.keyboard.type("(")
    search = s.page.locator("input.dash-dropdown-search")
    search.wait_for(timeout=15_000)
    search.focus()
    s.page.keyboard.type("T0")
    _release_frames(s)
    until(s.page, lambda: search.input_value() != "T0", 5)
    assert search.input_value() == "(T0"
    assert not s.errors, s.errors
    s.close()


def test_typing_on_a_dropdown_that_holds_a_value_keeps_focus_in_its_search_box(browser, live_service) -> None:
    """Dash focuses a dropdown's chosen option on the frame after it opens: where that frame came after the letters
    typed on its button were written into the search box, the letters typed next went to the option and were lost,
    and Enter chose the old value (the admin page's user picker did this on a busy machine)."""
    s = signed_in(browser, live_service, "admin")
    s.page.goto(live_service.url + "/admin")
    s.page.wait_for_selector("#admin-user", timeout=20_000)
    s.pick("#admin-user", "dash_board")  # the picker now holds a value, whose option Dash focuses on opening
    s.page.wait_for_selector("input.dash-dropdown-search", state="detached", timeout=15_000)
    _hold_frames(s)
    s.page.focus("#admin-user")
    s.page.keyboard.type("d")
    search = s.page.locator("input.dash-dropdown-search")
    search.wait_for(timeout=15_000)
    s.page.wait_for_timeout(200)  # Dash's effects have run and asked for their frames
    _release_frames(s)
    s.page.keyboard.type("ash_admin", delay=10)
    assert search.input_value() == "dash_admin"
    assert s.page.evaluate("() => document.activeElement.className").find("dash-dropdown-search") >= 0
    until(s.page, lambda: s.page.locator("[role=option]").all_inner_texts() == ["dash_admin"], 5)
    s.page.keyboard.press("Enter")
    until(s.page, lambda: "dash_admin" in s.page.inner_text("#admin-user"), 5)
    assert not s.errors, s.errors
    s.close()
