"""`kpidash load` and `kpidash check`: one run, from a folder of contract CSV files to a published warehouse.

A run archives its inputs, stages every file (etl.reader), applies the contract's rules and lists
warnings (etl.validation), and, if no file has too many rejected rows, publishes a new warehouse
(etl.publish). Every run is in the load log (etl.runlog), whatever happens to it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import duckdb
from sqlalchemy.exc import SQLAlchemyError

from core.settings import Settings, get_settings
from etl import publish as publishing
from etl import runlog
from etl.archive import ArchivedFile, ArchiveError, archive_file, write_checksums
from etl.contract import EXTRACT_TABLES, TABLES_BY_NAME
from etl.issues import Issue, write_issues
from etl.reader import FileError, StagedFile, stage_file
from etl.runlog import FileResult, utcnow
from etl.ssd.convert import SsdConversion
from etl.validation import RUN_ISSUES_DDL, add_warnings, check_table, file_issue

MANIFEST = "manifest.json"
LONDON = ZoneInfo("Europe/London")
MANIFEST_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")
SHOWN_REJECTS = 5  # rejects quoted in a failed run's message; `kpidash rejects` lists them all


class LoadError(Exception):
    """Why a run failed, in words an analyst can act on."""


class RunLogUnfinished(SQLAlchemyError):
    """The new warehouse is published, but the app database failed before the run's load-log entry
    was finished. An app-database error (callers already report those); the message says the figures
    are published and when the entry will be finished."""


@dataclass(frozen=True)
class LoadResult:
    """The outcome of one run (also in the load log)."""

    run_id: str
    status: Literal["published", "checked", "failed"]
    message: str
    files: list[FileResult]
    extracted_at: dt.datetime


def new_run_id(started_utc: dt.datetime) -> str:
    """Sortable by start time, unique by a short random suffix: `20251124T063012-3f9a`."""
    return f"{started_utc:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def local_now() -> dt.datetime:
    """Now as the extract's local (Europe/London) wall-clock time, the contract's time zone."""
    return dt.datetime.now(LONDON).replace(tzinfo=None, microsecond=0)


def read_manifest(path: Path) -> tuple[dt.datetime, str | None]:
    """extracted_at (local, naive) and source_system from manifest.json; LoadError if malformed."""
    example = '{"extracted_at": "2025-11-24T06:30:00", "source_system": "LCS"}'
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LoadError(f"manifest.json is not valid JSON ({err}); expected e.g. {example}") from None
    if not isinstance(data, dict):
        raise LoadError(f"manifest.json must hold a JSON object, e.g. {example}")
    raw = data.get("extracted_at")
    if not isinstance(raw, str) or not MANIFEST_TIME.fullmatch(raw):
        shown = "nothing" if raw is None else json.dumps(raw)
        raise LoadError(
            f"manifest.json extracted_at is {shown}, not a date-time (expected YYYY-MM-DDTHH:MM:SS, e.g. {example})"
        )
    try:
        extracted_at = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise LoadError(f'manifest.json extracted_at "{raw}" is not a real date-time') from None
    if extracted_at.tzinfo is not None:
        extracted_at = extracted_at.astimezone(LONDON).replace(tzinfo=None)
    system = data.get("source_system")
    if system is not None and not isinstance(system, str):
        raise LoadError("manifest.json source_system must be text, e.g. \"LCS\"")
    return extracted_at, system


def load_extract(source: Path, *, publish: bool = True) -> LoadResult:
    """Load (publish=True) or only check (publish=False) the extract in the folder `source`."""
    settings = get_settings()
    started = utcnow()
    run_id = new_run_id(started)
    db = Path(settings.db).absolute()
    host, pid = socket.gethostname(), os.getpid()
    source = Path(source)
    run = _Run(settings, run_id, source, db, publish)
    try:
        with publishing.load_lock(db):
            runlog.mark_interrupted(host=host, warehouse=str(db), published=publishing.published_runs(db))
            publishing.remove_leftovers(db)
            runlog.start_run(run_id, str(source.absolute()), started, host=host, pid=pid, warehouse=str(db))
            try:
                status, message = run.execute()
            except LoadError as err:
                status, message = "failed", str(err)
            except BaseException as err:
                runlog.finish_run(
                    run_id, "failed", f"internal error ({type(err).__name__}: {err}); please report it",
                    extracted_at=run.extracted_at, source_system=run.source_system, files=run.file_results(),
                )
                raise
            try:
                runlog.finish_run(
                    run_id, status, message,
                    extracted_at=run.extracted_at, source_system=run.source_system, files=run.file_results(),
                )
            except SQLAlchemyError as err:
                if status != "published":
                    raise
                cause = str(getattr(err, "orig", None) or err).splitlines()[0]
                raise RunLogUnfinished(
                    f"run {run_id} published the new warehouse ({message}), but its load-log entry could not be "
                    f"finished ({cause}); it is finished as published by the next load or `kpidash serve` once the "
                    "app database is back"
                ) from err
    except publishing.LoadBusy as err:
        status, message = "failed", str(err)
        runlog.start_run(run_id, str(source.absolute()), started, host=host, pid=pid, warehouse=str(db))
        runlog.finish_run(run_id, status, message, extracted_at=None, source_system=None, files=[])
    return LoadResult(run_id, status, message, run.file_results(), run.extracted_at)


class _Run:
    """The state of one run as it goes; `execute` returns (status, message) or raises LoadError."""

    def __init__(self, settings: Settings, run_id: str, source: Path, db: Path, publish: bool) -> None:
        self.settings, self.run_id, self.source, self.db, self.publish = settings, run_id, source, db, publish
        self.run_dir = Path(settings.archive_dir) / run_id
        self.extracted_at = local_now()  # until a manifest says otherwise
        self.source_system: str | None = None
        self.origin = source  # what the analyst named: the folder, or an Annex A workbook
        self.archived: dict[str, ArchivedFile] = {}
        self.counts: dict[str, tuple[int, int, int]] = {}  # file -> rows read, rejected, warnings
        self.ssd: SsdConversion | None = None  # set when the source is the Standard Safeguarding Dataset
        self.loaded: set[str] = set()  # tables staged and checked (an optional file may be absent)

    def file_results(self) -> list[FileResult]:
        results = []
        for table in EXTRACT_TABLES:
            archived = self.archived.get(table.file_name)
            if table.optional and archived is None:
                continue  # an optional file the extract did not hold
            read, rejected, warnings = self.counts.get(table.file_name, (0, 0, 0))
            sha256 = archived.sha256 if archived else None
            results.append(FileResult(table.file_name, sha256, read, read - rejected, rejected, warnings))
        return results

    def execute(self) -> tuple[str, str]:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise LoadError(f"the archive folder {self.run_dir} cannot be made ({err.strerror or err})") from None
        con = duckdb.connect()
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute(RUN_ISSUES_DDL)
            try:
                self._convert_workbook(con)
                self._convert_ssd(con)
                self._archive()
                staged = self._stage(con)
                self._check(con, staged)
                return self._finish(con)
            finally:
                write_issues(con, self.run_dir, self.run_id)
        finally:
            con.close()

    def _convert_workbook(self, con: duckdb.DuckDBPyConnection) -> None:
        """An Annex A workbook (.xlsx) becomes an extract folder in the run's archive; its issues join the run's."""
        if self.source.suffix.lower() != ".xlsx" or not self.source.is_file():
            return
        from etl.annex_a import AnnexAError, convert_workbook

        workbook = self.source
        try:
            shutil.copy2(workbook, self.run_dir / workbook.name)
            converted = convert_workbook(workbook, self.run_dir / "annex_a_extract")
        except AnnexAError as err:
            raise LoadError(str(err)) from None
        except OSError as err:
            raise LoadError(f"{workbook} cannot be read ({err.strerror or err})") from None
        con.execute(f"INSERT INTO issues SELECT * FROM read_parquet('{str(converted.issues_path).replace(chr(39), chr(39) * 2)}')")
        self.source, self.origin = converted.folder, workbook

    def _convert_ssd(self, con: duckdb.DuckDBPyConnection) -> None:
        """A folder of SSD CSV files becomes an extract folder in the run's archive (etl.ssd); its own issues
        join the run's, and the contract's are reported by SSD table, row and field (in _check)."""
        from etl.ssd import SsdError, convert_ssd_folder, is_ssd_folder

        if not is_ssd_folder(self.source):
            return
        try:
            self.ssd = convert_ssd_folder(self.source, self.run_dir, self.settings.ssd_config)
        except SsdError as err:
            raise LoadError(str(err)) from None
        con.execute(f"INSERT INTO issues SELECT * FROM read_parquet('{str(self.ssd.issues_path).replace(chr(39), chr(39) * 2)}')")
        self.source = self.ssd.folder

    def _archive(self) -> None:
        """Copy every input into the archive first, so even a failed run keeps what it was given."""
        if not self.source.exists():
            raise LoadError(f"{self.source} does not exist")
        if not self.source.is_dir():
            raise LoadError(f"{self.source} is not a folder: give the folder that holds the extract's CSV files")
        problems = []
        names = [t.file_name for t in EXTRACT_TABLES] + [MANIFEST]
        optional = {t.file_name for t in EXTRACT_TABLES if t.optional} | {MANIFEST}
        present = {p.name for p in self.source.iterdir()}
        for name in names:
            src = self.source / name
            if not src.is_file():
                if name not in optional:
                    near = [p for p in present if p.lower() == name.lower()]
                    hint = f" (found {near[0]}: names must match exactly)" if near else ""
                    problems.append(f"{name} is missing{hint}")
                continue
            try:
                archived = archive_file(src, self.run_dir / name)
            except ArchiveError as err:
                raise LoadError(f"the input files cannot be archived: {err}") from None
            except OSError as err:
                problems.append(f"{name} cannot be read ({err.strerror or err})")
                continue
            self.archived[name] = archived
            if archived.problem and name != MANIFEST:
                problems.append(f"{name} {archived.problem}")
        write_checksums(self.run_dir, list(self.archived.values()))
        if MANIFEST in self.archived:
            try:
                self.extracted_at, system = read_manifest(self.archived[MANIFEST].path)
                self.source_system = system[:200] if system else system  # the load log keeps 200 characters
            except LoadError as err:
                problems.append(str(err))
        if problems:
            raise LoadError(_listed("the extract cannot be loaded", problems))

    def _stage(self, con: duckdb.DuckDBPyConnection) -> list[StagedFile]:
        staged, problems = [], []
        for order, table in enumerate(EXTRACT_TABLES):
            archived = self.archived.get(table.file_name)
            if archived is None:
                continue  # an optional QA file the extract does not hold
            if table.parent is not None and TABLES_BY_NAME[table.parent[1]].file_name not in self.archived:
                # rows that belong to audits, without the audits: nothing to attach them to
                parent = TABLES_BY_NAME[table.parent[1]].file_name
                file_issue(con, archived.name, order, None, None, 0,
                           f"is not loaded: its rows belong to the audits of {parent}, which the extract does not hold")
                self.counts[archived.name] = (0, 0, 1)
                continue
            try:
                staged.append(stage_file(con, table, archived, order))
            except FileError as err:
                problems.append(str(err))
        if problems:
            raise LoadError(_listed("the extract cannot be loaded", problems))
        self.loaded = {s.table.name for s in staged}
        return staged

    def _check(self, con: duckdb.DuckDBPyConnection, staged: list[StagedFile]) -> None:
        for s in staged:
            name, order = s.archived.name, EXTRACT_TABLES.index(s.table)  # the order _stage gave it
            for position, column in s.extra_columns:
                shown = column if column.strip() else f"(column {position + 1}, no name)"
                file_issue(
                    con, name, order, 1, shown, 1000 + position, "is not a column of the contract; its values are ignored"
                )
            for column in s.missing_optional:
                file_issue(
                    con, name, order, 1, column, s.table.column_names.index(column) + 1,
                    "is missing from the header; every row's value is taken as empty",
                )
            if s.rows_read == 0:
                file_issue(con, name, order, None, None, 0, "has a header but no rows")
            if s.approximate_lines:
                file_issue(
                    con, name, order, None, None, 0,
                    "has line breaks the loader could not follow; its line numbers count rows, not lines",
                )
            check_table(con, s.table, order)
        add_warnings(con, [(s.table, EXTRACT_TABLES.index(s.table)) for s in staged], self.extracted_at.date())
        tallies = dict.fromkeys((s.archived.name for s in staged), (0, 0))
        for file, rejected, warnings in con.execute(
            """SELECT file, count(DISTINCT line) FILTER (WHERE severity = 'reject'),
                      count(*) FILTER (WHERE severity = 'warning')
               FROM issues GROUP BY file"""
        ).fetchall():
            tallies[file] = (rejected, warnings)
        self.counts.update({s.archived.name: (s.rows_read, *tallies[s.archived.name]) for s in staged})
        if self.ssd is not None:
            self.counts = self.ssd.report(con, self.counts)

    def _finish(self, con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
        limit = self.settings.max_reject_pct
        over = [
            (file, read, rejected)
            for file, (read, rejected, _) in self.counts.items()
            if read and rejected * 100 > limit * read
        ]
        if over:
            lines = [
                f"{self._label(file)}: {rejected:,} of {read:,} rows rejected ({rejected * 100 / read:.1f}%), "
                f"more than the {limit:g}% allowed (KPIDASH_MAX_REJECT_PCT)"
                for file, read, rejected in over
            ]
            shown = con.execute(
                f"""SELECT file, line, "column", value, reason, severity FROM issues
                    WHERE severity = 'reject' AND file_order IN ({", ".join("?" for _ in over)})
                    ORDER BY file_order, line, col_order LIMIT {SHOWN_REJECTS}""",
                [[t.file_name for t in EXTRACT_TABLES].index(file) for file, _, _ in over],
            ).fetchall()
            examples = [Issue(self.run_id, *row).message for row in shown]
            raise LoadError(
                _listed("nothing was published" if self.publish else "the check failed", lines)
                + f"\nfirst rejected rows (all of them: kpidash rejects {self.run_id}):\n"
                + "\n".join(f"  {e}" for e in examples)
            )

        read = sum(c[0] for c in self.counts.values())
        rejected = sum(c[1] for c in self.counts.values())
        warnings = sum(c[2] for c in self.counts.values())
        tally = (
            f"{read - rejected:,} rows loaded from {len(self.counts)} files, {rejected:,} rejected, {warnings:,} warnings"
        )
        if not self.publish:
            return "checked", f"checked, nothing published: {tally}"
        tmp = publishing.tmp_path(self.db, self.run_id)
        try:
            publishing.build_warehouse(
                con, tmp, run_id=self.run_id, extracted_at=self.extracted_at, source_system=self.source_system,
                source=str(self.origin.absolute()), loaded_at=utcnow(), loaded=self.loaded,
            )
            publishing.replace_published(tmp, self.db)
        except (OSError, duckdb.Error) as err:
            tmp.unlink(missing_ok=True)
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise LoadError(
                f"the new warehouse could not be written ({first}); the published one is unchanged"
            ) from None
        return "published", f"published: {tally}"

    def _label(self, file: str) -> str:
        """A contract file as the analyst knows it: for an SSD, the SSD table its rows come from."""
        if self.ssd is None:
            return file
        from etl.ssd.report import SOURCE_TABLE

        return f"{file} (from {self.ssd.labels.file(SOURCE_TABLE[file])})"


def _listed(intro: str, items: list[str]) -> str:
    """First line: the intro and the first item (the load log's one-line summary); then every item."""
    if len(items) == 1:
        return f"{intro}: {items[0]}"
    return f"{intro}: {items[0]} (and {len(items) - 1} more)\n" + "\n".join(f"  - {item}" for item in items)
