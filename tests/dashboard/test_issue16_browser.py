"""What users stumbled on (issue 16), in a real browser: the records dialog in a practitioner's words, an
ended session and a failed download said plainly, each role starting where it works, and the view in the
address. Screenshots (before any fix they showed ids, "from ... to" for a stock and API instructions) go
to test-artifacts/dashboard/."""

from __future__ import annotations

import re

from test_pages_browser import Session, signed_in

from kpis.targets import format_figure
from tests.chromium import BROWSER_TESTS, browser  # noqa: F401  (browser: a fixture)

pytestmark = BROWSER_TESTS

HEADERS = "() => [...document.querySelectorAll('#drawer .ag-header-cell-text')].map(e => e.textContent)"


def _open(s: Session, kpi: str) -> None:
    s.page.click(f"#tile-{kpi} button")
    s.page.wait_for_selector("#drawer .ag-row", timeout=20_000)
    s.page.wait_for_function("() => !document.querySelector('#drawer-title').innerText.includes('_')")


def test_drill_down_reads_as_a_practitioner_would(browser, live_service) -> None:
    s = signed_in(browser, live_service, "executive")
    _open(s, "allocation_rate")  # a stock rate
    assert s.page.inner_text("#drawer-title") == "Cases allocated: Whole trust"  # the tile's name, not the id
    message = s.page.inner_text("#drawer-message")
    assert re.match(r"^[\d,]+ records? as at \d{1,2} [A-Z][a-z]+ \d{4}", message), message  # a stock: as at D
    headers = s.page.evaluate(HEADERS)
    assert headers[:2] == ["Counts against the figure", "Child"] and "Team" in headers[2:4], headers  # unallocated: no worker
    assert headers.index("Record id") > headers.index("Team") and "Record id" in headers[-6:], headers
    rows = s.page.evaluate("() => [...document.querySelectorAll('#drawer .ag-row')].map(r => r.innerText)")
    failing = [r for r in rows if "✖ Yes" in r]
    if failing:  # the failing records first and marked
        assert rows[0].startswith("✖ Yes") and s.page.query_selector("#drawer .ag-row.row-fails")
    assert all("_" not in h for h in headers), headers
    s.shot("drill-down-stock-rate")
    s.page.click("#drawer-close")
    _open(s, "icpc_within_15wd")  # a flow rate: over a period
    assert s.page.inner_text("#drawer-title") == "Conferences within 15 working days: Whole trust"
    assert re.match(r"^[\d,]+ records? from \d{1,2} [A-Z][a-z]+ \d{4} to ", s.page.inner_text("#drawer-message"))
    s.shot("drill-down-flow-rate")
    assert not s.errors, s.errors
    s.close()


def test_an_ended_session_offers_a_sign_in_link_never_api_instructions(browser, live_service) -> None:
    s = signed_in(browser, live_service, "executive")
    s.context.clear_cookies()  # the session ends (expired, or signed out in another tab)
    s.page.click("#tile-unallocated_cases button")
    s.page.wait_for_selector("#drawer-message .signin-again", timeout=20_000)
    text = s.page.inner_text("#drawer")
    assert "session has ended" in text and "POST" not in text and "/api/" not in text
    # titled as the tile names the figure, without downloads or an empty grid (a dashboard audit: "Allocation
    # rate: ...", "Download CSV", "Page 0 of 0")
    assert s.page.inner_text("#drawer-title") == "Unallocated cases: Whole trust"
    assert not s.page.is_visible("#drawer-csv") and not s.page.is_visible("#drawer-grid")
    s.shot("session-ended-dialog")
    s.page.click("#drawer-message .signin-again")
    s.page.wait_for_selector("#signin-username", timeout=20_000)
    assert s.page.inner_text("#signin-message") == ""  # the sign-in page opens without an error
    s.close()


def test_a_failed_download_says_why(browser, live_service) -> None:
    s = signed_in(browser, live_service, "team_manager")
    s.page.click("text=Team")
    s.page.wait_for_selector("#team-summary", timeout=20_000)
    s.context.clear_cookies()
    s.page.click("#team-pack")
    s.page.wait_for_selector("#team-pack-message .signin-again", timeout=20_000)
    assert s.page.inner_text("#team-pack-message").startswith("The team pack could not be made: your session has ended.")
    s.shot("team-pack-download-failed")
    s.close()


def test_a_wrong_password_is_said_once(browser, live_service) -> None:
    s = Session(browser, live_service.url)
    s.page.goto(live_service.url + "/")
    s.page.wait_for_selector("#signin-username")
    assert s.page.inner_text("#signin-message") == ""
    s.shot("sign-in-opened")
    s.page.fill("#signin-username", live_service.users["analyst"])
    s.page.fill("#signin-password", "not-the-password-at-all")
    s.page.press("#signin-password", "Enter")
    s.page.wait_for_function("() => document.querySelector('#signin-message').innerText.length > 0")
    message = s.page.inner_text("#signin-message")
    assert message.lower().count("password") == 1 and "sign in again" not in message.lower(), message
    assert len(s.page.query_selector_all("[role=alert]:not(:empty)")) == 1
    s.close()


def test_a_head_of_service_starts_on_their_service_and_the_view_is_in_the_address(browser, live_service) -> None:
    s = signed_in(browser, live_service, "head_of_service")
    assert live_service.service in s.page.inner_text(".as-at")
    s.page.click("text=Team")
    s.page.wait_for_selector("#team-summary", timeout=20_000)
    teams = {t["team_id"]: t["service"] for t in live_service.get("/api/v1/teams").json()}
    shown = s.page.inner_text("#team-picker")
    assert teams[re.search(r"\(([^)]+)\)\s*$", shown.strip()).group(1)] == live_service.service, shown
    s.shot("team-head-of-service")
    # Today's scope goes into the address; a reload (or the link shared) shows the same view
    s.page.click("text=Today")
    s.page.wait_for_selector(".tile .value", timeout=20_000)
    s.page.focus("#today-scope")
    s.page.keyboard.type("(")  # typing opens the picker's search box with what was typed
    search = s.page.locator("input.dash-dropdown-search")
    search.wait_for(timeout=15_000)
    search.focus()  # the box may take focus a moment after it shows; go on typing in it either way
    s.page.keyboard.type(f"{live_service.team})", delay=10)
    assert search.input_value().startswith("(")
    s.page.locator("[role=option]", has_text=f"({live_service.team})").first.wait_for(timeout=15_000)
    s.page.keyboard.press("Enter")
    s.page.wait_for_function("() => location.search.includes('team=')", timeout=10_000)
    assert f"team={live_service.team}" in s.page.url
    s.page.reload()
    s.page.wait_for_selector(".tile .value", timeout=20_000)
    assert f"({live_service.team})" in s.page.inner_text(".as-at")
    # Trends: the month and the charts' period
    s.page.goto(live_service.url + "/trends?by=week")
    s.page.wait_for_selector("#trends-body svg.xmr", timeout=60_000)
    assert s.page.is_checked("#trends-by input[value=week]")
    s.shot("address-holds-the-view")
    assert not s.errors, s.errors
    s.close()


def test_tiles_are_consistent_figures(browser, live_service) -> None:
    s = signed_in(browser, live_service, "executive")
    api = {r["kpi"]: r for r in live_service.get("/api/v1/kpis", fields="all").json()}
    for tile in s.page.query_selector_all(".tile"):
        text = tile.inner_text()
        kpi = tile.get_attribute("id").removeprefix("tile-")
        assert not ("No target" in text and "Target " in text), text  # never both at once
        assert not re.search(r"(up|down) 0(\.0)?( pts)?\b", text), text  # a change too small to show is "no change"
        if api[kpi]["rag"]:
            assert api[kpi]["rag"] in tile.get_attribute("class")
    assert "counts once in each worker's caseload" in s.page.inner_text("#tile-average_caseload")
    alt = s.page.get_attribute("#tile-icpc_within_15wd img.spark", "alt")
    assert ", month to date, daily for the last 30 days" in alt  # the sparkline of a month-to-date rate
    last = re.search(r"to ([\d.,]+%?) on [\d-]+;", alt).group(1)  # ends on the tile's figure, as the tile shows it
    assert last == format_figure(api["icpc_within_15wd"]["value"], "%"), (alt, api["icpc_within_15wd"])
    s.shot("today-consistent-tiles")
    s.page.click("text=Team")
    s.page.wait_for_selector("#team-summary", timeout=20_000)
    extract = live_service.get("/api/v1/status").json()["extract_date"]
    import datetime as dt

    if dt.date.fromisoformat(extract).weekday() != 6:  # the sample's week is not over on its extract date
        assert "a partial week" in s.page.inner_text("#team-week")
    assert "No target" not in s.page.inner_text("#team-summary") or "Target" not in s.page.inner_text("#team-summary")
    assert not s.errors, s.errors
    s.close()


def test_exports_are_marked_dated_and_readable(browser, live_service) -> None:
    import csv
    import io

    from python_calamine import CalamineWorkbook

    s = signed_in(browser, live_service, "executive")
    _open(s, "allocation_rate")
    total = live_service.get("/api/v1/kpis/allocation_rate/records", unit="trust").json()["total"]
    with s.page.expect_download() as got:
        s.page.click("#drawer-csv")
    lines = list(csv.reader(io.StringIO(got.value.path().read_bytes().decode("utf-8-sig"))))
    assert lines[0][0].startswith("OFFICIAL-SENSITIVE") and lines[1] == ["Cases allocated: Whole trust"]
    assert re.match(r"^[\d,]+ records as at \d{1,2} [A-Z][a-z]+ \d{4}\.$", lines[2][0]), lines[2]
    assert lines[2][0].startswith(f"{total:,} records")
    assert lines[4][:2] == ["Counts against the figure", "Child"] and len(lines) == 5 + total
    assert got.value.suggested_filename.startswith("kpidash-allocation_rate-trust-")
    with s.page.expect_download() as got:
        s.page.click("#drawer-xlsx")
    sheet = CalamineWorkbook.from_path(str(got.value.path())).get_sheet_by_name("Records").to_python()
    assert sheet[0][0].startswith("OFFICIAL-SENSITIVE") and sheet[4][1] == "Child" and len(sheet) == 5 + total
    trail = live_service.get("/api/v1/audit", role="admin", event="export", limit=5).json()
    assert trail[0]["kpi"] == "allocation_rate" and trail[0]["channel"] == "dashboard"  # the API audited it
    assert not s.errors, s.errors
    s.close()


def test_an_admin_starts_on_the_admin_page_and_the_others_on_today(browser, live_service) -> None:
    """Each role starts where it works: an admin's daily work is the load log, the rejects and the users."""
    s = signed_in(browser, live_service, "admin")
    s.page.wait_for_selector("#admin-runs", timeout=20_000)
    assert s.page.url == live_service.url + "/admin" and s.page.title() == "Admin · kpidash"
    assert s.page.inner_text("#nav .nav-link.active").split() == ["Admin", "(current", "page)"]
    assert s.page.query_selector("#freshness") is not None  # the freshness banner, as on every page
    s.page.click("#nav >> text=Today")  # the figures one click away
    s.page.wait_for_selector(".tile .value", timeout=20_000)
    s.close()
    for role in ("analyst", "team_manager"):
        s = signed_in(browser, live_service, role)
        assert s.page.url.startswith(live_service.url + "/today"), (role, s.page.url)  # with its scope in the address
        assert s.page.query_selector("#admin-runs") is None
        s.close()
