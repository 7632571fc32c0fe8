"""The QA views in a real headless Chromium against the real service: the Quality assurance page's figures
equal the API's, its records open scoped, QA on a Page is offered; Team gains the team's audits and
actions; Today the scope's overdue audits and actions; Trends "What audits found". Each page passes the
WCAG 2.2 AA contrast audit and logs no console error. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import json

from test_pages_browser import _contrast_failures, signed_in

from dashboard.components.formatting import format_value
from tests.chromium import BROWSER_TESTS, browser  # noqa: F401  (browser: a fixture)

pytestmark = BROWSER_TESTS


def _qa_values(page: object) -> dict[str, str]:
    return {el.get_attribute("data-kpi"): el.inner_text() for el in page.query_selector_all("#qa-tiles .value[data-kpi]")}


def test_executive_qa_page_equals_the_api_and_opens_the_overdue_audits(browser, live_service) -> None:  # noqa: F811
    s = signed_in(browser, live_service, "executive")
    s.page.click("text=Quality assurance")
    s.page.wait_for_selector("#qa-tiles .value", timeout=30_000)
    summary = live_service.get("/api/v1/qa/summary").json()
    api = {r["kpi"]: r for r in summary["figures"]}
    shown = _qa_values(s.page)
    assert set(shown) == set(api)
    for kpi, text in shown.items():
        assert text == format_value(api[kpi]["value"], api[kpi]["unit_of_measure"]), kpi
    mix = s.page.inner_text("#qa-grade-mix")
    assert "before and after moderation" in mix and "Requires improvement" in mix
    assert live_service.team in s.page.inner_text("#qa-by-unit")
    assert "/qa-page?month=" in s.page.get_attribute("#qa-page-pdf", "href")
    assert "format=pdf" in s.page.get_attribute("#qa-page-pdf", "href")
    s.shot("qa-executive")
    assert not _contrast_failures(s.page), _contrast_failures(s.page)
    if api["audits_overdue"]["value"]:
        s.page.click("#qa-tile-audits_overdue button")
        s.page.wait_for_selector("#drawer .ag-row", timeout=20_000)
        assert s.page.inner_text("#drawer-message").startswith(f"{api['audits_overdue']['value']} records")
        s.page.keyboard.press("Escape")
    # a team's page: the figures follow the scope
    s.pick("#qa-scope", live_service.team)
    s.page.wait_for_function(f"() => document.querySelector('#qa-body .as-at')?.innerText.includes({json.dumps(live_service.team)})",
                             timeout=20_000)
    team = {r["kpi"]: r for r in live_service.get("/api/v1/qa/summary", level="team", unit=live_service.team).json()["figures"]}
    for kpi, text in _qa_values(s.page).items():
        assert text == format_value(team[kpi]["value"], team[kpi]["unit_of_measure"]), kpi
    assert f"unit={live_service.team}" in s.page.get_attribute("#qa-page-html", "href")
    # a past month's figures open onto their own audits (a dashboard audit: only the extract's month did)
    s.page.goto(f"{live_service.url}/qa?month=2025-09")
    s.page.wait_for_function("() => document.querySelector('#qa-body .as-at')?.innerText.includes('September 2025')",
                             timeout=30_000)
    september = {r["kpi"]: r for r in live_service.get("/api/v1/qa/summary", **{"from": "2025-09-01",
                                                                                "to": "2025-09-30"}).json()["figures"]}
    assert september["audits_completed"]["value"], "the sample has audits completed in September"
    s.page.click("#qa-tile-audits_completed button")
    s.page.wait_for_selector("#drawer .ag-row", timeout=20_000)
    message = s.page.inner_text("#drawer-message")
    assert message.startswith(f"{september['audits_completed']['value']} records"), message
    assert "30 September 2025" in message, message
    s.page.keyboard.press("Escape")
    assert not s.errors, s.errors
    s.close()


def test_team_manager_team_and_today_show_their_audits_and_actions(browser, live_service) -> None:  # noqa: F811
    s = signed_in(browser, live_service, "team_manager")
    s.page.wait_for_selector("#today-audits_overdue", timeout=20_000)
    figures = {r["kpi"]: r for r in live_service.get("/api/v1/qa/summary", level="team", unit=live_service.team).json()[
        "figures"]}
    for kpi in ("audits_overdue", "audit_actions_overdue"):
        assert s.page.inner_text(f"#today-{kpi} strong") == str(figures[kpi]["value"])
    s.shot("today-qa-team-manager")
    assert not _contrast_failures(s.page), _contrast_failures(s.page)
    s.page.click("text=Team")
    s.page.wait_for_selector("#team-qa h2", timeout=30_000)
    section = s.page.inner_text("#team-qa")
    assert "Audits and audit actions" in section and "Audits overdue" in section and "Audit actions overdue" in section
    s.shot("team-qa")
    assert not _contrast_failures(s.page), _contrast_failures(s.page)
    # another team's audits: the figures, but not the records (not even asked for: tests/dashboard/test_pages_browser.py)
    s.pick("#team-picker", live_service.other_team)
    s.page.wait_for_selector("#team-qa .state-refused", timeout=30_000)
    assert "listed only within your own scope" in s.page.inner_text("#team-qa .state-refused")
    assert not s.errors, s.errors
    s.close()


def test_trends_show_what_audits_found(browser, live_service) -> None:  # noqa: F811
    s = signed_in(browser, live_service, "analyst")
    s.page.click("text=Trends")
    s.page.wait_for_selector("#trend-assessments_within_45wd .qa-found", timeout=120_000)  # 25 charts of 24 months
    found = s.page.inner_text("#trend-assessments_within_45wd .qa-found")
    assert "What audits found" in found and "Assessment:" in found
    assert s.page.query_selector("#trend-domain_good_or_better") is None  # keyed by domain: a table, not a line
    assert not _contrast_failures(s.page), _contrast_failures(s.page)
    s.shot("trends-qa")
    assert not s.errors, s.errors
    s.close()
