"""KPI figures for one period at one level (or several): the spec's machine-readable output."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from kpis.availability import apply_availability, unavailable_kpis
from kpis.cube import CUBE_LEVELS, FigureColumns
from kpis.engine import Periods, check_period, figure_columns, figures, single_period
from kpis.errors import KpiError, UnknownUnit
from kpis.families import FAMILIES_BY_NAME, MEASURES
from kpis.registry import KPIS, Kpi, get_kpi
from kpis.warehouse import LEVELS, Warehouse, check_level

JSON_KEYS = ("kpi", "level", "unit", "numerator", "denominator", "value")


def resolve_kpis(kpi_ids: Sequence[str] | None) -> list[Kpi]:
    """The registry entries for the ids (all KPIs for None), in registry order."""
    if kpi_ids is None:
        return list(KPIS)
    if isinstance(kpi_ids, str):
        kpi_ids = [kpi_ids]
    wanted = {get_kpi(k).id for k in kpi_ids}
    return [k for k in KPIS if k.id in wanted]


def resolve_period(wh: Warehouse, date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period asked for: `to` defaults to the extract date, `from` to the first of to's month."""
    date_to = date_to if date_to is not None else wh.extract_date
    date_from = date_from if date_from is not None else date_to.replace(day=1)
    check_period(date_from, date_to)
    return date_from, date_to


def resolve_levels(level: str | Sequence[str], unit: str | None = None) -> list[str]:
    """The levels asked for: one name, several, or "all" (trust, service, team, worker), in that order.

    Several levels in one request share one query per family, which costs about what one level does.
    """
    if isinstance(level, str):
        levels = list(LEVELS) if level == "all" else [level]
    else:
        levels = list(dict.fromkeys(level))
    if not levels:
        raise KpiError(f'no level asked for; use one or more of: {", ".join(LEVELS)}, or "all"')
    for lv in levels:
        check_level(lv)
    if unit is not None and len(levels) > 1:
        raise KpiError(f'a unit ("{unit}") belongs to one level: name its level, not {", ".join(levels)}')
    return sorted(levels, key=LEVELS.index)


def check_unit(wh: Warehouse, level: str, unit: str | None) -> None:
    """The unit exists at the level, or an error naming what the analyst can ask for."""
    if unit is not None and not wh.has_unit(level, unit):
        hint = "" if level == "worker" else f"; {level} units: {', '.join(wh.units(level))}"
        raise UnknownUnit(f'"{unit}" is not a {level} in this extract{hint}')


def compute_kpis(
    wh: Warehouse,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    level: str | Sequence[str] = "trust",
    unit: str | None = None,
    kpi_ids: Sequence[str] | None = None,
) -> list[dict]:
    """The KPIs for [date_from, date_to] at a level (one unit, or all), ordered by KPI then unit (UNKNOWN last).

    level may also be several levels or "all": one call then costs about what one level does, and
    rows are ordered by KPI, level (trust, service, team, worker), unit. Each dict has exactly the
    spec's keys: kpi, level, unit, numerator, denominator, value; from a source that cannot
    support some KPIs (an Annex A workbook, the SSD) those KPIs' rows also have `available` (false)
    and `note`, and their figures are null, never 0.
    """
    levels, kpis, period = _resolved(wh, date_from, date_to, level, unit, kpi_ids)
    return apply_availability(figures(wh, period, levels, kpis, unit), wh.source_system)


def compute_kpi_columns(
    wh: Warehouse,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    level: str | Sequence[str] = "trust",
    unit: str | None = None,
    kpi_ids: Sequence[str] | None = None,
) -> tuple[list[FigureColumns], bool] | None:
    """compute_kpis's rows column by column, one FigureColumns per KPI and level in compute_kpis's
    order (their rows() are its rows), and whether every number is finite: when every figure is read
    from the daily cube and the source marks no KPI unavailable; None otherwise (then compute_kpis).
    The same checks and refusals as compute_kpis. A writer of the API's answer reads the columns to
    make its JSON without a dict per row."""
    levels, kpis, period = _resolved(wh, date_from, date_to, level, unit, kpi_ids)
    if unavailable_kpis(wh.source_system):
        return None
    return figure_columns(wh, period, levels, kpis, unit)


def _resolved(wh: Warehouse, date_from: dt.date | None, date_to: dt.date | None, level: str | Sequence[str],
              unit: str | None, kpi_ids: Sequence[str] | None) -> tuple[list[str], list[Kpi], Periods]:
    """compute_kpis's arguments checked (each refusal an error that says what to ask for) and resolved:
    its levels, KPIs and the one period (defaults: the extract's month to date)."""
    levels = resolve_levels(level, unit)
    if unit is not None:
        check_unit(wh, levels[0], unit)
    kpis = resolve_kpis(kpi_ids)
    date_from, date_to = resolve_period(wh, date_from, date_to)
    return levels, kpis, single_period(date_from, date_to)


def answered_from_cube(
    wh: Warehouse,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    level: str | Sequence[str] = "trust",
    kpi_ids: Sequence[str] | None = None,
) -> bool:
    """Whether compute_kpis with these arguments reads every figure from the daily cube (about a
    millisecond, nothing counted): a caller may then run it where a slow count would not be welcome."""
    if wh.cube is None:
        return False
    try:
        levels = resolve_levels(level)
        kpis = resolve_kpis(kpi_ids)
        date_from, date_to = resolve_period(wh, date_from, date_to)
    except KpiError:
        return False
    # a KPI whose files the extract did not hold has no rows: nothing to count either way
    if not all(lv in CUBE_LEVELS for lv in levels):
        return False
    served = wh.cube.served(kpis, [(date_from, date_to)])
    return all(k.id in served or not has_files(wh, k) for k in kpis)


def has_files(wh: Warehouse, kpi: Kpi) -> bool:
    """Whether the extract held every file the KPI is counted from (a QA KPI needs its QA files)."""
    family = FAMILIES_BY_NAME[kpi.family]
    return all(wh.has_table(t) for t in (*family.requires, *MEASURES[kpi.id].requires))
