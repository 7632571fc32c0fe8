"""Admin in the browser (issue 16, item 9): the load log, a run's rejected rows and warnings, users added,
disabled, given a new password and another role, and the audit trail; admins only; axe-clean."""

from __future__ import annotations

from axe import axe_violations
from test_pages_browser import Session, signed_in

from tests.chromium import BROWSER_TESTS, browser  # noqa: F401  (browser: a fixture)

pytestmark = BROWSER_TESTS


def _choose(s: Session, dropdown: str, typed: str) -> None:
    """Pick from a dropdown by typing, as a keyboard user does: the first key opens its filter box."""
    s.page.focus(dropdown)
    s.page.keyboard.type(typed[0])
    search = s.page.locator("input.dash-dropdown-search")
    search.wait_for(timeout=15_000)
    search.focus()  # it may take focus a moment after it shows (a busy machine): go on typing in it either way
    s.page.keyboard.type(typed[1:], delay=10)
    # Enter takes the first option shown: wait until the list is filtered, not just until the option shows
    s.page.wait_for_function("t => { const o = [...document.querySelectorAll('[role=option]')];"
                             " return o.length > 0 && o.every(e => e.innerText.includes(t)); }",
                             arg=typed, timeout=15_000)
    s.page.keyboard.press("Enter")
    s.page.wait_for_selector("input.dash-dropdown-search", state="detached", timeout=15_000)


def _message(s: Session, has: str) -> str:
    s.page.wait_for_function(f"() => document.querySelector('#admin-message').innerText.includes({has!r})",
                             timeout=20_000)
    return s.page.inner_text("#admin-message")


def test_an_admin_runs_the_service_from_the_browser(browser, live_service) -> None:
    s = signed_in(browser, live_service, "admin")
    s.page.click("#nav >> text=Admin")
    s.page.wait_for_selector("#admin-runs", timeout=20_000)
    s.page.wait_for_selector("#admin-audit .ag-row, #admin-audit .state", timeout=20_000)
    assert s.page.title() == "Admin · kpidash"
    runs = live_service.get("/api/v1/runs", role="admin").json()
    assert runs[0]["run_id"] in s.page.inner_text("#admin-runs")
    violations = axe_violations(s.page)
    s.shot("admin-page")
    assert not violations, violations
    # a run's rejected rows and warnings (the API audits the look)
    _choose(s, "#admin-run", runs[0]["run_id"])
    s.page.wait_for_selector("#admin-issues-note", timeout=20_000)
    total = live_service.get(f"/api/v1/runs/{runs[0]['run_id']}/rejects", role="admin", page_size=1).json()["total"]
    note = s.page.inner_text("#admin-issues-note")
    assert runs[0]["run_id"] in note and (("no rejected rows" in note) == (total == 0)), note
    # add a team manager: the password is shown once, and works
    s.page.fill("#admin-new-name", "browser_added")
    _choose(s, "#admin-new-role", "team_manager")
    _choose(s, "#admin-new-team", f"({live_service.team})")
    s.page.click("#admin-add")
    _message(s, "Add as team_manager")
    password = s.page.inner_text("#admin-password")
    assert len(password) >= 16 and "browser_added" in s.page.inner_text("#admin-users-table")
    import httpx

    assert httpx.post(live_service.url + "/api/v1/auth/login",
                      json={"username": "browser_added", "password": password}).status_code == 200
    # disable, reset, change role
    _choose(s, "#admin-user", "browser_added")
    s.page.click("#admin-disable")
    _message(s, "Disable browser_added")
    assert "disabled" in s.page.locator("#admin-users-table tr", has_text="browser_added").inner_text()
    s.page.click("#admin-reset")
    _message(s, "Reset the password of browser_added")
    _choose(s, "#admin-role", "analyst")
    s.page.click("#admin-change-role")
    _message(s, "Make analyst")
    # refused changes are said
    _choose(s, "#admin-user", "dash_admin")
    s.page.click("#admin-disable")
    assert "cannot disable yourself" in _message(s, "Not done")
    # the audit trail shows each change, by whom and through the dashboard
    _choose(s, "#admin-audit-event", "user change")
    s.page.wait_for_function("() => document.querySelector('#admin-audit').innerText.includes('browser_added')",
                             timeout=20_000)
    trail = live_service.get("/api/v1/audit", role="admin", event="user_change").json()
    mine = [e for e in trail if "browser_added" in (e["detail"] or "")]
    assert {e["channel"] for e in mine} == {"dashboard"} and {e["username"] for e in mine} == {"dash_admin"}
    assert len(mine) == 4
    s.shot("admin-users-changed")
    assert not s.errors, s.errors
    s.close()


def test_the_admin_page_is_for_admins_only(browser, live_service) -> None:
    s = signed_in(browser, live_service, "analyst")
    assert "Admin" not in s.page.inner_text("#nav")
    s.page.goto(live_service.url + "/admin")
    s.page.wait_for_selector(".state-refused", timeout=20_000)
    assert "for administrators" in s.page.inner_text(".state-refused")
    assert s.page.query_selector("#admin-users-table") is None
    s.close()
