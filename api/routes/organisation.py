"""The trust's teams and services, and one worker's caseload (an aggregate: open to all signed in)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import CurrentUser, WarehouseVersion
from api.errors import BAD_INPUT, NO_DATA, NOT_FOUND, SIGNED_IN, ApiError
from api.params import ToDate, resolve_as_at, worker_teams
from api.live_warehouse import Version
from api.response_cache import Representation, cached_response
from kpis import KpiError, compute_kpis

router = APIRouter(tags=["organisation"], responses={**SIGNED_IN, **NO_DATA, **BAD_INPUT})


class Team(BaseModel):
    team_id: str
    team_name: str
    service: str


class Service(BaseModel):
    service: str
    teams: list[str]


class Caseload(BaseModel):
    worker_id: str
    team_id: str | None
    as_at: dt.date
    caseload: int
    fte: float
    cases_per_fte: float | None
    caseload_limit: float
    over_limit: bool


@router.get("/teams", response_model=list[Team])
async def teams(request: Request, _user: CurrentUser) -> Response:
    """The teams of the published extract (teams.csv), by team_id."""
    return await cached_response(request, ("teams",),
                                 lambda version: Representation.json(version.warehouse.teams()))


@router.get("/services", response_model=list[Service])
async def services(request: Request, _user: CurrentUser) -> Response:
    """The services the teams belong to, each with its teams."""

    def make(version: Version) -> Representation:
        by_service: dict[str, list[str]] = {}
        for team in version.warehouse.teams():
            by_service.setdefault(team["service"], []).append(team["team_id"])
        return Representation.json([{"service": s, "teams": t} for s, t in sorted(by_service.items())])

    return await cached_response(request, ("services",), make)


@router.get("/workers/{worker_id}/caseload", response_model=Caseload, responses={**NOT_FOUND, **BAD_INPUT})
def caseload(
    worker_id: Annotated[str, Path(max_length=100)],
    _user: CurrentUser,
    version: WarehouseVersion,
    date_to: ToDate = None,
) -> Caseload:
    """How many children a worker holds on the as-at date (default: the extract date), per FTE, against
    the caseload limit. The children themselves: GET /kpis/average_caseload/records?unit=WORKER."""
    wh = version.warehouse
    as_at = resolve_as_at(date_to, wh.extract_date)
    if not wh.has_unit("worker", worker_id):
        raise ApiError(404, f"There is no worker {worker_id!r} in the published extract.")
    try:
        rows = compute_kpis(wh, as_at, as_at, "worker", worker_id, ["average_caseload"])
    except KpiError as exc:
        raise ApiError(422, str(exc)) from None
    if not rows:
        raise ApiError(404, f"Worker {worker_id!r} holds no caseload on {as_at}: they are not a case-holding worker "
                       "(social worker, senior social worker or personal advisor) in post on that date.")
    row = rows[0]
    limit = wh.config.caseload_limit
    return Caseload(
        worker_id=worker_id, team_id=worker_teams(version).get(worker_id), as_at=as_at, caseload=row["numerator"],
        fte=row["denominator"], cases_per_fte=row["value"], caseload_limit=limit,
        over_limit=row["value"] is not None and row["value"] > limit,
    )
