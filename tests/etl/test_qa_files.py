"""The three optional QA files (qa-audits.md): each rule broken by one hand-made row, the rows on a rule's
edge that load, what the warehouse records about which files came, and all or nothing with the rest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from extract_builder import build_extract, csv_text
from load_support import own_settings, query

from etl import load_extract, run_issues
from etl.contract import QA_TABLES, TABLES_BY_NAME

GRADES = "outstanding, good, requires_improvement, inadequate"
DATE = "is not a date (expected YYYY-MM-DD)"
EMPTY = "is empty (a value is required)"

AUDIT = {"audit_id": "AU1", "child_id": "C1", "audit_type": "learning", "theme": "", "team_id": "T1",
         "worker_id": "W1", "auditor_id": "M1", "auditor_role": "team_manager", "assigned_date": "2025-10-01",
         "due_date": "2025-10-29", "completed_date": "2025-10-29", "grade": "good", "moderated_date": "",
         "moderated_grade": ""}

# (cells laid over AUDIT, column, value as in the file, reason): one row each, after the good AU1
BAD_AUDITS = [
    ({"audit_id": "AU1"}, "audit_id", "AU1", "is a repeated key (first on line 2)"),
    ({"audit_id": "B1", "child_id": ""}, "child_id", None, EMPTY),
    ({"audit_id": "B2", "audit_type": "peer"}, "audit_type", "peer",
     "is not a valid code (expected one of: learning, thematic, benchmarking, multi_agency, supervision, re_audit)"),
    ({"audit_id": "B3", "auditor_id": ""}, "auditor_id", None, EMPTY),
    ({"audit_id": "B4", "auditor_role": "manager"}, "auditor_role", "manager",
     "is not a valid code (expected one of: team_manager, service_manager, head_of_service, director, qa, other)"),
    ({"audit_id": "B5", "assigned_date": "01/10/2025"}, "assigned_date", "01/10/2025", DATE),
    ({"audit_id": "B6", "due_date": "2025-09-30"}, "due_date", "2025-09-30", 'is before assigned_date "2025-10-01"'),
    ({"audit_id": "B7", "completed_date": "2025-09-30"}, "completed_date", "2025-09-30",
     'is before assigned_date "2025-10-01"'),
    ({"audit_id": "B8", "grade": ""}, "grade", None, "is empty (required when completed_date is set)"),
    ({"audit_id": "B9", "grade": "Good"}, "grade", "Good", f"is not a valid code (expected one of: {GRADES})"),
    ({"audit_id": "B10", "completed_date": "", "grade": "", "moderated_date": "2025-10-30", "moderated_grade": "good"},
     "moderated_date", "2025-10-30", "is set but completed_date is empty (only allowed with completed_date)"),
    ({"audit_id": "B11", "moderated_date": "2025-10-28", "moderated_grade": "good"}, "moderated_date", "2025-10-28",
     'is before completed_date "2025-10-29"'),
    ({"audit_id": "B12", "moderated_date": "2025-11-03"}, "moderated_grade", None,
     "is empty (required when moderated_date is set)"),
    ({"audit_id": "B13", "moderated_grade": "good"}, "moderated_grade", "good",
     "is set but moderated_date is empty (only allowed with moderated_date)"),
    ({"audit_id": "B14", "moderated_date": "2025-11-03", "moderated_grade": "poor"}, "moderated_grade", "poor",
     f"is not a valid code (expected one of: {GRADES})"),
    ({"audit_id": "B15", "due_date": ""}, "due_date", None, EMPTY),
]
# on the edge of a rule, and loaded
GOOD_AUDITS = [
    {"audit_id": "G1", "completed_date": "", "grade": "not a grade"},  # ignored while not completed
    {"audit_id": "G2", "completed_date": "", "grade": "inadequate"},  # ignored too: stored empty
    {"audit_id": "G3", "due_date": "2025-10-01", "completed_date": "2025-10-01"},  # all on the assigned date
    {"audit_id": "G4", "moderated_date": "2025-10-29", "moderated_grade": "inadequate"},  # moderated the same day
    {"audit_id": "G5", "child_id": "C404", "team_id": "", "worker_id": "", "auditor_role": ""},  # unknown child: warned
    {"audit_id": "G6", "completed_date": "", "grade": "", "due_date": "2026-03-01"},  # due after the extract: fine
]
DOMAIN = {"audit_id": "AU1", "domain": "assessment", "grade": "good"}
BAD_DOMAINS = [
    ({"domain": "assessment"}, "audit_id", "AU1", "is a repeated key (audit_id, domain) (first on line 2)"),
    ({"audit_id": "NOPE"}, "audit_id", "NOPE", "is not in audits.csv (or its row there was rejected)"),
    ({"audit_id": "B2"}, "audit_id", "B2", "is not in audits.csv (or its row there was rejected)"),  # a rejected audit
    ({"domain": "timeliness"}, "domain", "timeliness",
     "is not a valid code (expected one of: child_experience, voice_of_child, assessment, planning, "
     "management_oversight, multi_agency, recording)"),
    ({"domain": "recording", "grade": ""}, "grade", None, EMPTY),
]
GOOD_DOMAINS = [{"domain": "planning", "grade": "inadequate"}, {"audit_id": "G3"}]
ACTION = {"action_id": "AC1", "audit_id": "AU1", "description": "Update the chronology", "owner_id": "W1",
          "due_date": "2025-11-10", "completed_date": ""}
BAD_ACTIONS = [
    ({"action_id": "AC1"}, "action_id", "AC1", "is a repeated key (first on line 2)"),
    ({"action_id": "X1", "audit_id": "NOPE"}, "audit_id", "NOPE", "is not in audits.csv (or its row there was rejected)"),
    ({"action_id": "X2", "audit_id": "B7"}, "audit_id", "B7", "is not in audits.csv (or its row there was rejected)"),
    ({"action_id": "X3", "description": ""}, "description", None, EMPTY),
    ({"action_id": "X4", "due_date": "2025-13-01"}, "due_date", "2025-13-01",
     "is not a date: there is no such day in the calendar"),
]
GOOD_ACTIONS = [{"action_id": "OK1", "due_date": "2026-02-01"},  # due after the extract: no warning
                {"action_id": "OK2", "completed_date": "2025-10-02"}]  # done before it was due (no rule)


def write_qa(folder: Path, audits: list[dict] | None = None, domains: list[dict] | None = None,
             actions: list[dict] | None = None) -> Path:
    """The QA files given (None: the file is left out) beside an extract folder's nine."""
    for name, base, rows in (("audits", AUDIT, audits), ("audit_domains", DOMAIN, domains),
                             ("audit_actions", ACTION, actions)):
        if rows is not None:
            header = TABLES_BY_NAME[name].column_names
            (folder / f"{name}.csv").write_text(csv_text(header, [{**base, **r} for r in rows]), encoding="utf-8")
    return folder


def _lines(bad: list[tuple]) -> list[int]:
    return [3 + i for i in range(len(bad))]  # header line 1, the good default row line 2


@pytest.fixture(scope="module")
def qa_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("qa_rules")
    folder = build_extract(root / "extract")
    write_qa(folder, [{}] + [c for c, *_ in BAD_AUDITS] + GOOD_AUDITS, [{}] + [c for c, *_ in BAD_DOMAINS] + GOOD_DOMAINS,
             [{}] + [c for c, *_ in BAD_ACTIONS] + GOOD_ACTIONS)
    with own_settings(root / "data", max_reject_pct="100") as db:
        result = load_extract(folder)
        issues = run_issues(result.run_id)
    assert result.status == "published", result.message
    return result, issues, db


CASES = [("audits.csv", line, *case[1:]) for line, case in zip(_lines(BAD_AUDITS), BAD_AUDITS)] + [
    ("audit_domains.csv", line, *case[1:]) for line, case in zip(_lines(BAD_DOMAINS), BAD_DOMAINS)] + [
    ("audit_actions.csv", line, *case[1:]) for line, case in zip(_lines(BAD_ACTIONS), BAD_ACTIONS)]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}:{c[2]}={c[3]!r}" for c in CASES])
def test_each_broken_qa_rule_is_one_reject(qa_run, case: tuple) -> None:
    _, issues, _ = qa_run
    file, line, *_ = case
    found = [(i.file, i.line, i.column, i.value, i.reason, i.severity) for i in issues
             if i.file == file and i.line == line]
    assert found == [(*case, "reject")]


def test_only_the_broken_rows_are_rejected_and_the_rest_load(qa_run) -> None:
    result, issues, db = qa_run
    counts = {f.file: (f.rows_read, f.rows_loaded, f.rows_rejected) for f in result.files}
    assert counts["audits.csv"] == (1 + len(BAD_AUDITS) + len(GOOD_AUDITS), 1 + len(GOOD_AUDITS), len(BAD_AUDITS))
    assert counts["audit_domains.csv"] == (1 + len(BAD_DOMAINS) + 2, 3, len(BAD_DOMAINS))
    assert counts["audit_actions.csv"] == (1 + len(BAD_ACTIONS) + 2, 3, len(BAD_ACTIONS))
    assert query(db, "SELECT audit_id FROM audits ORDER BY 1") == [
        ("AU1",), ("G1",), ("G2",), ("G3",), ("G4",), ("G5",), ("G6",)]
    assert query(db, "SELECT audit_id, domain FROM audit_domains ORDER BY 1, 2") == [
        ("AU1", "assessment"), ("AU1", "planning"), ("G3", "assessment")]


def test_a_grade_while_not_completed_is_ignored_never_rejected(qa_run) -> None:
    _, issues, db = qa_run
    assert query(db, "SELECT audit_id, grade FROM audits WHERE audit_id IN ('G1', 'G2') ORDER BY 1") == [
        ("G1", None), ("G2", None)]
    assert not [i for i in issues if i.file == "audits.csv" and i.value == "not a grade"]


def test_rows_on_a_rules_edge_load_with_their_types(qa_run) -> None:
    _, _, db = qa_run
    assert query(db, "SELECT assigned_date, due_date, completed_date FROM audits WHERE audit_id = 'G3'") == [
        (dt.date(2025, 10, 1),) * 3]
    assert query(db, "SELECT moderated_date, moderated_grade FROM audits WHERE audit_id = 'G4'") == [
        (dt.date(2025, 10, 29), "inadequate")]
    assert query(db, "SELECT team_id, worker_id, auditor_role FROM audits WHERE audit_id = 'G5'") == [(None, None, None)]


def test_warnings_an_unknown_child_and_completion_after_the_extract_but_not_a_future_due_date(
        tmp_path: Path, qa_run) -> None:
    _, issues, _ = qa_run
    warnings = [(i.file, i.column, i.value, i.reason) for i in issues if i.severity == "warning"]
    assert ("audits.csv", "child_id", "C404", "is not in children.csv (or its row there was rejected)") in warnings
    assert not [w for w in warnings if w[1] == "due_date"]  # due dates may be in the future
    assert not [w for w in warnings if w[1] in ("auditor_id", "owner_id")]  # need not be in workers.csv


def test_the_warehouse_records_which_qa_files_came(qa_run, tmp_path: Path) -> None:
    _, _, db = qa_run
    assert query(db, "SELECT file, supplied, rows_loaded FROM extract_files WHERE file LIKE 'audit%' ORDER BY 1") == [
        ("audit_actions.csv", True, 3), ("audit_domains.csv", True, 3), ("audits.csv", True, 7)]
    folder = build_extract(tmp_path / "plain")  # the nine files only: complete
    with own_settings(tmp_path / "data") as plain:
        result = load_extract(folder)
    assert result.status == "published", result.message
    assert [f.file for f in result.files if f.file in {t.file_name for t in QA_TABLES}] == []
    assert query(plain, "SELECT count(*) FILTER (WHERE supplied) FROM extract_files WHERE file LIKE 'audit%'") == [(0,)]
    assert query(plain, "SELECT count(*) FROM audits") == [(0,)]


def test_domains_and_actions_without_audits_are_not_loaded_and_say_why(tmp_path: Path) -> None:
    folder = write_qa(build_extract(tmp_path / "x"), None, [{}], [{}])
    with own_settings(tmp_path / "data") as db:
        result = load_extract(folder)
        issues = run_issues(result.run_id)
    assert result.status == "published", result.message
    said = {(i.file, i.reason) for i in issues}
    why = "is not loaded: its rows belong to the audits of audits.csv, which the extract does not hold"
    assert {("audit_domains.csv", why), ("audit_actions.csv", why)} <= said
    assert query(db, "SELECT file, supplied FROM extract_files WHERE file LIKE 'audit%' ORDER BY 1") == [
        ("audit_actions.csv", False), ("audit_domains.csv", False), ("audits.csv", False)]


def test_too_many_rejected_audits_fail_the_whole_load_and_keep_the_input(tmp_path: Path) -> None:
    """All or nothing: the reject limit (2%) applies to each QA file as to the nine."""
    folder = write_qa(build_extract(tmp_path / "x"), [{}, {"audit_id": "B1", "due_date": "2025-01-01"}])
    with own_settings(tmp_path / "data") as db:
        result = load_extract(folder)
    assert result.status == "failed"
    assert "audits.csv: 1 of 2 rows rejected (50.0%)" in result.message
    assert not db.exists()  # nothing published, not even the nine good files
    archived = next((tmp_path / "data" / "archive").iterdir())
    assert (archived / "audits.csv").read_text(encoding="utf-8") == (folder / "audits.csv").read_text(encoding="utf-8")
