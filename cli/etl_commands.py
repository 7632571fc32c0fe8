"""`kpidash load`, `check`, `runs` and `rejects`: the ETL layer's commands.

Exit status: 0 when the command did what was asked, 1 when a load or check failed or a run is unknown.
Errors are one plain message on stderr, never a traceback.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.errors import fail, skip_teardown

if TYPE_CHECKING:  # the ETL layer is imported by the commands that use it, not for every command
    from etl import Issue, LoadResult

EXTRACT_ARG = typer.Argument(
    help="The extract: a folder of the contract's CSV files (and, optionally, manifest.json), a folder of "
    "Standard Safeguarding Dataset tables (docs/ssd.md), or an Ofsted Annex A workbook (.xlsx).",
    show_default=False,
)


class Severity(str, Enum):
    reject = "reject"
    warning = "warning"
    all = "all"


class Format(str, Enum):
    text = "text"
    csv = "csv"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> str:
    """Rows as aligned plain-text columns (numbers, at the positions in `right`, right-aligned)."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        .rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fail(message: str) -> typer.Exit:
    return fail(message)


def _log_unusable(err: Exception) -> typer.Exit:
    cause = str(getattr(err, "orig", None) or err or type(err).__name__).splitlines()[0]
    return _fail(f"the load log (the app database, KPIDASH_APP_DB) cannot be used: {cause}")


def _open_load_log() -> None:
    """Reach the app database first, so a wrong KPIDASH_APP_DB is one clear error, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.appdb import get_engine

    try:
        get_engine()
    except (SQLAlchemyError, OSError) as err:
        raise _log_unusable(err) from None


def _report(result: LoadResult) -> None:
    rows = [
        (f.file, (f.sha256 or "(missing)")[:12], *(f"{n:,}" for n in (f.rows_read, f.rows_loaded, f.rows_rejected, f.warnings)))
        for f in result.files
    ]
    typer.echo(f"run {result.run_id}: {result.status}, extract of {result.extracted_at:%Y-%m-%d %H:%M}")
    if any(f.sha256 for f in result.files):
        typer.echo(table(("file", "sha256", "read", "loaded", "rejected", "warnings"), rows, right=(2, 3, 4, 5)))
    rejected = sum(f.rows_rejected for f in result.files)
    warnings = sum(f.warnings for f in result.files)
    if result.status == "failed":
        raise _fail(result.message)
    typer.echo(result.message)
    if rejected or warnings:
        typer.echo(f"to list the {rejected:,} rejected rows and {warnings:,} warnings: kpidash rejects {result.run_id}")


def _run_load(extract: Path, publish: bool, allow_shrink: bool) -> None:
    """The load opens the load log itself, in a thread, while it reads the files (etl.loader): a wrong
    KPIDASH_APP_DB stops it before anything is published and is one clear error here."""
    from etl.loader import LoadLogUnusable, load_extract

    skip_teardown()  # the load closes what it opened: its process need not tear every module down
    try:
        result = load_extract(extract, publish=publish, allow_shrink=allow_shrink)
    except LoadLogUnusable as err:
        raise _log_unusable(err) from None
    except Exception as err:
        from sqlalchemy.exc import SQLAlchemyError  # (the load log has imported it)

        if isinstance(err, SQLAlchemyError):
            raise _log_unusable(err) from None
        raise
    _report(result)


ALLOW_SHRINK = typer.Option(
    "--allow-shrink",
    help="Load even when a file has far fewer rows than the published warehouse holds for it "
    "(KPIDASH_SHRINK_MIN_FRACTION): only when the source really did shrink.",
)


def load(extract: Annotated[Path, EXTRACT_ARG], allow_shrink: Annotated[bool, ALLOW_SHRINK] = False) -> None:
    """Check an extract and, if no file has too many rejected rows or has shrunk far below what is
    published, publish it as the new warehouse.

    The published warehouse (KPIDASH_DB) is replaced in one step, or not at all.
    """
    _run_load(extract, publish=True, allow_shrink=allow_shrink)


def check(extract: Annotated[Path, EXTRACT_ARG], allow_shrink: Annotated[bool, ALLOW_SHRINK] = False) -> None:
    """Check an extract exactly as `load` does, without publishing anything."""
    _run_load(extract, publish=False, allow_shrink=allow_shrink)


def runs(
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many runs (0: all).", min=0)] = 20,
) -> None:
    """List the load log, newest first."""
    from sqlalchemy.exc import SQLAlchemyError

    from etl import list_runs

    _open_load_log()
    try:
        found = list_runs(limit or None)
    except SQLAlchemyError as err:
        raise _log_unusable(err) from None
    if not found:
        typer.echo("no loads yet")
        return
    rows = [
        (
            r.run_id, f"{r.started_at:%Y-%m-%d %H:%M:%S}", r.status,
            f"{r.extracted_at:%Y-%m-%d %H:%M}" if r.extracted_at else "",
            f"{r.rows_read:,}", f"{r.rows_loaded:,}", f"{r.rows_rejected:,}", f"{r.warnings:,}",
            _first_line(r.message),
        )
        for r in found
    ]
    headers = ("run", "started (UTC)", "status", "extract", "read", "loaded", "rejected", "warnings", "message")
    typer.echo(table(headers, rows, right=(4, 5, 6, 7)))


def _first_line(message: str, width: int = 70) -> str:
    first = message.splitlines()[0] if message else ""
    return first if len(first) <= width else first[: width - 3] + "..."


def rejects(
    run_id: Annotated[
        str | None,
        typer.Argument(help="The run to list (see `kpidash runs`); default: the newest run.", show_default=False),
    ] = None,
    severity: Annotated[Severity, typer.Option(help="Which issues: rejected rows, warnings, or all.")] = Severity.all,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many (0: all).", min=0)] = 200,
    fmt: Annotated[
        Format, typer.Option("--format", help="text for reading, csv for a spreadsheet (all columns).")
    ] = Format.text,
) -> None:
    """List a run's rejected rows and data-quality warnings, by file and line."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.appdb import get_engine
    from core.audit import record_command
    from etl import UnknownRun, list_runs, run_issues
    from etl.runlog import get_run

    _open_load_log()
    try:
        run = get_run(run_id) if run_id else next(iter(list_runs(1)), None)
        if run is None:
            raise _fail(f"no run {run_id} in the load log (kpidash runs lists them)" if run_id else "no loads yet")
        issues = run_issues(run.run_id)
        if severity is not Severity.all:
            issues = [i for i in issues if i.severity == severity.value]
        shown = issues[:limit] if limit else issues
        # The values quote the extract's cells: audited before they are shown.
        record_command(get_engine(), "rejects", record_count=len(shown),
                       detail=f"kpidash rejects {run.run_id} --severity {severity.value} --format {fmt.value}")
    except UnknownRun as err:  # its archive folder was pruned
        raise _fail(str(err)) from None
    except SQLAlchemyError as err:
        raise _log_unusable(err) from None
    if fmt is Format.csv:
        _write_csv(shown)
        return
    refused = sum(i.severity == "reject" and i.line is None for i in issues)  # a whole file: not a row
    whole = f", {refused:,} refusal{'s' if refused != 1 else ''} of a whole file" if refused else ""
    typer.echo(f"run {run.run_id} ({run.status}): {run.rows_rejected:,} rejected rows{whole}, {run.warnings:,} warnings")
    if not issues:
        typer.echo("nothing to list" if severity is Severity.all else f"no {severity.value}s")
        return
    typer.echo(table(("severity", "problem"), [(i.severity, i.message) for i in shown]))
    if len(shown) < len(issues):
        typer.echo(f"... and {len(issues) - len(shown):,} more (--limit 0 shows all, --format csv for a spreadsheet)")


def _write_csv(issues: list[Issue]) -> None:
    """For a spreadsheet: every cell spreadsheet-safe (the values are the extract's own cells)."""
    from core.spreadsheet import safe_cells

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(("run_id", "file", "line", "column", "value", "reason", "severity"))
    writer.writerows(safe_cells((i.run_id, i.file, i.line, i.column, i.value, i.reason, i.severity)) for i in issues)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kpidash app."""
    app.command("load")(load)
    app.command("check")(check)
    app.command("runs")(runs)
    app.command("rejects")(rejects)
