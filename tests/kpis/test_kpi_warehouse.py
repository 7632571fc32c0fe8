"""Opening the published warehouse: its units, its extract date, and files that are not one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from warehouse_builder import build_warehouse

from kpis import KpiError, compute_kpis, open_warehouse


def test_units_and_extract_date(make_wh) -> None:
    wh = make_wh({
        "workers": [{"worker_id": "W1", "worker_name": "Pip Thistledown", "team_id": "T1", "role": "social_worker",
                     "qualified": "Y", "fte": 1.0}],
        "referrals": [{"referral_id": "R1", "child_id": "C1", "referral_date": "2025-11-03", "team_id": "T9",
                       "worker_id": "W5"}],
    }, extracted_at="2025-11-24T06:30:00")
    assert wh.extract_date == dt.date(2025, 11, 24) and wh.run_id == "test-run"
    assert wh.units("trust") == ["trust"]
    assert wh.units("team") == ["T1", "T2", "T3", "UNKNOWN"]  # R1's team T9 is not in teams.csv
    assert wh.units("service") == ["Care Management", "Front Door", "UNKNOWN"]
    assert wh.units("worker") == ["W1", "W5"]  # W5 is named by a referral only
    assert wh.teams()[0] == {"team_id": "T1", "team_name": "Duckpond Assessment", "service": "Front Door"}
    with pytest.raises(KpiError, match='"region" is not a level'):
        wh.units("region")


def test_no_unknown_unit_when_every_record_has_a_team(make_wh) -> None:
    referral = {"referral_id": "R1", "child_id": "C1", "referral_date": "2025-11-03", "team_id": "T1"}
    wh = make_wh({"referrals": [referral]})
    assert wh.units("team") == ["T1", "T2", "T3"]


def test_default_path_is_the_setting(tmp_path: Path, isolated_settings) -> None:
    build_warehouse(isolated_settings.db, {})
    with open_warehouse() as wh:
        assert wh.path == isolated_settings.db


def test_a_missing_warehouse_is_explained(tmp_path: Path) -> None:
    with pytest.raises(KpiError, match="no published warehouse at .*absent.duckdb: load an extract first"):
        open_warehouse(tmp_path / "absent.duckdb")


def test_a_file_that_is_not_a_warehouse_is_explained(tmp_path: Path) -> None:
    text = tmp_path / "notes.duckdb"
    text.write_text("these are not the tables you are looking for\n", encoding="utf-8")
    with pytest.raises(KpiError, match="cannot read the warehouse"):
        open_warehouse(text)
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(KpiError, match="is not a published kpidash warehouse .missing tables: teams, workers"):
        open_warehouse(other)


def test_mistyped_years_in_the_data_still_open(make_wh) -> None:
    # years 0001 and 9999 parse as dates; the calendar copes, and the ancient open assessment is overdue
    wh = make_wh({"assessments": [
        {"assessment_id": "A1", "child_id": "C1", "start_date": "0001-01-01", "team_id": "T1"},
        {"assessment_id": "A2", "child_id": "C2", "start_date": "2025-11-03", "authorised_date": "9999-12-31",
         "team_id": "T1"},
    ]})
    rows = {r["kpi"]: r["value"] for r in compute_kpis(wh, kpi_ids=["assessments_overdue", "assessments_completed"])}
    # A2 started 2025-11-03 is open at 2025-11-24 with 15 working days: not overdue
    assert rows == {"assessments_overdue": 1, "assessments_completed": 0}
