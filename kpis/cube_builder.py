"""Build the daily KPI cube (kpis/cube.py) into a warehouse file, before the loader publishes it.

Derived from the families' declarations, never from a list of KPIs: every flow measure of a family
with a flow_day is counted by its own facts query over one period reaching back to the start of
time, each row placed on its flow_day; every stock KPI a family's DailyStock gives is added up from
its stretches of days. A KPI neither covers (a family without those declarations, a distinct count
or a sum of decimals over a flow period) is left out of the cube and counted from the facts.

Days: from the day before the first flow event (at most MAX_YEARS before the extract date; older
events are in the first day's running totals) to the end of the month after the extract date's, so
this month and next asked in full are answered from the cube; other days are counted from the facts.

The SQL does the set work (facts, stretches, changes per team and day); numpy then adds each team's
changes into its service and the trust and runs the totals along the days, which is far cheaper than
a window over every unit and day.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from kpis.cube import (
    CUBE_FORMAT,
    CUBE_TABLE,
    KPI_TABLE,
    META_TABLE,
    UNIT_TABLE,
    cube_measures,
    denominator_column,
    fingerprint,
    numerator_column,
)
from kpis.engine import Periods, bind, periods_cte, single_period
from kpis.families import FAMILIES, Family
from kpis.registry import KPIS_BY_ID, Kpi
from kpis.targets import KpiConfig, load_kpi_config
from kpis.warehouse import Warehouse

MAX_YEARS = 10
_LEVEL_RANK = {"trust": 0, "service": 1, "team": 2}
# A ratio's denominator is a sum of decimals (fte as DECIMAL(18, 9)); numpy adds it up exactly in units
# of 1e-9, and DuckDB turns it into the DOUBLE the engine gives, from the same DECIMAL(38, 9) value.
_NANO = 1_000_000_000


@dataclass(frozen=True)
class CubeSummary:
    """What a build made: its days, how many units, the KPIs it holds, how long it took."""

    first: dt.date
    last: dt.date
    units: int
    kpis: tuple[str, ...]
    seconds: float


def cube_last_day(extract_date: dt.date) -> dt.date:
    """The last day of the month after the extract date's month."""
    month = extract_date.year * 12 + extract_date.month + 1  # 0-based: the month after next
    return dt.date(month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def build_cube(path: Path, config: KpiConfig | None = None, families: tuple[Family, ...] = FAMILIES) -> CubeSummary:
    """Write the cube's tables into the (unpublished) warehouse file at path, in one transaction: a
    failure leaves the file as it was, and readers count from the facts what no cube holds."""
    started = time.perf_counter()
    config = config if config is not None else load_kpi_config()
    with Warehouse(path, config, read_only=False, cube=False) as wh, wh.cursor() as cur:
        last = cube_last_day(wh.extract_date)
        wh.ensure_calendar(wh.extract_date, last)
        served = [(f, KPIS_BY_ID[m.kpi_id]) for f in families for m in cube_measures(f)]
        cur.execute("BEGIN TRANSACTION")
        try:
            for table in (CUBE_TABLE, UNIT_TABLE, META_TABLE, KPI_TABLE):  # a cube built before: replaced
                cur.execute(f"DROP TABLE IF EXISTS wh.{table}")
            first, units = _build(wh, cur, families, served, last)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("CHECKPOINT wh")
    return CubeSummary(first, last, units, tuple(k.id for _, k in served), time.perf_counter() - started)


def _build(wh: Warehouse, cur: duckdb.DuckDBPyConnection, families: tuple[Family, ...],
           served: list[tuple[Family, Kpi]], last: dt.date) -> tuple[dt.date, int]:
    extract = wh.extract_date
    everything = single_period(dt.date(1, 1, 1), last)  # flow: every event up to the cube's last day
    params = {"caseload_limit": wh.config.caseload_limit, "last": last, **everything.params}
    ratios = {k.id for _, k in served if k.measure == "ratio"}
    floor = dt.date(extract.year - MAX_YEARS, extract.month, 1)
    params["floor"] = floor
    flow = [_fetch(cur, _flow_sql(f, [k for g, k in served if g is f and k.kind == "flow"], everything), params)
            for f in families if any(g is f and k.kind == "flow" for g, k in served)]
    stock = [_fetch(cur, _stock_sql(f, [k.id for g, k in served if g is f and k.kind == "stock"], ratios), params)
             for f in families if any(g is f and k.kind == "stock" for g, k in served)]
    # The history starts with the first flow event (with none, the first stock change); earlier
    # changes are in the first day's figures (a running total, or what is open at its end).
    earliest = min((np.min(part["day"]).item() for part in flow if len(part["day"])), default=None)
    if earliest is None:
        earliest = min((np.min(part["day"]).item() for part in stock if len(part["day"])), default=None)
    first = max(min(earliest or extract, extract) - dt.timedelta(days=1), floor)
    changes = {name: np.concatenate([part[name] for part in flow + stock]) if flow or stock else np.array([])
               for name in ("kpi", "level", "team_unit", "service_unit", "day", "n", "d")}
    day = np.maximum((changes["day"].astype("datetime64[D]") - np.datetime64(first, "D")).astype(np.int64), 0)

    # Units in the engine's row order: level, then UNKNOWN last, then name. Listed: in teams.csv.
    teams = wh.teams()
    listed = {("trust", "trust")} | {("service", t["service"]) for t in teams} | {("team", t["team_id"]) for t in teams}
    level = changes["level"]
    rolled = np.equal(level, None)  # a NULL level counts at every level
    rows_at = {name: np.flatnonzero(rolled | (level == name)) for name in _LEVEL_RANK}
    names_at = {"trust": None}  # level -> (distinct unit names, each row's position among them)
    for name, column in (("service", "service_unit"), ("team", "team_unit")):
        names, position = np.unique(changes[column][rows_at[name]].astype(str), return_inverse=True)
        names_at[name] = (names.tolist(), position)
    seen = {(name, unit) for name, found in names_at.items() if found is not None for unit in found[0]}
    units = sorted(listed | seen, key=lambda lu: (_LEVEL_RANK[lu[0]], lu[1] == "UNKNOWN", lu[1]))
    index = {lu: i for i, lu in enumerate(units)}
    n_units, n_days = len(units), (last - first).days + 1

    # Where each change lands: the trust, its service and its team when it adds up, else its own unit.
    targets = []
    for name, rows in rows_at.items():
        found = names_at[name]
        where = (np.zeros(len(rows), dtype=np.int64) if found is None else
                 np.array([index[(name, unit)] for unit in found[0]], dtype=np.int64)[found[1]])
        targets.append((rows, where))
    kpi_of = changes["kpi"]

    grid: dict[str, np.ndarray] = {}
    for _, kpi in served:
        of_kpi = kpi_of == kpi.id
        for column, part in ((numerator_column(kpi.id), "n"), (denominator_column(kpi.id), "d")):
            if part == "d" and kpi.measure == "count":
                continue
            values = np.zeros((n_days, n_units), dtype=np.int64)
            for rows, where in targets:
                mine = of_kpi[rows]
                np.add.at(values, (day[rows][mine], where[mine]), changes[part][rows][mine].astype(np.int64))
            np.cumsum(values, axis=0, out=values)
            if np.abs(values).max(initial=0) < 2**31:  # half the memory for a national cube
                values = values.astype(np.int32)
            grid[column] = values.ravel()  # day by day, units in order within each day
    grid["d"] = np.repeat(np.arange(n_days, dtype=np.int32), n_units)
    grid["u"] = np.tile(np.arange(n_units, dtype=np.int32), n_days)

    shown = []
    for column in grid:
        if column in ("d", "u"):
            continue
        if column.startswith("d_") and column[2:] in ratios:
            shown.append(f'CAST(CAST("{column}" AS DECIMAL(28, 0)) * CAST(0.000000001 AS DECIMAL(10, 9)) AS DOUBLE) '
                         f'AS "{column}"')
        else:
            shown.append(f'CAST("{column}" AS BIGINT) AS "{column}"')
    cur.register("cube_grid", grid)
    try:
        # rows stay in the grid's order (day, unit): a day's rows are together, so a day's look-up reads little
        cur.execute(f"CREATE TABLE wh.{CUBE_TABLE} AS SELECT CAST($first + d AS DATE) AS d, u, {', '.join(shown)} "
                    "FROM cube_grid", {"first": first})
    finally:
        cur.unregister("cube_grid")
    cur.execute(f"CREATE TABLE wh.{UNIT_TABLE} (u INTEGER, level VARCHAR, unit VARCHAR, listed BOOLEAN)")
    cur.executemany(f"INSERT INTO wh.{UNIT_TABLE} VALUES (?, ?, ?, ?)",
                    [[i, lv, unit, (lv, unit) in listed] for i, (lv, unit) in enumerate(units)])
    cur.execute(f"""CREATE TABLE wh.{META_TABLE} (format INTEGER, first_day DATE, last_day DATE,
                    caseload_limit DOUBLE, closure_days DATE[], built_at TIMESTAMP)""")
    cur.execute(f"INSERT INTO wh.{META_TABLE} VALUES (?, ?, ?, ?, ?, current_localtimestamp())",
                [CUBE_FORMAT, first, last, wh.config.caseload_limit, sorted(set(wh.config.closure_days))])
    cur.execute(f"CREATE TABLE wh.{KPI_TABLE} (kpi VARCHAR, family VARCHAR, kind VARCHAR, measure VARCHAR, "
                "fingerprint VARCHAR)")
    if served:
        cur.executemany(f"INSERT INTO wh.{KPI_TABLE} VALUES (?, ?, ?, ?, ?)",
                        [[k.id, f.name, k.kind, k.measure, fingerprint(f)] for f, k in served])
    return first, n_units


def _flow_sql(family: Family, kpis: list[Kpi], everything: Periods) -> str:
    """The family's flow events per day and team: its facts over one period from the start of time to
    the cube's last day, each row on its flow_day, counted by the measures' own conditions."""
    measures = [m for m in family.measures if m.kpi_id in {k.id for k in kpis}]
    flags, sums, unpivot = [], [], []
    for i, m in enumerate(measures):
        flags.append(f"({m.numerator_if}) AS nf{i}, ({m.denominator_if or 'FALSE'}) AS df{i}")
        sums.append(f"count_if(nf{i}) AS n{i}, count_if(df{i}) AS d{i}")
        unpivot.append(f"SELECT '{m.kpi_id}' AS kpi, NULL::VARCHAR AS level, team_unit, service_unit, day, "
                       f"n{i} AS n, d{i} AS d FROM agg WHERE n{i} > 0 OR d{i} > 0")
    return f"""
    WITH {periods_cte(everything)},
    facts AS ({family.facts_for(1)}),
    dated AS (SELECT ({family.flow_day}) AS day, team_unit, service_unit, {", ".join(flags)} FROM facts),
    agg AS (
        SELECT day, team_unit, service_unit, {", ".join(sums)}
        FROM dated WHERE day IS NOT NULL GROUP BY day, team_unit, service_unit
    )
    {" UNION ALL ".join(unpivot)}"""


def _stock_sql(family: Family, kpis: list[str], ratios: set[str]) -> str:
    """The family's stock changes per day and unit: + where a stretch begins (from the earliest day
    the cube may start on), - where it ends (within the cube's days)."""
    wanted = ", ".join(f"'{k}'" for k in kpis)
    scaled = ", ".join(f"'{k}'" for k in kpis if k in ratios) or "NULL"
    return f"""
    WITH stretches AS ({family.daily_stock.sql}),
    kept AS (
        SELECT * FROM stretches
        WHERE kpi IN ({wanted}) AND valid_from < valid_until AND valid_from <= $last AND valid_until > $floor
    ), changes AS (
        SELECT kpi, level, team_unit, service_unit,
               unnest([greatest(valid_from, $floor), CASE WHEN valid_until <= $last THEN valid_until END]) AS day,
               unnest([numerator, -numerator]) AS n, unnest([denominator, -denominator]) AS d
        FROM kept
    )
    SELECT kpi, level, team_unit, service_unit, day, sum(n) AS n,
           CASE WHEN kpi IN ({scaled}) THEN sum(d) * {_NANO} ELSE sum(d) END AS d
    FROM changes WHERE day IS NOT NULL
    GROUP BY kpi, level, team_unit, service_unit, day"""


def _fetch(cur: duckdb.DuckDBPyConnection, sql: str, params: dict) -> dict[str, np.ndarray]:
    """The changes as numpy columns: kpi, level, team_unit, service_unit (objects), day (datetime64),
    n and d (int64, 0 for no denominator)."""
    typed = f"""SELECT kpi, CAST(level AS VARCHAR) AS level, team_unit, service_unit, CAST(day AS DATE) AS day,
                       CAST(n AS BIGINT) AS n, CAST(coalesce(d, 0) AS BIGINT) AS d FROM ({sql})"""
    got = cur.execute(typed, bind(typed, params)).fetchnumpy()
    out = {}
    for name in ("kpi", "level", "team_unit", "service_unit"):
        column = np.ma.asarray(got[name])
        out[name] = np.where(np.ma.getmaskarray(column), None, np.ma.getdata(column)).astype(object)
    out["day"] = np.asarray(got["day"]).astype("datetime64[D]")
    out["n"] = np.asarray(got["n"], dtype=np.int64)
    out["d"] = np.asarray(got["d"], dtype=np.int64)
    return out
