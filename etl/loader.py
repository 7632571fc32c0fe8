"""`kpidash load` and `kpidash check`: one run, from a folder of contract CSV files to a published warehouse.

A run archives its inputs, stages every file (etl.reader), applies the contract's rules and lists
warnings (etl.validation), and, if no file has too many rejected rows and none has shrunk far below
what is published, publishes a new warehouse (etl.publish). Every run is in the load log
(etl.runlog), whatever happens to it (the entry is made in a thread while the files are read, and
nothing is published before it is); a refusal of a whole file is also one of the run's issues
(`kpidash rejects`).

DuckDB works within KPIDASH_LOAD_MEMORY_LIMIT and KPIDASH_LOAD_THREADS, spilling to a folder beside
the warehouse (`<db>.<run_id>.spill`, removed at the end), so a huge or junk file cannot take the
machine's memory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import duckdb

from core.settings import Settings, get_settings
from etl import publish as publishing
from etl.archive import ArchivedFile, ArchiveError, archive_file, write_checksums
from etl.contract import EXTRACT_TABLES, TABLES_BY_NAME, Table
from etl.issues import Issue, summarise_issues, write_issues
from etl.outcome import FileResult, LoadLogUnusable, utcnow
from etl.reader import FileError, StagedFile, stage_file
from etl.sql import quoted
from etl.validation import (
    ISSUES_COLUMNS, RUN_ISSUES_DDL, add_warnings, check_table, file_issue, future_reason, warning_sources,
)

if TYPE_CHECKING:  # the SSD and Annex A readers are imported only for a source that may be one
    from etl.annex_a.mapping import Conversion as AnnexConversion
    from etl.ssd.convert import SsdConversion

log = logging.getLogger("kpidash.etl")
MANIFEST = "manifest.json"
LONDON = ZoneInfo("Europe/London")
MANIFEST_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")
HANDOVER_SECONDS = 0.0002  # Python's GIL switch interval during a load (_quick_handover)
SMALL_EXTRACT_BYTES = 64 << 20  # below this, the load's DuckDB work runs on one thread (_Run._threads)
LOAD_CURSORS = 2  # files a small extract's load reads and checks at once (_Run._stage_and_check)
SHOWN_REJECTS = 5  # rejects quoted in a failed run's message; `kpidash rejects` lists them all
_CUBE_BUILDER_IMPORTS = ("kpis.cube_builder", "numpy.ma")  # imported beside the load (_import_cube_builder_meanwhile)


class LoadError(Exception):
    """Why a run failed, in words an analyst can act on. `detail` (the first rejected rows, which quote
    the extract's cells) is shown to whoever ran the load but not kept in the load log, which every
    signed-in user's /status summarises."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class LoadResult:
    """The outcome of one run (also in the load log)."""

    run_id: str
    status: Literal["published", "checked", "failed"]
    message: str  # as shown to whoever ran it; the load log keeps it without the extract's cells
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
    except UnicodeDecodeError as err:  # Python's codec words (0xe9 in position 31) help nobody
        raise LoadError(f"manifest.json is not UTF-8 text (byte {err.start + 1} is not): save it as UTF-8, "
                        f"e.g. {example}") from None
    except json.JSONDecodeError as err:
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


def load_extract(source: Path, *, publish: bool = True, allow_shrink: bool = False) -> LoadResult:
    """Load (publish=True) or only check (publish=False) the extract in the folder `source`.

    allow_shrink: publish even when a file has far fewer rows than the published warehouse holds
    for it (KPIDASH_SHRINK_MIN_FRACTION): for a source that really did shrink.

    The run is entered in the load log (as running) while its files are archived, read and checked
    (_LogEntry); nothing is published before the entry is made, and a load log that cannot be opened
    stops the run (LoadLogUnusable, or for a database other than a SQLite file its SQLAlchemy error) and
    removes what it archived, as if it had never started."""
    settings = get_settings()
    started = utcnow()
    run_id = new_run_id(started)
    db = Path(settings.db).absolute()
    host, pid = socket.gethostname(), os.getpid()
    source = Path(source)
    run = _Run(settings, run_id, source, db, publish, allow_shrink)
    try:
        with publishing.load_lock(db), _quick_handover():
            publishing.remove_leftovers(db)
            entry = _LogEntry(run_id, str(source.absolute()), started, host=host, pid=pid, db=db)
            detail = ""
            try:
                status, message = run.execute(before_publish=entry.wait)
            except LoadError as err:
                status, message, detail = "failed", str(err), err.detail
            except BaseException as err:
                if not entry.made():  # the load log could not be opened (raised here by entry.wait)
                    run.discard()
                    raise
                entry.runlog.finish_run(
                    run_id, "failed", f"internal error ({type(err).__name__}: {err}); please report it",
                    extracted_at=run.extracted_at, source_system=run.source_system, files=run.file_results(),
                )
                raise
            if not entry.made():
                run.discard()
                entry.wait()  # raises what stopped the entry
            try:
                entry.runlog.finish_run(
                    run_id, status, message,
                    extracted_at=run.extracted_at, source_system=run.source_system, files=run.file_results(),
                )
            except entry.runlog.FAILURES as err:
                if status != "published":
                    raise
                cause = str(getattr(err, "orig", None) or err).splitlines()[0]
                raise entry.runlog.RunLogUnfinished(
                    f"run {run_id} published the new warehouse ({message}), but its load-log entry could not be "
                    f"finished ({cause}); it is finished as published by the next load or `kpidash serve` once the "
                    "app database is back"
                ) from err
    except publishing.LoadBusy as err:
        runlog = load_log_writer()
        status, message, detail = "failed", str(err), ""
        runlog.start_run(run_id, str(source.absolute()), started, host=host, pid=pid, warehouse=str(db))
        runlog.finish_run(run_id, status, message, extracted_at=None, source_system=None, files=[])
    shown = run.shown_message if status != "failed" and run.shown_message else message
    return LoadResult(run_id, status, shown + detail, run.file_results(), run.extracted_at)


@contextlib.contextmanager
def _quick_handover() -> Iterator[None]:
    """While the load log and the cube builder are imported in threads, the loading thread gets the GIL
    back within 0.2 ms when a DuckDB statement returns, not Python's usual 5 ms: it runs a hundred
    statements while they import, and would otherwise wait for them after each one."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, HANDOVER_SECONDS))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def load_log_writer() -> Any:  # noqa: ANN401  (etl.runlog_sqlite or etl.runlog: the same functions)
    """The module that writes a load's rows of the load log: etl.runlog_sqlite for a SQLite file (the
    default; Python's sqlite3, without importing SQLAlchemy), etl.runlog (SQLAlchemy) for any other database."""
    from etl import runlog_sqlite

    if runlog_sqlite.handles(get_settings().app_db):
        return runlog_sqlite
    from etl import runlog

    return runlog


class _LogEntry:
    """Enter the run in the load log as running, in a thread, while the files are archived, read and
    checked: for a database other than a SQLite file, importing SQLAlchemy and opening it (about a fifth of
    a second) overlap that work (a SQLite file's entry, etl.runlog_sqlite, takes a few milliseconds). Under
    the load lock, it first finishes the runs a killed load left running."""

    def __init__(self, run_id: str, source: str, started: dt.datetime, *, host: str, pid: int, db: Path) -> None:
        self._error: BaseException | None = None
        self.runlog: Any = None  # load_log_writer()'s module, once the run is entered
        self._thread = threading.Thread(target=self._enter, args=(run_id, source, started, host, pid, db),
                                        name="kpidash-load-log")
        self._thread.start()

    def _enter(self, run_id: str, source: str, started: dt.datetime, host: str, pid: int, db: Path) -> None:
        try:
            runlog = load_log_writer()
            try:
                runlog.mark_interrupted(host=host, warehouse=str(db), published=lambda: publishing.published_runs(db))
                runlog.start_run(run_id, source, started, host=host, pid=pid, warehouse=str(db))
            except runlog.FAILURES:
                raise
            except OSError as err:
                raise LoadLogUnusable(str(err)) from err
        except BaseException as err:  # noqa: BLE001  (raised in the loading thread by wait)
            self._error = err
        else:
            self.runlog = runlog

    def wait(self) -> None:
        """Return once the run is in the load log; raise what stopped it getting there."""
        self._thread.join()
        if self._error is not None:
            raise self._error

    def made(self) -> bool:
        """Whether the run is in the load log (once the entry is done)."""
        self._thread.join()
        return self._error is None


class _Run:
    """The state of one run as it goes; `execute` returns (status, message) or raises LoadError."""

    def __init__(self, settings: Settings, run_id: str, source: Path, db: Path, publish: bool,
                 allow_shrink: bool = False) -> None:
        self.settings, self.run_id, self.source, self.db, self.publish = settings, run_id, source, db, publish
        self.allow_shrink = allow_shrink
        self.run_dir = Path(settings.archive_dir) / run_id
        self.spill = publishing.spill_path(db, run_id)
        self.extracted_at = local_now()  # until a manifest says otherwise
        self.source_system: str | None = None
        self.origin = source  # what the analyst named: the folder, or an Annex A workbook
        self.archived: dict[str, ArchivedFile] = {}
        self.counts: dict[str, tuple[int, int, int]] = {}  # file -> rows read, rejected, warnings
        self.ssd: SsdConversion | None = None  # set when the source is the Standard Safeguarding Dataset
        self.loaded: set[str] = set()  # tables staged and checked (an optional file may be absent)
        self.after_extract: list[tuple[str, str, int]] = []  # (file, column, rows) dated after the extract
        self.workbook: ArchivedFile | None = None  # an Annex A workbook, as kept in the archive
        self.annex: AnnexConversion | None = None  # what the workbook became (its lists, the rows' origins)
        self.moved: dict[str, int] = {}  # contract file -> its rejected rows listed under the workbook's rows instead
        self.workbook_issues = (0, 0)  # its own (rejected, warnings): the lists' columns and cells it reports
        self.workbook_lists: dict[str, tuple[int, int, int]] = {}  # "Annex A List N" -> (rows, rejected, file_order)
        self.small = False  # an extract that DuckDB works on with one thread (_threads)
        self.shown_message: str | None = None  # a finished run's message with the extract's cells, as shown
        self._copied: list[tuple[str, str]] | LoadError | None = None  # _connect_while_copying's outcome

    def discard(self) -> None:
        """Remove what the run archived: it never got into the load log, so it never happened."""
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def file_results(self) -> list[FileResult]:
        results = []
        for table in EXTRACT_TABLES:
            archived = self.archived.get(table.file_name)
            if table.optional and archived is None:
                continue  # an optional file the extract did not hold
            read, rejected, warnings = self.counts.get(table.file_name, (0, 0, 0))
            sha256 = archived.sha256 if archived else None
            listed = rejected - self.moved.get(table.file_name, 0)
            results.append(FileResult(table.file_name, sha256, read, read - rejected, listed, warnings))
        if self.workbook is not None:  # its rows are counted in the files it became; its issues (all said of its rows) here
            results.append(FileResult(self.workbook.name, self.workbook.sha256, 0, 0, *self.workbook_issues))
        return results

    def execute(self, before_publish: Callable[[], None] = lambda: None) -> tuple[str, str]:
        """(status, message), or LoadError; `before_publish` is called before the new warehouse is built."""
        self.before_publish = before_publish
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise LoadError(f"the archive folder {self.run_dir} cannot be made ({err.strerror or err})") from None
        con = self._connect_while_copying()
        try:
            try:
                self._bound(con)
            except LoadError:
                self._forget_copies()  # as if it had stopped before archiving, as it did before it copied meanwhile
                raise
            con.execute(RUN_ISSUES_DDL)
            try:
                self._convert_workbook(con)
                self._convert_ssd(con)
                self._archive(con)
                self._threads(con)
                staged = self._stage_and_check(con)
                self._tally(con, staged)
                return self._finish(con)
            except duckdb.OutOfMemoryException:
                raise LoadError(
                    f"the extract needs more memory than KPIDASH_LOAD_MEMORY_LIMIT ({self.settings.load_memory_limit}) "
                    "allows, even spilling to disk; nothing was published. Raise the limit (the machine's memory "
                    "allowing) and load it again"
                ) from None
            finally:
                try:
                    write_issues(con, self.run_dir, self.run_id)
                except duckdb.Error as err:  # the run's outcome stands; only its list of issues is lost
                    log.warning("run %s: its issues could not be written to the archive (%s)", self.run_id,
                                str(err).splitlines()[0])
        finally:
            con.close()
            shutil.rmtree(self.spill, ignore_errors=True)

    def _bound(self, con: duckdb.DuckDBPyConnection) -> None:
        """DuckDB within the load's memory and threads, spilling what does not fit beside the warehouse."""
        try:
            self.spill.mkdir(parents=True, exist_ok=True)
            con.execute("SET enable_progress_bar = false")
            con.execute(f"SET memory_limit = {quoted(self.settings.load_memory_limit)}")
            con.execute(f"SET threads = {int(self.settings.load_threads)}")
            con.execute(f"SET temp_directory = {quoted(str(self.spill))}")
        except OSError as err:
            raise LoadError(f"the folder {self.spill} for the load's work cannot be made ({err.strerror or err})") from None
        except duckdb.Error as err:
            raise LoadError(f"KPIDASH_LOAD_MEMORY_LIMIT {self.settings.load_memory_limit!r} is not a memory size "
                            f"(e.g. 512MB or 2GB): {str(err).splitlines()[0]}") from None

    def _threads(self, con: duckdb.DuckDBPyConnection) -> None:
        """One DuckDB thread for a small extract: its tables fit in one or two of DuckDB's row groups, so a
        second thread only adds coordination (the sample trust's 4 MB stage and check 20% faster with one;
        at 41 MB the two are even). Larger extracts use KPIDASH_LOAD_THREADS."""
        self.small = sum(a.size for a in self.archived.values()) < SMALL_EXTRACT_BYTES
        if self.small:
            con.execute("SET threads = 1")

    def _convert_workbook(self, con: duckdb.DuckDBPyConnection) -> None:
        """An Annex A workbook (.xlsx) becomes an extract folder in the run's archive; its issues join the run's."""
        if self.source.suffix.lower() != ".xlsx" or not self.source.is_file():
            return
        from etl.annex_a import AnnexAError, convert_workbook
        from etl.annex_a.mapping import FILE_ORDER_OFFSET

        workbook = self.source
        try:
            self.workbook = archive_file(workbook, self.run_dir / workbook.name)
            converted = convert_workbook(workbook, self.run_dir / "annex_a_extract")
        except AnnexAError as err:  # one of the run's issues too, as a contract file's refusal is
            raise self._refused(con, [(workbook.name, str(err))], intro=None) from None
        except (OSError, ArchiveError) as err:
            raise LoadError(f"{workbook} cannot be read ({getattr(err, 'strerror', None) or err})") from None
        con.execute(f"INSERT INTO issues SELECT * FROM read_parquet({quoted(str(converted.issues_path))})")
        self.source, self.origin, self.annex = converted.folder, workbook, converted
        self.workbook_lists = {s.label: (s.rows, 0, s.number + FILE_ORDER_OFFSET) for s in converted.lists.values()}

    def _convert_ssd(self, con: duckdb.DuckDBPyConnection) -> None:
        """A folder of SSD CSV files becomes an extract folder in the run's archive (etl.ssd); its own issues
        join the run's, and the contract's are reported by SSD table, row and field (in _tally)."""
        if not _holds_ssd_names(self.source):
            return  # not an SSD folder (it holds no ssd_*.csv), without importing the SSD reader
        from etl.ssd import SsdError, convert_ssd_folder, is_ssd_folder

        if not is_ssd_folder(self.source):
            return
        try:
            self.ssd = convert_ssd_folder(self.source, self.run_dir, self.settings.ssd_config)
        except SsdError as err:  # one of the run's issues too, as a contract file's refusal is
            raise self._refused(con, [(self.source.name, str(err))], intro=None) from None
        con.execute(f"INSERT INTO issues SELECT * FROM read_parquet({quoted(str(self.ssd.issues_path))})")
        self.source = self.ssd.folder

    def _connect_while_copying(self) -> duckdb.DuckDBPyConnection:
        """The load's DuckDB connection. For a folder of contract files its files are copied into the archive
        meanwhile (_copy_inputs): opening DuckDB's database takes about 25 ms and copying and hashing the sample's
        files 15 ms, and both let go of the GIL (38 ms one after the other, 26 ms together)."""
        try:  # nothing to copy yet from a workbook, or a Standard Safeguarding Dataset to convert first (_convert_ssd)
            plain = self.source.is_dir() and not _holds_ssd_names(self.source)
        except OSError:
            plain = False  # (said by _archive)
        if not plain:
            return duckdb.connect()
        opened: list[duckdb.DuckDBPyConnection] = []
        opening = threading.Thread(target=lambda: opened.append(duckdb.connect()), name="kpidash-connect")
        opening.start()
        try:
            self._copied = self._copy_inputs()
        except LoadError as err:  # raised where the copy was made before (_archive), the connection made
            self._copied = err
        finally:
            opening.join()
        return opened[0] if opened else duckdb.connect()  # (the thread's failure, raised here)

    def _forget_copies(self) -> None:
        """Remove the copies _connect_while_copying made, for a run that stops before it would have made them."""
        for archived in self.archived.values():
            archived.path.unlink(missing_ok=True)
        self.archived.clear()

    def _archive(self, con: duckdb.DuckDBPyConnection) -> None:
        """Copy every input into the archive first, so even a failed run keeps what it was given."""
        if not self.source.exists():
            raise self._refused(con, [(self.source.name, f"{self.source} does not exist")], intro=None)
        if not self.source.is_dir():
            workbook = (" (an Annex A workbook is loaded as .xlsx: save it from Excel as an .xlsx workbook)"
                        if self.source.suffix.lower() in (".xls", ".xlsm", ".xlsb", ".ods") else "")
            raise self._refused(con, [(self.source.name, f"{self.source} is not a folder: give the folder that holds "
                                                         f"the extract's CSV files{workbook}")], intro=None)
        copied = self._copied if self._copied is not None else self._copy_inputs()
        if isinstance(copied, LoadError):
            raise copied
        problems = copied
        write_checksums(self.run_dir, list(self.archived.values()) + ([self.workbook] if self.workbook else []))
        if MANIFEST in self.archived:
            try:
                self.extracted_at, system = read_manifest(self.archived[MANIFEST].path)
                self.source_system = system[:200] if system else system  # the load log keeps 200 characters
            except LoadError as err:
                problems.append((MANIFEST, str(err)))
            else:
                latest = local_now() + dt.timedelta(minutes=self.settings.extract_future_tolerance_minutes)
                if self.extracted_at > latest and self.workbook is not None:  # its date is the workbook's latest
                    problems.append((self.workbook.name, (
                        f"the workbook's latest date, {self.extracted_at:%Y-%m-%d}, is in the future, and Annex A's "
                        "extract date is its latest date: correct it (`kpidash rejects` names its list, row and "
                        "column) and load it again")))
                elif self.extracted_at > latest:
                    problems.append((MANIFEST, (
                        f"manifest.json extracted_at {self.extracted_at:%Y-%m-%d %H:%M} is in the future (it is now "
                        f"{local_now():%Y-%m-%d %H:%M} in London): every view would default to that date. Check the "
                        "source system's clock and export again (KPIDASH_EXTRACT_FUTURE_TOLERANCE_MINUTES allows "
                        f"{self.settings.extract_future_tolerance_minutes:g} minutes)")))
        if problems:
            raise self._refused(con, problems)

    def _copy_inputs(self) -> list[tuple[str, str]]:
        """Copy each input the contract names (and the manifest) into the archive: what could not be read."""
        problems: list[tuple[str, str]] = []
        names = [t.file_name for t in EXTRACT_TABLES] + [MANIFEST]
        optional = {t.file_name for t in EXTRACT_TABLES if t.optional} | {MANIFEST}
        present = {p.name for p in self.source.iterdir()}
        for name in names:
            src = self.source / name
            if not src.is_file():
                if src.is_dir():  # not "missing (found teams.csv)": it is there, as a folder
                    problems.append((name, f"{name} is a folder, not a file"))
                elif src.is_symlink():  # a link to nothing: there, but not "missing (found teams.csv)"
                    problems.append((name, f"{name} is a link to {os.readlink(src)}, which does not exist"))
                elif name not in optional:
                    near = [p for p in present if p.lower() == name.lower()]
                    hint = f" (found {near[0]}: names must match exactly)" if near else ""
                    problems.append((name, f"{name} is missing{hint}"))
                continue
            try:
                archived = archive_file(src, self.run_dir / name)
            except ArchiveError as err:
                raise LoadError(f"the input files cannot be archived: {err}") from None
            except OSError as err:
                problems.append((name, f"{name} cannot be read ({err.strerror or err})"))
                continue
            self.archived[name] = archived
            if archived.problem and name != MANIFEST:
                problems.append((name, f"{name} {archived.problem}"))
        return problems

    def _refused(self, con: duckdb.DuckDBPyConnection, problems: list[tuple[str, str]],
                 intro: str | None = "the extract cannot be loaded") -> LoadError:
        """A LoadError for problems with whole files, each also one of the run's issues (`kpidash rejects`)."""
        for file, text in problems:
            file_issue(con, file, _file_order(file), None, None, 0, _without_name(text, file), severity="reject")
        if intro is None:
            return LoadError("\n".join(text for _, text in problems))
        return LoadError(_listed(intro, [text for _, text in problems]))

    def _stage_and_check(self, con: duckdb.DuckDBPyConnection) -> list[StagedFile]:
        """Read every file, apply the contract's rules to its rows and list its warnings, a small extract's
        files two at a time.

        At sample size a file's work is a handful of short DuckDB statements whose planning costs more than
        their rows, and DuckDB lets go of the GIL while it plans and runs one: a second cursor, in a thread,
        works on the next file meanwhile (a larger extract's statements use DuckDB's own threads instead, and
        one file at a time keeps its memory within the limit). Each file's issues are kept in tables of its
        own and added to the run's `issues` in the contract's order afterwards, as if the files had been read
        one after another, then checked one after another, then warned about: every issue in the same place.
        A file whose rows belong to another's (audit domains and actions: their audit) is checked once that
        one is; a file's warnings are listed once the files they refer to are checked (_Files)."""
        jobs = _Files([(order, table, self.archived[table.file_name]) for order, table in enumerate(EXTRACT_TABLES)
                       if table.file_name in self.archived])
        helpers = [threading.Thread(target=self._work, args=(con.cursor(), jobs), name=f"kpidash-check-{i}")
                   for i in range(1, (min(LOAD_CURSORS, os.cpu_count() or 1) if self.small else 1))]
        for helper in helpers:
            helper.start()
        try:
            self._work(con, jobs, own=False)
            if self.publish and self.settings.cube and jobs.error is None:  # no file left to give out: a core to spare
                _import_cube_builder_meanwhile()
        finally:
            jobs.stop()
            for helper in helpers:
                helper.join()
        if jobs.error is not None:
            raise jobs.error
        outcomes = jobs.done()
        problems = [(table.file_name, str(done)) for table, done in outcomes if isinstance(done, FileError)]
        read, checked, warned = ([_issue_tables(table)[i] for table, _ in outcomes] for i in range(3))
        _add_issues(con, read if problems else read + checked + warned)
        for table, done in outcomes:
            if done is None:  # rows that belong to audits, without the audits: nothing to attach them to
                self.counts[table.file_name] = (0, 0, 1)
        if problems:
            raise self._refused(con, problems)
        staged = [done for _, done in outcomes if isinstance(done, StagedFile)]
        self.loaded = {s.table.name for s in staged}
        return staged

    def _work(self, cur: duckdb.DuckDBPyConnection, jobs: _Files, own: bool = True) -> None:
        """Stage and check the files `jobs` gives out, on `cur` (a cursor of the load's connection, closed
        after unless not `own`); the first failure stops every worker (_Files.error)."""
        try:
            if own:
                cur.execute("SET enable_progress_bar = false")
            while (job := jobs.next()) is not None:
                warn, order, table, archived = job
                if warn:
                    self._warn_file(cur, order, table, jobs)
                    continue
                try:
                    jobs.finish(table, self._stage_and_check_file(cur, order, table, archived, jobs))
                except BaseException as err:
                    jobs.finish(table, err)
                    raise
        except BaseException as err:  # noqa: BLE001  (raised in the loading thread by _stage_and_check)
            jobs.fail(err)
        finally:
            if own:
                cur.close()

    def _stage_and_check_file(self, cur: duckdb.DuckDBPyConnection, order: int, table: Table, archived: ArchivedFile,
                              jobs: _Files) -> StagedFile | FileError | None:
        """One file read and checked (None: not loaded, its parent file is missing; FileError: unusable)."""
        staged_issues, checked_issues, _ = _issue_tables(table)
        cur.execute("; ".join(f"CREATE OR REPLACE TABLE {name} {ISSUES_COLUMNS}" for name in _issue_tables(table)))
        if table.parent is not None and TABLES_BY_NAME[table.parent[1]].file_name not in self.archived:
            parent = TABLES_BY_NAME[table.parent[1]].file_name
            file_issue(cur, archived.name, order, None, None, 0,
                       f"is not loaded: its rows belong to the audits of {parent}, which the extract does not hold",
                       issues=staged_issues)
            return None
        try:
            staged = stage_file(cur, table, archived, order, max_reject_pct=self.settings.max_reject_pct,
                                scratch=self.spill, issues=staged_issues)
        except FileError as err:
            return err
        if table.parent is not None and not isinstance(jobs.wait(TABLES_BY_NAME[table.parent[1]]), StagedFile):
            return staged  # its parent file is unusable: the run is refused before any check counts
        self._file_issues(cur, staged, order, checked_issues)
        check_table(cur, table, order, issues=checked_issues)
        return staged

    def _warn_file(self, cur: duckdb.DuckDBPyConnection, order: int, table: Table, jobs: _Files) -> None:
        """A checked file's warnings, once the files they refer to are checked (none when one of them, or its
        parent, is unusable: the run is then refused before any warning counts)."""
        parent = [TABLES_BY_NAME[table.parent[1]]] if table.parent is not None else []
        sources = [table, *parent, *(TABLES_BY_NAME[name] for name in sorted(warning_sources(table)))]
        if all(isinstance(jobs.wait(source), StagedFile) for source in sources):
            add_warnings(cur, table, order, self.extracted_at.date(), issues=_issue_tables(table)[2])

    def _file_issues(self, cur: duckdb.DuckDBPyConnection, s: StagedFile, order: int, issues: str) -> None:
        """What is wrong with a file as a whole or its header, before its rows are checked."""
        name = s.archived.name
        for position, column in s.extra_columns:
            shown = column if column.strip() else f"(column {position + 1}, no name)"
            file_issue(cur, name, order, 1, shown, 1000 + position,
                       "is not a column of the contract; its values are ignored", issues=issues)
        for column in s.missing_optional:
            file_issue(cur, name, order, 1, column, s.table.column_names.index(column) + 1,
                       "is missing from the header; every row's value is taken as empty", issues=issues)
        if s.rows_read == 0:
            file_issue(cur, name, order, None, None, 0, "has a header but no rows", issues=issues)
        if s.approximate_lines:
            file_issue(cur, name, order, None, None, 0,
                       "has line breaks the loader could not follow; its line numbers count rows, not lines",
                       issues=issues)
        if s.unlisted_rejects:
            file_issue(
                cur, name, order, None, None, 0,
                f"has {s.unlisted_rejects:,} more rows whose number of values is not the header's "
                f"{len(s.header)}, not listed one by one (far more than could pass; the archived copy holds them); "
                "the other rows' line numbers count rows, not lines", severity="reject", issues=issues,
            )

    def _tally(self, con: duckdb.DuckDBPyConnection, staged: list[StagedFile]) -> None:
        """Each file's rows read, rejected and warned about, and the dates after the extract's, from `issues`.
        An Annex A workbook's contract issues are first said of its rows (etl.annex_a.report): the rows a
        contract file did not load are then listed under the workbook, and counted there (self.moved)."""
        rejected_lines = dict(con.execute(
            "SELECT file, count(DISTINCT line) FROM issues WHERE severity = 'reject' GROUP BY file").fetchall())
        if self.annex is not None:
            from etl.annex_a.report import translate

            translate(con, str(self.annex.rowmap_path), self.annex.lists)
        self.after_extract = con.execute(
            f"""SELECT file, "column", count(*) FROM issues
                WHERE severity = 'warning' AND reason = {quoted(future_reason(self.extracted_at.date()))}
                GROUP BY file, file_order, "column", col_order ORDER BY file_order, col_order"""
        ).fetchall()
        tallies = dict.fromkeys((s.archived.name for s in staged), (0, 0))
        for file, rejected, warnings in con.execute(
            """SELECT file, count(DISTINCT line) FILTER (WHERE severity = 'reject'),
                      count(*) FILTER (WHERE severity = 'warning')
               FROM issues GROUP BY file"""
        ).fetchall():
            tallies[file] = (rejected, warnings)
        self.counts.update({s.archived.name: (s.rows_read, rejected_lines.get(s.archived.name, 0) + s.unlisted_rejects,
                                              tallies[s.archived.name][1]) for s in staged})
        self.moved = {s.archived.name: rejected_lines.get(s.archived.name, 0) - tallies[s.archived.name][0]
                      for s in staged}
        if self.workbook is not None:  # what the workbook's lists reported (by list, not contract file) counts too
            own = [n for f, n in tallies.items() if f not in self.counts]
            self.workbook_issues = (sum(r for r, _ in own), sum(w for _, w in own))
            self.workbook_lists = {label: (rows, tallies.get(label, (0, 0))[0], order)
                                   for label, (rows, _, order) in self.workbook_lists.items()}
        if self.ssd is not None:
            self.counts = self.ssd.report(con, self.counts)

    def _finish(self, con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
        limit = self.settings.max_reject_pct
        files = [t.file_name for t in EXTRACT_TABLES]
        tallies = [(file, read, rejected - self.moved.get(file, 0), files.index(file))
                   for file, (read, rejected, _) in self.counts.items()]
        # an Annex A workbook's lists too: a row it rejects never reaches a contract file's count
        tallies += [(label, *tally) for label, tally in self.workbook_lists.items()]
        over = [(file, read, rejected, order) for file, read, rejected, order in tallies
                if read and rejected * 100 > limit * read]
        if over:
            lines = [
                f"{self._label(file)}: {rejected:,} of {read:,} rows rejected ({rejected * 100 / read:.1f}%), "
                f"more than the {limit:g}% allowed (KPIDASH_MAX_REJECT_PCT)"
                for file, read, rejected, _ in over
            ]
            orders = [order for *_, order in over]
            if self.ssd is not None:  # an SSD's rows its CSV reader refused are the rejects of the files they feed
                orders += [self.ssd.refused_order(file) for file, *_ in over if self.ssd.refused.get(file)]
            shown = con.execute(
                f"""SELECT file, line, "column", value, reason, severity FROM issues
                    WHERE severity = 'reject' AND file_order IN ({", ".join("?" for _ in orders)})
                    ORDER BY file_order, line, col_order LIMIT {SHOWN_REJECTS}""",
                orders,
            ).fetchall()
            examples = [Issue(self.run_id, *row).message for row in shown]
            raise LoadError(
                _listed("nothing was published" if self.publish else "the check failed", lines),
                f"\nfirst rejected rows (all of them: kpidash rejects {self.run_id}):\n"
                + "\n".join(f"  {e}" for e in examples),
            )
        published, replaced = publishing.published_state(self.db, con)
        self._check_shrink(con, published)

        read = sum(c[0] for c in self.counts.values())
        rejected = sum(c[1] for c in self.counts.values())
        listed = rejected - sum(self.moved.values())  # (the rest are listed as the workbook's rows)
        # an Annex A workbook's rejected rows: those its lists refused, and those a contract file did (self.moved)
        workbook_rejected, workbook_warnings = self.workbook_issues
        warnings = sum(c[2] for c in self.counts.values()) + workbook_warnings
        tally = (
            f"{read - rejected:,} rows loaded from {len(self.counts)} files, {listed + workbook_rejected:,} rejected, "
            f"{warnings:,} warnings"
        )
        if replaced is not None and self.extracted_at.date() < replaced:  # allowed (an archived input reloaded),
            tally += (f"; note: this extract's date ({self.extracted_at:%Y-%m-%d}) is before the published one's "  # said
                      f"({replaced:%Y-%m-%d}), so every view's default date moves back to it")
        if self.after_extract:  # the contract's data-quality warning, counted where it happens
            dated = sum(n for _, _, n in self.after_extract)
            tally += (f"; {dated:,} dates after the extract date ({self.extracted_at:%Y-%m-%d}), loaded and listed as "
                      "warnings: " + ", ".join(f"{file} {column} {n:,}" for file, column, n in self.after_extract))
        # the load log keeps the summary without the extract's cells (every role reads it through /status);
        # whoever ran the load is shown them; the archive keeps every issue
        kept, shown = summarise_issues(con, self.run_id)
        tally, shown = (tally + "".join("\n" + line for line in lines) for lines in (kept, shown))
        if not self.publish:
            self.shown_message = f"checked, nothing published: {shown}"
            return "checked", f"checked, nothing published: {tally}"
        self.before_publish()
        tmp = publishing.tmp_path(self.db, self.run_id)
        try:
            cube_note = publishing.build_warehouse(
                con, tmp, run_id=self.run_id, extracted_at=self.extracted_at, source_system=self.source_system,
                source=str(self.origin.absolute()), loaded_at=utcnow(), loaded=self.loaded,
                derived=_cube(tmp, self.db, self.small) if self.settings.cube else None,
            ) or ""
            publishing.replace_published(tmp, self.db)
        except (OSError, duckdb.Error) as err:
            tmp.unlink(missing_ok=True)
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise LoadError(
                f"the new warehouse could not be written ({first}); the published one is unchanged"
            ) from None
        self.shown_message = f"published: {shown}{cube_note}"
        return "published", f"published: {tally}{cube_note}"

    def _label(self, file: str) -> str:
        """A contract file as the analyst knows it: for an SSD, the SSD table its rows come from."""
        if self.ssd is None:
            return file
        from etl.ssd.report import SOURCE_TABLE

        return f"{file} (from {self.ssd.labels.file(SOURCE_TABLE[file])})"

    def _check_shrink(self, con: duckdb.DuckDBPyConnection, published: dict[str, int]) -> None:
        """Refuse a file that shrank far below what is published (`published`: table -> rows; a header-only
        file would otherwise publish and wipe a table), unless the analyst says the source really did shrink."""
        if self.allow_shrink:
            return
        fraction = self.settings.shrink_min_fraction
        shrunk = []
        for table in EXTRACT_TABLES:  # an optional file (audits) that was published and is gone shrank too
            before = published.get(table.name, 0)
            read, rejected, _ = self.counts.get(table.file_name, (0, 0, 0))
            now = read - rejected
            if now < fraction * before:  # an empty file where rows were published always is, unless fraction is 0
                shrunk.append((table.file_name, now, before))
        if not shrunk:
            return
        words = [f"{file} has {now:,} rows to load where the published warehouse has {before:,}" for file, now, before in shrunk]
        for file, now, before in shrunk:
            file_issue(con, file, _file_order(file), None, None, 0,
                       f"has {now:,} rows to load where the published warehouse has {before:,} (fewer than "
                       f"{fraction:g} of them: KPIDASH_SHRINK_MIN_FRACTION)", severity="reject")
        raise LoadError(
            _listed("nothing was published" if self.publish else "the check failed", words)
            + f"\nA file that shrinks this much is usually a broken export (an empty or cut-off file). If the source "
            f"really has shrunk, load it with --allow-shrink (KPIDASH_SHRINK_MIN_FRACTION is {fraction:g})."
        )


class _Files:
    """The files of a run's extract, given out in the contract's order to the cursors that stage and check
    them (_Run._stage_and_check), with what became of each; then each again, to list its warnings. A file
    waits only for files given out before it (its parent, the ones its warnings refer to), so two cursors
    never wait for each other."""

    def __init__(self, jobs: list[tuple[int, Table, ArchivedFile]]) -> None:
        self.all = jobs
        self._left = iter([(False, *job) for job in jobs] + [(True, *job) for job in jobs])
        self._lock = threading.Lock()
        self._outcome: dict[str, StagedFile | FileError | BaseException | None] = {}
        self._finished = {table.name: threading.Event() for _, table, _ in jobs}
        self._stopped = False
        self.error: BaseException | None = None  # the first failure (not a file's own): the run stops

    def next(self) -> tuple[bool, int, Table, ArchivedFile] | None:
        """The next job: (whether to list warnings, not stage and check, the file's order, table, file)."""
        with self._lock:
            if self._stopped or self.error is not None:
                return None
            return next(self._left, None)

    def finish(self, table: Table, outcome: StagedFile | FileError | BaseException | None) -> None:
        self._outcome[table.name] = outcome
        self._finished[table.name].set()

    def wait(self, table: Table) -> StagedFile | FileError | BaseException | None:
        """What became of `table`'s file, once it is checked (None too for a file the extract does not hold)."""
        if table.name not in self._finished:
            return None
        self._finished[table.name].wait()
        return self._outcome[table.name]

    def fail(self, err: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = err

    def stop(self) -> None:
        with self._lock:
            self._stopped = True

    def done(self) -> list[tuple[Table, StagedFile | FileError | None]]:
        return [(table, self._outcome[table.name]) for _, table, _ in self.all]  # type: ignore[misc]


def _issue_tables(table: Table) -> tuple[str, str, str]:
    """The tables holding a file's issues while files are read and checked at once: found as it was read, by
    the checks, and its warnings (_Run._stage_and_check)."""
    return f"issues_staged_{table.name}", f"issues_checked_{table.name}", f"issues_warned_{table.name}"


def _add_issues(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """Append the rows of `tables` to the run's `issues`, table after table, each in the order it was written.
    (The tables go with the load's connection: dropping three dozen tables took 40 ms.)"""
    if tables:
        parts = " UNION ALL ".join(f"SELECT {i} AS _part, rowid AS _row, * FROM {name}"
                                   for i, name in enumerate(tables))
        con.execute(f"INSERT INTO issues SELECT * EXCLUDE (_part, _row) FROM ({parts}) ORDER BY _part, _row")


def _import_cube_builder_meanwhile() -> None:
    """Import the cube builder (numpy and the KPI layer: about a tenth of a second) in a thread while
    this one finishes the checks and writes the new file: DuckDB lets go of the GIL, so the import costs
    the load little. The cube's own import (`_cube`) waits for it (Python's import lock) and reports any
    failure itself. Started once no file is left to be checked: an import holds the GIL almost throughout, and beside
    it the two cursors that read and check the files took two to three times as long (each DuckDB statement
    waits for the GIL between its tasks).

    numpy.ma too: numpy imports it on first use of np.unique, which the cube builder calls (15 to 20 ms)."""

    def load() -> None:
        try:
            for module in _CUBE_BUILDER_IMPORTS:
                importlib.import_module(module)
        except Exception:  # noqa: BLE001, S110  (imported again, and its failure reported, by _cube)
            pass

    if "kpis.cube_builder" not in sys.modules:
        # a daemon: a load that fails early (no folder) need not wait for it to exit (cli.errors.exit_now)
        threading.Thread(target=load, name="kpidash-import-cube-builder", daemon=True).start()


def _cube(tmp: Path, published: Path, small: bool) -> publishing.Derived:
    """The KPI layer's daily cube, counted from the rows as checked and written into the new file before
    it is published, so that it belongs to this version (the one call from etl into kpis: only the writer
    can write it), on the load's own connection (etl.publish.Derived). It is counted without the load's
    memory limit and, unless the extract is small, with DuckDB's own threads (the cube's work is the
    published data's, not the extract's): a small extract's while its rows are written (they are written
    on one core), a larger one's after them, beside nothing, within the memory the machine has. A cube
    that cannot be built costs speed, not the load: figures are then counted from the records."""

    def count(cur: duckdb.DuckDBPyConnection) -> object:
        try:
            from kpis.cube_builder import count_cube

            cur.execute("RESET memory_limit")
            if not small:
                cur.execute("RESET threads")
            return count_cube(cur, tmp, holidays_from=published)
        except Exception as err:  # noqa: BLE001  (any failure: publish the data without a cube)
            return _no_cube(err)

    def store(con: duckdb.DuckDBPyConnection, counted: object) -> str:
        if isinstance(counted, str):
            return counted
        try:
            from kpis.cube_builder import store_cube

            con.execute("RESET threads")  # the cube's tables are compressed a row group per thread
            with con.cursor() as cur:
                store_cube(cur, counted, into=publishing.FILE)
        except Exception as err:  # noqa: BLE001
            return _no_cube(err)
        return ""

    return publishing.Derived(count=count, store=store, meanwhile=small)


def _no_cube(err: Exception) -> str:
    first = str(err).splitlines()[0] if str(err) else type(err).__name__
    log.warning("the daily KPI cube could not be built (%s); figures are counted from the records", first)
    return f"; the daily KPI cube could not be built ({first}), so figures are counted from the records"


def _holds_ssd_names(folder: Path) -> bool:
    """A folder with a file named ssd_*: the cheap look before the SSD reader is imported (etl.ssd.is_ssd_folder
    decides whether it is one)."""
    return folder.is_dir() and any(p.name.lower().startswith("ssd_") for p in folder.iterdir())


def _file_order(name: str) -> int:
    """A file's place in the contract (issues are listed in this order); other names go last."""
    return next((i for i, t in enumerate(EXTRACT_TABLES) if t.file_name == name), len(EXTRACT_TABLES))


def _without_name(text: str, name: str) -> str:
    """An issue's reason: the problem without the file name it starts with (the issue names the file)."""
    for prefix in (f"{name}: ", f"{name} "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _listed(intro: str, items: list[str]) -> str:
    """First line: the intro and the first item (the load log's one-line summary); then every item."""
    if len(items) == 1:
        return f"{intro}: {items[0]}"
    return f"{intro}: {items[0]} (and {len(items) - 1} more)\n" + "\n".join(f"  - {item}" for item in items)
