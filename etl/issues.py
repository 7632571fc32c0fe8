"""A run's rejected rows and data-quality warnings, kept as `<archive>/<run_id>/issues.parquet`.

Kept in the archive rather than the app database: a national-scale extract can reject many thousands
of rows, and the file is there for failed runs too (the warehouse only holds the published run's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from core.settings import get_settings
from etl.archive import ISSUES_FILE
from etl.sql import quoted


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
            TO {quoted(str(run_dir / ISSUES_FILE))} (FORMAT parquet)""",
        [run_id],
    )


def run_issues(run_id: str | None = None) -> list[Issue]:
    """The rejects and warnings of a run (None: the newest run), in file and line order."""
    from etl.runlog import get_run, list_runs  # (the loader imports this module before the load log is open)

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
                FROM read_parquet({quoted(str(path))})"""
        ).fetchall()
    return [Issue(*row) for row in rows]


def _never_archived(run_id: str) -> bool:
    """A run refused before it made its archive folder (another load held the lock)."""
    from etl.runlog import get_run

    run = get_run(run_id)
    return run is not None and run.status == "failed" and not any(f.sha256 for f in run.files)


SHOWN_RULES = 12  # rules in a load's message; `kpidash rejects RUN` lists every issue
SHOWN_EXAMPLES = 3  # example rows per rule


def summarise_issues(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[list[str], list[str]]:
    """A run's in-memory `issues` grouped by rule and file, each with its count and a few examples, for the
    load's message and log: one unknown worker id repeated on 1,400 rows is one line, not 1,400.

    A rule is a file's reason with the quoted values, dates and numbers in it set aside (so "left on
    2025-03-31 ..." and "left on 2025-06-30 ..." are one rule), over however many columns it is found in.
    Rejected rows come first. Two renderings of one grouping: (without the extract's cells: examples by
    line, a reason's quoted values as "…", for the load log, which every signed-in role reads through
    /status; with them, for whoever ran the load)."""
    rows = con.execute(
        rf"""WITH t AS (
                 SELECT *, regexp_replace(reason, '"[^"]*"|\d{{4}}-\d{{2}}-\d{{2}}|\d+', '#', 'g') AS rule FROM issues)
             SELECT severity, file, count(*) AS n, count(DISTINCT reason) > 1 AS varies,
                    count(DISTINCT coalesce("column", '')) AS columns,
                    arg_min(reason, (coalesce(line, 0), col_order)) AS reason,
                    arg_min("column", (coalesce(line, 0), col_order)) AS "column",
                    list({{'line': line, 'column': "column", 'value': value}}
                         ORDER BY line NULLS FIRST, col_order)[1:{SHOWN_EXAMPLES}] AS examples
             FROM t GROUP BY severity, file, rule
             ORDER BY severity = 'warning', min(file_order), file, min(col_order), n DESC, reason"""
    ).fetchall()
    return _rendered(rows, run_id, cells=False), _rendered(rows, run_id, cells=True)


def _rendered(rows: list[tuple], run_id: str, cells: bool) -> list[str]:
    if not rows:
        return []
    lines = [f"rejected rows and warnings by rule and file (every one: kpidash rejects {run_id}):"]
    for severity, file, n, varies, columns, reason, column, examples in rows[:SHOWN_RULES]:
        subject = f"{file} {column}" if columns == 1 and column else f"{file} ({columns} columns)" if columns > 1 else file
        if not cells:
            reason = re.sub(r'"[^"]*"', "…", reason)
            examples = [e | {"value": None} for e in examples]
        rule = f"{subject} {reason}" + (" (and similar)" if varies else "")
        shown = [_example(e, named=columns > 1) for e in examples]
        shown = [e for e in shown if e]
        rows_word = "row" if n == 1 else "rows"
        count = f"{n:,} {rows_word}" if any(e["line"] is not None for e in examples) else f"{n:,}"
        more = (f", e.g. {'; '.join(shown)}" + ("; ..." if n > len(shown) else "")) if shown else ""
        lines.append(f"  {severity:<7}  {rule}: {count}{more}")
    if len(rows) > SHOWN_RULES:
        lines.append(f"  ... and {len(rows) - SHOWN_RULES:,} more rules")
    return lines


def _example(example: dict, named: bool) -> str:
    """One example of a rule: where (line, and the column when the rule spans several) and the value."""
    parts = []
    if named and example["column"]:
        parts.append(example["column"])
    if example["line"] is not None:
        parts.append(f"line {example['line']}")
    value = example["value"]
    if value is not None:
        parts.append(f'"{value if len(value) <= 40 else value[:37] + "..."}"')
    return " ".join(parts)
