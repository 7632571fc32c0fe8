"""The KPI history: what the dashboard reported on a day, next to the same figures recalculated now
from the current warehouse (later loads and corrections change the second, never the first)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import CurrentUser, StateDep, WarehouseVersion
from api.errors import BAD_INPUT, NO_DATA, NOT_FOUND, SIGNED_IN, ApiError
from api.params import IsoDate, Level, LevelParam, UnitParam, check_unit
from kpis import KpiError, compute_kpis
from scheduler.history import reported, reported_days, split_kpi

router = APIRouter(tags=["history"], responses={**SIGNED_IN, **BAD_INPUT, **NO_DATA})


class Figure(BaseModel):
    numerator: int | None
    denominator: float | None
    value: float | None


class HistoryRow(BaseModel):
    kpi: str
    level: Level
    unit: str
    domain: str | None = Field(None, description="The audit domain of a domain_good_or_better figure.")
    as_reported: Figure
    as_recalculated: Figure | None = Field(description="None when the current warehouse has no such figure.")
    changed: bool = Field(description="The recalculated figure differs from the reported one.")


class HistoryOut(BaseModel):
    reported_on: dt.date
    reported_run_id: str = Field(description="The load whose figures were reported that day.")
    current_run_id: str = Field(description="The load the recalculated figures come from.")
    date_from: dt.date
    date_to: dt.date
    figures: list[HistoryRow]


@router.get("/history/kpis", response_model=HistoryOut, responses=NOT_FOUND)
def kpis_as_reported(
    _user: CurrentUser,
    state: StateDep,
    version: WarehouseVersion,
    on: Annotated[IsoDate, Query(description="The day the figures were reported (YYYY-MM-DD).")],
    level: LevelParam = "trust",
    unit: UnitParam = None,
) -> HistoryOut:
    """Every KPI as reported on a day (the nightly snapshot), and the same period recalculated now."""
    stored = reported(state.engine, on, level, unit)
    if not stored:
        days = ", ".join(d.isoformat() for d in reported_days(state.engine)) or "none yet"
        raise ApiError(404, f"No figures were stored as reported on {on} at level {level}"
                       f"{f' for unit {unit!r}' if unit else ''}; latest days with figures: {days}.")
    first = stored[0]
    wh = version.warehouse
    try:
        now = compute_kpis(wh, first.date_from, first.date_to, level, check_unit(version, level, unit))
    except KpiError:
        now = []  # e.g. a unit that is no longer in the warehouse: nothing to recalculate
    recalculated = {(r["kpi"], r["unit"], r.get("domain")): r for r in now}
    rows = []
    for s in stored:
        was = Figure(numerator=s.numerator, denominator=s.denominator, value=s.value)
        kpi, domain = split_kpi(s.kpi)
        r = recalculated.get((kpi, s.unit, domain))
        is_now = Figure(numerator=r["numerator"], denominator=r["denominator"], value=r["value"]) if r else None
        rows.append(HistoryRow(kpi=kpi, level=s.level, unit=s.unit, domain=domain, as_reported=was,
                               as_recalculated=is_now, changed=is_now != was))
    return HistoryOut(reported_on=on, reported_run_id=first.run_id, current_run_id=wh.run_id,
                      date_from=first.date_from, date_to=first.date_to, figures=rows)
