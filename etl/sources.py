"""Where a live extract comes from: a drop folder the case-management system writes into, or a SQL
reporting database queried with one SELECT per contract table.

Each source gives a fingerprint (cheap for a folder, a checksum of the results for SQL) so a refresh
loads only what changed, and a folder of contract CSV files the loader reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from etl.contract import EXTRACT_TABLES, QA_FILES, QA_TABLES, TABLES

MANIFEST = "manifest.json"
EXTRACT_FILES = tuple(t.file_name for t in TABLES)  # required: a drop folder without one is still being written
FETCH_BATCH = 10_000


class SourceError(Exception):
    """The source cannot be read: the message says what to fix."""


@dataclass(frozen=True)
class DropFolderState:
    """What a look at the drop folder found: the files' sizes and times, which contract files are
    missing, and the Annex A workbook to load when one was dropped instead of the CSV files."""

    fingerprint: str
    missing: tuple[str, ...]
    workbook: Path | None = None

    def load_path(self, folder: Path) -> Path:
        """What the loader reads: the workbook, or the folder of CSV files."""
        return self.workbook or folder


def _stamp(path: Path) -> str | None:
    """name:size:mtime of a file (None when it is absent), the cheap part of a fingerprint."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise SourceError(f"{path} cannot be read ({err.strerror or err})") from None
    return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"


def look_at_drop_folder(folder: Path) -> DropFolderState:
    """Sizes and modification times of the extract's files (no contents read: cheap every few minutes).

    A folder holding no contract CSV file but the SSD's CSV files (ssd_person.csv, ...) is an SSD, whose
    required tables must all be there; one holding neither but one Ofsted Annex A workbook (.xlsx) is that
    workbook's extract; Excel's own lock files (~$name.xlsx) are not workbooks.
    """
    if not folder.is_dir():
        raise SourceError(f"the drop folder {folder} does not exist or is not a folder (KPIDASH_DROP_DIR)")
    # the optional QA files are in the fingerprint too: a new audits.csv alone is a new extract
    stamps = {name: _stamp(folder / name) for name in (*EXTRACT_FILES, *QA_FILES, MANIFEST)}
    if not any(stamps[name] for name in EXTRACT_FILES) and (ssd := _ssd_state(folder, stamps[MANIFEST])) is not None:
        return ssd
    if not any(stamps[name] for name in EXTRACT_FILES):
        workbooks = sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith("~$"))
        if len(workbooks) > 1:
            raise SourceError(f"the drop folder {folder} holds {len(workbooks)} Annex A workbooks "
                              f"({', '.join(p.name for p in workbooks)}): leave only the one to load")
        if workbooks:
            stamp = _stamp(workbooks[0]) or ""
            return DropFolderState(hashlib.sha256(stamp.encode()).hexdigest(), (), workbooks[0])
    seen = [stamp for stamp in stamps.values() if stamp]
    missing = tuple(name for name in EXTRACT_FILES if not stamps[name])
    return DropFolderState(hashlib.sha256("\n".join(seen).encode()).hexdigest(), missing)


def _ssd_state(folder: Path, manifest: str | None) -> DropFolderState | None:
    """The state of a drop folder holding the Standard Safeguarding Dataset's CSV files (docs/ssd.md), if it does."""
    from etl.ssd import REQUIRED_TABLES, SsdError, find_ssd_files

    try:
        found = find_ssd_files(folder)
    except SsdError as err:
        raise SourceError(str(err)) from None
    if not found:
        return None
    seen = [stamp for stamp in (*(_stamp(p) for p in found.values()), manifest) if stamp]
    missing = tuple(f"{name}.csv" for name in REQUIRED_TABLES if name not in found)
    return DropFolderState(hashlib.sha256("\n".join(seen).encode()).hexdigest(), missing)


def stable_drop_folder(
    folder: Path, stable_seconds: float, sleep: Callable[[float], None] = time.sleep
) -> DropFolderState | None:
    """The folder's state if it is complete and unchanged over stable_seconds, else None (still being written)."""
    first = look_at_drop_folder(folder)
    if first.missing:
        return None
    sleep(stable_seconds)
    second = look_at_drop_folder(folder)
    return second if second == first else None


@dataclass(frozen=True)
class SqlSource:
    """A reporting database and the SELECT that gives each contract table's columns."""

    url: str
    queries: dict[str, str]
    source_system: str | None = None


def read_sql_source_config(path: Path) -> SqlSource:
    """The YAML config: `url`, `source_system` (optional) and `queries` with one SELECT per contract table
    (and, optionally, per QA file: audits, audit_domains, audit_actions)."""
    example = "url: sqlite:///cms.db\nqueries:\n  teams: SELECT team_id, team_name, service FROM teams\n  ..."
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise SourceError(f"the SQL source config {path} cannot be read ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise SourceError(f"the SQL source config {path} is not valid YAML ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str) or not isinstance(data.get("queries"), dict):
        raise SourceError(f"the SQL source config {path} needs `url` (text) and `queries` (a mapping), e.g.\n{example}")
    queries = data["queries"]
    names = [t.name for t in TABLES]
    optional = [t.name for t in QA_TABLES if isinstance(queries.get(t.name), str) and queries[t.name].strip()]
    missing = [n for n in names if not isinstance(queries.get(n), str) or not queries[n].strip()]
    unknown = sorted(set(queries) - set(names) - {t.name for t in QA_TABLES})
    problems = ([f"no SELECT for {', '.join(missing)}"] if missing else []) + (
        [f"{', '.join(map(str, unknown))} {'is not a contract table' if len(unknown) == 1 else 'are not contract tables'}"] if unknown else []
    )
    if problems:
        raise SourceError(f"the SQL source config {path}: {'; '.join(problems)} (tables: {', '.join(names)})")
    system = data.get("source_system")
    return SqlSource(data["url"], {n: queries[n] for n in names + optional}, str(system) if system is not None else None)


def _cell(value: Any) -> Any:
    """A database value in the contract's text form (Y/N booleans, ISO dates); text passes as it is."""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def pull_sql_source(source: SqlSource, out: Path, extracted_at: dt.datetime) -> str:
    """Run every SELECT and write the contract CSVs (and a manifest) into `out`; return the results'
    checksum, so an unchanged database is not loaded again."""
    out.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        engine = create_engine(source.url)
    except (SQLAlchemyError, ValueError) as err:
        raise SourceError(f"the SQL source URL is not usable ({type(err).__name__}: {err})") from None
    try:
        with engine.connect() as conn:
            for table in (t for t in EXTRACT_TABLES if t.name in source.queries):  # the QA files when asked for
                try:
                    result = conn.execution_options(stream_results=True).execute(text(source.queries[table.name]))
                except SQLAlchemyError as err:
                    first = str(err.orig if getattr(err, "orig", None) else err).splitlines()[0]
                    raise SourceError(f"the SELECT for {table.name} failed: {first}") from None
                path = out / table.file_name
                with path.open("w", encoding="utf-8", newline="") as fh:
                    writer = csv.writer(fh, lineterminator="\n")
                    writer.writerow(result.keys())
                    for batch in result.partitions(FETCH_BATCH):
                        writer.writerows(map(lambda row: map(_cell, row), batch))
                digest.update(table.file_name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    except SQLAlchemyError as err:
        first = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise SourceError(f"the SQL source cannot be reached ({first})") from None
    finally:
        engine.dispose()
    manifest = {"extracted_at": extracted_at.isoformat(timespec="seconds")}
    if source.source_system:
        manifest["source_system"] = source.source_system
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return digest.hexdigest()
