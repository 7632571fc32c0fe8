"""Query parameters: their types (so the OpenAPI document is exact) and the checks that need the
warehouse (which units exist), each refusal saying what to send instead."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.routing import APIRoute
from pydantic import BeforeValidator

from api.errors import ApiError
from api.live_warehouse import Version, memoised
from core.dates import ISO_DATE, DateProblem, check_date  # the same rule as the CLI's
from kpis import KpiError

Level = Literal["trust", "service", "team", "worker"]
MAX_SPAN_YEARS = 10
MAX_PERIODS = 120


def _iso_date_only(value: Any) -> Any:
    if isinstance(value, str) and not ISO_DATE.fullmatch(value):
        raise ValueError("use YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]
FromDate = Annotated[
    IsoDate | None,
    Query(alias="from", description="First day of the period (YYYY-MM-DD); default: the first day of `to`'s month."),
]
ToDate = Annotated[
    IsoDate | None,
    Query(alias="to", description="Last day of the period, the as-at date of stock KPIs (YYYY-MM-DD); "
          "default: the extract date."),
]
UnitParam = Annotated[
    str | None,
    Query(max_length=200, description="A team_id, service name or worker_id (or `trust`); default: every unit "
          "at the level."),
]
LevelParam = Annotated[Level, Query(description="trust, service, team or worker.")]


def _check_date(name: str, value: dt.date) -> None:
    try:
        check_date(value, name)
    except DateProblem as exc:
        raise ApiError(422, f"{exc}.") from None


def resolve_period(date_from: dt.date | None, date_to: dt.date | None, extract_date: dt.date) -> tuple[dt.date, dt.date]:
    """The period asked for, with the defaults filled in: to = the extract date, from = the 1st of to's month."""
    date_to = date_to or extract_date
    date_from = date_from or date_to.replace(day=1)
    _check_date("to", date_to)
    _check_date("from", date_from)
    if date_from > date_to:
        raise ApiError(422, f"from ({date_from}) is after to ({date_to}): swap them, or leave from out to start on "
                       "the first of to's month.")
    if date_to > _years_after(date_from, MAX_SPAN_YEARS):
        raise ApiError(422, f"The period {date_from} to {date_to} is longer than {MAX_SPAN_YEARS} years: ask for a "
                       "shorter one (or use the trend endpoint).")
    return date_from, date_to


def resolve_as_at(date_to: dt.date | None, extract_date: dt.date) -> dt.date:
    """An as-at date (default: the extract date), checked."""
    date_to = date_to or extract_date
    _check_date("to", date_to)
    return date_to


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _unit_list(version: Version, level: str) -> str:
    known = version.warehouse.units(level)
    shown = ", ".join(known[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
    return shown or "none"


def check_unit(version: Version, level: str, unit: str | None) -> str | None:
    """The unit to ask the KPI layer for (None = every unit at the level); 422 for one that is not there."""
    if unit is None:
        return None
    if level == "trust" and unit != "trust":
        raise ApiError(422, f"unit {unit!r} is not the trust: at level trust the only unit is `trust` (or leave unit "
                       "out); for a team, service or worker give level too.")
    if not version.warehouse.has_unit(level, unit):
        where = {"team": "GET /api/v1/teams", "service": "GET /api/v1/services"}.get(level, "the extract")
        raise ApiError(422, f"unit {unit!r} is not a {level} in the published extract (see {where}); "
                       f"{level}s are: {_unit_list(version, level)}.")
    return unit


def infer_level(version: Version, unit: str) -> str:
    """Which level a unit is at: trust, then a team, a service, a worker (teams first when names clash)."""
    try:
        return version.warehouse.infer_level(unit)
    except KpiError:
        raise ApiError(422, f"unit {unit!r} is not `trust`, a team, a service or a worker in the published extract: "
                       "see GET /api/v1/teams and GET /api/v1/services.") from None


def worker_teams(version: Version) -> dict[str, str]:
    """worker_id -> the worker's team (workers.csv), once per warehouse version: records are scoped by it."""

    def read() -> dict[str, str]:
        with version.warehouse.cursor() as cur:
            return dict(cur.execute("SELECT worker_id, team_id FROM wh.workers").fetchall())

    return memoised(version, "worker_teams", read)


def team_services(version: Version) -> dict[str, str]:
    """team_id -> its service (teams.csv), once per warehouse version."""
    return memoised(version, "team_services", lambda: {t["team_id"]: t["service"] for t in version.warehouse.teams()})


async def known_query_parameters(request: Request) -> None:
    """Refuse a parameter the endpoint does not take: `?levl=team` silently answered at trust level
    would look like an answer to the question asked."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    memo = request.app.state.kpidash.query_parameters
    allowed = memo.get(id(route))  # routes live as long as the app, so their ids stay theirs
    if allowed is None:
        allowed = memo[id(route)] = frozenset(_declared_query_parameters(route.dependant))
    unknown = sorted({name for name in request.query_params if name not in allowed})
    if unknown:
        takes = ", ".join(sorted(allowed)) or "no parameters"
        raise ApiError(422, f"unknown parameter{'s' if len(unknown) > 1 else ''} "
                       f"{', '.join(repr(n[:40]) for n in unknown[:5])}: this endpoint takes {takes}.")


def _declared_query_parameters(dependant: Any) -> set[str]:
    """The query parameters a route and its dependencies declare (by the name clients send)."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared_query_parameters(sub)
    return names
