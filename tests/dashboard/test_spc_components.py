"""The SPC parts of the pages as plain functions: the words, the icons, the chart's marks and Today's
ranking, on charts whose answers were worked out by hand."""

from __future__ import annotations

import datetime as dt
import re

from dashboard.components.attention import attention_items, attention_list, chart_link
from dashboard.components.spc_chart import anchor, chart_alt, partial_bounds, partial_points, xmr_svg
from dashboard.components.spc_icons import assurance_svg, variation_svg
from dashboard.components.spc_words import (assurance_meaning, headline, last_side, reason, signal,
                                            variation_meaning)
from kpis.spc import xmr_series
from kpis.targets import SpcSettings

D = dt.date.fromisoformat
DEFINITION = {"id": "assessments_overdue", "title": "Assessments overdue", "unit_of_measure": "count"}


def chart(values: list[float | None], *, kpi: str = "assessments_overdue", unit: str = "trust", level: str = "trust",
          better: str | None = "lower", target: float | None = None, by: str = "month", **settings: int) -> dict:
    """An SPC object as the API gives it, over consecutive months (or weeks) from January 2024."""
    body = xmr_series(values, better=better, target=target, settings=SpcSettings(**settings))
    for p in body["points"]:
        start = D("2024-01-01") + dt.timedelta(weeks=p["period"]) if by == "week" else dt.date(
            2024 + p["period"] // 12, p["period"] % 12 + 1, 1)
        p["period_start"], p["period_end"] = start.isoformat(), start.isoformat()
    return {"kpi": kpi, "level": level, "unit": unit, "by": by, "better": better, "target": target, **body}


SHIFT_DOWN = [10, 11] * 4 + [9, 9, 9, 9, 9, 9, 9]  # baseline mean 10.5 ending above it, then 7 months below
TREND_UP = [1, 2, 3, 4, 5, 6, 7, 8]


def test_a_shift_in_words() -> None:
    c = chart(SHIFT_DOWN, baseline_length=8, better="higher")
    assert signal(c) == {"rule": "shift", "side": "down", "length": 7}
    assert c["variation"] == "special_cause_concern"
    assert reason(c) == "the last 7 months were all below the average"
    assert variation_meaning(c) == "Special cause of concern: the last 7 months were all below the average."
    assert headline(c) == "a shift down over 7 months"


def test_a_trend_in_words_and_its_side() -> None:
    c = chart(TREND_UP, better="lower", by="week")
    assert last_side(c) == "up" and c["variation"] == "special_cause_concern"
    assert signal(c) == {"rule": "trend", "side": "up", "length": 8}
    assert headline(c) == "a trend up over 8 weeks"


def test_outside_and_two_of_three_in_words() -> None:
    outside = chart([11, 10] * 4 + [14], baseline_length=8, better="lower")
    assert reason(outside) == "the latest month is above the upper limit of what usually happens"
    near = chart([11, 10] * 4 + [12.5, 10.5, 12.5], baseline_length=8, better=None)
    assert near["variation"] == "special_cause_neither"
    assert reason(near) == "2 of the last 3 months were close to the upper limit"
    assert variation_meaning(near).startswith("Special cause variation (this KPI is neither better higher nor lower)")


def test_common_cause_and_no_reading() -> None:
    c = chart([10, 12, 11, 13, 12])
    assert signal(c) is None and reason(c) == "" and variation_meaning(c).startswith("Common cause variation")
    assert variation_meaning(chart([None, 5])) == "No variation reading: fewer than two periods have a figure."


def test_assurance_in_words() -> None:
    assert assurance_meaning(chart([90, 90], better="higher", target=90), "%").startswith(
        "Passes: the target (90%) will be met consistently, since even the lower limit")
    assert assurance_meaning(chart([5, 6], target=0)).startswith("Fails: the target (0) will not be met")
    assert assurance_meaning(chart([0, 2], target=1)).startswith("Hit and miss: the target (1) lies within")
    assert assurance_meaning(chart([1, 2])) == "No assurance reading: this KPI has no target."


def test_icons_carry_letters_and_their_meaning() -> None:
    high = variation_svg("special_cause_concern", "up", "Special cause of concern: x")
    assert ">H</text>" in high and 'aria-label="Special cause of concern: x"' in high and "#b35300" in high
    assert ">L</text>" in variation_svg("special_cause_improvement", "down")
    assert ">F</text>" in assurance_svg("fail") and ">P</text>" in assurance_svg("pass")
    assert ">?</text>" in assurance_svg("hit_and_miss")


def _marks(svg: str) -> list[tuple[str, str, str]]:
    """(cause, shape, title) of each point mark."""
    return re.findall(r'data-cause="([a-z]+)" data-shape="([a-z]+)"[^>]*><title>([^<]*)</title>', svg)


def test_special_cause_points_differ_in_shape_and_say_so() -> None:
    c = chart(SHIFT_DOWN, baseline_length=8, better="higher")
    marks = _marks(xmr_svg(c, DEFINITION))
    assert [m[:2] for m in marks] == [("common", "circle")] * 8 + [("concern", "square")] * 7
    assert marks[-1][2] == "Mar 2025: 9, special cause of concern (shift)"
    improving = _marks(xmr_svg(chart(SHIFT_DOWN, baseline_length=8, better="lower"), DEFINITION))
    assert improving[-1][:2] == ("improvement", "diamond")
    neither = _marks(xmr_svg(chart(SHIFT_DOWN, baseline_length=8, better=None), DEFINITION))
    assert neither[-1][:2] == ("neither", "triangle")


def test_the_chart_draws_limits_target_and_a_hollow_partial_period() -> None:
    c = chart([10, 12, 11, 13, 12], target=8)  # mean 58 / 5 = 11.6, mR_bar 6 / 4 = 1.5: limits 11.6 +- 3.99
    partial = {"period_start": "2024-06-01", "period_end": "2024-06-12", "value": 15}
    svg = xmr_svg(c, DEFINITION, partial)
    for mark in ('class="mean"', 'class="upper-limit"', 'class="lower-limit"', 'class="target"'):
        assert svg.count(mark) == 1
    assert 'class="point partial" data-cause="partial"' in svg
    assert "Jun 2024 so far (to 2024-06-12): 15; partial, not in the calculation" in svg
    assert chart_alt(c, DEFINITION, partial) == (
        "Assessments overdue by month, Jan 2024 to May 2024: latest 12; average 11.6, usual range 7.6 to 15.6, trial limits; "
        "Common cause variation; target 8; Jun 2024 so far 15 (partial, not in the calculation).")


def test_each_segment_has_its_own_limits() -> None:
    c = chart([10, 11, 10, 11, 20, 21, 20, 21])
    c["points"] = [dict(p, mean=10.5 if i < 4 else 20.5) for i, p in enumerate(c["points"])]
    svg = xmr_svg(c, DEFINITION)
    assert svg.count('class="mean"') == 2 and svg.count(">Average</text>") == 1  # the last segment is labelled
    # a last segment of one point has no limits: the labels go on the segment before it
    c["points"][-1] = dict(c["points"][-1], mean=None, lower_limit=None, upper_limit=None, special_cause=None)
    assert xmr_svg(c, DEFINITION).count(">Average</text>") == 1


def test_names_in_a_chart_are_escaped() -> None:
    c = chart([1, 2, 3], unit='<img src=x onerror="alert(1)">', level="team")
    svg = xmr_svg(c, {**DEFINITION, "title": "<b>T</b>"})
    assert "<img" not in svg and "<b>" not in svg and "&lt;b&gt;T&lt;/b&gt;" in svg
    assert anchor("service", "Children in Care") == "service-Children-in-Care"


def test_partial_period_bounds() -> None:
    assert partial_bounds("month", D("2025-11-24")) == (D("2025-11-01"), D("2025-11-24"))
    assert partial_bounds("month", D("2025-10-31")) is None
    assert partial_bounds("week", D("2025-11-24")) == (D("2025-11-24"), D("2025-11-24"))  # a Monday
    assert partial_bounds("week", D("2025-11-23")) is None  # a Sunday ends its week
    rows = [{"kpi": "referrals", "unit": "trust", "value": 5}, {"kpi": "icpc_within_15wd", "unit": "trust", "value": None}]
    assert partial_points(rows, (D("2025-11-01"), D("2025-11-24"))) == {
        ("referrals", "trust"): {"period_start": "2025-11-01", "period_end": "2025-11-24", "value": 5}}


DEFINITIONS = [{"id": "unallocated_cases", "title": "Unallocated cases", "unit_of_measure": "count"},
               {"id": "allocation_rate", "title": "Cases allocated", "unit_of_measure": "%"},
               {"id": "assessments_overdue", "title": "Assessments overdue", "unit_of_measure": "count"}]


def test_attention_ranks_own_concerns_then_failed_assurance_then_teams() -> None:
    own = [chart(TREND_UP, kpi="assessments_overdue", by="week"),  # concern: a trend up (lower is better)
           chart([95, 96, 95, 96], kpi="allocation_rate", better="higher", target=100, by="week"),  # fails
           chart([1, 2, 1, 2], kpi="unallocated_cases", target=5, by="week")]  # passes: nothing to say
    teams = [
        chart(SHIFT_DOWN, kpi="unallocated_cases", unit="T02", level="team", baseline_length=8, better="higher",
              by="week"),  # (higher only to make a downward shift a concern here)
        chart([11, 10] * 4 + [14], kpi="assessments_overdue", unit="T09", level="team", baseline_length=8, by="week"),
        chart([11, 10] * 4 + [14], kpi="unallocated_cases", unit="T05", level="team", baseline_length=8, by="week"),
        chart(SHIFT_DOWN, kpi="unallocated_cases", unit="T07", level="team", baseline_length=8, by="week"),  # improving
    ]
    items = attention_items(own, teams, DEFINITIONS, {"T02": "Moonbeam", "T05": "Duckpond", "T09": "Puddleby"})
    assert [i["text"] for i in items] == [
        "Assessments overdue: a trend up over 8 weeks across the trust",
        "Cases allocated: fails its target of 100.0% across the trust",
        # a shift before a point outside the limits, then the KPIs in the registry's order
        "Unallocated cases: a shift down over 7 weeks in Team T02 (Moonbeam)",
        "Unallocated cases: above the upper limit in the latest week in Team T05 (Duckpond)",
        "Assessments overdue: above the upper limit in the latest week in Team T09 (Puddleby)",
    ]
    assert items[1]["detail"] == ("All of its usual variation is below the target: it will not be met without a change "
                                  "in how the work is done.")
    scoped = attention_items([], teams, DEFINITIONS, {}, in_scope={"T09"})
    assert [i["unit"] for i in scoped] == ["T09"]


def test_chart_links() -> None:
    assert chart_link("assessments_overdue", "team", "T07", "week") == "/team?team=T07#spc-assessments_overdue"
    assert chart_link("referrals", "trust", "trust", "week") == "/trends?by=week#trend-referrals"
    assert chart_link("referrals", "team", "UNKNOWN", "week") is None  # no page charts records of no known team
    assert chart_link("referrals", "service", "Children in Care", "week") == (
        "/trends?by=week&kpi=referrals#service-Children-in-Care")


def test_an_empty_attention_list_does_not_say_all_is_well() -> None:
    """A dashboard audit: "Nothing stands out: ... no KPI failing its target", in green, sat above two tiles
    marked "Off target". The list reads the weekly charts' signals only, and now says so."""
    shown = str(attention_list([], lambda level, unit: False, 13).children)
    assert "No signal in the weekly charts of the last 13 weeks" in shown
    assert "A figure off target today is marked on its tile below" in shown
    assert "Nothing stands out" not in shown and "no KPI failing its target" not in shown


def _labels(svg: str) -> dict[str, float]:
    return {m[2]: float(m[1]) for m in re.finditer(r'<text x="[\d.]+" y="([\d.]+)" font-size="10" fill="[^"]+">'
                                                   r'(Upper limit|Average|Lower limit)</text>', svg)}


def test_the_axis_stays_within_what_the_measure_can_be_and_limit_labels_never_overprint() -> None:
    """A dashboard audit: a count's axis went to -2 and a rate's to 200%, and on a flat line the three labels
    overprinted one another."""
    definition = {"id": "referrals", "title": "Referrals", "unit_of_measure": "count"}
    low = chart([1, 0, 2, 0, 1, 0, 2, 0, 1, 3, 0, 1], kpi="referrals")
    svg = xmr_svg(low, definition)
    assert low["points"][-1]["lower_limit"] < 0, "the case: a lower limit below zero"
    ticks = {float(t[1].replace(",", "")): float(t[0])
             for t in re.findall(r'<text x="[\d.]+" y="([\d.]+)" font-size="11" text-anchor="end" fill="[^"]+">'
                                 r'(-?[\d.,]+)</text>', svg)}
    assert ticks and min(ticks) == 0 and ticks[0] == 230 - 26 + 4, ticks  # the axis starts at 0, at the bottom
    rate = {"id": "moderation_agreement", "title": "Moderation agreement", "unit_of_measure": "%"}
    wide = chart([100, 40, 100, 50, 100, 60, 100, 40, 100, 50, 100, 60], kpi="moderation_agreement", better="higher")
    svg = xmr_svg(wide, rate)
    assert wide["points"][-1]["upper_limit"] > 100, "the case: an upper limit above 100%"
    ticks = [float(t) for t in re.findall(r'text-anchor="end" fill="[^"]+">([\d.]+)%</text>', svg)]
    assert ticks and max(ticks) <= 100, ticks
    labels = _labels(xmr_svg(chart([5] * 12, kpi="referrals"), definition))
    assert len(labels) == 3
    ys = sorted(labels.values())
    assert all(b - a >= 11 for a, b in zip(ys, ys[1:])), labels
