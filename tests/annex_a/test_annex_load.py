"""`kpidash load annex_a.xlsx`: the workbook is converted, checked and published like any extract."""

from __future__ import annotations

import datetime as dt
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
    assert "calamine" not in result.message and "Zip" not in result.message  # its reader's words, not the analyst's
    assert not get_settings().db.exists()
    # the refusal is one of the run's issues too (`kpidash rejects`), as a contract file's is (an audit's finding)
    [issue] = run_issues(result.run_id)
    assert (issue.file, issue.severity) == ("annex.xlsx", "reject") and "Excel workbook" in issue.reason


def test_an_xls_workbook_is_told_to_be_saved_as_xlsx(tmp_path: Path):
    old = tmp_path / "annex.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0 an old workbook")
    result = load_extract(old)
    assert result.status == "failed" and "save it from Excel as an .xlsx workbook" in result.message


@pytest.mark.parametrize("name", EXTERNAL_FILES)
def test_external_workbook_totals_count_every_listed_warning(external_dir: Path, name: str):
    """Issue 16 item 12: the load said 6 warnings where `kpidash rejects` listed 64; the workbook's own
    warnings (columns kpidash does not use, Excel error values, lists it cannot load) now count too."""
    result = load_extract(external_dir / name)
    issues = run_issues(result.run_id)
    listed_warnings = sum(i.severity == "warning" for i in issues)
    listed_rejected = len({(i.file, i.line) for i in issues if i.severity == "reject"})
    workbook_own = sum(i.severity == "warning" and i.file.startswith("Annex A List") for i in issues)
    # every one is said of the workbook (the episodes without a team too, no longer of episodes.csv)
    assert workbook_own > 40 and listed_warnings == workbook_own + sum(i.file == "Annex A" for i in issues)
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


def _dated(rows: list[list]) -> list[list]:
    """Rows whose "d/m/yyyy" strings are dates, so the workbook holds Excel dates as exporters write them."""
    def cell(v):
        return dt.datetime.strptime(v, "%d/%m/%Y").date() if isinstance(v, str) and v.count("/") == 2 else v
    return [[cell(v) for v in row] for row in rows]


# A List 4 row is an assessment, an episode and an allocation: its Date of Authorisation before its start
# rejects all three contract rows, listed once at the workbook's row; a List 5 and a List 6 row likewise.
CONTRACT_REJECTS = {
    "List 3": _dated([["Child Unique ID", "Date of Referral", "Date of Birth"],
                      ["C1", "01/03/2025", "01/01/2026"], ["C2", "02/03/2025", "01/01/2015"]]),
    "List 4": _dated([["Child Unique ID", "Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation",
                       "Allocated Team", "Allocated Worker"],
                      ["C1", "05/03/2025", "01/03/2025", "Team A", "Ann Smith"],
                      ["C2", "05/03/2025", "09/03/2025", "Team A", "Ann Smith"]]),
    "List 5": _dated([["Child Unique ID", "Strategy discussion initiating Section 47 Enquiry Start Date",
                       "Date of Initial Child Protection Conference"], ["C2", "05/03/2025", "01/03/2025"]]),
    "List 6": _dated([["Child Unique ID", "CIN Start Date", "CIN Closure Date", "Allocated Team", "Allocated Worker"],
                      ["C1", "05/03/2025", "01/02/2025", "Team A", "Bob Jones"],
                      ["C3", "05/03/2025", None, "Team A", "Bob Jones"]]),
}


def test_the_contract_files_rejects_are_said_of_the_workbook_rows(tmp_path: Path, permissive):
    result = load_extract(write_workbook(tmp_path / "annex.xlsx", CONTRACT_REJECTS))
    assert result.status == "published", result.message
    issues = run_issues(result.run_id)
    assert not [i for i in issues if i.file.endswith(".csv")]  # no file the analyst never wrote
    assert [i.message for i in issues if i.severity == "reject"] == [
        'Annex A List 4 line 2: Continuous Assessment Date of Authorisation "2025-03-01" is before Continuous '
        'Assessment Start Date "2025-03-05"; the row is not loaded',
        'Annex A List 5 line 2: Date of Initial Child Protection Conference "2025-03-01" is before Strategy discussion '
        'initiating Section 47 Enquiry Start Date "2025-03-05"; the row is not loaded',
        'Annex A List 6 line 2: CIN Closure Date "2025-02-01" is before CIN Start Date "2025-03-05"; the row is not '
        "loaded",
    ]
    # the child's date of birth is reported at the row that gave it (children.csv line 2 before)
    assert 'Annex A List 3 line 2: Date of Birth "2026-01-01" is after the extract date (2025-03-09)' in \
        [i.message for i in issues]
    # three workbook rows rejected (six contract rows: the List 4 and List 6 rows were two and three each)
    files = {f.file: f for f in result.files}
    assert files["annex.xlsx"].rows_rejected == 3
    assert (files["assessments.csv"].rows_read, files["assessments.csv"].rows_loaded) == (2, 1)
    assert (files["episodes.csv"].rows_read, files["episodes.csv"].rows_loaded) == (4, 2)
    assert sum(f.rows_rejected for f in result.files) == 3
    assert sum(f.warnings for f in result.files) == sum(i.severity == "warning" for i in issues)
    assert ", 3 rejected, " in result.message.splitlines()[0]
    assert "dates after the extract date (2025-03-09), loaded and listed as warnings: Annex A List 3 Date of Birth 1" \
        in result.message.splitlines()[0]
    assert _count(get_settings().db, "SELECT count(*) FROM episodes") == [(2,)]  # C2's assessment, C3's CIN
    assert get_run(result.run_id).rows_rejected == 3


def test_a_list_without_a_team_column_and_overlapping_lists_are_said_once(tmp_path: Path, permissive):
    sheets = {
        "List 6": _dated([["Child Unique ID", "CIN Start Date", "CIN Closure Date", "Allocated Team"],
                          ["C1", "05/03/2025", None, "Team A"], ["C3", "05/03/2025", None, "Team B"]]),
        "List 7": _dated([["Child Unique ID", "Child Protection Plan Start Date", "Child Protection Plan End Date"],
                          ["C1", "06/03/2025", None], ["C4", "06/03/2025", None]]),
    }
    result = load_extract(write_workbook(tmp_path / "annex.xlsx", sheets))
    assert result.status == "published", result.message
    messages = [i.message for i in run_issues(result.run_id)]
    assert not [m for m in messages if ".csv" in m]
    assert "Annex A List 7: has no Allocated Team column: its cases count in team UNKNOWN" in messages  # once, not per row
    assert 'Annex A List 7 line 2: Child Unique ID "C1" has another episode open at the same time (Annex A List 6 ' \
           'line 2)' in messages
    assert "Annex A: Allocated Worker is empty in every row: no child counts as allocated" in messages  # not twice
    assert "Annex A List 3: has no rows that can be loaded: no referrals are loaded" in messages
    assert not [m for m in messages if "missing" in m]  # Annex A has no missing episodes: not a fault of this workbook


def test_rows_the_contract_rejects_count_towards_their_lists_reject_limit(tmp_path: Path):
    # List 6: 1 of 2 rows (the closure before the start) is rejected by the contract's rule, in episodes.csv
    # and allocations.csv: the limit is the list's, 50%, said of the list and its row
    result = load_extract(write_workbook(tmp_path / "annex.xlsx", {"List 6": CONTRACT_REJECTS["List 6"]}))
    assert result.status == "failed"
    head, first = result.message.split("\nfirst rejected rows")
    assert head == ("nothing was published: Annex A List 6: 1 of 2 rows rejected (50.0%), more than the 2% allowed "
                    "(KPIDASH_MAX_REJECT_PCT)")
    assert 'Annex A List 6 line 2: CIN Closure Date "2025-02-01" is before CIN Start Date' in first
