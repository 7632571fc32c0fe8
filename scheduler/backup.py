"""`kpidash backup` and `kpidash restore`: the app database and the published warehouse in one file.

Generic over the app database: every table there is (reflected, not listed here), whichever
migrations made it, is dumped with the Alembic revision the database is at; a restore brings an empty
database to that revision, loads the rows, then upgrades to this code's head. So a backup from SQLite
restores into PostgreSQL and back, and tables other modules add later are carried without a change here.

Consistent while serving: no load can publish during a backup (it holds the warehouse's load lock,
waiting for a running load to finish), so the warehouse and the load log agree; the app database is
read in one transaction (a snapshot: SQLite's read transaction, REPEATABLE READ on PostgreSQL); the
warehouse file is never written in place (a publish replaces it), so copying it needs no pause.

The file is a tar: `manifest.json` (format, revision, rows per table, the warehouse's run and
SHA-256), `appdb/<table>.jsonl.gz` (one JSON array per row, the columns in `manifest.json`),
`warehouse.duckdb`. It holds child-level records and the audit trail: keep it as the warehouse is kept.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, Table, func, select, text
from sqlalchemy import types as sqltypes

from core.appdb import alembic_config, current_revision, head_revision, make_engine
from core.settings import Settings

FORMAT = 1
VERSION_TABLE = "alembic_version"
BATCH = 1000


class BackupError(Exception):
    """A backup or restore that cannot be done, in words an operator can act on."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    revision: str | None
    rows: dict[str, int]
    warehouse_run: str | None
    bytes: int
    note: str | None = None  # the published warehouse could not be read: what was backed up instead


def _json(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(f"cannot back up a {type(value).__name__}")


def _decoder(column_type: sqltypes.TypeEngine):  # noqa: ANN202
    """Turns a value as written by _json back into what the column takes."""
    try:
        kind = column_type.python_type
    except NotImplementedError:
        return lambda v: v
    if kind is dt.datetime:
        return lambda v: None if v is None else dt.datetime.fromisoformat(v)
    if kind is dt.date:
        return lambda v: None if v is None else dt.date.fromisoformat(v)
    if kind is dt.time:
        return lambda v: None if v is None else dt.time.fromisoformat(v)
    if kind is decimal.Decimal:
        return lambda v: None if v is None else decimal.Decimal(v)
    if kind is bytes:
        return lambda v: None if v is None else base64.b64decode(v)
    if kind is bool:
        return lambda v: None if v is None else bool(v)
    return lambda v: v


@contextmanager
def _no_publishing(db: Path, wait: float) -> Iterator[None]:
    """Hold the warehouse's load lock (waiting up to `wait` seconds for a running load to finish)."""
    from etl.publish import LoadBusy, load_lock

    deadline = time.monotonic() + wait
    while True:
        try:
            with load_lock(db):
                yield
                return
        except LoadBusy as exc:
            if "another load" not in str(exc) or time.monotonic() > deadline:
                raise BackupError(f"{exc} (waited {wait:.0f} s)") from None
        time.sleep(0.5)


def _tables(conn) -> list[Table]:  # noqa: ANN001
    meta = MetaData()
    meta.reflect(conn)
    return [t for t in meta.sorted_tables if t.name != VERSION_TABLE]


def backup(settings: Settings, engine: Engine, out: Path, *, wait: float = 600) -> BackupReport:
    """Write the backup file `out` (atomically: a failed backup leaves no partial file), readable by its
    owner alone: it holds child-level records, password hashes and the audit trail."""
    db = Path(settings.db).absolute()
    out = Path(out).absolute()
    if out.is_dir():
        raise BackupError(f"{out} is a folder: name the backup file, e.g. {out / 'kpidash-backup.tar'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(partial, 0o600)  # (a partial file left by an older kpidash keeps its own mode)
    try:
        return _write_backup(engine, db, out, partial, wait)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _write_backup(engine: Engine, db: Path, out: Path, partial: Path, wait: float) -> BackupReport:
    rows: dict[str, int] = {}
    manifest: dict[str, Any] = {"format": FORMAT, "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                                "app_db_dialect": engine.dialect.name, "tables": {}}
    with _no_publishing(db, wait), tempfile.TemporaryDirectory(dir=out.parent) as work, \
            tarfile.open(partial, "w") as tar:
        snapshot = engine.connect()
        if engine.dialect.name == "postgresql":
            snapshot = snapshot.execution_options(isolation_level="REPEATABLE READ")
        with snapshot as conn, conn.begin():
            manifest["revision"] = current_revision(conn)
            for table in _tables(conn):
                dump = Path(work) / f"{table.name}.jsonl.gz"
                count = 0
                with gzip.open(dump, "wt", encoding="utf-8") as fh:
                    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(select(table))
                    for row in result:
                        fh.write(json.dumps(list(row), default=_json, separators=(",", ":")) + "\n")
                        count += 1
                rows[table.name] = count
                manifest["tables"][table.name] = {"columns": [c.name for c in table.columns], "rows": count}
                tar.add(dump, arcname=f"appdb/{table.name}.jsonl.gz")
        source, run, note = _warehouse_to_keep(db)
        manifest["warehouse"] = _add_warehouse(tar, source, run) if source is not None else None
        data = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size, info.mtime = len(data), int(time.time())
        tar.addfile(info, io.BytesIO(data))
    os.replace(partial, out)
    return BackupReport(out, manifest["revision"], rows, (manifest["warehouse"] or {}).get("run_id"),
                        out.stat().st_size, note)


def warehouse_run(path: Path) -> str | None:
    """The run a warehouse file holds, or None when it cannot be read as one (damaged, or not a warehouse)."""
    from scheduler.doctor import warehouse_load

    found = warehouse_load(path)
    return found[0] if isinstance(found, tuple) else None


def _warehouse_to_keep(db: Path) -> tuple[Path | None, str | None, str | None]:
    """The warehouse file to back up, its run, and what to say when it is not the published file: a damaged
    published file is what the kept copy is for, and a damaged file is never backed up as a good one."""
    from etl.publish import last_good_path

    if not db.is_file():
        return None, None, None  # nothing published yet
    run = warehouse_run(db)
    if run is not None:
        return db, run, None
    kept = last_good_path(db)
    kept_run = warehouse_run(kept) if kept.is_file() else None
    if kept_run is not None:
        return kept, kept_run, (f"the published warehouse ({db}) cannot be read, so its kept copy (run {kept_run}) "
                                "was backed up instead; `kpidash doctor` says more")
    return None, None, (f"the published warehouse ({db}) and its kept copy cannot be read, so the backup holds the "
                        "app database only; load the last good input again (`kpidash runs`; its archive folder) and "
                        "back up again")


def _add_warehouse(tar: tarfile.TarFile, path: Path, run: str) -> dict[str, Any]:
    """The warehouse file at path, with its run id and checksum."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:  # this inode: a publish would replace the file, never change it
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
        fh.seek(0)
        info = tar.gettarinfo(fileobj=fh, arcname="warehouse.duckdb")
        info.mode = 0o600
        tar.addfile(info, fh)
    return {"run_id": run, "sha256": digest.hexdigest(), "bytes": info.size}


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path, "r") as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            manifest = json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackupError(f"{path} is not a kpidash backup ({first})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is a backup in format {manifest.get('format')}; this kpidash reads format {FORMAT}")
    return manifest


def restore(settings: Settings, path: Path, *, replace: bool = False) -> dict[str, Any]:
    """Restore the backup `path` into the configured app database and warehouse; returns its manifest.

    Refuses an app database that holds any rows unless `replace` (then everything in it is dropped
    first): a restore is for a new or rebuilt instance, not a merge.
    """
    from alembic.script import ScriptDirectory

    manifest = read_manifest(path)
    revision = manifest.get("revision")
    scripts = ScriptDirectory.from_config(alembic_config())
    if revision is not None:
        try:
            scripts.get_revision(revision)
        except Exception:  # noqa: BLE001  alembic raises several kinds for an unknown revision
            raise BackupError(f"the backup's app database is at migration {revision}, which this kpidash does not "
                              f"have (it knows up to {head_revision()}): restore it with the kpidash that made it, "
                              "or a newer one") from None
    # the tables and the warehouse are checked before the app database is touched (--replace empties it
    # first): a damaged backup changes nothing
    _check_tables(path, manifest)
    warehouse = _unpacked_warehouse(settings, path, manifest.get("warehouse"))
    try:
        with _nothing_else_writing(Path(settings.db).absolute()):
            _restore_app_db(settings, path, manifest, revision, replace)
            if warehouse is not None:
                _publish_restored(settings, warehouse)
    finally:
        if warehouse is not None:
            warehouse.unlink(missing_ok=True)
    return manifest


@contextmanager
def _nothing_else_writing(db: Path) -> Iterator[None]:
    """Hold the scheduler's and the loads' locks for the whole restore: a scheduler's refresh publishing
    in the middle would leave a warehouse the restored app database does not know, and a load refused
    half-way through a restore would leave it half done (the docs said "stop the scheduler first";
    an operations audit found nothing made sure)."""
    from etl.publish import LoadBusy, load_lock
    from scheduler.leader import NotLeader, leader_lock

    try:
        with leader_lock(db), load_lock(db):
            yield
    except NotLeader as exc:
        raise BackupError(f"a scheduler is running for {db} ({exc.holder}): stop it, then restore; "
                          "nothing was restored") from None
    except LoadBusy as exc:
        raise BackupError(f"{exc}; nothing was restored") from None


def _restore_app_db(settings: Settings, path: Path, manifest: dict[str, Any], revision: str | None,
                    replace: bool) -> None:
    from alembic import command

    engine = make_engine(settings.app_db)  # not get_engine(): it would migrate before we look
    try:
        with engine.begin() as conn:
            held = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in _tables(conn)}
            held = {name: n for name, n in held.items() if n}
            if held and not replace:
                shown = ", ".join(f"{n} rows in {name}" for name, n in sorted(held.items())[:4])
                raise BackupError(f"the app database ({settings.app_db.split('@')[-1]}) already holds data ({shown}); "
                                  "restore into a new one, or pass --replace to drop everything in it first")
            meta = MetaData()
            meta.reflect(conn)
            meta.drop_all(conn)
        with engine.begin() as conn:
            if revision is not None:
                command.upgrade(alembic_config(conn), revision)
        with engine.begin() as conn, tarfile.open(path, "r") as tar:
            for table in _tables(conn):
                _load_table(conn, tar, table, manifest["tables"].get(table.name))
            if engine.dialect.name == "postgresql":
                _reset_sequences(conn)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
    finally:
        engine.dispose()


def _rows(tar: tarfile.TarFile, name: str, columns: list[str]) -> Iterator[list[Any]]:
    """A table's rows as the backup holds them; BackupError naming the table when they cannot be read."""
    member = tar.extractfile(f"appdb/{name}.jsonl.gz")
    if member is None:
        raise BackupError(f"the backup lists table {name} but does not hold it: nothing was restored")
    try:
        with gzip.open(member, "rt", encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                values = json.loads(line)
                if not isinstance(values, list) or len(values) != len(columns):
                    raise ValueError(f"row {number} does not have its {len(columns)} columns")
                yield values
    except (OSError, EOFError, ValueError, TypeError, tarfile.TarError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "it ends early"
        raise BackupError(f"the backup's table {name} is damaged ({first}): nothing was restored") from None


def _check_tables(path: Path, manifest: dict[str, Any]) -> None:
    """Read every table of the backup once, before anything is written."""
    try:
        with tarfile.open(path, "r") as tar:
            for name, listed in manifest.get("tables", {}).items():
                for _ in _rows(tar, name, listed["columns"]):
                    pass
    except (OSError, tarfile.TarError, KeyError, TypeError) as exc:
        raise BackupError(f"{path} cannot be read as a kpidash backup ({exc}): nothing was restored") from None


def _load_table(conn, tar: tarfile.TarFile, table: Table, listed: dict[str, Any] | None) -> None:  # noqa: ANN001
    if listed is None:
        return  # a table this revision has that the backup did not: it was empty
    columns = listed["columns"]
    decoders = [_decoder(table.columns[c].type) for c in columns]
    batch: list[dict[str, Any]] = []
    for values in _rows(tar, table.name, columns):
        batch.append({c: d(v) for c, d, v in zip(columns, decoders, values, strict=True)})
        if len(batch) >= BATCH:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)


def _reset_sequences(conn) -> None:  # noqa: ANN001
    """Rows came with their ids: each serial/identity sequence continues after the largest one."""
    for table in _tables(conn):
        for column in table.columns:
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": table.name, "c": column.name}).scalar()
            if sequence:
                conn.execute(text(f'SELECT setval(:s, COALESCE((SELECT max("{column.name}") FROM "{table.name}"), 1), '
                                  f'(SELECT max("{column.name}") FROM "{table.name}") IS NOT NULL)'), {"s": sequence})


def _unpacked_warehouse(settings: Settings, path: Path, listed: dict[str, Any] | None) -> Path | None:
    """The backup's warehouse, written beside the configured one and checked (its checksum, and that it reads
    as a warehouse), or None when the backup holds none. BackupError, and nothing left behind, otherwise."""
    if listed is None:
        return None
    db = Path(settings.db).absolute()
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(f"{db.name}.restore.tmp")
    try:
        with tarfile.open(path, "r") as tar:
            member = tar.extractfile("warehouse.duckdb")
            if member is None:
                raise BackupError("the backup lists a warehouse but does not hold it: nothing was restored")
            digest = hashlib.sha256()
            with open(tmp, "wb") as out:
                while chunk := member.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        if digest.hexdigest() != listed["sha256"]:
            raise BackupError("the backup's warehouse does not match its checksum (the file is damaged): nothing was "
                              "restored")
        if warehouse_run(tmp) is None:
            raise BackupError("the backup's warehouse cannot be read as a kpidash warehouse: nothing was restored")
    except (OSError, EOFError, tarfile.TarError) as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"the backup's warehouse cannot be read ({exc}): nothing was restored") from None
    except BackupError:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _publish_restored(settings: Settings, tmp: Path) -> None:
    """Publish the restored warehouse (with its kept copy) as a load would (the load lock is held)."""
    from etl.publish import replace_published

    replace_published(tmp, Path(settings.db).absolute())

