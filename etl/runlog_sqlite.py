"""A load's own writes to the load log when the app database is a SQLite file (the default), through
Python's sqlite3 rather than SQLAlchemy.

Why: importing SQLAlchemy costs a fifth of a second of CPU, and its ORM more, for the two rows a load writes;
in a thread beside the load it takes the GIL from DuckDB's work (docs/benchmarks.md, "`kpidash load`,
fourth pass"). These are the same rows, in the same tables and storage formats, as etl.runlog's
`mark_interrupted`, `start_run` and `finish_run` (which every other URL, PostgreSQL's included, still
uses; tests/etl/test_runlog.py reads what this module writes through the ORM). The schema stays
Alembic's: a database that is not at the shipped migration (a first load) is brought up to date through
core.appdb first, which is the one time a load imports SQLAlchemy.

Errors: whatever SQLite or the file system says comes out as etl.outcome.LoadLogUnusable, with SQLite's
words (e.g. "file is not a database").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from core.schema_version import shipped_head
from core.settings import get_settings
from etl.outcome import FINISHED_LATE, INTERRUPTED, FileResult, LoadLogUnusable, utcnow

FAILURES: tuple[type[Exception], ...] = (LoadLogUnusable,)
BUSY_SECONDS = 5.0  # as core.appdb's PRAGMA busy_timeout=5000
Published = Mapping[str, tuple[dt.datetime | None, str | None]]  # as etl.runlog's


class RunLogUnfinished(LoadLogUnusable):
    """The new warehouse is published, but the app database failed before the run's load-log entry
    was finished (etl.runlog.RunLogUnfinished's counterpart); the message says when it will be."""


def handles(url: str) -> bool:
    """Whether this module writes the load log of the app database at `url`: a plain SQLite file URL
    (`sqlite:///path`, no query options; not in memory, which only its own engine could see)."""
    return url.startswith("sqlite:///") and "?" not in url and not url.startswith("sqlite:///:memory:")


def _stamp(value: dt.datetime | None) -> str | None:
    """A date-time as SQLAlchemy's SQLite DATETIME stores it (so the ORM reads it back as it wrote it)."""
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


@contextlib.contextmanager
def _transaction() -> Iterator[sqlite3.Connection]:
    """One write transaction on the app database (KPIDASH_APP_DB), on a connection of its own (opened and
    closed each time, as a Session would); committed on success, rolled back on any error."""
    url = get_settings().app_db
    path = Path(url.removeprefix("sqlite:///"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
    except (OSError, sqlite3.Error) as err:
        raise LoadLogUnusable(str(err)) from err
    try:
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA foreign_keys=ON")
            if not _at_head(con):
                from core.appdb import get_engine  # a new or older app database: Alembic brings it up to date

                get_engine()
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        except sqlite3.Error as err:
            raise LoadLogUnusable(str(err)) from err
    finally:
        con.close()


def _at_head(con: sqlite3.Connection) -> bool:
    """Whether the app database is at the newest migration shipped (so its load-log tables are as written here)."""
    if not con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone():
        return False
    found = con.execute("SELECT version_num FROM alembic_version").fetchone()
    return found is not None and found[0] == shipped_head()


def start_run(run_id: str, source: str, started_at: dt.datetime, *, host: str, pid: int, warehouse: str) -> None:
    """Record a run as "running" before any work, so a killed load still leaves its trace (etl.runlog.start_run)."""
    with _transaction() as con:
        con.execute(
            "INSERT INTO load_runs (id, started_at, finished_at, source, status, message, extracted_at, source_system, "
            "host, pid, warehouse) VALUES (?, ?, NULL, ?, 'running', '', NULL, NULL, ?, ?, ?)",
            (run_id, _stamp(started_at), source, host, pid, warehouse),
        )


def finish_run(run_id: str, status: str, message: str, *, extracted_at: dt.datetime | None,
               source_system: str | None, files: list[FileResult]) -> None:
    """Record a run's outcome and its files in one transaction (etl.runlog.finish_run)."""
    with _transaction() as con:
        updated = con.execute(
            "UPDATE load_runs SET status = ?, message = ?, finished_at = ?, extracted_at = ?, source_system = ? "
            "WHERE id = ?",
            (status, message, _stamp(utcnow()), _stamp(extracted_at), source_system, run_id),
        ).rowcount
        if updated != 1:
            raise LoadLogUnusable(f"run {run_id} is not in the load log")
        con.executemany(
            "INSERT INTO load_files (run_id, file, sha256, rows_read, rows_loaded, rows_rejected, warnings) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_id, f.file, f.sha256, f.rows_read, f.rows_loaded, f.rows_rejected, f.warnings) for f in files],
        )


def mark_interrupted(*, host: str, warehouse: str, published: Published | Callable[[], Published] | None = None
                     ) -> list[str]:
    """Finish the runs still marked "running" that no process is finishing; call only under the load lock
    (etl.runlog.mark_interrupted, which says what becomes of them)."""
    now = _stamp(utcnow())
    with _transaction() as con:
        running = con.execute(
            "SELECT id, host FROM load_runs WHERE status = 'running' AND warehouse = ?", (warehouse,)).fetchall()
        if callable(published):
            published = published() if running else {}
        published = published or {}
        finished = [run_id for run_id, _ in running if run_id in published]
        for run_id in finished:
            extracted_at, source_system = published[run_id]
            con.execute(
                "UPDATE load_runs SET status = 'published', message = ?, finished_at = ?, extracted_at = ?, "
                "source_system = ? WHERE id = ?",
                (FINISHED_LATE, now, _stamp(extracted_at), source_system, run_id),
            )
        ids = [run_id for run_id, on in running if on == host and run_id not in published]
        con.executemany("UPDATE load_runs SET status = 'failed', message = ?, finished_at = ? WHERE id = ?",
                        [(INTERRUPTED, now, run_id) for run_id in ids])
    return finished + ids
