"""Each rule of the contract, broken by one hand-made row: the exact file, line, column, value and reason.

One extract holds every case (each bad row appended after its file's valid default row, so its line is
known), loaded once for the module with the reject limit lifted; each case is then its own test.
"""

from __future__ import annotations

import datetime as dt
import pytest
from extract_builder import build_extract, line_of
from load_support import own_settings, query

from etl import load_extract, run_issues

DATE = "is not a date (expected YYYY-MM-DD)"
NO_SUCH_DAY = "is not a date: there is no such day in the calendar"
NO_SUCH_TIME = "is not a date-time: there is no such day or time in the calendar"
DATETIME = "is not a date-time (expected YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS)"
BOOL = "is not Y or N"
NUMBER = "is not a number (expected e.g. 1 or 0.5)"
EMPTY = "is empty (a value is required)"
FTE_RANGE = "is out of range (expected 0 < fte <= 1)"
ROLES = "social_worker, senior_social_worker, personal_advisor, team_manager, family_support_worker, other"

# (table, cells laid over the default row, column, value as in the file, reason)
BAD_ROWS = [
    ("workers", {"worker_id": "W2", "worker_name": ""}, "worker_name", None, EMPTY),
    ("workers", {"worker_id": "W3", "worker_name": "   "}, "worker_name", None, EMPTY),
    ("workers", {"worker_id": "W4", "role": "manager"}, "role", "manager", f"is not a valid code (expected one of: {ROLES})"),
    ("workers", {"worker_id": "W5", "role": "Social_Worker"}, "role", "Social_Worker", f"is not a valid code (expected one of: {ROLES})"),
    ("workers", {"worker_id": "W6", "qualified": "y"}, "qualified", "y", BOOL),
    ("workers", {"worker_id": "W7", "agency": "Yes"}, "agency", "Yes", BOOL),
    ("workers", {"worker_id": "W8", "fte": "half"}, "fte", "half", NUMBER),
    ("workers", {"worker_id": "W9", "fte": "1e0"}, "fte", "1e0", NUMBER),
    ("workers", {"worker_id": "W10", "fte": "0"}, "fte", "0", FTE_RANGE),
    ("workers", {"worker_id": "W11", "fte": "1.5"}, "fte", "1.5", FTE_RANGE),
    ("workers", {"worker_id": "W12", "fte": "-0.5"}, "fte", "-0.5", FTE_RANGE),
    ("workers", {"worker_id": "W13", "fte": ""}, "fte", None, EMPTY),
    ("workers", {"worker_id": "W14", "start_date": "2024-06-01", "end_date": "2024-05-31"}, "end_date", "2024-05-31", 'is before start_date "2024-06-01"'),
    ("children", {"child_id": ""}, "child_id", None, EMPTY),
    ("children", {"child_id": "C2", "date_of_birth": "2015-3-4"}, "date_of_birth", "2015-3-4", DATE),
    ("children", {"child_id": "C3", "gender": "f"}, "gender", "f", "is not a valid code (expected one of: M, F, U, N)"),
    ("children", {"child_id": "C4", "disability": "1"}, "disability", "1", BOOL),
    ("referrals", {"referral_id": "R1"}, "referral_id", "R1", "is a repeated key (first on line 2)"),
    ("referrals", {"referral_id": "R2", "referral_date": "06/01/2025"}, "referral_date", "06/01/2025", DATE),
    ("referrals", {"referral_id": "R3", "child_id": ""}, "child_id", None, EMPTY),
    ("referrals", {"referral_id": "R4", "referral_date": ""}, "referral_date", None, EMPTY),
    ("referrals", {"referral_id": "R5", "nfa": "N "}, "nfa", "N ", BOOL),
    ("assessments", {"assessment_id": "A2", "authorised_date": "31/05/2025"}, "authorised_date", "31/05/2025", DATE),
    ("assessments", {"assessment_id": "A3", "start_date": "2025-02-30"}, "start_date", "2025-02-30", NO_SUCH_DAY),
    ("assessments", {"assessment_id": "A4", "start_date": "2025-03-01", "authorised_date": "2025-02-28"}, "authorised_date", "2025-02-28", 'is before start_date "2025-03-01"'),
    ("assessments", {"assessment_id": "A5", "start_date": "2025-01-07 "}, "start_date", "2025-01-07 ", DATE),
    ("assessments", {"assessment_id": "A6", "start_date": "0000-01-01", "authorised_date": ""}, "start_date", "0000-01-01", DATE),
    ("s47_enquiries", {"s47_id": "S2", "completed_date": "2025-01-07"}, "completed_date", "2025-01-07", 'is before strategy_date "2025-01-08"'),
    ("s47_enquiries", {"s47_id": "S3", "icpc_date": "2025-01-01"}, "icpc_date", "2025-01-01", 'is before strategy_date "2025-01-08"'),
    ("s47_enquiries", {"s47_id": "S4", "icpc_required": "U"}, "icpc_required", "U", BOOL),
    ("s47_enquiries", {"s47_id": "S5", "strategy_date": "2025-01-08T09:00"}, "strategy_date", "2025-01-08T09:00", DATE),
    ("episodes", {"episode_id": "E2", "episode_type": "cp"}, "episode_type", "cp", "is not a valid code (expected one of: ASSESSMENT, CIN, CP, CLA, CARE_LEAVER)"),
    ("episodes", {"episode_id": "E3", "end_date": "2025-01-06"}, "end_date", "2025-01-06", 'is before start_date "2025-01-07"'),
    ("episodes", {"episode_id": "E4", "team_id": ""}, "team_id", None, EMPTY),
    ("allocations", {"allocation_id": "AL2", "end_date": "2025-01-06"}, "end_date", "2025-01-06", 'is before start_date "2025-01-07"'),
    ("allocations", {"allocation_id": "AL3", "worker_id": ""}, "worker_id", None, EMPTY),
    ("missing_episodes", {"missing_id": "M2", "start_time": "2025-02-01 10:00"}, "start_time", "2025-02-01 10:00", DATETIME),
    ("missing_episodes", {"missing_id": "M3", "end_time": "2025-02-01T25:00"}, "end_time", "2025-02-01T25:00", NO_SUCH_TIME),
    ("missing_episodes", {"missing_id": "M4", "rhi_offered_time": "2025-02-02"}, "rhi_offered_time", "2025-02-02", DATETIME),
    ("missing_episodes", {"missing_id": "M5", "end_time": "2025-02-01T09:59:59"}, "end_time", "2025-02-01T09:59:59", 'is before start_time "2025-02-01T10:00"'),
    ("missing_episodes", {"missing_id": "M6", "start_time": "2025-02-01T10:00:00+01:00"}, "start_time", "2025-02-01T10:00:00+01:00", DATETIME),
]

# One row breaking two rules: both listed, the row counted once.
TWO_PROBLEMS = ("assessments", {"assessment_id": "A7", "child_id": "", "start_date": "1/1/2025"})

# Rows on the edge of a rule that must load.
GOOD_ROWS = {
    "teams": [{"team_id": "T2", "team_name": 'Team "Heron", East', "service": "Care Management"}],
    "workers": [
        {"worker_id": "W20", "fte": "1.0", "start_date": "2024-02-01", "end_date": "2024-02-01"},
        {"worker_id": "W21", "fte": ".5", "role": "personal_advisor", "qualified": "N", "agency": "", "start_date": ""},
    ],
    "children": [{"child_id": "007", "date_of_birth": "", "gender": "", "ethnicity": "", "disability": ""}],
    "assessments": [{"assessment_id": "A10", "start_date": "2025-02-10", "authorised_date": "2025-02-10"}],
    "missing_episodes": [{"missing_id": "M10", "start_time": "2025-03-01T10:00", "end_time": "2025-03-01T10:00:00", "rhi_offered_time": "", "rhi_accepted": ""}],
}


@pytest.fixture(scope="module")
def rules_run(tmp_path_factory: pytest.TempPathFactory):
    """Load the extract of every case once; give (result, issues, warehouse, line of each BAD_ROWS case)."""
    root = tmp_path_factory.mktemp("rules")
    add: dict[str, list[dict[str, str]]] = {}
    lines = []
    for table, cells, *_ in [*BAD_ROWS, TWO_PROBLEMS]:
        add.setdefault(table, []).append(cells)
        lines.append(line_of(len(add[table])))  # the default row is row 0
    for table, rows in GOOD_ROWS.items():
        add.setdefault(table, []).extend(rows)
    build_extract(root / "extract", add=add)
    with own_settings(root / "data", max_reject_pct="100") as db:
        result = load_extract(root / "extract")
        issues = run_issues(result.run_id)
    return result, issues, db, lines


@pytest.mark.parametrize("case", range(len(BAD_ROWS)), ids=[f"{t}.{c}={v!r}" for t, _, c, v, _ in BAD_ROWS])
def test_each_broken_rule_is_one_reject(rules_run, case: int) -> None:
    _, issues, _, lines = rules_run
    table, _, column, value, reason = BAD_ROWS[case]
    file, line = f"{table}.csv", lines[case]
    found = [(i.file, i.line, i.column, i.value, i.reason, i.severity) for i in issues if i.file == file and i.line == line]
    assert found == [(file, line, column, value, reason, "reject")]


def test_the_rejects_are_exactly_the_broken_rows(rules_run) -> None:
    result, issues, _, _ = rules_run
    rejects = sorted((i.file, i.line) for i in issues if i.severity == "reject")
    per_table: dict[str, int] = {}
    for table, *_ in BAD_ROWS:
        per_table[table] = per_table.get(table, 0) + 1
    # every BAD_ROWS row once, plus the two-problem row twice (one entry per column)
    assert len(rejects) == len(BAD_ROWS) + 2
    counts = {f.file: f.rows_rejected for f in result.files}
    assert counts["workers.csv"] == per_table["workers"] == 13
    assert counts["assessments.csv"] == per_table["assessments"] + 1 == 6
    assert counts["teams.csv"] == 0


def test_a_row_with_two_problems_lists_both_and_is_rejected_once(rules_run) -> None:
    result, issues, db, lines = rules_run
    line = lines[-1]
    found = [(i.column, i.value, i.reason) for i in issues if i.file == "assessments.csv" and i.line == line]
    assert found == [("child_id", None, EMPTY), ("start_date", "1/1/2025", DATE)]
    assessments = next(f for f in result.files if f.file == "assessments.csv")
    # default row + 6 bad (5 single, 1 double) + A10
    assert (assessments.rows_read, assessments.rows_rejected, assessments.rows_loaded) == (8, 6, 2)
    assert query(db, "SELECT assessment_id FROM assessments ORDER BY 1") == [("A1",), ("A10",)]


def test_the_message_reads_as_the_contract_example(rules_run) -> None:
    _, issues, _, _ = rules_run
    messages = {i.message for i in issues}
    assert 'assessments.csv line 3: authorised_date "31/05/2025" is not a date (expected YYYY-MM-DD)' in messages
    assert "workers.csv line 3: worker_name is empty (a value is required)" in messages
    assert 'referrals.csv line 3: referral_id "R1" is a repeated key (first on line 2)' in messages


def test_rejected_rows_never_reach_the_tables(rules_run) -> None:
    _, _, db, _ = rules_run
    assert query(db, "SELECT worker_id FROM workers ORDER BY worker_id") == [("W1",), ("W20",), ("W21",)]
    assert query(db, "SELECT referral_id FROM referrals") == [("R1",)]
    assert query(db, "SELECT count(*) FROM missing_episodes") == [(2,)]


def test_rows_on_the_edge_of_a_rule_load_with_their_types(rules_run) -> None:
    _, _, db, _ = rules_run
    assert query(db, "SELECT team_name FROM teams WHERE team_id = 'T2'") == [('Team "Heron", East',)]
    assert query(db, "SELECT fte, start_date = end_date FROM workers WHERE worker_id = 'W20'") == [(1.0, True)]
    assert query(db, "SELECT fte, qualified, agency, start_date FROM workers WHERE worker_id = 'W21'") == [(0.5, False, None, None)]
    assert query(db, "SELECT child_id, date_of_birth, gender FROM children WHERE child_id = '007'") == [("007", None, None)]
    assert query(db, "SELECT start_time, end_time FROM missing_episodes WHERE missing_id = 'M10'") == [
        (dt.datetime(2025, 3, 1, 10, 0), dt.datetime(2025, 3, 1, 10, 0))
    ]
    assert query(db, "SELECT authorised_date FROM assessments WHERE assessment_id = 'A10'") == [(dt.date(2025, 2, 10),)]


def test_the_published_tables_have_the_contract_types(rules_run) -> None:
    _, _, db, _ = rules_run
    types = dict(query(db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'workers'"))
    assert types == {
        "worker_id": "VARCHAR", "worker_name": "VARCHAR", "team_id": "VARCHAR", "role": "VARCHAR",
        "qualified": "BOOLEAN", "fte": "DOUBLE", "agency": "BOOLEAN", "start_date": "DATE", "end_date": "DATE",
    }


def test_the_published_warehouse_lists_the_runs_issues(rules_run) -> None:
    result, issues, db, _ = rules_run
    rows = query(db, 'SELECT run_id, file, line, "column", value, reason, severity FROM load_issues')
    assert rows == [(i.run_id, i.file, i.line, i.column, i.value, i.reason, i.severity) for i in issues]
    assert query(db, "SELECT run_id, extracted_at, source_system FROM extract_meta") == [
        (result.run_id, dt.datetime(2025, 11, 24, 6, 30), "test-fixture")
    ]


def test_the_issues_come_in_file_then_line_order(rules_run) -> None:
    _, issues, _, _ = rules_run
    from etl.contract import TABLES

    order = {t.file_name: i for i, t in enumerate(TABLES)}
    keys = [(order[i.file], i.line or 0) for i in issues]
    assert keys == sorted(keys)


def test_every_rule_of_the_contract_has_a_case_here() -> None:
    """Guard: if the contract grows a rule, this module must grow a case for it."""
    from etl.contract import TABLES

    end_rules = {(t.name, r.end) for t in TABLES for r in t.end_rules}
    assert end_rules == {(t, c) for t, _, c, _, reason in BAD_ROWS if reason.startswith("is before")}
    coded = {(t.name, c.name) for t in TABLES for c in t.columns if c.codes}
    assert coded == {(t, c) for t, _, c, _, reason in BAD_ROWS if reason.startswith("is not a valid code")}
    assert {DATE, NO_SUCH_DAY, DATETIME, NO_SUCH_TIME, BOOL, NUMBER, EMPTY, FTE_RANGE} <= {r for *_, r in BAD_ROWS}
