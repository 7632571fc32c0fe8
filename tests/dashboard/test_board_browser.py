"""The board's loop in a real headless Chromium against the real service, as a meeting uses it: a team
manager writes the analysis of their team's figure and agrees an action from it; the overdue action is
on their Today and on the Team page; a head of service editing the same analysis at once is told and
keeps their text; the action is closed; an analyst publishes the pack; a board member reads without
editing. The screenshots are docs/board.md's (KPIDASH_DOC_SHOTS=1 writes them to docs/img/board/)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.chromium import BROWSER_TESTS, browser  # noqa: F401  (browser: a fixture)
from tests.dashboard.test_pages_browser import Session, signed_in

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ("docs/img/board" if os.environ.get("KPIDASH_DOC_SHOTS") else "test-artifacts/board")
KPI = "assessments_within_45wd"
MONTH = "2025-10"

pytestmark = BROWSER_TESTS


def _shot(s: Session, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    s.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _text_of(s: Session, selector: str, contains: str, timeout: int = 20_000) -> str:
    s.page.locator(selector, has_text=contains).first.wait_for(timeout=timeout)
    return s.page.inner_text(selector)


def _board_url(live, scope: str) -> str:
    return f"{live.url}/board?kpi={KPI}&scope={scope}&period={MONTH}"


def test_a_meeting_writes_analysis_agrees_an_action_and_sees_it_overdue(browser, live_service) -> None:  # noqa: F811
    live = live_service
    manager = signed_in(browser, live, "team_manager")
    manager.page.goto(_board_url(live, f"team:{live.team}"))
    manager.page.wait_for_selector("#board-analysis-text", timeout=20_000)
    assert "October 2025" in _text_of(manager, "#board-figure", "October 2025")
    manager.page.fill("#board-analysis-text", "Timeliness fell in October: **two** workers on long-term leave.\n\n"
                                              "- agency cover from November\n- weekly review of day-35 cases")
    manager.page.click("#board-analysis-save")
    assert "Saved as version 1" in _text_of(manager, "#board-analysis-message", "Saved as version 1")
    _shot(manager, "1-analysis")

    # agree an action from the figure, due before today: it is overdue at once
    manager.page.fill("#board-action-what", "Weekly review of every assessment past day 35")
    manager.page.fill("#board-action-due", "2025-11-01")
    records = httpx.get(f"{live.url}/api/v1/kpis/{KPI}/records", timeout=30,
                        params={"level": "team", "unit": live.team, "from": f"{MONTH}-01", "to": f"{MONTH}-31"},
                        headers={"Authorization": f"Bearer {live.tokens['team_manager']}"}).json()["records"]
    behind = sorted({r["child_id"] for r in records})[:2]  # children behind the figure (others are refused)
    assert len(behind) == 2, records
    manager.page.fill("#board-action-children", ", ".join(behind))
    manager.page.click("#board-action-agree")
    message = _text_of(manager, "#board-action-message", "agreed")
    action_id = int(message.split()[1])
    row = _text_of(manager, f"#board-action-{action_id}", "OVERDUE")
    assert "dash_team_manager" in row and "2025-11-01" in row
    children = httpx.get(f"{live.url}/api/v1/actions/{action_id}/children", timeout=30,
                         headers={"Authorization": f"Bearer {live.tokens['team_manager']}"})
    assert children.json() == behind
    # and the page lists them (a dashboard audit: they were stored, but no one could see them)
    manager.page.click(f"#board-action-{action_id} button:has-text('Show the 2 children')")
    listed = _text_of(manager, "#board-children-list", behind[0])
    assert all(child in listed for child in behind) and f"action {action_id} (2)" in listed, listed
    _shot(manager, "2-action-agreed")

    # Today shows the overdue action to its owner, Team shows it for the team
    manager.page.goto(live.url + "/today")
    overdue = _text_of(manager, "#today-overdue", "Weekly review of every assessment past day 35")
    assert "Overdue since 2025-11-01" in overdue
    manager.page.wait_for_selector(".tile .value", timeout=30_000)
    _shot(manager, "3-today-overdue")
    manager.page.goto(f"{live.url}/team?team={live.team}")
    assert "Weekly review" in _text_of(manager, "#team-overdue", "Weekly review")

    # two editors at once: the head of service opens version 1, the manager saves version 2 first
    head = signed_in(browser, live, "head_of_service")
    head.page.goto(_board_url(live, f"team:{live.team}"))
    head.page.wait_for_selector("#board-analysis-text", timeout=20_000)
    saved = httpx.put(f"{live.url}/api/v1/analysis/{KPI}/team/{live.team}/{MONTH}", timeout=30,
                      headers={"Authorization": f"Bearer {live.tokens['team_manager']}"},
                      json={"text": "Manager's second thoughts.", "base_version": 1})
    assert saved.status_code == 200
    head.page.fill("#board-analysis-text", "Head of service: the service will fund agency cover.")
    head.page.click("#board-analysis-save")
    conflict = _text_of(head, "#board-analysis-message", "Not saved")
    assert "dash_team_manager" in conflict and "Manager's second thoughts." in head.page.inner_text("#board-analysis-theirs")
    assert head.page.input_value("#board-analysis-text") == "Head of service: the service will fund agency cover."
    _shot(head, "4-concurrent-edit")
    head.page.fill("#board-analysis-text", "Manager's second thoughts.\n\nHead of service: the service will fund "
                                           "agency cover.")
    head.page.click("#board-analysis-save")
    assert "Saved as version 3" in _text_of(head, "#board-analysis-message", "Saved as version 3")
    # the versions below count the new one at once (a dashboard audit saw "Every version (0)" after a save)
    assert "Every version (3)" in _text_of(head, "#board-analysis-count", "(3)")

    # the owner closes the action with a note
    manager.page.goto(_board_url(live, f"team:{live.team}"))
    manager.page.wait_for_selector("#board-change-save", timeout=20_000)
    manager.page.fill("#board-change-note", "Reviews running since 3 November")
    manager.page.click("#board-change-save")
    _text_of(manager, "#board-action-message", "now done")
    assert "Done" in _text_of(manager, f"#board-action-{action_id}", "Done")
    _shot(manager, "5-action-done")
    history = httpx.get(f"{live.url}/api/v1/actions/{action_id}/history", timeout=30,
                        headers={"Authorization": f"Bearer {live.tokens['board']}"}).json()
    assert [h["change"] for h in history][0].startswith("status open -> done")
    assert not manager.errors and not head.errors, manager.errors + head.errors
    manager.close()
    head.close()


def test_an_analyst_publishes_the_pack_and_a_board_member_reads_only(browser, live_service) -> None:  # noqa: F811
    live = live_service
    analyst = signed_in(browser, live, "analyst")
    analyst.page.goto(_board_url(live, "trust"))
    analyst.page.wait_for_selector("#board-pack-publish", timeout=20_000)
    analyst.page.fill("#board-pack-date", "2025-12-04")
    analyst.page.click("#board-pack-publish")
    assert "Published the pack for the board of 2025-12-04" in _text_of(analyst, "#board-pack-message", "Published",
                                                                        timeout=180_000)
    # the list above shows it at once, not "No pack published yet" (a dashboard audit)
    assert "Board of 2025-12-04" in _text_of(analyst, "#board-packs", "2025-12-04")
    analyst.page.goto(_board_url(live, "trust"))
    assert "Board of 2025-12-04" in _text_of(analyst, "#board-packs", "2025-12-04")
    _shot(analyst, "6-pack-published")
    analyst.close()

    member = signed_in(browser, live, "board")
    member.page.goto(_board_url(live, "trust"))
    member.page.wait_for_selector("#board-analysis-read", timeout=20_000)
    assert member.page.query_selector("#board-analysis-text") is None
    assert member.page.query_selector("#board-action-agree") is None
    assert member.page.query_selector("#board-pack-publish") is None
    assert "Board of 2025-12-04" in member.page.inner_text("#board-packs")
    with member.page.expect_download() as download:
        member.page.click("#board-packs a:text('PDF')")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    _shot(member, "7-board-member")
    assert not member.errors, member.errors
    member.close()
