"""All or nothing: build the new warehouse beside the published one, then switch with os.replace.

Readers open the published file read-only; one that holds the old file keeps its inode and keeps
reading the old data after a switch. A load killed at any point leaves the published file as it was
(and at worst a `<db>.<run_id>.tmp` file, which the next load removes).

Each publish also keeps an independent copy of what it published, `<db>.last-good` (its own inode, so
bytes written in place over the published file do not reach it): the API serves it read-only when the
published file cannot be read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import duckdb

from etl.contract import EXTRACT_TABLES, FILES_DDL, ISSUES_DDL, META_DDL, ROW_GROUP_SIZE, warehouse_ddl

log = logging.getLogger("kpidash.etl")
T = TypeVar("T")
# build_warehouse's checkpoint_threshold: any commit checkpoints (DuckDB then skips its write-ahead log)
_CHECKPOINT_EVERY_COMMIT = "1B"
# the new file's name on the load's connection while it is written, and the rows as checked (Derived.count)
FILE, STAGED = "out", "wh"


class LoadBusy(Exception):
    """Another load holds the warehouse's load lock, or the lock cannot be taken at all."""


@contextlib.contextmanager
def load_lock(db: Path) -> Iterator[None]:
    """One load at a time per warehouse; the OS drops the lock when a load dies, however it dies."""
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        lock = open(db.with_name(db.name + ".lock"), "a+b")  # noqa: SIM115  (closed below)
    except OSError as err:
        raise LoadBusy(f"the warehouse folder {db.parent} cannot be used ({err.strerror or err})") from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LoadBusy(f"another load into {db} is running; try again when it has finished") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def tmp_path(db: Path, run_id: str) -> Path:
    """Where a run builds its warehouse: beside the published file, so os.replace is one rename."""
    return db.with_name(f"{db.name}.{run_id}.tmp")


def last_good_path(db: Path) -> Path:
    """The kept copy of the last published warehouse (a separate file, not a link)."""
    return db.with_name(f"{db.name}.last-good")


def spill_path(db: Path, run_id: str) -> Path:
    """The folder a run's DuckDB spills to when its work does not fit in KPIDASH_LOAD_MEMORY_LIMIT."""
    return db.with_name(f"{db.name}.{run_id}.spill")


def remove_leftovers(db: Path) -> list[Path]:
    """Delete half-built warehouses and spill folders of killed loads; call only under the load lock."""
    removed = []
    for pattern in (f"{db.name}.*.tmp", f"{db.name}.*.tmp.wal"):
        for path in db.parent.glob(pattern):
            path.unlink(missing_ok=True)
            removed.append(path)
    for path in db.parent.glob(f"{db.name}.*.spill"):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def published_state(db: Path, con: duckdb.DuckDBPyConnection | None = None
                    ) -> tuple[dict[str, int], dt.date | None]:
    """What a new load would replace, read in one look at the published warehouse (else its kept copy;
    nothing when neither can be read): table -> rows, and its extract date. `con`: a connection to attach
    them to for the while (a load's own: a new DuckDB database costs a fiftieth of a second)."""

    def read(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], dt.date | None]:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh'").fetchall()}
        tables = [t.name for t in EXTRACT_TABLES if t.name in present]
        if not tables:
            return {}, None
        counts = dict(con.execute(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM wh.{t}" for t in tables)).fetchall())
        day = (con.execute("SELECT max(CAST(extracted_at AS DATE)) FROM wh.extract_meta").fetchone()[0]
               if "extract_meta" in present else None)
        return counts, day

    return next((found for found in _each_published(db, read, con) if found[0]), ({}, None))


def _each_published(db: Path, read: Callable[[duckdb.DuckDBPyConnection], T],
                    con: duckdb.DuckDBPyConnection | None = None) -> Iterator[T]:
    """`read` of the published warehouse, then of its kept copy, each attached read-only as `wh` (to `con`,
    and detached after, or to a connection of its own); a file that is missing or cannot be read is
    passed over."""
    for path in (db, last_good_path(db)):
        if not path.is_file():
            continue
        try:
            if con is None:
                with duckdb.connect() as own:
                    own.execute("ATTACH ? AS wh (READ_ONLY)", [str(path)])
                    found = read(own)
            else:
                con.execute("ATTACH ? AS wh (READ_ONLY)", [str(path)])
                try:
                    found = read(con)
                finally:
                    con.execute("DETACH wh")
        except duckdb.Error:
            continue
        yield found


@dataclass(frozen=True)
class Derived(Generic[T]):
    """Tables derived from the rows and written into the new file beside them (the daily KPI cube).

    count: called with a cursor of the load's connection on which `wh` is the rows as checked (views over
    the load's `valid_<table>` with the warehouse's columns and types, and its extract_files and
    extract_meta): what it counts depends on the rows only, not on how the file stores them. meanwhile:
    count in a thread while the rows are written into the file (a single-threaded sort and write for each
    table, which leaves a core idle), not after they are committed. store: called with the connection and
    count's result once the rows are committed, the file attached as `out` (FILE); returns what
    build_warehouse returns."""

    count: Callable[[duckdb.DuckDBPyConnection], T]
    store: Callable[[duckdb.DuckDBPyConnection, T], str]
    meanwhile: bool = False


def build_warehouse(
    con: duckdb.DuckDBPyConnection,
    tmp: Path,
    *,
    run_id: str,
    extracted_at: dt.datetime,
    source_system: str | None,
    source: str,
    loaded_at: dt.datetime,
    loaded: set[str] | None = None,
    derived: Derived | None = None,
) -> str | None:
    """Write the valid rows (in file order, so equal input gives equal tables), the metadata, which
    files were loaded and the run's issues into a new DuckDB file, checkpointed and closed.

    loaded: the tables staged and checked (their rows: `valid_<table>` of `con`'s in-memory database,
    etl.validation; default: the nine required ones). An optional file that
    was not loaded gets an empty table, and `extract_files` says it was not supplied. derived: tables
    counted from the same rows and written into the file before it is closed (the daily cube); returns
    what its store returned.

    Each commit into the new file is checkpointed straight into it (DuckDB's checkpoint_threshold at its
    least while the file is written), not written to a write-ahead log first and copied from there by
    a checkpoint: the rows are written once, and no log is synced (about 50 ms of a sample load)."""
    tmp.unlink(missing_ok=True)
    loaded = loaded if loaded is not None else {t.name for t in EXTRACT_TABLES if not t.optional}
    files = [(t.file_name, t.name in loaded) for t in EXTRACT_TABLES]
    meta = [run_id, extracted_at, source_system, source, loaded_at]
    con.execute(f"ATTACH ? AS {FILE} (ROW_GROUP_SIZE {ROW_GROUP_SIZE})", [str(tmp)])
    staged = derived is not None
    pool: ThreadPoolExecutor | None = None  # (only to count meanwhile)
    counting: Future | None = None
    done = None
    try:
        if staged:
            _stage_as_warehouse(con, loaded, files, meta)
            if derived.meanwhile:
                pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kpidash-derived")
                counting = pool.submit(_on_cursor, con, derived.count)
        con.execute(f"USE {FILE}")
        con.execute(f"SET checkpoint_threshold = '{_CHECKPOINT_EVERY_COMMIT}'")
        con.execute("BEGIN")  # one commit for the whole file, not one per statement
        rows = {}
        for table in EXTRACT_TABLES:
            con.execute(warehouse_ddl(table))
            if table.name in loaded:
                rows[table.file_name] = con.execute(
                    f"INSERT INTO {table.name} SELECT {', '.join(table.column_names)} FROM memory.valid_{table.name} "
                    "ORDER BY _line").fetchone()[0]
        _files_and_meta(con, [(file, supplied, rows.get(file, 0)) for file, supplied in files], meta)
        con.execute(ISSUES_DDL)
        con.execute(
            """INSERT INTO load_issues
               SELECT ?, file, line, "column", value, reason, severity FROM issues
               ORDER BY file_order, line NULLS FIRST, col_order, severity""",
            [run_id],
        )
        con.execute("COMMIT")
        con.execute("USE memory")
        if staged:
            counted = counting.result() if counting is not None else _on_cursor(con, derived.count)
            done = derived.store(con, counted)
        con.execute(f"CHECKPOINT {FILE}")  # (nothing left to write, unless store wrote without committing)
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # (no transaction left open: the file is removed by the caller)
            con.execute("ROLLBACK")
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)  # a count still running reads the staged views: it ends before they go
        con.execute("RESET checkpoint_threshold")
        con.execute("USE memory")
        con.execute(f"DETACH {FILE}")
        if staged:
            con.execute(f"DETACH DATABASE IF EXISTS {STAGED}")
    return done


def _on_cursor(con: duckdb.DuckDBPyConnection, count: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    with con.cursor() as cur:
        return count(cur)


def _stage_as_warehouse(con: duckdb.DuckDBPyConnection, loaded: set[str], files: list[tuple[str, bool]],
                        meta: list[object]) -> None:
    """The rows as checked, readable as the published warehouse's tables under the name `wh` (an in-memory
    database of views: nothing copied), with the warehouse's columns and types; extract_files' rows_loaded
    are not known yet (0)."""
    con.execute(f"ATTACH ':memory:' AS {STAGED}")
    con.execute(f"USE {STAGED}")
    try:
        for table in EXTRACT_TABLES:
            if table.name in loaded:
                columns = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in table.columns)
                con.execute(f"CREATE VIEW {table.name} AS SELECT {columns} FROM memory.valid_{table.name}")
            else:
                con.execute(warehouse_ddl(table))
        _files_and_meta(con, [(file, supplied, 0) for file, supplied in files], meta)
    finally:
        con.execute("USE memory")


def _files_and_meta(con: duckdb.DuckDBPyConnection, files: list[tuple[str, bool, int]], meta: list[object]) -> None:
    """extract_files (file, supplied, rows loaded) and extract_meta's one row, in the database in USE."""
    con.execute(FILES_DDL)
    # one statement (executemany prepares and runs one per row: about 10 ms for the contract's files)
    con.execute("INSERT INTO extract_files VALUES " + ", ".join(["(?, ?, ?)"] * len(files)),
                [value for row in files for value in row])
    con.execute(META_DDL)
    con.execute("INSERT INTO extract_meta VALUES (?, ?, ?, ?, ?)", meta)


def replace_published(tmp: Path, db: Path) -> None:
    """Make the new file durable, copy it as the next kept copy, switch it in atomically, then switch
    the kept copy in; each switch made durable.

    The copy is made from the closed, checkpointed tmp file before the publish, so a failed copy
    (disk full) publishes nothing. A kept copy that cannot be switched in after the publish is only
    logged: the figures are published, and the previous kept copy is still a good (older) version.
    """
    keep, keep_tmp = last_good_path(db), last_good_path(db).with_name(last_good_path(db).name + ".tmp")
    try:
        shutil.copyfile(tmp, keep_tmp)
        for path in (tmp, keep_tmp):
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, db)
        _fsync_dir(db.parent)
    except OSError:
        keep_tmp.unlink(missing_ok=True)
        raise
    try:
        # A WAL left beside the old kept copy would be replayed into the new one on open: drop it first.
        keep.with_name(keep.name + ".wal").unlink(missing_ok=True)
        os.replace(keep_tmp, keep)
        _fsync_dir(db.parent)
    except OSError as err:
        keep_tmp.unlink(missing_ok=True)
        log.warning("published %s, but its kept copy %s could not be made (%s)", db, keep, err.strerror or err)


def published_runs(db: Path) -> dict[str, tuple[dt.datetime | None, str | None]]:
    """run id -> (extracted_at, source_system) of the published warehouse and of its kept copy, from
    their own metadata (read-only; an unreadable or missing file gives nothing): proof that the run
    published, whatever the load log says."""
    found: dict[str, tuple[dt.datetime | None, str | None]] = {}
    meta = "SELECT run_id, extracted_at, source_system FROM wh.extract_meta"
    for rows in _each_published(db, lambda con: con.execute(meta).fetchall()):
        for run_id, extracted_at, source_system in rows:
            found.setdefault(str(run_id), (extracted_at, source_system))
    return found


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
