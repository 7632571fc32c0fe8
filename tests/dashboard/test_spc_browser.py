"""SPC in a real headless Chromium against the real service: Trends' XmR charts, limits and icons equal
the API's; special-cause points are told apart without colour; Today's attention list is the API's
signals ranked, and its links open the chart and the children; Team shows the team's weekly charts."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from axe import axe_violations
from test_pages_browser import Session, _contrast_failures, signed_in

from dashboard.components.attention import MAX_LINES, attention_items
from dashboard.components.formatting import change
from dashboard.components.spc_words import variation_meaning
from tests.chromium import BROWSER_TESTS, browser  # noqa: F401  (browser: a fixture)

MARKER_AUDIT = (Path(__file__).parent / "spc_marker_audit.js").read_text(encoding="utf-8")
CAUSE_WORDS = {"improvement": "special cause of improvement", "concern": "special cause of concern",
               "neither": "special cause (neither", "common": "common cause", "partial": "not in the calculation"}

pytestmark = BROWSER_TESTS


def _wait_for_charts(s: Session, selector: str, count: int) -> None:
    s.page.wait_for_function(f"() => document.querySelectorAll({json.dumps(selector)}).length >= {count}", timeout=30_000)


def test_trends_shows_xmr_charts_with_limits_icons_and_a_summary(browser, live_service) -> None:  # noqa: F811
    # by month, the trust, 24 months to the end of October; a KPI keyed by audit domain is QA's table, not a chart
    charts = [c for c in live_service.get("/api/v1/spc").json() if "domain" not in c]
    definitions = [d for d in live_service.get("/api/v1/definitions").json() if not d.get("keyed_by")]
    s = signed_in(browser, live_service, "executive")
    s.page.click("text=Trends")
    _wait_for_charts(s, ".xmr-card svg.xmr", len(charts))
    # the summary grid: one row per KPI, its icons saying what the API says
    rows = s.page.query_selector_all("#spc-summary tbody tr")
    assert [r.get_attribute("data-kpi") for r in rows] == [d["id"] for d in definitions]
    for c in charts:
        card = f"#trend-{c['kpi']}"
        assert s.page.get_attribute(card, "data-variation") == (c["variation"] or "none")
        alt = s.page.get_attribute(f"{card} .variation-{c['variation'] or 'none'} img", "alt")
        assert alt == variation_meaning(c, "month")
        limits = [p for p in c["points"] if p["mean"] is not None]
        if limits:  # the mean and both limits drawn, the last segment's labelled
            for mark in ("mean", "upper-limit", "lower-limit"):
                assert s.page.query_selector(f"{card} svg.xmr line.{mark}") is not None, (c["kpi"], mark)
        marks = s.page.query_selector_all(f"{card} svg.xmr .point:not(.partial)")
        assert len(marks) == len(c["points"])
    # November is not over on the extract date: drawn hollow, outside the calculation
    assert s.page.query_selector("#trend-referrals svg.xmr circle.partial") is not None
    s.shot("trends-xmr")
    assert not _contrast_failures(s.page), _contrast_failures(s.page)
    # by week: the same charts over the last 24 complete weeks
    s.page.click("label:has-text('week')")
    s.page.wait_for_function("() => document.querySelector('#trend-referrals svg.xmr > title')?.textContent"
                             ".includes('by week')", timeout=30_000)
    weekly = {c["kpi"]: c for c in live_service.get("/api/v1/spc", by="week").json()}
    assert s.page.get_attribute("#trend-assessments_overdue", "data-variation") == (
        weekly["assessments_overdue"]["variation"] or "none")
    assert not s.errors, s.errors
    s.close()


def test_special_cause_points_are_told_apart_without_colour(browser, live_service) -> None:  # noqa: F811
    charts = live_service.get("/api/v1/spc", level="service").json()
    s = signed_in(browser, live_service, "analyst")
    s.page.click("text=Trends")
    _wait_for_charts(s, "#trends-body svg.xmr", 18)
    marks = s.page.evaluate(MARKER_AUDIT)
    by_cause: dict[str, set[str]] = defaultdict(set)
    for m in marks:
        by_cause[m["cause"]].add(m["drawn"])
        assert CAUSE_WORDS[m["cause"]] in m["title"], m  # each point says what it is, in words
    assert {"common", "partial"} <= set(by_cause) and len(set(by_cause) - {"common", "partial"}) >= 1, by_cause
    assert all(len(shapes) == 1 for shapes in by_cause.values()), by_cause  # one shape per kind of point ...
    shapes = [next(iter(v)) for v in by_cause.values()]
    assert len(set(shapes)) == len(shapes), by_cause  # ... and no two kinds share one
    # the legend under a chart names each shape it uses
    special = next(c for c in charts if any(p["special_cause"] for p in c["points"]))
    s.page.click("#trends-kpi")
    title = next(d["title"] for d in live_service.get("/api/v1/definitions").json() if d["id"] == special["kpi"])
    s.page.locator("[role=option]", has_text=title).first.click()
    card = f"#service-{special['unit'].replace(' ', '-')}"
    s.page.wait_for_function(f"() => document.querySelector({json.dumps(card + ' svg.xmr > title')})?.textContent"
                             f".startsWith({json.dumps(title)})", timeout=30_000)
    legend = s.page.inner_text(f"{card} .spc-legend")
    cause = next(p["special_cause"] for p in special["points"] if p["special_cause"])
    assert {"improvement": "Improvement", "concern": "Concern", "neither": "Special cause, neither"}[cause] in legend
    s.shot("trends-services-xmr")
    assert not s.errors, s.errors
    s.close()


def _expected_attention(live_service, role: str, level: str, unit: str | None) -> list[dict]:
    params = {"by": "week", "level": level} | ({"unit": unit} if unit else {})
    own = live_service.get("/api/v1/spc", role, **params).json()
    teams = live_service.get("/api/v1/spc", role, by="week", level="team").json() if level != "team" else []
    team_list = live_service.get("/api/v1/teams", role).json()
    return attention_items(own, teams, live_service.get("/api/v1/definitions", role).json(),
                           {t["team_id"]: t["team_name"] for t in team_list})


def test_today_lists_what_needs_attention_with_working_links(browser, live_service) -> None:  # noqa: F811
    expected = _expected_attention(live_service, "executive", "trust", None)
    assert expected, "the sample trust has signals of concern to list"
    s = signed_in(browser, live_service, "executive")
    s.page.wait_for_selector("#attention li", timeout=30_000)
    lines = [li.inner_text() for li in s.page.query_selector_all("#attention li")]
    assert len(lines) == min(MAX_LINES, len(expected))
    for line, item in zip(lines, expected):
        assert line.startswith(item["text"]), (line, item["text"])
    # the attention list comes before the tiles
    assert s.page.evaluate("document.querySelector('#attention').compareDocumentPosition("
                           "document.querySelector('.tile')) & Node.DOCUMENT_POSITION_FOLLOWING")
    # tiles carry the weekly variation icon, the day-to-day change folded away under it
    weekly = {c["kpi"]: c for c in live_service.get("/api/v1/spc", by="week").json()}
    for kpi in ("unallocated_cases", "assessments_overdue"):
        assert s.page.get_attribute(f"#tile-{kpi} .spc-badge img", "alt") == variation_meaning(weekly[kpi], "week")
    assert not s.page.is_visible("#tile-unallocated_cases .changes")
    # the extract is dated Monday 24 November: "since" compares with Friday, the last working day
    day_to_day = s.page.text_content("#tile-unallocated_cases .day-to-day")
    now, friday = (live_service.get("/api/v1/kpis", kpi="unallocated_cases", to=d).json()[0]["value"]
                   for d in ("2025-11-24", "2025-11-21"))
    delta = change(now, friday, "count", "lower")
    assert f"Since Friday 21 Nov (the last working day): {delta['arrow']} {delta['text']}" in day_to_day
    s.shot("today-attention")
    assert not _contrast_failures(s.page), _contrast_failures(s.page)
    # "Show the children" opens the records behind the figure
    first = expected[0]
    s.page.click("#attention-0 button")
    s.page.wait_for_selector("#drawer .ag-row, #drawer-message:has-text('No records')", timeout=20_000)
    total = live_service.get(f"/api/v1/kpis/{first['kpi']}/records", unit=first["unit"], level=first["level"]).json()
    assert s.page.inner_text("#drawer-message").startswith(f"{total['total']} records") or total["total"] == 0
    s.page.keyboard.press("Escape")
    s.page.wait_for_selector("#drawer", state="hidden", timeout=5_000)
    # "See the chart" opens the chart that shows the signal
    s.page.click("#attention-0 a.attention-chart")
    target = f"#trend-{first['kpi']}" if first["level"] == "trust" else f"#spc-{first['kpi']}"
    s.page.wait_for_selector(f"{target} svg.xmr", timeout=30_000)
    assert s.page.get_attribute(target, "data-variation") == "special_cause_concern" or first["kind"] == "assurance"
    # and scrolls to it: the page stayed at its top, the chart thousands of pixels below (a dashboard audit)
    s.page.wait_for_function(f"() => {{ const r = document.querySelector({json.dumps(target)})"
                             ".getBoundingClientRect(); return r.top >= -2 && r.top < window.innerHeight / 2; }",
                             timeout=10_000)
    assert not s.errors, s.errors
    s.close()


def test_team_shows_the_teams_weekly_charts_and_its_own_attention(browser, live_service) -> None:  # noqa: F811
    team = live_service.team
    charts = [c for c in live_service.get("/api/v1/spc", "team_manager", by="week", level="team", unit=team).json()
              if "domain" not in c]
    s = signed_in(browser, live_service, "team_manager")
    expected = _expected_attention(live_service, "team_manager", "team", team)
    s.page.wait_for_selector("#attention", timeout=30_000)
    assert len(s.page.query_selector_all("#attention li")) == min(MAX_LINES, len(expected))
    s.page.click("text=Team")
    _wait_for_charts(s, ".team-charts svg.xmr", len(charts))
    for c in charts:
        assert s.page.get_attribute(f"#spc-{c['kpi']}", "data-variation") == (c["variation"] or "none")
        assert len(s.page.query_selector_all(f"#spc-{c['kpi']} svg.xmr .point:not(.partial)")) == len(c["points"])
    s.shot("team-weekly-xmr")
    assert not _contrast_failures(s.page), _contrast_failures(s.page)
    assert not s.errors, s.errors
    s.close()


# Parts of the Trends summary outside the viewport's width (left of 0 or right of its edge), as "tag: text".
OUTSIDE = """() => {
  const width = document.documentElement.clientWidth, out = [];
  for (const el of document.querySelectorAll('#spc-summary, #spc-summary *')) {
    const box = el.getBoundingClientRect();
    if (box.width && !el.closest('.visually-hidden') && (box.left < 0 || box.right > width + 0.5)) {
      out.push(el.tagName + ': ' + el.textContent.trim().slice(0, 40) + ' [' + Math.round(box.left) + ', '
               + Math.round(box.right) + ']');
    }
  }
  return out;
}"""


def test_the_trends_summary_reads_whole_at_phone_width(browser, live_service) -> None:  # noqa: F811
    """A manager on a phone (390 px) reads every KPI's row whole: nothing off the right edge, no sideways
    scrolling inside the card, every figure and icon shown."""
    s = signed_in(browser, live_service, "executive", width=390, height=844)
    s.page.click("text=Trends")
    s.page.wait_for_selector("#spc-summary tbody tr", timeout=60_000)
    assert s.page.evaluate(OUTSIDE) == []
    card = s.page.locator(".summary-card")
    assert card.evaluate("e => e.scrollWidth <= e.clientWidth"), "the summary's card scrolls sideways"
    rows = s.page.locator("#spc-summary tbody tr")
    definitions = [d for d in live_service.get("/api/v1/definitions").json() if not d.get("keyed_by")]
    assert rows.count() == len(definitions)
    for i in range(rows.count()):  # each row: its KPI, latest value, target and both icons, all on screen
        row = rows.nth(i)
        assert row.locator("th a").is_visible() and row.locator("td").count() == 4
        assert all(row.locator("td").nth(j).is_visible() for j in range(4))
        assert row.locator("img.spc-icon").count() == 2 and all(img.is_visible() for img in row.locator("img.spc-icon").all())
    s.shot("trends-summary-phone")
    assert not _contrast_failures(s.page), _contrast_failures(s.page)
    assert not axe_violations(s.page)  # still a table to a screen reader, its headings read once
    assert not s.errors, s.errors
    s.close()
