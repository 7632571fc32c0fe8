"""What the dashboard needs beyond the general endpoints: daily figures (30-day sparklines) and a
team's workers with their caseloads (the team view's table). Aggregates: open to every signed-in user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api.errors import BAD_INPUT, NO_DATA, NOT_FOUND, SIGNED_IN, ApiError
from api.deps import CurrentUser
from api.live_warehouse import Version
from api.params import LevelParam, ToDate, UnitParam, check_unit, resolve_as_at
from api.response_cache import Representation, cached_response
from api.routes.kpis import TrendRow, _known_kpi, _kpi_layer, _version_headers
from kpis import compute_kpis, kpi_trend, with_targets
from kpis.working_days import previous_working_day

router = APIRouter(tags=["dashboard"], responses={**SIGNED_IN, **BAD_INPUT, **NO_DATA})


class WorkerCaseload(BaseModel):
    worker_id: str
    worker_name: str
    team_id: str
    caseload: int
    fte: float
    cases_per_fte: float | None
    over_limit: bool


@router.get("/dashboard/daily", response_model=list[TrendRow])
async def daily(
    request: Request,
    _user: CurrentUser,
    kpi: Annotated[list[str], Query(min_length=1, max_length=40, description="KPI ids (repeat the parameter).")],
    days: Annotated[int, Query(ge=1, le=120, description="How many days, ending with `to`.")] = 30,
    level: LevelParam = "trust",
    unit: UnitParam = None,
    date_to: ToDate = None,
) -> Response:
    """Some KPIs per day (flow: events that day; stock: at the day's end), the last day being `to`, in one
    engine pass: the dashboard's 30-day sparklines."""
    return await cached_response(request, *daily_view(kpi, days, level, unit, date_to))


def daily_view(kpi: list[str] | tuple[str, ...], days: int, level: str, unit: str | None, date_to: dt.date | None
               ) -> tuple[tuple, Callable[[Version], Representation]]:
    """GET /dashboard/daily as its cache key and the function that makes its answer."""

    def make(version: Version) -> Representation:
        wh = version.warehouse
        kpi_ids = list(dict.fromkeys(_known_kpi(k, 422) for k in kpi))
        as_at = resolve_as_at(date_to, wh.extract_date)
        checked = check_unit(version, level, unit)
        rows = _kpi_layer(kpi_trend, wh, kpi_ids, by="day", periods=days, level=level, unit=checked, date_to=as_at)
        return Representation.json(with_targets(rows, wh.config), _version_headers(version, None, as_at))

    return ("daily", tuple(kpi), days, level, unit, date_to), make


@router.get("/dashboard/teams/{team_id}/workers", response_model=list[WorkerCaseload], responses=NOT_FOUND)
async def team_workers(
    request: Request,
    team_id: Annotated[str, Path(max_length=200)],
    _user: CurrentUser,
    date_to: ToDate = None,
) -> Response:
    """The team's case-holding workers in post on `to` (default: the extract date), each with cases,
    FTE, cases per FTE and whether over the caseload limit; busiest first."""
    return await cached_response(request, *team_workers_view(team_id, date_to))


def team_workers_view(team_id: str, date_to: dt.date | None) -> tuple[tuple, Callable[[Version], Representation]]:
    """GET /dashboard/teams/{team}/workers as its cache key and the function that makes its answer."""

    def make(version: Version) -> Representation:
        wh = version.warehouse
        if not wh.has_unit("team", team_id):
            raise ApiError(404, f"There is no team {team_id!r} in the published extract: see GET /api/v1/teams.")
        as_at = resolve_as_at(date_to, wh.extract_date)
        rows = _kpi_layer(compute_kpis, wh, as_at, as_at, "worker", None, ["average_caseload"])
        with wh.cursor() as cur:
            names = dict(cur.execute("SELECT worker_id, worker_name FROM wh.workers WHERE team_id = ?",
                                     [team_id]).fetchall())
        limit = wh.config.caseload_limit
        body = sorted(
            (
                {"worker_id": r["unit"], "worker_name": names[r["unit"]], "team_id": team_id,
                 "caseload": r["numerator"], "fte": r["denominator"], "cases_per_fte": r["value"],
                 "over_limit": r["value"] is not None and r["value"] > limit}
                for r in rows if r["unit"] in names
            ),
            key=lambda w: (-(w["cases_per_fte"] or 0), w["worker_name"]),
        )
        return Representation.json(body, _version_headers(version, None, as_at))

    return ("team_workers", team_id, date_to), make


class LastWorkingDay(BaseModel):
    to: dt.date
    last_working_day: dt.date | None


@router.get("/dashboard/last-working-day", response_model=LastWorkingDay)
async def last_working_day(request: Request, _user: CurrentUser, date_to: ToDate = None) -> Response:
    """The last working day before `to` (default: the extract date), by the trust's calendar (bank
    holidays and closure days): what a tile's "since the last working day" compares with."""
    return await cached_response(request, *last_working_day_view(date_to))


def last_working_day_view(date_to: dt.date | None) -> tuple[tuple, Callable[[Version], Representation]]:
    """GET /dashboard/last-working-day as its cache key and the function that makes its answer."""

    def make(version: Version) -> Representation:
        wh = version.warehouse
        as_at = resolve_as_at(date_to, wh.extract_date)
        wh.ensure_calendar(as_at - dt.timedelta(days=60), as_at)
        with wh.cursor() as cur:
            day = previous_working_day(cur, as_at)
        return Representation.json({"to": as_at, "last_working_day": day}, _version_headers(version, None, as_at))

    return ("last_working_day", date_to), make
