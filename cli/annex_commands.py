"""`kpidash export annex-a`: write the Ofsted ILACS Annex A workbook from the published warehouse.

Loading a workbook needs no command of its own: `kpidash load annex_a.xlsx` converts it (etl.annex_a).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.errors import USAGE, date_option, fail

if TYPE_CHECKING:
    from etl.annex_a.export import ExportResult

export_app = typer.Typer(help="Write returns and inspection lists from the published warehouse.", no_args_is_help=True)


def annex_a(
    date_to: Annotated[dt.date, typer.Option("--to", parser=date_option, metavar="YYYY-MM-DD",
                                             help="Last day of the six months the lists cover.")],
    out: Annotated[Path, typer.Option("--out", help="The workbook to write (.xlsx).")],
) -> None:
    """Write Lists 1 to 9 of Annex A for the six months ending on --to, in the Ofsted layout and headers.

    The workbook holds child-level records: it is written to the audit trail as an export."""
    from core.settings import get_settings

    if out.suffix.lower() != ".xlsx":
        raise typer.BadParameter(f"{out} must end in .xlsx (an Excel workbook)", param_hint="--out")
    if not out.absolute().parent.is_dir():  # said before the lists are built, not after
        raise fail(f"{out} cannot be written: there is no folder {out.absolute().parent}")
    if out.is_dir():
        raise fail(f"{out} cannot be written: it is a folder")
    db = get_settings().db
    if not Path(db).is_file():
        raise fail(f"no published warehouse at {db}: load an extract first (kpidash load FOLDER)")
    # The workbook is written beside --out under a temporary name and takes its place only once its export is
    # in the audit trail: a failure at any step leaves a file already at --out as it was.
    try:
        handle, name = tempfile.mkstemp(dir=out.absolute().parent, prefix=f".{out.stem}.", suffix=".xlsx.part")
    except OSError as err:
        raise fail(f"{out} cannot be written ({err.strerror or err})") from None
    os.close(handle)
    part = Path(name)
    try:
        result = _write(db, date_to, part, out)
        _audit(result.date_from, result.date_to, sum(result.rows.values()), out)
        try:
            os.replace(part, out)
        except OSError as err:
            raise fail(f"{out} cannot be written ({err.strerror or err})") from None
    finally:
        part.unlink(missing_ok=True)
    counts = ", ".join(f"List {n}: {c:,}" for n, c in result.rows.items())
    typer.echo(f"wrote {out} for {result.date_from} to {result.date_to}: {counts}")


def _write(db: Path, date_to: dt.date, part: Path, out: Path) -> ExportResult:
    """The lists into `part`; each way it can fail is one `error:` line naming --out."""
    import duckdb

    from etl.annex_a.export import ExportDateError, export_annex_a

    try:
        return export_annex_a(Path(db), date_to, part)
    except ExportDateError as err:
        raise fail(str(err), USAGE) from None
    except OSError as err:
        raise fail(f"{out} cannot be written ({err.strerror or err})") from None
    except duckdb.Error as err:
        raise fail(f"the warehouse {db} cannot be read ({str(err).splitlines()[0]})") from None


def _audit(date_from: dt.date, date_to: dt.date, records: int, out: Path) -> None:
    """The export's audit entry: a child-level file is kept only once it is in the audit trail."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.appdb import get_engine
    from core.audit import record_command

    try:
        record_command(get_engine(), "export", kpi="annex_a", level="trust", unit="trust", date_from=date_from,
                       date_to=date_to, record_count=records,
                       detail=f"kpidash export annex-a written to {out.absolute()}")
    except (SQLAlchemyError, OSError) as err:
        cause = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise fail(f"{out} was not written: the audit trail (KPIDASH_APP_DB) cannot be written ({cause})") from None


def register(app: typer.Typer) -> None:
    """Add `kpidash export annex-a` to the kpidash app."""
    export_app.command("annex-a")(annex_a)
    app.add_typer(export_app, name="export")
