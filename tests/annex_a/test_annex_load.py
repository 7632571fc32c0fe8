"""`kpidash load annex_a.xlsx`: the workbook is converted, checked and published like any extract."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from core.settings import get_settings
from etl import load_extract, run_issues
from etl.runlog import get_run
from tests.annex_a.conftest import EXTERNAL_FILES, write_workbook
from tests.annex_a.test_annex_reader import LIST3


def _count(db: Path, sql: str):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("name", EXTERNAL_FILES)
def test_external_workbooks_load(external_dir: Path, name: str):
    result = load_extract(external_dir / name)
    assert result.status == "published", result.message
    db = get_settings().db
    counts = {f.file: f.rows_loaded for f in result.files}
    # worked out from the workbooks: List 3 has 6 referrals, List 4 5 assessments, List 5 5 enquiries,
    # Lists 4/6/7/8 hold 5 + 5 + 7 + 5 episodes; 13 distinct teams and 25 distinct workers are named.
    assert counts == {
        "teams.csv": 13, "workers.csv": 25, "children.csv": 38, "referrals.csv": 6, "assessments.csv": 5,
        "s47_enquiries.csv": 5, "episodes.csv": 22, "allocations.csv": 17, "missing_episodes.csv": 0,
        name: 0,  # the workbook itself: its rows are counted in the files it became, its own issues here
    }
    assert _count(db, "SELECT source_system, extracted_at::DATE::VARCHAR FROM extract_meta") == [("annex_a", "2021-02-16")]
    # the NBSP in "Dustin\u00a0Hazlett" is folded; "Yes, deemed unnecessary" means no ICPC was required
    assert _count(db, "SELECT count(*) FROM workers WHERE worker_name = 'Dustin Hazlett'") == [(1,)]
    assert _count(db, "SELECT count(*) FROM s47_enquiries WHERE NOT icpc_required AND icpc_date IS NULL") == [(2,)]
    assert _count(db, "SELECT count(*) FROM episodes WHERE episode_type = 'CP'") == [(7,)]
    issues = run_issues(result.run_id)
    assert any(i.file == "Annex A List 8" and "missing-children KPIs" in i.reason for i in issues)
    assert any(i.file == "Annex A List 9" and "no start or end dates" in i.reason for i in issues)


def test_handmade_workbook_issues_join_the_run(tmp_path: Path, permissive):
    book = write_workbook(tmp_path / "annex.xlsx", {"List 3": LIST3})
    result = load_extract(book)
    assert result.status == "published", result.message
    assert _count(get_settings().db, "SELECT count(*) FROM referrals") == [(3,)]
    messages = [i.message for i in run_issues(result.run_id)]
    assert 'Annex A List 3 line 6: date of referral "31/02/2025" is not a date (expected an Excel date, ' \
           "dd/mm/yyyy or yyyy-mm-dd); the row is not loaded" in messages
    assert get_settings().archive_dir.joinpath(result.run_id, "annex.xlsx").is_file()  # the workbook is kept


def test_an_unreadable_workbook_fails_the_load_with_a_message(tmp_path: Path):
    bad = tmp_path / "annex.xlsx"
    bad.write_bytes(b"not a workbook")
    result = load_extract(bad)
    assert result.status == "failed"
    assert "annex.xlsx cannot be read as an Excel workbook" in result.message
    assert not get_settings().db.exists()


@pytest.mark.parametrize("name", EXTERNAL_FILES)
def test_external_workbook_totals_count_every_listed_warning(external_dir: Path, name: str):
    """Issue 16 item 12: the load said 6 warnings where `kpidash rejects` listed 64; the workbook's own
    warnings (columns kpidash does not use, Excel error values, lists it cannot load) now count too."""
    result = load_extract(external_dir / name)
    issues = run_issues(result.run_id)
    listed_warnings = sum(i.severity == "warning" for i in issues)
    listed_rejected = len({(i.file, i.line) for i in issues if i.severity == "reject"})
    workbook_own = sum(i.severity == "warning" and i.file.startswith("Annex A List") for i in issues)
    assert workbook_own > 40 and listed_warnings > workbook_own  # most of them are the workbook's own
    assert sum(f.warnings for f in result.files) == listed_warnings
    assert sum(f.rows_rejected for f in result.files) == listed_rejected
    assert f", {listed_rejected:,} rejected, {listed_warnings:,} warnings" in result.message.splitlines()[0]
    run = get_run(result.run_id)  # the load log says the same
    assert (run.warnings, run.rows_rejected) == (listed_warnings, listed_rejected)


def test_a_handmade_workbook_counts_its_own_rejected_rows_and_warnings(tmp_path: Path, permissive):
    book = write_workbook(tmp_path / "annex.xlsx", {"List 3": LIST3})
    result = load_extract(book)
    issues = run_issues(result.run_id)
    own = [i for i in issues if not i.file.endswith(".csv")]  # by list ("Annex A List 3"), not contract file
    own_rejected = len({i.line for i in own if i.severity == "reject"})
    own_warnings = sum(i.severity == "warning" for i in own)
    assert own_rejected >= 1  # the 31/02/2025 referral date
    workbook = next(f for f in result.files if f.file == "annex.xlsx")
    assert (workbook.rows_rejected, workbook.warnings) == (own_rejected, own_warnings)
    assert sum(f.warnings for f in result.files) == sum(i.severity == "warning" for i in issues)
    assert f", {sum(f.rows_rejected for f in result.files):,} rejected, " in result.message.splitlines()[0]


def test_rows_a_list_rejects_count_towards_the_reject_limit(tmp_path: Path):
    # LIST3: 5 rows with something in them (the blank one is not a row); the 31/02/2025 referral date and the
    # row without a child id are rejected in the workbook itself, before any contract file: 2 of 5, 40%
    result = load_extract(write_workbook(tmp_path / "annex.xlsx", {"List 3": LIST3}))
    assert result.status == "failed"
    head, first = result.message.split("\nfirst rejected rows")
    assert head == ("nothing was published: Annex A List 3: 2 of 5 rows rejected (40.0%), more than the 2% allowed "
                    "(KPIDASH_MAX_REJECT_PCT)")
    assert 'Annex A List 3 line 6: date of referral "31/02/2025" is not a date' in first
    assert not get_settings().db.exists()


def test_a_date_in_the_future_is_named_where_it_is(tmp_path: Path):
    # a mistyped year is the workbook's latest date, so its extract date: refused, saying where it is
    rows = [["Child Unique ID", "Date of Referral"], ["C1", "01/03/2025"], ["C2", "16/01/2205"]]
    result = load_extract(write_workbook(tmp_path / "annex.xlsx", {"List 3": rows}))
    assert result.status == "failed"
    assert "the workbook's latest date, 2205-01-16, is in the future" in result.message
    [said] = [i for i in run_issues(result.run_id) if "extract date" in i.reason and i.file.startswith("Annex A")]
    assert (said.file, said.line, said.column, said.value) == ("Annex A List 3", 3, "Date of Referral", "2205-01-16")
