"""`kpidash doctor`: is this deployment able to run? Configuration, the live source, disk space, the
warehouse and the app database, each checked and reported in words an operator can act on."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import ValidationError
from sqlalchemy import text

from core.settings import Settings, get_settings, settings_problems
from etl.publish import last_good_path

MIN_FREE_BYTES = 1 << 30  # a load writes a new warehouse beside the old one, and archives its inputs


@dataclass(frozen=True)
class Check:
    """One check's outcome: `fail` makes doctor exit non-zero, `warn` does not."""

    name: str
    result: Literal["ok", "warn", "fail"]
    detail: str


def check_settings() -> tuple[Settings | None, Check]:
    """The KPIDASH_* variables parse, and the schedule's times and days are usable."""
    from scheduler.runner import ScheduleError, _history_trigger, _pack_trigger

    try:
        settings = get_settings()
    except ValidationError as err:
        return None, Check("configuration", "fail", settings_problems(err))
    try:
        _history_trigger(settings)
        _pack_trigger(settings)
        if settings.refresh_minutes <= 0:
            raise ScheduleError(f"KPIDASH_REFRESH_MINUTES is {settings.refresh_minutes:g}; it must be more than 0")
    except ScheduleError as err:
        return settings, Check("configuration", "fail", str(err))
    return settings, Check("configuration", "ok", "every KPIDASH_ setting is usable")


def check_source(settings: Settings) -> Check:
    """The live source can be reached (without loading anything)."""
    from etl.sources import SourceError, look_at_drop_folder, read_sql_source_config

    try:
        if settings.sql_source_config is not None:
            source = read_sql_source_config(settings.sql_source_config)
            from sqlalchemy import create_engine

            engine = create_engine(source.url)
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            finally:
                engine.dispose()
            return Check("source", "ok", f"the SQL source in {settings.sql_source_config} answers")
        if settings.ssd_url is not None:
            from etl.ssd import REQUIRED_TABLES, describe, ssd_tables_present

            found = ssd_tables_present(settings.ssd_url, settings.ssd_schema)
            lacking = [t for t in REQUIRED_TABLES if t not in found]
            where = describe(settings.ssd_url, settings.ssd_schema)
            if lacking:
                return Check("source", "warn", f"the SSD database {where} lacks {', '.join(lacking)}")
            return Check("source", "ok", f"the SSD database {where} answers and holds every SSD table kpidash needs")
        if settings.drop_dir is not None:
            state = look_at_drop_folder(Path(settings.drop_dir))
            if state.missing:
                return Check("source", "warn", f"the drop folder {settings.drop_dir} lacks {', '.join(state.missing)}")
            return Check("source", "ok", f"the drop folder {settings.drop_dir} holds a complete extract")
    except SourceError as err:
        return Check("source", "fail", str(err))
    except Exception as err:  # noqa: BLE001  any driver error means "unreachable", reported
        first = (str(err).splitlines() or [type(err).__name__])[0]
        return Check("source", "fail", f"the SQL source cannot be reached ({first})")
    return Check("source", "warn", "no live source is set (KPIDASH_DROP_DIR or KPIDASH_SQL_SOURCE_CONFIG, or KPIDASH_SSD_URL): "
                 "only `kpidash load` updates the figures")


def check_disk(settings: Settings) -> Check:
    """Room for a new warehouse beside the published one."""
    folder = Path(settings.db).absolute().parent
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    shown = f"{free / (1 << 30):.1f} GiB free in {folder}"
    return Check("disk space", "ok" if free >= MIN_FREE_BYTES else "fail",
                 shown if free >= MIN_FREE_BYTES else f"only {shown}; a load needs at least 1 GiB")


def warehouse_load(path: Path) -> tuple[str, object] | str:
    """(run id, extracted at) of the warehouse file, or why it cannot be read (also what a backup checks)."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            run_id, extracted_at = con.execute("SELECT run_id, extracted_at FROM extract_meta").fetchone()
    except (duckdb.Error, TypeError, OSError) as err:
        return (str(err).splitlines() or [type(err).__name__])[0]
    return str(run_id), extracted_at


def check_folders(settings: Settings) -> Check:
    """The folders a load writes (the warehouse's, the archive, the packs') are folders it can write, or can
    be made: a file in their place, or a read-only disk, would fail every load."""
    problems = []
    for what, folder in (("KPIDASH_DB's folder", Path(settings.db).absolute().parent),
                         ("KPIDASH_ARCHIVE_DIR", Path(settings.archive_dir).absolute()),
                         ("KPIDASH_PACK_DIR", Path(settings.pack_dir).absolute())):
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            problems.append(f"{what} {folder}: {existing} is a file, not a folder")
        elif not os.access(existing, os.W_OK | os.X_OK):
            problems.append(f"{what} {folder}: {existing} cannot be written (permissions, or a read-only disk)")
    if problems:
        return Check("folders", "fail", "; ".join(problems))
    return Check("folders", "ok", "the warehouse's, archive and pack folders can be written")


def check_warehouse(settings: Settings) -> Check:
    """The published warehouse opens and names its load."""
    db = Path(settings.db)
    if not db.exists():
        return Check("warehouse", "fail", f"no warehouse has been published at {db}: load an extract (kpidash load FOLDER)")
    found = warehouse_load(db)
    if isinstance(found, str):
        kept = warehouse_load(last_good_path(db)) if last_good_path(db).exists() else None
        meanwhile = (f"; meanwhile the API serves the kept copy {last_good_path(db)} (load {kept[0]}) read-only"
                     if isinstance(kept, tuple) else "")
        return Check("warehouse", "fail", f"the warehouse file {db} cannot be read ({found}): it is damaged or not a "
                     f"kpidash warehouse; load the extract again (kpidash load FOLDER) to publish a good one{meanwhile}")
    return Check("warehouse", "ok", f"{db} holds load {found[0]} (extract of {found[1]})")


def check_kept_copy(settings: Settings) -> Check:
    """The copy of the last publish that the API falls back on when the published file is damaged."""
    db = Path(settings.db)
    kept = last_good_path(db)
    if not kept.exists():
        return Check("kept copy", "warn", f"there is no kept copy {kept} of the last publish (the next load makes "
                     "one): a damaged warehouse file could not be served from it")
    found = warehouse_load(kept)
    if isinstance(found, str):
        return Check("kept copy", "warn", f"the kept copy {kept} cannot be read ({found}); the next load replaces it")
    return Check("kept copy", "ok", f"{kept} holds load {found[0]}")


def check_app_db(settings: Settings) -> Check:
    """The app database answers and is at this code's schema (a SQLite file is looked at, not made)."""
    from sqlalchemy.engine import make_url

    from core import appdb

    try:
        url = make_url(settings.app_db)
        database = url.database or ""
        if url.query.get("uri") in ("true", "1"):  # SQLite's URI filenames: file:PATH?mode=ro&uri=true
            database = database.removeprefix("file:")
        if url.get_backend_name() == "sqlite" and database and not Path(database).is_file():
            return Check("app database", "warn", f"there is no app database at {database} yet: the API or the "
                         "scheduler makes it when it starts (if that is not where it should be, fix KPIDASH_APP_DB)")
    except Exception:  # noqa: BLE001, S110  (an unparsable URL: reported by the connection below)
        pass
    try:
        engine = appdb.make_engine(settings.app_db)
        try:
            with engine.connect() as conn:
                revision = appdb.current_revision(conn)
                unwritable = _cannot_write(conn) if revision is not None else None
        finally:
            engine.dispose()
    except Exception as err:  # noqa: BLE001  any driver error means "unreachable", reported
        first = (str(err).splitlines() or [type(err).__name__])[0]
        return Check("app database", "fail", f"the app database (KPIDASH_APP_DB) cannot be reached ({first})")
    if unwritable is not None:
        return Check("app database", "fail", f"the app database (KPIDASH_APP_DB) can be read but not written "
                     f"({unwritable}): no one could sign in, and loads could not be logged")
    head = appdb.head_revision()
    if revision != head:
        return Check("app database", "warn", f"the app database is at schema {revision or 'none'}, this code at "
                     f"{head}; it is upgraded when the API or scheduler starts")
    return Check("app database", "ok", "reachable, schema up to date")


def _cannot_write(conn) -> str | None:  # noqa: ANN001  (a SQLAlchemy Connection)
    """Why a write is refused (a read-only file, disk or replica), or None: one row rewritten as it is,
    then rolled back (an operations audit: a read-only app database passed every check)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
    except SQLAlchemyError as err:
        return (str(err.orig if getattr(err, "orig", None) is not None else err).splitlines() or ["refused"])[0]
    finally:
        conn.rollback()
    return None


def run_checks() -> list[Check]:
    """Every check, in the order an operator fixes things."""
    settings, config = check_settings()
    if settings is None:
        return [config]
    return [config, check_source(settings), check_folders(settings), check_disk(settings), check_warehouse(settings),
            check_kept_copy(settings), check_app_db(settings)]
