"""`kpidash prune`, `backup` and `restore`: how long data is kept, and getting it all back.

Exit status: 0 done, 1 refused or failed (the message says why), never a traceback.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _actor() -> str:
    """Who ran the command, for the audit trail (the operating-system account)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001  no name for this uid (a container's arbitrary user)
        return "cli"


def prune_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be removed.")] = False,
) -> None:
    """Remove archived raw inputs, weekly packs and expired sessions older than KPIDASH_RETENTION_DAYS
    (the last good load's input is always kept). The scheduler runs this nightly."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.appdb import get_engine
    from core.settings import get_settings
    from scheduler.retention import prune

    settings = get_settings()
    try:
        report = prune(settings, get_engine(), actor=_actor(), dry_run=dry_run)
    except SQLAlchemyError as exc:
        raise _fail(f"the app database (KPIDASH_APP_DB) cannot be used: {str(getattr(exc, 'orig', exc)).splitlines()[0]}"
                    ) from None
    typer.echo(("Would remove " if dry_run else "Removed ") + report.summary() + ".")
    for run in report.runs:
        typer.echo(f"  archive {run}")
    for week in report.packs:
        typer.echo(f"  packs {week}")


def backup_command(
    out: Annotated[Path, typer.Argument(help="The backup file to write (a tar; e.g. kpidash-2026-11-28.tar).")],
    wait: Annotated[float, typer.Option(help="Seconds to wait for a running load to finish first.")] = 600,
) -> None:
    """Back up the app database (every table) and the published warehouse into one file, consistently,
    while the service runs. The file holds child-level records: keep it as safe as the warehouse."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.appdb import get_engine
    from core.audit import record
    from core.settings import get_settings
    from scheduler.backup import BackupError, backup

    settings = get_settings()
    try:
        engine = get_engine()
        report = backup(settings, engine, out, wait=wait)
        record(engine, "backup", "ok", username=_actor()[:64], role="cli",
               detail=f"backup written to {report.path} ({sum(report.rows.values())} app-database rows, warehouse "
                      f"run {report.warehouse_run})"[:500])
    except BackupError as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _fail(f"the app database (KPIDASH_APP_DB) cannot be used: {str(getattr(exc, 'orig', exc)).splitlines()[0]}"
                    ) from None
    except OSError as exc:
        raise _fail(f"{out} cannot be written ({exc.strerror or exc})") from None
    tables = ", ".join(f"{name} {n}" for name, n in report.rows.items() if n)
    typer.echo(f"Backed up to {report.path} ({report.bytes / 2**20:.1f} MB): app database at migration "
               f"{report.revision} ({tables}); warehouse run {report.warehouse_run or '(none)'}.")
    if report.note and report.warehouse_run is None:  # written, but not what a backup should be: say so, and fail
        raise _fail(report.note)
    if report.note:
        typer.echo(f"warning: {report.note}", err=True)


def restore_command(
    backup_file: Annotated[Path, typer.Argument(help="A file made by `kpidash backup`.", exists=True, dir_okay=False)],
    replace: Annotated[bool, typer.Option("--replace", help="Drop everything in the app database first (else a "
                                          "database holding any data is refused).")] = False,
) -> None:
    """Restore a backup into the configured app database (KPIDASH_APP_DB, SQLite or PostgreSQL) and
    warehouse (KPIDASH_DB). Stop the service and the scheduler first."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.appdb import get_engine, make_engine
    from core.audit import record
    from core.settings import get_settings
    from scheduler.backup import BackupError, restore

    settings = get_settings()
    try:
        manifest = restore(settings, backup_file, replace=replace)
        get_engine.cache_clear()  # this process's engine predates the restored schema
        engine = make_engine(settings.app_db)
        try:
            record(engine, "restore", "ok", username=_actor()[:64], role="cli",
                   detail=f"restored from {backup_file.absolute()} (made {manifest['created_at']})"[:500])
        finally:
            engine.dispose()
    except BackupError as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _fail(f"the app database (KPIDASH_APP_DB) cannot be used: {str(getattr(exc, 'orig', exc)).splitlines()[0]}"
                    ) from None
    rows = sum(t["rows"] for t in manifest["tables"].values())
    run = (manifest.get("warehouse") or {}).get("run_id")
    typer.echo(f"Restored {rows} app-database rows ({len(manifest['tables'])} tables) made {manifest['created_at']}"
               + (f", and the warehouse of run {run}." if run else "; the backup held no warehouse."))


def register(app: typer.Typer) -> None:
    """Add the data-keeping commands to the kpidash app."""
    app.command("prune")(prune_command)
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
