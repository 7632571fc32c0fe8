"""A KPI the source cannot support is "not available from this source" (null), never 0."""

from __future__ import annotations

import datetime as dt

import pytest
import test_kpi_assessments as assessments
from warehouse_builder import build_warehouse

from kpis import compute_kpis, kpi_records, kpi_trend, open_warehouse
from kpis.availability import NOT_AVAILABLE, unavailable_kpis
from kpis.errors import KpiError
from kpis.team_pack import team_weeks

PERIOD = (dt.date(2025, 1, 1), dt.date(2025, 1, 31))


def test_annex_a_source_marks_what_it_cannot_support(tmp_path) -> None:
    db = build_warehouse(tmp_path / "wh.duckdb", {"assessments": assessments.ASSESSMENTS}, source_system="annex_a")
    gaps = unavailable_kpis("annex_a")
    with open_warehouse(db) as wh:
        rows = compute_kpis(wh, *PERIOD, level="team")
        trend = kpi_trend(wh, ["children_missing_now", "assessments_completed"], "month", 3, "trust")
    for row in rows + trend:
        if row["kpi"] in gaps:
            assert (row["available"], row["note"]) == (False, NOT_AVAILABLE)
            assert row["numerator"] is None and row["denominator"] is None and row["value"] is None
        else:  # exactly the spec's keys (and a trend's period), as from a full extract
            assert "available" not in row and "note" not in row
    # open_cases would be 0 from the (empty) episodes table: it must not show as 0
    assert any(r["kpi"] == "open_cases" and r["value"] is None for r in rows)
    assert any(r["kpi"] == "assessments_completed" and r["value"] is not None for r in rows)


def test_a_full_extract_keeps_exactly_the_spec_keys(tmp_path) -> None:
    db = build_warehouse(tmp_path / "wh.duckdb", {"assessments": assessments.ASSESSMENTS})
    with open_warehouse(db) as wh:
        rows = compute_kpis(wh, *PERIOD, level="trust")
    assert {tuple(r) for r in rows} == {("kpi", "level", "unit", "numerator", "denominator", "value")}


def test_no_records_are_listed_behind_a_figure_the_source_cannot_give(tmp_path) -> None:
    # a list of episodes behind open_cases, or of referrals counted only in re_referral_rate's denominator,
    # would read as a figure (0% re-referred) where the figure is null: refused, and the team pack says why
    db = build_warehouse(tmp_path / "wh.duckdb", {"assessments": assessments.ASSESSMENTS}, source_system="annex_a")
    with open_warehouse(db) as wh:
        for kpi in ("open_cases", "re_referral_rate"):
            with pytest.raises(KpiError, match=f"{kpi} is {NOT_AVAILABLE} \\(Annex A"):
                kpi_records(wh, kpi, "trust", *PERIOD)
        assert kpi_records(wh, "assessments_completed", "trust", *PERIOD)  # a figure it gives: its records
        week = team_weeks(wh, PERIOD[1])
    lists = next(iter(week.values()))["lists"]
    assert lists["unallocated_cases"] == {"note": NOT_AVAILABLE, "count": 0, "records": []}
    assert lists["assessments_overdue"]["note"] is None
