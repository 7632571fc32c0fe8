"""Sample trust -> Annex A workbook -> load: every KPI Annex A supports equals the native figure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from python_calamine import CalamineWorkbook

from core.settings import get_settings
from etl import load_extract
from etl.annex_a.export import HEADERS, export_annex_a, window_start
from kpis import KPIS, compute_kpis, open_warehouse
from kpis.availability import unavailable_kpis
from tests.conftest import SAMPLE_END_DATE

# an Annex A workbook holds no case-file audits: no QA file, so no QA rows at all (qa-audits.md)
SUPPORTED = [k.id for k in KPIS if k.id not in unavailable_kpis("annex_a") and not k.family.startswith("qa_")]
PERIODS = [(dt.date(2025, 6, 1), dt.date(2025, 8, 31)), (dt.date(2025, 9, 1), dt.date(2025, 11, 23))]


@pytest.fixture(scope="module")
def exported(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("annex_out") / "annex_a.xlsx"
    return export_annex_a(sample_warehouse, SAMPLE_END_DATE, out)


def test_window_is_the_six_months_before_to():
    assert window_start(dt.date(2025, 11, 23)) == dt.date(2025, 5, 24)
    assert window_start(dt.date(2025, 8, 31)) == dt.date(2025, 3, 1)  # 28 February + 1 day


def test_export_has_the_ofsted_lists_and_headers(exported):
    book = CalamineWorkbook.from_path(str(exported.path))
    assert book.sheet_names == [f"List {n}" for n in range(1, 10)]
    assert book.get_sheet_by_name("List 3").to_python()[0] == HEADERS[3]
    assert exported.rows[1] == exported.rows[2] == 0  # contacts and early help are not in the extract
    assert all(exported.rows[n] > 0 for n in range(3, 10))


def test_export_list3_is_the_referrals_of_the_window(exported, sample_warehouse: Path):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        [(expected,)] = con.execute(
            "SELECT count(*) FROM referrals WHERE referral_date BETWEEN ? AND ?", [exported.date_from, exported.date_to]
        ).fetchall()
    assert exported.rows[3] == expected


def _by_team_name(db: Path, rows: list[dict]) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        names = dict(con.execute("SELECT team_id, team_name FROM teams").fetchall())
    return {(r["kpi"], r["level"], names.get(r["unit"], r["unit"])): (r["numerator"], r["denominator"], r["value"])
            for r in rows}


@pytest.mark.parametrize(("date_from", "date_to"), PERIODS)
def test_supported_kpis_match_the_native_figures(exported, sample_warehouse: Path, date_from, date_to):
    result = load_extract(exported.path)
    assert result.status == "published", result.message
    annex_db = get_settings().db
    native = compute_kpis(open_warehouse(sample_warehouse), date_from, date_to, ["trust", "team"], kpi_ids=SUPPORTED)
    annex = compute_kpis(open_warehouse(annex_db), date_from, date_to, ["trust", "team"], kpi_ids=SUPPORTED)
    native_rows, annex_rows = _by_team_name(sample_warehouse, native), _by_team_name(annex_db, annex)
    trust = {k: v for k, v in native_rows.items() if k[1] == "trust"}
    assert len(trust) == len(SUPPORTED) and any(v[0] for v in trust.values())
    assert {k: annex_rows.get(k) for k in trust} == trust
    # team level: every team with something to count, matched by name (ids differ between the sources)
    active = {k: v for k, v in native_rows.items() if k[1] == "team" and (v[0] or v[1])}
    assert len(active) > 20 and {k: annex_rows.get(k) for k in active} == active


@pytest.mark.parametrize(("date_to", "start"), [
    (dt.date(2025, 6, 30), dt.date(2025, 1, 1)), (dt.date(2025, 2, 28), dt.date(2024, 9, 1)),
    (dt.date(2025, 10, 15), dt.date(2025, 4, 16)), (dt.date(2025, 8, 31), dt.date(2025, 3, 1)),
    (dt.date(2025, 3, 31), dt.date(2024, 10, 1)), (dt.date(2024, 8, 30), dt.date(2024, 2, 29)),
])
def test_window_ends_on_to_and_starts_the_day_after_six_months_earlier(date_to, start):
    """(--to + 1 day) less six months: a month-end --to starts the window on a 1st, not on the 31st or 29th."""
    assert window_start(date_to) == start


def test_twelve_month_window_follows_the_same_rule():
    assert window_start(dt.date(2025, 6, 30), 12) == dt.date(2024, 7, 1)
    assert window_start(dt.date(2024, 2, 28), 12) == dt.date(2023, 2, 28)  # 2024-02-29 less a year
    assert window_start(dt.date(2024, 2, 29), 12) == dt.date(2023, 3, 1)
