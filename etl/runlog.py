"""The load log in the app database: one row per load (`load_runs`) and one per file (`load_files`).

It lives in the app database, not the warehouse, because it must survive every later load and record
the loads that never published anything. Times are naive UTC, except `extracted_at`, which is the
extract's own local (Europe/London) date-time as the manifest gives it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, String, Text, UniqueConstraint, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from core.appdb import Base, get_engine
from etl.outcome import FINISHED_LATE, INTERRUPTED, RUN_STATUSES, FileResult, utcnow

FAILURES: tuple[type[Exception], ...] = (SQLAlchemyError,)  # what the app database raises (etl.runlog_sqlite's too)


class RunLogUnfinished(SQLAlchemyError):
    """The new warehouse is published, but the app database failed before the run's load-log entry
    was finished. An app-database error (callers already report those); the message says the figures
    are published and when the entry will be finished."""


class LoadRun(Base):
    """One `kpidash load` or `kpidash check`, whatever its outcome."""

    __tablename__ = "load_runs"
    __table_args__ = (CheckConstraint(f"status IN {RUN_STATUSES!r}", name="status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    source: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    extracted_at: Mapped[dt.datetime | None]
    source_system: Mapped[str | None] = mapped_column(String(200))
    # Which process on which machine ran it, for which warehouse: a later load on the same machine and
    # warehouse that finds this run still "running" knows it was interrupted (it holds the load lock).
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int | None]
    warehouse: Mapped[str] = mapped_column(Text, default="")

    files: Mapped[list[LoadFile]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="LoadFile.id"
    )


class LoadFile(Base):
    """One input file of a run: its checksum and what became of its rows."""

    __tablename__ = "load_files"
    __table_args__ = (UniqueConstraint("run_id", "file"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("load_runs.id", ondelete="CASCADE"), index=True)
    file: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str | None] = mapped_column(String(64))
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_loaded: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    warnings: Mapped[int] = mapped_column(default=0)

    run: Mapped[LoadRun] = relationship(back_populates="files")


@dataclass(frozen=True)
class RunInfo:
    """A load-log entry as the CLI and the API show it."""

    run_id: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    source: str
    status: str
    message: str
    extracted_at: dt.datetime | None
    source_system: str | None
    files: list[FileResult] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def warnings(self) -> int:
        return sum(f.warnings for f in self.files)


def _info(run: LoadRun) -> RunInfo:
    return RunInfo(
        run_id=run.id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        source=run.source,
        status=run.status,
        message=run.message,
        extracted_at=run.extracted_at,
        source_system=run.source_system,
        files=[
            FileResult(f.file, f.sha256, f.rows_read, f.rows_loaded, f.rows_rejected, f.warnings) for f in run.files
        ],
    )


def _runs(where: ColumnElement[bool] | None = None, limit: int | None = None) -> list[RunInfo]:
    stmt = select(LoadRun).options(selectinload(LoadRun.files)).order_by(LoadRun.started_at.desc(), LoadRun.id.desc())
    if where is not None:
        stmt = stmt.where(where)
    if limit is not None:
        stmt = stmt.limit(limit)
    with Session(get_engine()) as session:
        return [_info(run) for run in session.scalars(stmt)]


def list_runs(limit: int | None = None) -> list[RunInfo]:
    """The load log, newest first."""
    return _runs(limit=limit)


def get_run(run_id: str) -> RunInfo | None:
    """One run by id, or None."""
    found = _runs(LoadRun.id == run_id)
    return found[0] if found else None


def last_good_run() -> RunInfo | None:
    """The newest run that published a warehouse (what the dashboards show)."""
    found = _runs(LoadRun.status == "published", limit=1)
    return found[0] if found else None


def last_failed_run() -> RunInfo | None:
    """The newest run that failed (so /status can say a newer extract was refused)."""
    found = _runs(LoadRun.status == "failed", limit=1)
    return found[0] if found else None


def start_run(run_id: str, source: str, started_at: dt.datetime, *, host: str, pid: int, warehouse: str) -> None:
    """Record a run as "running" before any work, so a killed load still leaves its trace."""
    with Session(get_engine()) as session, session.begin():
        session.add(
            LoadRun(
                id=run_id, started_at=started_at, source=source, status="running", message="",
                host=host, pid=pid, warehouse=warehouse,
            )
        )


def finish_run(
    run_id: str,
    status: str,
    message: str,
    *,
    extracted_at: dt.datetime | None,
    source_system: str | None,
    files: list[FileResult],
) -> None:
    """Record a run's outcome and its files in one transaction."""
    with Session(get_engine()) as session, session.begin():
        run = session.get_one(LoadRun, run_id)
        run.status = status
        run.message = message
        run.finished_at = utcnow()
        run.extracted_at = extracted_at
        run.source_system = source_system
        run.files = [
            LoadFile(
                file=f.file, sha256=f.sha256, rows_read=f.rows_read, rows_loaded=f.rows_loaded,
                rows_rejected=f.rows_rejected, warnings=f.warnings,
            )
            for f in files
        ]


Published = Mapping[str, tuple[dt.datetime | None, str | None]]


def mark_interrupted(
    *, host: str, warehouse: str, published: Published | Callable[[], Published] | None = None
) -> list[str]:
    """Finish the runs still marked "running" that no process is finishing; call only under the load lock.

    A run whose id is in `published` (run id -> extracted_at, source_system, read from the warehouse's
    own metadata) did publish: the app database failed before its entry was finished, so it is
    finished as published, whichever machine ran it. The other runs of this machine and warehouse
    were interrupted and are failed. `published` may be a function that reads it: it is called only
    when a run is still marked running (reading the warehouse's metadata costs a load 50 ms).
    """
    running = (LoadRun.status == "running") & (LoadRun.warehouse == warehouse)
    now = utcnow()
    with Session(get_engine()) as session, session.begin():
        if callable(published):
            still_running = session.scalar(select(LoadRun.id).where(running).limit(1)) is not None
            published = published() if still_running else {}
        published = published or {}
        done = list(session.scalars(select(LoadRun).where(running & LoadRun.id.in_(list(published)))))
        finished = [run.id for run in done]
        for run in done:
            run.status, run.message, run.finished_at = "published", FINISHED_LATE, now
            run.extracted_at, run.source_system = published[run.id]
        stale = running & (LoadRun.host == host) & LoadRun.id.not_in(list(published))
        ids = list(session.scalars(select(LoadRun.id).where(stale)))
        if ids:
            session.execute(
                update(LoadRun).where(LoadRun.id.in_(ids)).values(status="failed", message=INTERRUPTED, finished_at=now)
            )
    return finished + ids
