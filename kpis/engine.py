"""The figure query: a family's facts aggregated over every unit of the requested levels at once.

One query per family: GROUPING SETS over (trust), (service), (team), (worker) for each period,
then a full join to the unit list so every team of teams.csv and every service it names has its
row (0, or null for a rate with nothing to divide), while UNKNOWN and worker rows appear only where
the KPI has something to count (or the family lists them). Figures for one period and trends differ
only in `periods`. The query returns one row per unit and period with every KPI's numerator and
denominator side by side, and each KPI's rows are made from those columns (_unit_rows): a QA trend at
the worker level, 150 listed workers x 24 months x 7 KPIs, sends and sorts 3,600 rows, not 25,200.
A family with a key (domains) sends only what it counted, the listed units and the key values with
facts per period, and its rows are laid out in numpy (_keyed_columns).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from etl.contract import AUDIT_DOMAINS
from kpis.cube import CUBE_LEVELS, FigureColumns, kpi_numbers
from kpis.errors import InvalidPeriod
from kpis.families import FAMILIES, Family, Measure
from kpis.finite import FiniteRows
from kpis.registry import KPIS, KPIS_BY_ID, Kpi
from kpis.warehouse import TRUST, Warehouse

_UNIT_COLUMN = {"service": "service_unit", "team": "team_unit", "worker": "worker_unit"}
_EARLIEST = dt.date(1900, 1, 1)
_LATEST = dt.date(2199, 12, 31)


@dataclass(frozen=True)
class Periods:
    """A SELECT of (p, period_start, period_end) with its parameters, the dates it spans, and how many.

    The periods are contiguous and in order: p = 0, 1, ..., count - 1, each starting the day after
    the one before ends (the stock facts rely on it to find the periods a record is open in).
    """

    sql: str
    params: dict
    first: dt.date
    last: dt.date
    count: int = 1


def single_period(date_from: dt.date, date_to: dt.date) -> Periods:
    """The one period of a figure."""
    return Periods(
        "SELECT 0 AS p, $date_from::DATE AS period_start, $date_to::DATE AS period_end",
        {"date_from": date_from, "date_to": date_to},
        date_from,
        date_to,
    )


def periods_cte(periods: Periods) -> str:
    """The `periods` relation the facts read: the periods with wdi(period_end) and the next midnight."""
    return f"""periods AS (
        SELECT q.p, q.period_start, q.period_end, c.wdi AS end_wdi,
               CAST(q.period_end + 1 AS TIMESTAMP) AS next_day
        FROM ({periods.sql}) q JOIN calendar c ON c.d = q.period_end
    )"""


def bind(sql: str, params: dict) -> dict:
    """The parameters a statement names: DuckDB refuses any it does not use."""
    used = set(re.findall(r"\$([A-Za-z_]\w*)", sql))
    return {k: v for k, v in params.items() if k in used}


def _levels_for(measures: Sequence[Measure], levels: Sequence[str]) -> list[str]:
    """The requested levels this family has rows at (worker only for worker-level KPIs)."""
    has_worker = any(KPIS_BY_ID[m.kpi_id].worker_level for m in measures)
    return [lv for lv in levels if lv != "worker" or has_worker]


def _aggregate_sql(family: Family, measures: Sequence[Measure], levels: Sequence[str], periods: int,
                   joined: bool = True) -> str:
    """The facts (`facts`, `used`), each unit's and period's (and key value's) counts (`agg`), the units
    of teams.csv and the family's listed workers (`units`, `listed_units`) and, when joined (a family
    without a key), the counts joined with every listed unit and period (`joined`)."""
    extra = family.extra_key
    ek = f", {extra}" if extra else ""
    sets = ", ".join(f"(p{ek})" if lv == TRUST else f"(p, {_UNIT_COLUMN[lv]}{ek})" for lv in levels)
    grouped = [lv for lv in ("worker", "team", "service") if lv in levels]
    level_expr = " ".join(f"WHEN grouping({_UNIT_COLUMN[lv]}) = 0 THEN '{lv}'" for lv in grouped)
    unit_expr = " ".join(f"WHEN grouping({_UNIT_COLUMN[lv]}) = 0 THEN {_UNIT_COLUMN[lv]}" for lv in grouped)
    level_expr = f"CASE {level_expr} ELSE 'trust' END" if grouped else "'trust'"
    unit_expr = f"CASE {unit_expr} ELSE 'trust' END" if grouped else "'trust'"
    # Only the flags and columns the figures need leave the facts, so the drill-down columns are
    # never computed for every period of a trend.
    flags, aggs = [], []
    for i, m in enumerate(measures):
        flags.append(f"({m.numerator_if}) AS nf{i}")
        numerator = m.numerator_sql or f"count_if(nf{i})"
        if m.denominator_sql is not None:
            denominator = m.denominator_sql
        elif m.denominator_if is not None:
            flags.append(f"({m.denominator_if}) AS df{i}")
            denominator = f"count_if(df{i})"
        else:
            denominator = "NULL::BIGINT"
        aggs.append(f"{numerator} AS n{i}, {denominator} AS d{i}")
    uses = sorted({c for m in measures for c in m.uses} | ({extra} if extra else set()))
    used = ", ".join(["p", "team_unit", "service_unit", "worker_unit", *flags, *uses])
    listed_workers = family.listed_workers is not None and "worker" in levels
    listed = ", ".join(f"'{lv}'" for lv in levels if lv != "worker" or listed_workers) or "NULL"
    workers = f"\n        UNION ALL SELECT 'worker', w FROM ({family.listed_workers}) lw(w)" if listed_workers else ""
    counted = f"""
    facts AS ({family.facts_for(periods)}),
    used AS (SELECT {used} FROM facts),
    agg AS (
        SELECT p, {level_expr} AS level, {unit_expr} AS unit{ek},
               {", ".join(aggs)}
        FROM used
        GROUP BY GROUPING SETS ({sets})
    ),
    units AS (
        SELECT 'trust' AS level, 'trust' AS unit
        UNION ALL SELECT DISTINCT 'service', service FROM wh.teams
        UNION ALL SELECT 'team', team_id FROM wh.teams{workers}
    ),
    listed_units AS (SELECT * FROM units WHERE level IN ({listed}))"""
    if not joined:
        return counted
    return f"""{counted},
    base AS (SELECT periods.p, u.level, u.unit FROM periods CROSS JOIN listed_units u),
    joined AS (
        SELECT coalesce(a.p, b.p) AS p, coalesce(a.level, b.level) AS level, coalesce(a.unit, b.unit) AS unit,
               b.unit IS NOT NULL AS listed, a.* EXCLUDE (p, level, unit)
        FROM (SELECT * FROM agg WHERE unit IS NOT NULL) a
        FULL JOIN base b ON a.p = b.p AND a.level = b.level AND a.unit = b.unit
    )"""


def figures(
    wh: Warehouse, periods: Periods, levels: Sequence[str], kpis: Sequence[Kpi], unit: str | None = None,
    with_period: bool = False, families: Sequence[Family] | None = None,
) -> list[dict]:
    """The figures of the KPIs for every unit of the levels and every period, in registry order.

    Each row: kpi, level, unit, numerator, denominator, value (the spec's JSON), after period_start
    and period_end when with_period. Read from the warehouse's daily cube (kpis/cube.py) where it
    holds the figure, else counted from the facts. families: the facts to count every figure with,
    cube or not (tests give other versions of the same facts, to check they agree).
    """
    wanted = {k.id for k in kpis}
    cube = wh.cube if families is None else None
    families = FAMILIES if families is None else families
    bounds: list[tuple[dt.date, dt.date]] = [(periods.first, periods.last)] if periods.count == 1 else []
    iso: list[tuple[str, str]] | None = None
    if with_period or not bounds:  # the periods' dates, looked up once (rows carry only the index)
        period_sql = f"SELECT p, period_start, period_end FROM ({periods.sql}) ORDER BY p"
        with wh.cursor() as cur:
            found = cur.execute(period_sql, bind(period_sql, periods.params)).fetchall()
        bounds = [(start, end) for _, start, end in found]
        iso = [(start.isoformat(), end.isoformat()) for start, end in bounds]
    cube_levels = [lv for lv in levels if lv in CUBE_LEVELS] if cube is not None else []
    from_cube = cube.served(kpis, bounds) if cube_levels else set()

    chunks: dict[tuple[str, str], list[dict]] = {}  # (kpi, level) -> its rows, units then periods in order
    finite = True  # every number in the rows looked at (no NaN, no infinity) where they were made
    if from_cube:
        with wh.cursor() as cur, _no_gc():
            found, finite = cube.figures(cur, bounds, cube_levels, [k for k in kpis if k.id in from_cube], unit,
                                         iso if with_period else None)
            chunks.update((key, columns.rows()) for key, columns in found.items())
    queries = _facts_queries(wh, families, wanted, from_cube, levels, cube_levels, periods, unit)
    finite = finite and not queries  # rows counted from the facts are looked at where they are sent
    if queries:
        wh.ensure_calendar(periods.first, periods.last)
        params = {**periods.params, "caseload_limit": wh.config.caseload_limit, "unit": unit}
        dates = iso if with_period else None
        with wh.cursor() as cur:
            for sql, family, group, family_levels in queries:
                columns = cur.execute(sql, bind(sql, params)).fetchnumpy()
                with _no_gc():
                    chunks.update(_unit_rows(columns, family, group, family_levels, dates))

    out: list[dict] = FiniteRows() if finite else []
    for key in _in_order(families, wanted, levels):
        out.extend(chunks.get(key, ()))
    return out


def figure_columns(wh: Warehouse, periods: Periods, levels: Sequence[str], kpis: Sequence[Kpi],
                   unit: str | None = None) -> tuple[list[FigureColumns], bool] | None:
    """figures() of one period column by column (one FigureColumns per KPI and level, in figures()'s
    order; their rows() are figures()'s rows), and whether every number is finite, when the daily
    cube holds every figure asked for; None when any would be counted from the facts. What a writer
    of a request's answer reads to make it without a dict per row (api/figures_json.py)."""
    cube = wh.cube
    if cube is None or periods.count != 1:
        return None
    bounds = [(periods.first, periods.last)]
    wanted = {k.id for k in kpis}
    cube_levels = [lv for lv in levels if lv in CUBE_LEVELS]
    from_cube = cube.served(kpis, bounds) if cube_levels else set()
    # every figure from the cube (the API's usual question): no facts query, nothing to look for
    if (len(from_cube) < len(wanted) or len(cube_levels) < len(levels)) and _facts_queries(
            wh, FAMILIES, wanted, from_cube, levels, cube_levels, periods, unit):
        return None
    found: dict[tuple[str, str], FigureColumns] = {}
    finite = True
    if from_cube:
        with wh.cursor() as cur, _no_gc():
            found, finite = cube.figures(cur, bounds, cube_levels, [k for k in kpis if k.id in from_cube], unit, None)
    return [found[key] for key in _figures_order(frozenset(wanted), tuple(levels)) if key in found], finite


@functools.lru_cache(maxsize=256)
def _figures_order(wanted: frozenset[str], levels: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """_in_order of every family, kept: a request asks for the same KPIs and levels again and again."""
    return tuple(_in_order(FAMILIES, wanted, levels))


def _facts_queries(wh: Warehouse, families: Sequence[Family], wanted: set[str], from_cube: set[str],
                   levels: Sequence[str], cube_levels: Sequence[str], periods: Periods, unit: str | None,
                   ) -> list[tuple[str, Family, list[Measure], list[str]]]:
    """The facts queries of the figures the cube does not give (none when it gives them all), each with
    its family, its measures and its levels (what _unit_rows needs to read its columns)."""
    queries = []
    for family in families:
        if not all(wh.has_table(t) for t in family.requires):
            continue  # an optional file the extract did not hold: no rows, never 0
        measures = [m for m in family.measures if m.kpi_id in wanted and all(wh.has_table(t) for t in m.requires)]
        counted = [m for m in measures if m.kpi_id not in from_cube]
        # what the cube holds is still counted from the facts at the levels it does not hold (worker)
        for group, group_levels in ((counted, levels), ([m for m in measures if m.kpi_id in from_cube],
                                                        [lv for lv in levels if lv not in cube_levels])):
            family_levels = _levels_for(group, group_levels)
            if group and family_levels:
                queries.append((_facts_query(family, group, family_levels, periods, unit), family, group,
                                family_levels))
    return queries


def _in_order(families: Sequence[Family], wanted: set[str], levels: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(kpi, level) in the order figures() gives their rows: family by family, each KPI's rows level by
    level, in the order given."""
    for family in families:
        for kpi in sorted((m.kpi_id for m in family.measures if m.kpi_id in wanted), key=_INDEX.__getitem__):
            for level in levels:
                yield kpi, level


def _facts_query(family: Family, measures: Sequence[Measure], levels: Sequence[str], periods: Periods,
                 unit: str | None) -> str:
    """One row per unit and period, with every measure's numerator and denominator (n0, d0, n1, ...)
    beside it, in the order of each KPI's rows: level, unit (UNKNOWN last), period. _unit_rows turns
    the columns into each KPI's rows. A keyed family's query is _keyed_query's."""
    if family.extra_key:
        return _keyed_query(family, measures, levels, periods, unit)
    level_rank = "CASE j.level " + " ".join(f"WHEN '{lv}' THEN {i}" for i, lv in enumerate(levels)) + " END"
    pairs = ", ".join(f"coalesce(j.n{i}, 0) AS n{i}, coalesce(j.d{i}, 0) AS d{i}" for i in range(len(measures)))
    return f"""
    WITH {periods_cte(periods)},
    {_aggregate_sql(family, measures, levels, periods.count)}
    SELECT {level_rank} AS level, j.unit, j.p, j.listed, {pairs}
    FROM joined j
    {"WHERE j.unit = $unit" if unit is not None else ""}
    ORDER BY 1, j.unit = 'UNKNOWN', j.unit, j.p
    """


def _keyed_query(family: Family, measures: Sequence[Measure], levels: Sequence[str], periods: Periods,
                 unit: str | None) -> str:
    """A keyed family's (domains') counts, sparse: one row per unit, key value (xk, its place in the
    contract's list) and period with something counted; one row per listed unit (xk and p -1); one
    row per key value and period with facts (level -1: each listed unit has a row for those). In the
    order of the KPI's rows: level, unit (UNKNOWN last), key value, period. _keyed_columns lays them
    out as one row per unit, key value and period, which the join with every listed unit would make
    in SQL (7 times the rows of a family without a key, sorted and sent)."""
    extra = family.extra_key
    level_rank = "CASE level " + " ".join(f"WHEN '{lv}' THEN {i}" for i, lv in enumerate(levels)) + " END"
    key = f"list_position({_KEY_VALUES}, {extra}) - 1"
    pairs = ", ".join(f"coalesce(n{i}, 0) AS n{i}, coalesce(d{i}, 0) AS d{i}" for i in range(len(measures)))
    zeros = ", ".join("0, 0" for _ in measures)
    in_unit = " AND unit = $unit" if unit is not None else ""
    return f"""
    WITH {periods_cte(periods)},
    {_aggregate_sql(family, measures, levels, periods.count, joined=False)}
    SELECT {level_rank} AS level, unit, {key} AS xk, p, {pairs} FROM agg WHERE unit IS NOT NULL{in_unit}
    UNION ALL SELECT {level_rank}, unit, -1, -1, {zeros} FROM listed_units WHERE TRUE{in_unit}
    UNION ALL SELECT DISTINCT -1, NULL, {key}, p, {zeros} FROM used
    ORDER BY 1, unit = 'UNKNOWN', unit, 3, 4
    """


def _keyed_columns(columns: dict[str, np.ndarray], measures: int) -> dict[str, np.ndarray]:
    """_keyed_query's rows as one row per unit, key value and period (xk: the value), in the order of
    the KPI's rows, as the facts query of a family without a key sends them: a row is listed when its
    unit is and the value has facts in the period; the rest are counted where counted, else 0 (and
    _unit_rows drops those, as it drops any row neither listed nor counted)."""
    level, xk, p = columns["level"], columns["xk"], columns["p"]
    rows = level >= 0  # the first rows (level -1) are the key values with facts in each period
    present_at = ~rows
    if not present_at.any():  # no facts: no listed unit has a row
        return {"level": level[:0], "unit": columns["unit"][:0], "xk": _KEY_ARRAY[:0], "p": p[:0],
                "listed": np.zeros(0, dtype=bool),
                **{f"{c}{i}": columns[f"{c}{i}"][:0] for i in range(measures) for c in ("n", "d")}}
    values, periods = len(AUDIT_DOMAINS), int(p[present_at].max()) + 1
    present = np.zeros((values, periods), dtype=bool)
    present[xk[present_at], p[present_at]] = True
    level, unit, xk, p = level[rows], columns["unit"][rows], xk[rows], p[rows]
    run = np.zeros(len(level), dtype=np.int64)  # the unit each row is of, in order
    if len(level) > 1:
        run[1:] = np.cumsum((level[1:] != level[:-1]) | (unit[1:] != unit[:-1]))
    first = np.flatnonzero(np.r_[True, run[1:] != run[:-1]]) if len(run) else np.zeros(0, dtype=np.int64)
    units = len(first)
    listed = np.zeros(units, dtype=bool)
    marks = xk < 0
    listed[run[marks]] = True
    counted = ~marks
    cell = (run[counted] * values + xk[counted]) * periods + p[counted]
    cells = units * values * periods
    out = {"level": np.repeat(level[first], values * periods), "unit": np.repeat(unit[first], values * periods),
           "xk": np.tile(np.repeat(_KEY_ARRAY, periods), units), "p": np.tile(np.arange(periods), units * values),
           "listed": (listed[:, None, None] & present[None, :, :]).ravel()}
    for i in range(measures):
        for c in ("n", "d"):
            sent = columns[f"{c}{i}"][rows]
            laid = np.zeros(cells, dtype=sent.dtype)
            laid[cell] = sent[counted]
            out[f"{c}{i}"] = laid
    return out


@contextmanager
def _no_gc() -> Iterator[None]:
    """No cyclic garbage collection while a result's rows are made: a national trend makes a million
    dicts, none of them cyclic, and the collector's passes over them cost more than making them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_INDEX = {k.id: i for i, k in enumerate(KPIS)}
_KEY_ARRAY = np.array(AUDIT_DOMAINS, dtype=object)
_KEY_VALUES = "[" + ", ".join(f"'{d}'" for d in AUDIT_DOMAINS) + "]"


def _unit_rows(columns: dict[str, np.ndarray], family: Family, measures: Sequence[Measure], levels: Sequence[str],
               dates: Sequence[tuple[str, str]] | None) -> dict[tuple[str, str], list[dict]]:
    """(kpi, level) -> its rows, from a facts query's columns (one row per unit, key value and period,
    every measure's numerator and denominator beside it, in the order of the KPI's rows).

    A KPI has a row where the unit is listed (every team of teams.csv, its services, the family's listed
    workers) or its numerator or denominator is not 0; at the worker level only if it is a worker-level
    KPI. Rows get the spec's JSON types: counts int with null denominator; rates int/int; caseload
    int/float. Each KPI's rows are made from its columns in one comprehension (kpis.cube.FigureColumns.rows),
    so a national trend's million rows cost one dict display each. With dates (a trend's ISO start and
    end of each period), each row starts with period_start and period_end.
    """
    if family.extra_key:
        columns = _keyed_columns(columns, len(measures))
    ranks = columns["level"]
    bounds = np.searchsorted(ranks, np.arange(len(levels) + 1)).tolist()  # rows are in level order
    listed = columns["listed"]
    starts = np.array([a for a, _ in dates], dtype=object) if dates is not None else None
    ends = np.array([b for _, b in dates], dtype=object) if dates is not None else None
    out: dict[tuple[str, str], list[dict]] = {}
    for i, m in enumerate(measures):
        kpi = KPIS_BY_ID[m.kpi_id]
        num, den = columns[f"n{i}"], columns[f"d{i}"]
        keep = listed | (num > 0) | (den > 0)
        for r, level in enumerate(levels):
            if level == "worker" and not kpi.worker_level:
                continue
            at = bounds[r] + np.flatnonzero(keep[bounds[r]:bounds[r + 1]])
            if not len(at):
                continue
            xs, ys, vs, _ = kpi_numbers(kpi.measure, num[at], den[at])  # facts rows are checked where sent
            p = columns["p"][at]
            periods = (starts[p].tolist(), ends[p].tolist()) if starts is not None else None
            keyed = (family.extra_key, columns["xk"][at].tolist()) if family.extra_key else None
            out[(kpi.id, level)] = FigureColumns(kpi.id, level, columns["unit"][at].tolist(), xs, ys, vs, periods,
                                                   keyed).rows()
    return out


def check_period(date_from: dt.date, date_to: dt.date) -> None:
    """A period the engine can count in, or an error that says what is wrong with it."""
    if date_from > date_to:
        raise InvalidPeriod(f"the period starts ({date_from}) after it ends ({date_to})")
    for d in (date_from, date_to):
        if not _EARLIEST <= d <= _LATEST:
            raise InvalidPeriod(f"{d} is outside the dates kpidash counts in ({_EARLIEST} to {_LATEST})")
