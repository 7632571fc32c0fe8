"""`kpidash export annex-a`: write the Ofsted ILACS Annex A workbook from the published warehouse.

Loading a workbook needs no command of its own: `kpidash load annex_a.xlsx` converts it (etl.annex_a).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cli.errors import date_option, fail

export_app = typer.Typer(help="Write returns and inspection lists from the published warehouse.", no_args_is_help=True)


def annex_a(
    date_to: Annotated[dt.date, typer.Option("--to", parser=date_option, metavar="YYYY-MM-DD",
                                             help="Last day of the six months the lists cover.")],
    out: Annotated[Path, typer.Option("--out", help="The workbook to write (.xlsx).")],
) -> None:
    """Write Lists 1 to 9 of Annex A for the six months ending on --to, in the Ofsted layout and headers.

    The workbook holds child-level records: it is written to the audit trail as an export."""
    import duckdb

    from core.settings import get_settings
    from etl.annex_a.export import export_annex_a

    if out.suffix.lower() != ".xlsx":
        raise typer.BadParameter(f"{out} must end in .xlsx (an Excel workbook)", param_hint="--out")
    if not out.absolute().parent.is_dir():  # said before the lists are built, not after
        raise fail(f"{out} cannot be written: there is no folder {out.absolute().parent}")
    db = get_settings().db
    if not Path(db).is_file():
        raise fail(f"no published warehouse at {db}: load an extract first (kpidash load FOLDER)")
    try:
        result = export_annex_a(Path(db), date_to, out)
    except OSError as err:
        raise fail(f"{out} cannot be written ({err.strerror or err})") from None
    except duckdb.Error as err:
        raise fail(f"the warehouse {db} cannot be read ({str(err).splitlines()[0]})") from None
    from sqlalchemy.exc import SQLAlchemyError

    from core.appdb import get_engine
    from core.audit import record_command

    try:  # a child-level file: kept only once its export is in the audit trail
        record_command(get_engine(), "export", kpi="annex_a", level="trust", unit="trust", date_from=result.date_from,
                       date_to=result.date_to, record_count=sum(result.rows.values()),
                       detail=f"kpidash export annex-a written to {out.absolute()}")
    except (SQLAlchemyError, OSError) as err:
        out.unlink(missing_ok=True)
        cause = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise fail(f"{out} was not kept: the audit trail (KPIDASH_APP_DB) cannot be written ({cause})") from None
    counts = ", ".join(f"List {n}: {c:,}" for n, c in result.rows.items())
    typer.echo(f"wrote {out} for {result.date_from} to {result.date_to}: {counts}")


def register(app: typer.Typer) -> None:
    """Add `kpidash export annex-a` to the kpidash app."""
    export_app.command("annex-a")(annex_a)
    app.add_typer(export_app, name="export")
