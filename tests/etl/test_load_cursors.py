"""A small extract's files are read, checked and warned about two at a time, each on a cursor of its own
(etl.loader._Run._stage_and_check), and each file's issues are added to the run's afterwards in the
contract's order: the run's issues, in their order, its message and the published tables must be exactly
those of the same load made one file after another."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

import etl.loader as loader
from core.settings import get_settings
from etl import load_extract, run_issues
from tests.etl.load_support import own_settings


def _edit(folder: Path, name: str, change) -> None:  # noqa: ANN001  (change: rows -> None, in place)
    rows = list(csv.reader(io.StringIO((folder / name).read_text(encoding="utf-8"), newline="")))
    change(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (folder / name).write_text(out.getvalue(), encoding="utf-8")


def _damaged(sample: Path, folder: Path) -> Path:
    """The sample with a problem of every kind in several files, so that every file has issues of its own
    from reading, checking and warning, some of them about one line and column (listed in the order found)."""
    shutil.copytree(sample, folder)

    def referrals(rows: list[list[str]]) -> None:
        rows[0].append("note")  # a column the contract does not have
        for row in rows[1:]:
            row.append("x")
        rows[5][2] = "31/05/2025"  # not a date
        rows[6][4] = "y"  # not Y or N
        rows.insert(9, list(rows[3]))  # a repeated key
        rows[12][1] = "C-NOBODY"  # an unknown child: a warning

    def episodes(rows: list[list[str]]) -> None:
        twin = list(rows[4])
        twin[0], twin[1] = "E-TWIN", "C-NOBODY"  # unknown child...
        rows.append(twin)
        again = list(twin)
        again[0] = "E-TWIN-2"  # ... twice, open at the same time: two warnings on one line and column
        rows.append(again)
        rows[7][2] = "XX"  # not a code

    def audit_domains(rows: list[list[str]]) -> None:
        rows[3][0] = "AUD-NOBODY"  # its audit is not in audits.csv (checked once audits.csv is)
        rows[4][2] = "Great"  # not a grade

    _edit(folder, "referrals.csv", referrals)
    _edit(folder, "episodes.csv", episodes)
    _edit(folder, "audit_domains.csv", audit_domains)
    _edit(folder, "assessments.csv", lambda rows: rows[2].__setitem__(4, "2000-01-01"))  # before its start
    with (folder / "workers.csv").open("a", encoding="utf-8") as f:
        f.write("W-EXTRA,Name,T1,social_worker,Y,1,N,2024-01-01,,one too many\n")  # refused as it is read
    return folder


def _load(extract: Path, data: Path, cursors: int, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, list, list]:
    """(status, message without its run id, the run's issues in order, every published table's rows)."""
    monkeypatch.setattr(loader, "LOAD_CURSORS", cursors)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # two cursors even on a one-core machine
    with own_settings(data, max_reject_pct="100") as db:
        result = load_extract(extract)
        issues = [(i.file, i.line, i.column, i.value, i.reason, i.severity) for i in run_issues(result.run_id)]
    tables = []
    if db.exists():
        with duckdb.connect(str(db), read_only=True) as con:
            names = con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT starts_with(table_name, 'kpi_') "
                                "AND table_name <> 'extract_meta' ORDER BY 1").fetchall()
            for (name,) in names:
                rows = con.execute(f"SELECT * EXCLUDE (run_id) FROM {name}" if name == "load_issues" else
                                   f"SELECT * FROM {name}").fetchall()
                tables.append((name, rows))
    return result.status, re.sub(r"\d{8}T\d{6}-[0-9a-f]{4}", "RUN", result.message), issues, tables


@pytest.mark.parametrize("case", ["damaged", "unusable file", "audit rows without their audits"])
def test_two_cursors_find_every_issue_in_the_order_one_finds_them(
    case: str, sample_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extract = _damaged(sample_extract, tmp_path / "extract")
    if case == "unusable file":  # refused as it is read: only what reading found is kept, and why
        _edit(extract, "children.csv", lambda rows: rows[0].__setitem__(0, "id"))  # child_id is required
    elif case == "audit rows without their audits":
        (extract / "audits.csv").unlink()

    one = _load(extract, tmp_path / "one", 1, monkeypatch)
    two = _load(extract, tmp_path / "two", 2, monkeypatch)
    get_settings.cache_clear()

    expected = {"damaged": "published", "unusable file": "failed", "audit rows without their audits": "published"}
    assert one[0] == expected[case], one[1]
    found = {(file, reason.split(" (")[0]) for file, _, _, _, reason, _ in two[2]}
    assert ("workers.csv", "has 10 values but the header has 9 columns") in found  # found as the file was read
    checked = {("referrals.csv", "is a repeated key"), ("episodes.csv", "is not a valid code")}
    warned = {("referrals.csv", "is not in children.csv"),
              ("episodes.csv", "has another episode open at the same time")}
    if case == "unusable file":  # only what reading found, and why the run stopped: no file's checks count
        assert not (checked | warned) & found
        assert ("children.csv", "has no column child_id") in found
    else:
        assert checked | warned <= found
    assert two[1] == one[1]  # the message
    assert two[2] == one[2]  # every issue, in order
    assert two[3] == one[3]  # every table
