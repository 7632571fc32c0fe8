"""`kpidash refresh` and the scheduler's refresh job: load the live source only when it has changed.

The fingerprint of what was last loaded is kept in a small JSON file beside the warehouse
(`<db>.refresh.json`), so every process that shares the warehouse agrees on it. A drop folder whose
files are still changing is left for the next look; a refused extract is not retried until it changes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError

from core.settings import Settings, get_settings
from etl.loader import load_extract, local_now
from etl.outcome import LoadLogUnusable
from etl.sources import SourceError, pull_sql_source, read_sql_source_config, stable_drop_folder

Action = Literal["loaded", "failed", "unchanged", "waiting", "unreachable"]
BUSY_PREFIX = "another load into"


@dataclass(frozen=True)
class RefreshOutcome:
    """What one refresh did; `failed` and `unreachable` mean the scheduler should report a problem."""

    action: Action
    message: str
    run_id: str | None = None


def state_path(db: Path) -> Path:
    """Where the last loaded fingerprint is kept: beside the warehouse it describes."""
    return db.with_name(db.name + ".refresh.json")


def _last_state(db: Path) -> dict:
    """What _remember kept of the last refresh's load ({} before the first, or when it cannot be read)."""
    try:
        state = json.loads(state_path(db).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def last_fingerprint(db: Path) -> str | None:
    """The fingerprint of the source as it was last loaded (or refused), None before the first refresh."""
    return _last_state(db).get("fingerprint")


def _unchanged(db: Path, what: str) -> RefreshOutcome:
    """Nothing to load; when the source's last load was refused, say so (it is still not published)."""
    last = _last_state(db)
    if last.get("status") == "failed":
        return RefreshOutcome("unchanged", f"{what} has not changed since its last load, run {last.get('run_id')}, "
                              "which was refused (`kpidash rejects` lists why): it stays unpublished until it is "
                              "corrected, or loaded again with --force")
    return RefreshOutcome("unchanged", f"{what} has not changed since the last load")


def _remember(db: Path, fingerprint: str, run_id: str, status: str) -> None:
    path = state_path(db)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        json.dumps({"fingerprint": fingerprint, "run_id": run_id, "status": status,
                    "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}),
        encoding="utf-8",
    )
    os.replace(tmp, path)


def source_description(settings: Settings) -> str | None:
    """The configured source in words (the SQL source wins when both are set), None when there is none."""
    if settings.sql_source_config is not None:
        return f"SQL source {settings.sql_source_config}"
    if settings.ssd_url is not None:
        from etl.ssd import describe

        return f"SSD database {describe(settings.ssd_url, settings.ssd_schema)}"
    if settings.drop_dir is not None:
        return f"drop folder {settings.drop_dir}"
    return None


def refresh(*, force: bool = False, sleep: Callable[[float], None] = time.sleep,
            allow_shrink: bool = False) -> RefreshOutcome:
    """Load the configured source if it changed since the last refresh (force: load it anyway;
    allow_shrink: see etl.loader.load_extract)."""
    settings = get_settings()
    db = Path(settings.db).absolute()
    if settings.sql_source_config is not None:
        return _refresh_sql(settings, db, force, allow_shrink)
    if settings.ssd_url is not None:
        return _refresh_ssd(settings, db, force, allow_shrink)
    if settings.drop_dir is not None:
        return _refresh_drop(settings, db, force, sleep, allow_shrink)
    raise SourceError("no live source is configured: set KPIDASH_DROP_DIR or KPIDASH_SQL_SOURCE_CONFIG "
                      "(or KPIDASH_SSD_URL for a Standard Safeguarding Dataset)")


def _refresh_drop(settings: Settings, db: Path, force: bool, sleep: Callable[[float], None],
                  allow_shrink: bool = False) -> RefreshOutcome:
    folder = Path(settings.drop_dir)  # type: ignore[arg-type]
    try:
        state = stable_drop_folder(folder, settings.stable_seconds, sleep)
    except SourceError as err:
        return RefreshOutcome("unreachable", str(err))
    if state is None:
        return RefreshOutcome(
            "waiting", f"the extract in {folder} is incomplete or still being written; it will be loaded when it settles"
        )
    if not force and state.fingerprint == last_fingerprint(db):
        return _unchanged(db, f"the extract in {folder}")
    return _load(db, state.load_path(folder), state.fingerprint, allow_shrink)


def _refresh_sql(settings: Settings, db: Path, force: bool, allow_shrink: bool = False) -> RefreshOutcome:
    staging = db.with_name(db.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        source = read_sql_source_config(Path(settings.sql_source_config))  # type: ignore[arg-type]
        fingerprint = pull_sql_source(source, staging, local_now())
        if not force and fingerprint == last_fingerprint(db):
            return _unchanged(db, "the SQL source's results")
        return _load(db, staging, fingerprint, allow_shrink)
    except SourceError as err:
        return RefreshOutcome("unreachable", str(err))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _refresh_ssd(settings: Settings, db: Path, force: bool, allow_shrink: bool = False) -> RefreshOutcome:
    """The SSD read from its database into a staging folder of ssd_*.csv files, loaded if they changed."""
    from etl.ssd import pull_ssd_database

    staging = db.with_name(db.name + ".ssd-staging")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        fingerprint = pull_ssd_database(settings.ssd_url, settings.ssd_schema, staging, local_now())  # type: ignore[arg-type]
        if not force and fingerprint == last_fingerprint(db):
            return _unchanged(db, "the SSD database")
        return _load(db, staging, fingerprint, allow_shrink)
    except SourceError as err:
        return RefreshOutcome("unreachable", str(err))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _load(db: Path, folder: Path, fingerprint: str, allow_shrink: bool = False) -> RefreshOutcome:
    try:
        result = load_extract(folder, allow_shrink=allow_shrink)
    except (SQLAlchemyError, LoadLogUnusable) as err:  # the load log is in the app database: no log, no load
        first = (str(getattr(err, "orig", None) or err).splitlines() or [type(err).__name__])[0]
        return RefreshOutcome(
            "failed", f"the app database (KPIDASH_APP_DB) cannot be reached ({first}); the source will be loaded "
            "when it is back"
        )
    if result.status == "failed" and result.message.startswith(BUSY_PREFIX):
        return RefreshOutcome("failed", result.message, result.run_id)  # not remembered: try again next time
    _remember(db, fingerprint, result.run_id, result.status)
    return RefreshOutcome("loaded" if result.status == "published" else "failed", result.message, result.run_id)
