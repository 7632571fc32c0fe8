"""Trends: every KPI per calendar month or per week (Monday to Sunday) for the last N periods.

One query per family over a periods relation of N rows, so a 24-month trend costs one pass over
the data, not 24: flow KPIs count the events dated in each period, stock KPIs are taken at each
period's end. The last period ends at date_to (the extract date by default), so it is partial.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from kpis.availability import apply_availability
from kpis.compute import check_unit, resolve_kpis, resolve_levels
from kpis.engine import Periods, check_period, figures
from kpis.errors import KpiError
from kpis.warehouse import Warehouse

MAX_PERIODS = 520

_MONTHS = """
SELECT i AS p, period_start,
       least(CAST(period_start + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE), $date_to::DATE) AS period_end
FROM (
    SELECT i, CAST(date_trunc('month', $date_to::DATE) - to_months(CAST($periods - 1 - i AS INTEGER)) AS DATE)
              AS period_start
    FROM range($periods) t(i)
)"""

_WEEKS = """
SELECT i AS p, period_start, least(period_start + 6, $date_to::DATE) AS period_end
FROM (
    SELECT i, $date_to::DATE - CAST(isodow($date_to::DATE) - 1 + 7 * ($periods - 1 - i) AS INTEGER) AS period_start
    FROM range($periods) t(i)
)"""


_DAYS = """
SELECT i AS p, CAST($date_to::DATE - CAST($periods - 1 - i AS INTEGER) AS DATE) AS period_start,
       CAST($date_to::DATE - CAST($periods - 1 - i AS INTEGER) AS DATE) AS period_end
FROM range($periods) t(i)"""


def trend_periods(by: str, periods: int, date_to: dt.date) -> Periods:
    """The last `periods` months, weeks or days up to date_to, oldest first (p = 0)."""
    if by not in ("month", "week", "day"):
        raise KpiError(f'"{by}" is not a trend period; use month, week or day')
    if not 1 <= periods <= MAX_PERIODS:
        raise KpiError(f"a trend has 1 to {MAX_PERIODS} periods, not {periods}")
    if by == "month":
        months_back = date_to.year * 12 + date_to.month - 1 - (periods - 1)
        first = dt.date(months_back // 12, months_back % 12 + 1, 1) if months_back >= 12 else dt.date.min
        sql = _MONTHS
    elif by == "day":  # the dashboard's 30-day sparklines: stock at each day's end, flow on each day
        back = dt.timedelta(days=periods - 1)
        first = date_to - back if back <= date_to - dt.date.min else dt.date.min
        sql = _DAYS
    else:
        back = dt.timedelta(days=date_to.weekday() + 7 * (periods - 1))
        first = date_to - back if back <= date_to - dt.date.min else dt.date.min
        sql = _WEEKS
    check_period(first, date_to)
    return Periods(sql, {"date_to": date_to, "periods": periods}, first, date_to, periods)


def kpi_trend(
    wh: Warehouse,
    kpi_ids: Sequence[str] | None,
    by: str = "month",
    periods: int = 24,
    level: str | Sequence[str] = "trust",
    unit: str | None = None,
    date_to: dt.date | None = None,
) -> list[dict]:
    """Each KPI per period for every unit of the level (or one unit), ordered by KPI, unit, period.

    level may also be several levels or "all" (one pass for all of them; rows ordered by KPI, level,
    unit, period). Each dict: period_start, period_end (ISO dates) and the spec's six keys.
    """
    levels = resolve_levels(level, unit)
    if unit is not None:
        check_unit(wh, levels[0], unit)
    kpis = resolve_kpis(kpi_ids)
    date_to = date_to if date_to is not None else wh.extract_date
    rows = figures(wh, trend_periods(by, periods, date_to), levels, kpis, unit, with_period=True)
    return apply_availability(rows, wh.source_system)
