"""The logic behind the pages, as plain functions, with answers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.components.charts import sparkline_alt
from dashboard.components.formatting import (change, default_scope, format_value, freshness, may_see_records,
                                              month_end, months_back, parse_scope, rag_word, week_bounds)
from dashboard.components.records_drawer import column_defs
from kpis.xlsx import xlsx_bytes


@pytest.mark.parametrize(("value", "uom", "text"), [
    (98.456, "%", "98.5%"), (15.24, "cases per FTE", "15.2"), (1953, "count", "1,953"), (None, "%", "no cases"),
])
def test_format_value(value: float | None, uom: str, text: str) -> None:
    assert format_value(value, uom) == text


def test_rag_is_a_word_and_an_icon_not_only_a_colour() -> None:
    assert rag_word("red") == ("Off target", "✖")
    assert rag_word(None) == ("No target", "–")


def test_change_says_better_or_worse_by_polarity() -> None:
    assert change(98.5, 98.2, "%", "higher") == {"text": "up 0.3 pts", "arrow": "↑", "verdict": "better"}
    assert change(30, 36, "count", "lower") == {"text": "down 6", "arrow": "↓", "verdict": "better"}
    assert change(20, 18, "count", "lower")["verdict"] == "worse"
    assert change(5, 5, "count", "lower")["text"] == "no change"
    assert change(None, 5, "%", "higher")["verdict"] == "none"


def _status(finished: str, failed: bool = False, extracted: str | None = None) -> dict:
    return {"extract_date": "2025-11-24",
            "last_good_load": {"finished_at": finished, **({"extracted_at": extracted} if extracted else {})},
            "failed_since_last_good": failed,
            "last_failed_load": {"run_id": "r9", "started_at": "2025-11-25T07:00:00Z", "finished_at": "2025-11-25T07:01:00Z",
                                 "message": "teams.csv is missing"} if failed else None}


def test_freshness_turns_amber_then_red_with_age() -> None:
    now = dt.datetime(2025, 11, 25, 12, tzinfo=dt.UTC)
    assert freshness(_status("2025-11-25T06:00:00Z"), now, 26, 50)[0] == "green"
    level, sentence, detail = freshness(_status("2025-11-24T06:00:00Z"), now, 26, 50)  # 30 hours
    assert level == "amber" and "30 hours ago" in sentence and detail is None
    assert freshness(_status("2025-11-22T06:00:00Z"), now, 26, 50)[0] == "red"  # 78 hours
    assert freshness({"last_good_load": None}, now, 26, 50)[0] == "red"


def test_freshness_says_a_failed_load_plainly_with_the_detail_apart() -> None:
    now = dt.datetime(2025, 11, 25, 12, tzinfo=dt.UTC)
    level, sentence, detail = freshness(_status("2025-11-25T06:00:00Z", failed=True), now, 26, 50)
    assert level == "amber" and "could not be loaded (25 November 2025 at 07:01)" in sentence
    assert "teams.csv" not in sentence and detail == "Load r9 failed: teams.csv is missing"


def test_the_banner_keeps_the_technical_detail_one_click_away() -> None:
    from dashboard.components.banner import freshness_banner

    div = freshness_banner(_status("2025-11-25T06:00:00Z", failed=True), dt.datetime(2025, 11, 25, 12, tzinfo=dt.UTC))
    sentence, details = div.children[1], div.children[2]
    assert "teams.csv" not in sentence and div.role == "alert"
    assert details.children[0].children == "Technical detail (for the data team)"
    assert details.children[1].children == "Load r9 failed: teams.csv is missing"


def test_freshness_judges_the_extracts_age_too_in_london_time() -> None:
    """Loaded an hour ago, but the extract was taken 3 days before: not up to date. Times are London's
    (British Summer Time in July: 06:00 UTC reads 07:00)."""
    now = dt.datetime(2025, 7, 25, 12, tzinfo=dt.UTC)
    level, sentence, _ = freshness(_status("2025-07-25T11:00:00Z", extracted="2025-07-22T06:00:00Z"), now, 26, 50)
    assert level == "red" and "extract was taken 3 days ago" in sentence
    assert "taken 22 July 2025 at 07:00, loaded 25 July 2025 at 12:00" in sentence


def test_weeks_months_and_scopes() -> None:
    assert week_bounds(dt.date(2025, 11, 26)) == (dt.date(2025, 11, 24), dt.date(2025, 11, 17), dt.date(2025, 11, 23))
    assert month_end("2024-02", dt.date(2025, 11, 24)) == dt.date(2024, 2, 29)
    assert month_end("2025-11", dt.date(2025, 11, 24)) == dt.date(2025, 11, 24)
    assert months_back(dt.date(2025, 1, 5), 3) == ["2025-01", "2024-12", "2024-11"]
    assert parse_scope("team:T01") == ("team", "T01")
    assert parse_scope("service:Front Door") == ("service", "Front Door")
    assert parse_scope("worker:W1") == ("trust", None)
    assert default_scope({"role": "team_manager", "team": "T01"}) == "team:T01"
    assert default_scope({"role": "head_of_service", "service": "Front Door"}) == "service:Front Door"
    assert default_scope({"role": "executive"}) == "trust"


def test_who_is_offered_the_children() -> None:
    services = {"T01": "Front Door", "T02": "Care"}
    manager = {"role": "team_manager", "team": "T01"}
    head = {"role": "head_of_service", "service": "Front Door"}
    assert may_see_records(manager, "team", "T01", services)
    assert not may_see_records(manager, "team", "T02", services)
    assert not may_see_records(manager, "trust", None, services)
    assert may_see_records(head, "team", "T01", services) and may_see_records(head, "service", "Front Door", services)
    assert not may_see_records(head, "team", "T02", services)
    assert may_see_records({"role": "executive"}, "trust", None, services)


def test_sparkline_alt_says_what_the_line_shows() -> None:
    alt = sparkline_alt("Open cases", [3, None, 5, 1], ["d1", "d2", "d3", "d4"])
    assert alt == "Open cases, daily for the last 4 days: from 3 on d1 to 1 on d4; lowest 1, highest 5."


def test_xlsx_has_a_sheet_per_list_and_keeps_formulas_as_text() -> None:
    import zipfile
    from io import BytesIO

    data = xlsx_bytes({"Summary": [{"a": 1}], "Unallocated: cases": [{"child_id": "=1+1"}], "Empty": []})
    with zipfile.ZipFile(BytesIO(data)) as z:
        workbook = z.read("xl/workbook.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
    assert 'name="Summary"' in workbook and 'name="Unallocated  cases"' in workbook and 'name="Empty"' in workbook
    assert "=1+1" in strings  # written as a string, not a formula
    assert column_defs([{"child_id": "C1", "worker_id": "W1"}])[1] == {"field": "worker_id", "headerName": "Worker id"}


def test_rag_is_judged_on_the_value_as_shown() -> None:
    """97.96% shows as 98.0%: against a target of 98% it is on target (green), in every month alike."""
    from kpis.targets import rag_status

    assert format_value(97.96, "%") == "98.0%"
    assert rag_status(97.96, 98, 2, "higher", "%") == "green"
    assert rag_status(97.94, 98, 2, "higher", "%") == "amber"  # shown 97.9%
    assert rag_status(20.04, 20, 3, "lower", "%") == "green"  # shown 20.0%
    assert rag_status(95.95, 98, 2, "higher", "%") == "amber"  # shown 96.0%: within the tolerance


def test_a_change_too_small_to_show_is_no_change_never_down_0_0() -> None:
    assert change(98.04, 98.01, "%", "higher") == {"text": "no change", "arrow": "→", "verdict": "same"}
    assert change(14.21, 14.24, "cases per FTE", "lower")["text"] == "no change"
    assert change(98.06, 98.01, "%", "higher")["text"] == "up 0.1 pts"


def test_a_tile_with_a_target_but_no_figure_is_not_rated_never_no_target() -> None:
    assert rag_word(None, 95) == ("Not rated", "–")
    assert rag_word(None, None) == ("No target", "–")


def test_month_to_date_sparkline_ends_on_the_tiles_figure() -> None:
    from dashboard.components.charts import month_to_date

    rows = [{"period_start": "2025-10-31", "numerator": 1, "denominator": 1, "value": 100.0},
            {"period_start": "2025-11-01", "numerator": 0, "denominator": 0, "value": None},
            {"period_start": "2025-11-02", "numerator": 1, "denominator": 2, "value": 50.0},
            {"period_start": "2025-11-03", "numerator": 2, "denominator": 2, "value": 100.0}]
    assert [r["value"] for r in month_to_date(rows)] == [100.0, None, 50.0, 75.0]  # 3 of 4 in November so far


def test_team_says_when_its_week_is_partial() -> None:
    from dashboard.pages.team import week_words

    assert "a partial week (3 of 7 days so far)" in week_words(dt.date(2025, 11, 24), dt.date(2025, 11, 26))
    assert week_words(dt.date(2025, 11, 24), dt.date(2025, 11, 30)).endswith("30 November 2025.")


def test_records_read_as_a_practitioner_would() -> None:
    from dashboard.components.records_drawer import count_words, failing_first, ordered_keys, period_words, with_names

    assert count_words(1) == "1 record" and count_words(1953) == "1,953 records"
    assert period_words("stock", "2025-11-01", "2025-11-24") == "as at 24 November 2025"
    assert period_words("flow", "2025-11-01", "2025-11-24") == "from 1 November 2025 to 24 November 2025"
    records = [{"record_id": "R1", "child_id": "C1", "team_unit": "UNKNOWN", "worker_id": "W1", "referral_date": "d",
                "counted_in": "numerator"},
               {"record_id": "R2", "child_id": "C2", "team_unit": "T01", "worker_id": "W2", "referral_date": "d",
                "counted_in": "denominator"}]
    named = with_names(records, {"T01": "MASH"}, {"W2": "Ada Example"})
    assert named[0]["team_name"] == "Team not recorded" and named[1]["team_name"] == "MASH (T01)"
    assert named[1]["worker_name"] == "Ada Example"
    within = failing_first(named, "rate", "higher")  # higher is better: only in the denominator fails
    assert [r["record_id"] for r in within] == ["R2", "R1"] and within[0]["fails"] == "✖ Yes"
    rereferral = failing_first(named, "rate", "lower")  # lower is better: the numerator fails
    assert [r["record_id"] for r in rereferral] == ["R1", "R2"]
    assert failing_first(named, "count", "lower") == named
    assert ordered_keys(within) == ["fails", "child_id", "worker_name", "team_name", "referral_date", "counted_in",
                                    "record_id", "worker_id", "team_unit"]


def test_count_axes_are_whole_plain_numbers_and_unknown_reads_team_not_recorded() -> None:
    from dashboard.components.formatting import unit_label
    from dashboard.components.spc_chart import _tick, nice_ticks

    assert nice_ticks(0, 1.5, whole=True) == [0.0, 1.0]  # never "0.5 children"
    assert nice_ticks(0, 1.5) == [0.0, 0.5, 1.0, 1.5]  # a rate's axis may have halves
    assert _tick(1200.0, "count") == "1,200" and _tick(97.5, "%") == "97.5%"
    assert unit_label("team", "UNKNOWN") == "Team not recorded"
    assert unit_label("team", "T01", {"T01": "MASH"}) == "MASH (T01)"


def test_sparkline_alt_and_the_fte_read_as_the_tile_rounds_half_up() -> None:
    """A rate of 81.25% reads 81.3% in the text alternative (as on the tile), not 81.25; 12.25 FTE is 12.3."""
    from dashboard.components.formatting import fte

    alt = sparkline_alt("Assessments", [81.25, 62.5], ["d1", "d2"], "%")
    assert alt == "Assessments, daily for the last 2 days: from 81.3% on d1 to 62.5% on d2; lowest 62.5%, highest 81.3%."
    assert fte(12.25) == "12.3" and fte(3.0) == "3.0"
