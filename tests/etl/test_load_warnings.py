"""Data-quality warnings: rows that keep the rules but look wrong are loaded and listed, one kind a case.

The default extract (extract_builder) gives no warning at all; each test adds the one thing that
should raise a warning and checks it is listed exactly, and that the row still reached its table.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from extract_builder import build_extract, csv_text
from load_support import query

from core.settings import get_settings
from etl import Issue, load_extract, run_issues
from etl.contract import TABLES_BY_NAME
from etl.validation import not_in_reason


pytestmark = pytest.mark.usefixtures("shared_data")  # each test looks only at its own run


def _load(folder: Path, **build) -> tuple[list[tuple], Path]:
    build_extract(folder, **build)
    result = load_extract(folder)
    assert result.status == "published", result.message
    issues = run_issues(result.run_id)
    assert all(i.severity == "warning" for i in issues)
    return [(i.file, i.line, i.column, i.value, i.reason) for i in issues], get_settings().db


def test_the_default_extract_has_no_warnings(tmp_path: Path) -> None:
    assert _load(tmp_path / "x")[0] == []


def test_an_extra_column_is_listed_once_and_kept_nowhere(tmp_path: Path) -> None:
    header = [*TABLES_BY_NAME["teams"].column_names, "manager_email"]
    rows = [{"team_id": "T1", "team_name": "A", "service": "S", "manager_email": "x@example.org"},
            {"team_id": "T2", "team_name": "B", "service": "S", "manager_email": "y@example.org"}]
    raw = {"teams.csv": csv_text(header, rows)}
    issues, db = _load(tmp_path / "x", raw=raw)
    assert issues == [("teams.csv", 1, "manager_email", None, "is not a column of the contract; its values are ignored")]
    assert [c for (c,) in query(db, "SELECT column_name FROM information_schema.columns WHERE table_name = 'teams'")] == [
        "team_id", "team_name", "service"
    ]
    assert query(db, "SELECT count(*) FROM teams") == [(2,)]


def test_columns_in_another_order_load_by_name(tmp_path: Path) -> None:
    header = ["service", "team_id", "team_name"]
    raw = {"teams.csv": csv_text(header, [{"team_id": "T1", "team_name": "A", "service": "S"}])}
    issues, db = _load(tmp_path / "x", raw=raw)
    assert issues == []
    assert query(db, "SELECT team_id, team_name, service FROM teams") == [("T1", "A", "S")]


def test_a_missing_optional_column_is_listed_and_read_as_empty(tmp_path: Path) -> None:
    header = [c for c in TABLES_BY_NAME["children"].column_names if c != "ethnicity"]
    issues, db = _load(tmp_path / "x", columns={"children": header})
    assert issues == [("children.csv", 1, "ethnicity", None, "is missing from the header; every row's value is taken as empty")]
    assert query(db, "SELECT child_id, ethnicity FROM children") == [("C1", None)]


@pytest.mark.parametrize(
    ("table", "cells", "column", "value", "other_file"),
    [
        ("referrals", {"child_id": "C9"}, "child_id", "C9", "children.csv"),
        ("missing_episodes", {"child_id": "C9"}, "child_id", "C9", "children.csv"),
        ("workers", {"team_id": "T9"}, "team_id", "T9", "teams.csv"),
        ("episodes", {"team_id": "T9"}, "team_id", "T9", "teams.csv"),
        ("assessments", {"worker_id": "W9"}, "worker_id", "W9", "workers.csv"),
        ("s47_enquiries", {"worker_id": "W9"}, "worker_id", "W9", "workers.csv"),
    ],
)
def test_an_id_no_other_file_knows_is_listed(tmp_path: Path, table, cells, column, value, other_file) -> None:
    issues, db = _load(tmp_path / "x", rows={table: [cells]})
    assert issues == [(f"{table}.csv", 2, column, value, not_in_reason(other_file))]
    assert query(db, f"SELECT {column} FROM {table}") == [(value,)]


def test_an_allocation_to_an_unknown_worker_is_listed(tmp_path: Path) -> None:
    issues, _ = _load(tmp_path / "x", add={"allocations": [{"allocation_id": "AL2", "worker_id": "W9"}]})
    assert issues == [("allocations.csv", 3, "worker_id", "W9", not_in_reason("workers.csv"))]


def test_an_id_whose_row_was_rejected_counts_as_unknown(tmp_path: Path, permissive) -> None:
    build_extract(tmp_path / "x", rows={"teams": [{"service": ""}]})
    issues = run_issues(load_extract(tmp_path / "x").run_id)
    unknown = sorted((i.file, i.line) for i in issues if i.reason == not_in_reason("teams.csv"))
    # the worker, referral, assessment, s47 enquiry, episode and missing episode name T1
    assert unknown == sorted((f, 2) for f in (
        "workers.csv", "referrals.csv", "assessments.csv", "s47_enquiries.csv", "episodes.csv", "missing_episodes.csv"
    ))


def test_dates_after_the_extract_date_are_listed(tmp_path: Path) -> None:
    # extract date 2025-11-24 (manifest 2025-11-24T06:30); the same day is fine, the next is not
    issues, db = _load(
        tmp_path / "x",
        add={
            "referrals": [{"referral_id": "R2", "referral_date": "2025-11-24"}, {"referral_id": "R3", "referral_date": "2025-11-25"}],
            "missing_episodes": [{"missing_id": "M2", "start_time": "2025-11-24T23:59", "end_time": "2025-11-25T00:00"}],
        },
    )
    after = "is after the extract date (2025-11-24)"
    assert issues == [
        ("referrals.csv", 4, "referral_date", "2025-11-25", after),
        ("missing_episodes.csv", 3, "end_time", "2025-11-25T00:00", after),
    ]
    assert query(db, "SELECT count(*) FROM referrals") == [(3,)]


def test_without_a_manifest_the_load_time_is_the_extract_date(tmp_path: Path) -> None:
    build_extract(tmp_path / "x", add={"referrals": [{"referral_id": "R2", "referral_date": "2999-01-01"}]}, manifest=None)
    result = load_extract(tmp_path / "x")
    issues = run_issues(result.run_id)
    assert [(i.line, i.value) for i in issues] == [(3, "2999-01-01")]
    assert issues[0].reason == f"is after the extract date ({result.extracted_at.date().isoformat()})"
    assert query(get_settings().db, "SELECT extracted_at, source_system FROM extract_meta") == [(result.extracted_at, None)]


@pytest.mark.parametrize(
    ("allocation_end", "warned"),
    [
        ("", True),  # still open
        ("2025-04-02", True),  # open on 2025-04-01, after the worker's last day
        ("2025-04-01", False),  # ends the day after: open at D means start <= D < end, so not open on 04-01
        ("2025-03-31", False),
    ],
)
def test_an_allocation_open_after_its_worker_left_is_listed(tmp_path: Path, allocation_end: str, warned: bool) -> None:
    issues, _ = _load(
        tmp_path / "x",
        rows={"workers": [{"end_date": "2025-03-31"}], "allocations": [{"end_date": allocation_end}]},
    )
    left = ("allocations.csv", 2, "worker_id", "W1", "left on 2025-03-31 but this allocation is open after that date")
    assert issues == ([left] if warned else [])


def test_an_allocation_that_starts_after_its_worker_left_is_listed(tmp_path: Path) -> None:
    issues, _ = _load(
        tmp_path / "x",
        rows={"workers": [{"end_date": "2025-03-31"}], "allocations": [{"start_date": "2025-05-01", "end_date": "2025-05-02"}]},
    )
    assert [i[4] for i in issues] == ["left on 2025-03-31 but this allocation is open after that date"]


@pytest.mark.parametrize(
    ("first", "second", "warned"),
    [
        (("2025-01-07", ""), ("2025-03-01", ""), True),  # two open episodes
        (("2025-01-07", "2025-03-02"), ("2025-03-01", "2025-04-01"), True),  # both open on 2025-03-01
        (("2025-01-07", "2025-03-01"), ("2025-03-01", ""), False),  # one ends the day the other starts
        (("2025-01-07", "2025-02-01"), ("2025-03-01", ""), False),
        (("2025-03-01", "2025-03-01"), ("2025-01-07", ""), False),  # an episode that is never open
    ],
)
def test_one_child_with_two_overlapping_open_episodes_is_listed(tmp_path: Path, first, second, warned: bool) -> None:
    episodes = [
        {"episode_id": "E1", "start_date": first[0], "end_date": first[1]},
        {"episode_id": "E2", "episode_type": "CP", "start_date": second[0], "end_date": second[1]},
    ]
    issues, _ = _load(tmp_path / "x", rows={"episodes": episodes})
    overlap = ("episodes.csv", 3, "child_id", "C1", 'has another episode open at the same time (episode_id "E1", line 2)')
    assert issues == ([overlap] if warned else [])


def test_episodes_of_different_children_do_not_overlap(tmp_path: Path) -> None:
    issues, _ = _load(
        tmp_path / "x",
        rows={"children": [{}, {"child_id": "C2"}], "episodes": [{}, {"episode_id": "E2", "child_id": "C2"}]},
    )
    assert issues == []


def test_a_file_with_a_header_and_no_rows_loads_with_a_warning(tmp_path: Path) -> None:
    header = TABLES_BY_NAME["missing_episodes"].column_names
    issues, db = _load(tmp_path / "x", raw={"missing_episodes.csv": ",".join(header) + "\n"})
    assert issues == [("missing_episodes.csv", None, None, None, "has a header but no rows")]
    assert query(db, "SELECT count(*) FROM missing_episodes") == [(0,)]


def test_warnings_are_counted_per_file_and_do_not_count_as_rejects(tmp_path: Path) -> None:
    build_extract(tmp_path / "x", add={"referrals": [{"referral_id": "R2", "child_id": "C9"}, {"referral_id": "R3", "child_id": "C8"}]})
    result = load_extract(tmp_path / "x")
    referrals = next(f for f in result.files if f.file == "referrals.csv")
    assert (referrals.rows_read, referrals.rows_loaded, referrals.rows_rejected, referrals.warnings) == (3, 3, 0, 2)


def test_an_issue_message_names_file_line_column_and_value() -> None:
    issue = Issue("r", "referrals.csv", 4, "child_id", "C9", not_in_reason("children.csv"), "warning")
    assert issue.message == 'referrals.csv line 4: child_id "C9" is not in children.csv (or its row there was rejected)'
    whole_file = Issue("r", "teams.csv", None, None, None, "has a header but no rows", "warning")
    assert whole_file.message == "teams.csv: has a header but no rows"


def test_a_header_ending_in_a_comma_gives_an_unnamed_extra_column(tmp_path: Path) -> None:
    raw = {"teams.csv": "team_id,team_name,service,\nT1,A,S,\n"}
    issues, db = _load(tmp_path / "x", raw=raw)
    assert issues == [("teams.csv", 1, "(column 4, no name)", None, "is not a column of the contract; its values are ignored")]
    assert query(db, "SELECT * FROM teams") == [("T1", "A", "S")]
