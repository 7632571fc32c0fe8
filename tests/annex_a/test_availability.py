"""KPIs a source cannot support are "not available from this source", never 0."""

from __future__ import annotations

from pathlib import Path

from kpis import KPIS, open_warehouse
from kpis.availability import NOT_AVAILABLE, SOURCE_GAPS, mark_unavailable, unavailable_kpis


def test_every_gap_names_a_real_kpi():
    ids = {k.id for k in KPIS}
    assert set(SOURCE_GAPS["annex_a"]) <= ids
    assert {"referrals", "assessments_within_45wd", "icpc_within_15wd"}.isdisjoint(SOURCE_GAPS["annex_a"])


def test_native_extracts_support_everything():
    assert unavailable_kpis("LCS") == {} and unavailable_kpis(None) == {}


def test_unavailable_rows_are_null_not_zero():
    rows = [
        {"kpi": "children_missing_now", "level": "trust", "unit": "trust", "numerator": 0, "denominator": None,
         "value": 0},
        {"kpi": "referrals", "level": "trust", "unit": "trust", "numerator": 6, "denominator": None, "value": 6},
    ]
    missing, referrals = mark_unavailable(rows, "annex_a")
    assert missing["value"] is None and missing["numerator"] is None
    assert (missing["available"], missing["note"]) == (False, NOT_AVAILABLE)
    assert referrals == rows[1]  # a figure the source supports keeps exactly the spec's keys


def test_source_system_of_a_published_warehouse(sample_warehouse: Path):
    with open_warehouse(sample_warehouse) as wh:
        assert wh.source_system == "kpidash-sample"  # manifest.json of the sample trust
