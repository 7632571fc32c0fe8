"""Data freshness for everyone; the load log and rejected rows for analysts and admins (rejected rows
quote the extract's cells, which can be personal data)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

import etl
from api.datetimes import LondonDateTime, UtcDateTime
from api import audit
from api.deps import CurrentUser, RunLogReader, StateDep, request_origin
from api.errors import BAD_INPUT, FORBIDDEN, NOT_FOUND, SIGNED_IN, ApiError
from api.live_warehouse import WarehouseUnavailable
from scheduler.state import next_refresh

router = APIRouter(tags=["loads"], responses={**SIGNED_IN, **BAD_INPUT})


class FileOut(BaseModel):
    file: str
    sha256: str | None
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    warnings: int


class RunOut(BaseModel):
    run_id: str
    status: str
    started_at: UtcDateTime
    finished_at: UtcDateTime | None
    message: str
    extracted_at: LondonDateTime | None = Field(description="When the extract was taken, the trust's local time.")
    source_system: str | None
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    warnings: int
    files: list[FileOut]


class FailedRunOut(BaseModel):
    run_id: str
    started_at: UtcDateTime
    finished_at: UtcDateTime | None
    message: str = Field(description="Why the load failed, in the loader's words (its first line: the whole "
                         "message is in GET /runs, the rejected rows in GET /runs/{id}/rejects).")


class WarehouseOut(BaseModel):
    available: bool
    problem: str | None
    run_id: str | None
    extract_date: dt.date | None


class Status(BaseModel):
    extract_date: dt.date | None = Field(description="The date of the extract the figures are computed from.")
    warehouse: WarehouseOut
    last_good_load: RunOut | None
    last_failed_load: FailedRunOut | None
    failed_since_last_good: bool = Field(description="A newer extract than the one shown was refused.")
    warehouse_problem: str | None = Field(
        None, description="The published warehouse file cannot be read, and which good version is served instead "
        "(None: no problem)."
    )
    next_scheduled_run: UtcDateTime | None = Field(
        None, description="When the scheduler next looks at the live source (None: no scheduler has said)."
    )


class Issue(BaseModel):
    file: str
    line: int | None
    column: str | None
    value: str | None
    reason: str
    severity: Literal["reject", "warning"]


class IssuesPage(BaseModel):
    run_id: str
    severity: Literal["all", "reject", "warning"]
    total: int
    page: int
    page_size: int
    pages: int
    issues: list[Issue]


def _run_out(run: Any) -> RunOut:
    return RunOut(
        run_id=run.run_id, status=run.status, started_at=run.started_at, finished_at=run.finished_at,
        message=run.message, extracted_at=run.extracted_at, source_system=run.source_system,
        rows_read=run.rows_read, rows_loaded=run.rows_loaded, rows_rejected=run.rows_rejected,
        warnings=run.warnings, files=[FileOut(**dataclasses.asdict(f)) for f in run.files],
    )


@router.get("/status", response_model=Status)
async def status(_user: CurrentUser, state: StateDep) -> Status:
    """How fresh the figures are: the extract date, the last good load and its rejects, the last failure."""

    def read() -> Status:
        try:
            with state.live.use() as version:
                wh = version.warehouse
                warehouse = WarehouseOut(available=True, problem=None, run_id=wh.run_id, extract_date=wh.extract_date)
        except WarehouseUnavailable as exc:
            warehouse = WarehouseOut(available=False, problem=str(exc), run_id=None, extract_date=None)
        warehouse_problem = state.live.warning
        good, failed = etl.last_good_run(), etl.last_failed_run()
        return Status(
            extract_date=warehouse.extract_date,
            warehouse=warehouse,
            last_good_load=_run_out(good) if good else None,
            last_failed_load=FailedRunOut(run_id=failed.run_id, started_at=failed.started_at,
                                          finished_at=failed.finished_at,
                                          message=failed.message.splitlines()[0] if failed.message else "")
            if failed else None,
            failed_since_last_good=failed is not None and (good is None or failed.started_at > good.started_at),
            next_scheduled_run=next_refresh(state.settings.db),
            warehouse_problem=warehouse_problem,
        )

    return await run_in_threadpool(read)


@router.get("/runs", response_model=list[RunOut], responses={**FORBIDDEN, **BAD_INPUT})
def runs(_user: RunLogReader, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[RunOut]:
    """The load log, newest first (analysts and admins)."""
    return [_run_out(r) for r in etl.list_runs(limit)]


@router.get("/runs/{run_id}/rejects", response_model=IssuesPage, responses={**FORBIDDEN, **NOT_FOUND, **BAD_INPUT})
def rejects(
    request: Request,
    response: Response,
    user: RunLogReader,
    state: StateDep,
    run_id: Annotated[str, Path(max_length=64)],
    severity: Literal["all", "reject", "warning"] = "all",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> IssuesPage:
    """A run's rejected rows and data-quality warnings: file, line, column, value and reason.

    The values quote the extract's cells (child-level data), so every request is audited (`rejects`)."""
    trail = {"username": user.username, "role": user.role, "detail": f"run {run_id} severity={severity} page={page}",
             **request_origin(request)}
    try:
        try:
            issues = etl.run_issues(run_id)
        except etl.UnknownRun:
            raise ApiError(404, f"There is no load run {run_id!r}: see GET /api/v1/runs.") from None
        if severity != "all":
            issues = [i for i in issues if i.severity == severity]
        pages = max(1, math.ceil(len(issues) / page_size))
        if page > pages:
            raise ApiError(422, f"page {page} is past the last page ({pages}) of {len(issues)} issues.")
    except ApiError as exc:
        audit.record(state.engine, "rejects", {404: "not_found", 422: "invalid"}.get(exc.status, str(exc.status)),
                     **trail)
        raise
    chunk = issues[(page - 1) * page_size : page * page_size]
    audit.record(state.engine, "rejects", "ok", record_count=len(chunk), **trail)
    response.headers["Cache-Control"] = "no-store"
    return IssuesPage(
        run_id=run_id, severity=severity, total=len(issues), page=page, page_size=page_size, pages=pages,
        issues=[Issue(file=i.file, line=i.line, column=i.column, value=i.value, reason=i.reason, severity=i.severity)
                for i in chunk],
    )
