"""A run's rejected rows and data-quality warnings, kept as `<archive>/<run_id>/issues.parquet`.

Kept in the archive rather than the app database: a national-scale extract can reject many thousands
of rows, and the file is there for failed runs too (the warehouse only holds the published run's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from core.settings import get_settings
from etl.archive import ISSUES_FILE
from etl.runlog import get_run, list_runs


class UnknownRun(LookupError):
    """No such run in the load log; the message is for the analyst."""


@dataclass(frozen=True)
class Issue:
    """One problem in one file: a rejected row's column, or a warning about a loaded row or a file."""

    run_id: str
    file: str
    line: int | None
    column: str | None
    value: str | None
    reason: str
    severity: Literal["reject", "warning"]

    @property
    def message(self) -> str:
        """The sentence an analyst reads, e.g.
        `assessments.csv line 17: authorised_date "31/05/2025" is not a date (expected YYYY-MM-DD)`."""
        where = self.file if self.line is None else f"{self.file} line {self.line}"
        shown = None
        if self.value is not None:
            shown = '"' + (self.value if len(self.value) <= 80 else self.value[:77] + "...") + '"'
        subject = " ".join(part for part in (self.column, shown) if part)
        return f"{where}: {subject} {self.reason}" if subject else f"{where}: {self.reason}"


def write_issues(con: duckdb.DuckDBPyConnection, run_dir: Path, run_id: str) -> None:
    """The in-memory `issues` table to the run's parquet file, sorted as an analyst reads them."""
    con.execute(
        f"""COPY (SELECT ? AS run_id, file, line, "column", value, reason, severity FROM issues
                  ORDER BY file_order, line NULLS FIRST, col_order, severity)
            TO '{_sql_path(run_dir / ISSUES_FILE)}' (FORMAT parquet)""",
        [run_id],
    )


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def run_issues(run_id: str | None = None) -> list[Issue]:
    """The rejects and warnings of a run (None: the newest run), in file and line order."""
    if run_id is None:
        latest = list_runs(limit=1)
        if not latest:
            raise UnknownRun("no loads yet: the load log is empty")
        run_id = latest[0].run_id
    elif get_run(run_id) is None:
        raise UnknownRun(f"no run {run_id} in the load log (kpidash runs lists them)")
    path = get_settings().archive_dir / run_id / ISSUES_FILE
    if not path.parent.is_dir() and not _never_archived(run_id):
        raise UnknownRun(f"run {run_id}'s input and rejected rows are no longer kept: `kpidash prune` removes them "
                         "after KPIDASH_RETENTION_DAYS days (the load log keeps its counts: kpidash runs)")
    if not path.exists():  # the run stopped before it checked any row
        return []
    with duckdb.connect() as con:
        rows = con.execute(
            f"""SELECT run_id, file, line, "column", value, reason, severity
                FROM read_parquet('{_sql_path(path)}')"""
        ).fetchall()
    return [Issue(*row) for row in rows]


def _never_archived(run_id: str) -> bool:
    """A run refused before it made its archive folder (another load held the lock)."""
    run = get_run(run_id)
    return run is not None and run.status == "failed" and not any(f.sha256 for f in run.files)
