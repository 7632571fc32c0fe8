"""Statistical process control of the KPIs (../shared/spec/spc.md): XmR charts with their special-cause
rules, variation and assurance, per unit. Aggregates, so open to every signed-in user like the figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentUser
from api.errors import BAD_INPUT, NO_DATA, NOT_FOUND, SIGNED_IN
from api.live_warehouse import Version
from api.params import MAX_PERIODS, IsoDate, LevelParam, UnitParam, check_unit, resolve_as_at
from api.response_cache import Representation, cached_response
from api.routes.kpis import KpiPath, _known_kpi, _kpi_layer, _version_headers
from kpis import kpi_spc
from kpis.spc import DEFAULT_PERIODS

router = APIRouter(tags=["SPC"], responses={**SIGNED_IN, **BAD_INPUT, **NO_DATA})

ByParam = Annotated[Literal["month", "week"], Query(description="Calendar months, or weeks Monday to Sunday.")]
PeriodsParam = Annotated[int, Query(ge=1, le=MAX_PERIODS, description="How many complete periods, ending with the "
                                    "last one that ends on or before `to`.")]
SpcTo = Annotated[IsoDate | None, Query(alias="to", description="The chart ends with the last month or week that ends on or "
                                "before this date (YYYY-MM-DD); default: the extract date.")]


Variation = Literal["common_cause", "special_cause_improvement", "special_cause_concern", "special_cause_neither"]


class SpcPoint(BaseModel):
    """One period with a figure: its value, the limits of its segment and the rules it breaks."""

    period_start: dt.date
    period_end: dt.date
    value: float
    mean: float | None
    lower_limit: float | None
    upper_limit: float | None
    lower_near: float | None
    upper_near: float | None
    outside: bool
    two_of_three: bool
    shift: bool
    trend: bool
    special_cause: Literal["improvement", "concern", "neither"] | None


class SpcChart(BaseModel):
    """One KPI at one unit: the spec's keys (a KPI whose rows carry another key, such as `domain`, has it
    after `unit`; a source that cannot support the KPI adds `available` and `note`)."""

    model_config = ConfigDict(extra="allow")

    kpi: str
    level: Literal["trust", "service", "team", "worker"]
    unit: str
    by: Literal["month", "week"]
    better: Literal["higher", "lower"] | None
    target: float | None
    trial_limits: bool = Field(description="Fewer than 12 points in the last segment: the limits may still move.")
    variation: Variation | None
    assurance: Literal["pass", "fail", "hit_and_miss"] | None
    points: list[SpcPoint]


def _charts(version: Version, kpi_ids: list[str] | None, by: str, periods: int, level: str, unit: str | None,
            date_to: dt.date | None, variations: list[str] | None = None) -> Representation:
    wh = version.warehouse
    as_at = resolve_as_at(date_to, wh.extract_date)
    checked = check_unit(version, level, unit)
    charts = _kpi_layer(kpi_spc, wh, kpi_ids, by, periods, level, checked, as_at)
    if variations:
        charts = [c for c in charts if c["variation"] in variations]
    return Representation.json(charts, _version_headers(version, None, as_at))


@router.get("/kpis/{kpi}/spc", response_model=list[SpcChart], responses=NOT_FOUND)
async def spc(
    request: Request,
    kpi: KpiPath,
    _user: CurrentUser,
    by: ByParam = "month",
    periods: PeriodsParam = DEFAULT_PERIODS,
    level: LevelParam = "trust",
    unit: UnitParam = None,
    date_to: SpcTo = None,
) -> Response:
    """The KPI's XmR chart for every unit of the level (or one unit), ordered by unit: only complete
    periods, the special-cause rules, variation and assurance (docs/spc.md)."""
    return await cached_response(
        request, ("spc", kpi, by, periods, level, unit, date_to),
        lambda version: _charts(version, [_known_kpi(kpi)], by, periods, level, unit, date_to))


@router.get("/spc", response_model=list[SpcChart])
async def spc_all(
    request: Request,
    _user: CurrentUser,
    kpi: Annotated[list[str] | None, Query(max_length=40, description="Only these KPI ids (repeat the parameter); "
                                           "default: every KPI.")] = None,
    by: ByParam = "month",
    periods: PeriodsParam = DEFAULT_PERIODS,
    level: LevelParam = "trust",
    unit: UnitParam = None,
    date_to: SpcTo = None,
    variation: Annotated[list[Variation] | None, Query(max_length=4, description="Only the charts whose latest "
                                                       "point reads so (repeatable), e.g. special_cause_concern.")] = None,
) -> Response:
    """Every KPI's XmR charts (or those named) at a level in one answer, ordered by KPI then unit: what a
    page of charts (Trends, Team, Today's attention list) asks for."""
    return await cached_response(request, *spc_view(tuple(kpi or ()), by, periods, level, unit, date_to,
                                                    tuple(variation or ())))


def spc_view(kpi: tuple[str, ...], by: str, periods: int, level: str, unit: str | None, date_to: dt.date | None,
             variation: tuple[str, ...] = ()) -> tuple[tuple, Callable[[Version], Representation]]:
    """GET /spc as its cache key and the function that makes its answer (api.warm makes it ahead of time)."""

    def make(version: Version) -> Representation:
        kpi_ids = list(dict.fromkeys(_known_kpi(k, 422) for k in kpi)) if kpi else None
        return _charts(version, kpi_ids, by, periods, level, unit, date_to, list(variation) or None)

    return ("spc_all", kpi, by, periods, level, unit, date_to, variation), make
