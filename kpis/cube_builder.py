"""Build the daily KPI cube (kpis/cube.py) into a warehouse file, before the loader publishes it.

Two steps: count_cube counts it into memory from `wh` (the loader's rows as checked, while it writes
them into the new file), store_cube writes it into the file; build_cube does both on a file.

Derived from the families' declarations, never from a list of KPIs: the flow measures of a family
with a flow_day are counted in one grouped pass of its facts query over one period reaching back to
the start of time, each row placed on its flow_day; every stock KPI a family's DailyStock gives is
added up from its stretches of days. A KPI neither covers (a family without those declarations, a distinct count
or a sum of decimals over a flow period) is left out of the cube and counted from the facts, as is
one whose files the extract did not hold (Family.requires, Measure.requires: it has no rows at all).
No cube is built when teams.csv has a team whose team_id is UNKNOWN (docs/kpis.md): its service is not
that of the records of no known team, with which it shares its row.
A family with an extra key (domain) has a column pair per KPI and key value, and the running count of
its facts rows per key value (which key values have rows in a period); a family whose facts have rows
not dated by its flow_day, or key values the engine does not order, is left to the facts.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from etl.contract import AUDIT_DOMAINS
from kpis.cube import (
    CUBE_FORMAT,
    CUBE_TABLE,
    KEYS_TABLE,
    KPI_TABLE,
    META_TABLE,
    UNIT_TABLE,
    cube_measures,
    denominator_column,
    fingerprint,
    numerator_column,
)
from kpis.engine import bind, periods_cte, single_period
from kpis.families import FAMILIES, Family
from kpis.registry import KPIS_BY_ID, Kpi
from kpis.targets import KpiConfig, load_kpi_config
from kpis.warehouse import UNKNOWN, Warehouse
from kpis.working_days import STORED_HOLIDAYS_TABLE, bank_holidays, store_bank_holidays, stored_bank_holidays

MAX_YEARS = 10
_LEVEL_RANK = {"trust": 0, "service": 1, "team": 2}
# A ratio's denominator is a sum of decimals (fte as DECIMAL(18, 9)); numpy adds it up exactly in units
# of 1e-9, and DuckDB turns it into the DOUBLE the engine gives, from the same DECIMAL(38, 9) value.
_NANO = 1_000_000_000


@dataclass(frozen=True)
class _Keys:
    """A keyed family's key values in the engine's row order, and its facts rows per key value (k: the
    value's place) and day (days since 1970-01-01)."""

    values: tuple[str, ...]
    k: np.ndarray
    day: np.ndarray
    rows: np.ndarray


# A cell of the cube: a column pair's name (the KPI's id, or `<kpi>__<j>` for key value j), its family and KPI
Cell = tuple[str, Family, Kpi]


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


@dataclass(frozen=True)
class CountedCube:
    """A cube counted from a warehouse's records and not yet written (count_cube; store_cube writes it)."""

    first: dt.date
    last: dt.date
    units: list[tuple[str, str]]
    listed: set[tuple[str, str]]
    served: list[tuple[Family, Kpi]]
    keys: dict[str, _Keys | None]
    grid: dict[str, np.ndarray]
    caseload_limit: float
    closure_days: list[dt.date]
    years: tuple[int, int]
    started: float


def build_cube(path: Path, config: KpiConfig | None = None, families: tuple[Family, ...] = FAMILIES,
               holidays_from: Path | None = None) -> CubeSummary:
    """Write the cube's tables into the (unpublished) warehouse file at path, in one transaction: a
    failure leaves the file as it was, and readers count from the facts what no cube holds. The bank
    holidays counted with are kept beside it (readers use them, kpis/working_days.py); holidays_from:
    a warehouse published before, whose kept bank holidays spare the holidays package if they cover."""
    started = time.perf_counter()
    config = config if config is not None else load_kpi_config()
    if holidays_from is not None and Path(holidays_from).is_file():
        _bank_holidays_from(path, Path(holidays_from))
    with Warehouse(path, config, read_only=False, cube=False) as wh:
        counted = _count(wh, families, started)
        with wh.cursor() as cur:
            summary = store_cube(cur, counted)
            cur.execute("CHECKPOINT wh")
    return summary


def count_cube(con: duckdb.DuckDBPyConnection, path: Path, config: KpiConfig | None = None,
               families: tuple[Family, ...] = FAMILIES, holidays_from: Path | None = None) -> CountedCube:
    """build_cube's counting, from `wh` as attached to con (the loader's: its rows as checked, while it
    writes them into the file at path), into memory; store_cube writes it. Its tables in the default
    database (the calendar, the units) are left there; `wh` gets the bank holidays of holidays_from."""
    started = time.perf_counter()
    config = config if config is not None else load_kpi_config()
    if holidays_from is not None and Path(holidays_from).is_file():
        _copy_bank_holidays(con, Path(holidays_from))
    with Warehouse(path, config, read_only=False, cube=False, con=con) as wh:
        return _count(wh, families, started)


def store_cube(cur: duckdb.DuckDBPyConnection, counted: CountedCube, into: str = "wh") -> CubeSummary:
    """Write a counted cube and the bank holidays it counted with (those kept in `wh`, or the holidays
    package's) into the database `into`, in one transaction, not checkpointed."""
    cur.execute("BEGIN TRANSACTION")
    try:
        for table in (CUBE_TABLE, UNIT_TABLE, META_TABLE, KPI_TABLE, KEYS_TABLE):  # one built before: replaced
            cur.execute(f"DROP TABLE IF EXISTS {into}.{table}")
        _write(cur, into, counted)
        years = counted.years
        if stored_bank_holidays(cur, "wh", *years) is None:
            store_bank_holidays(cur, into, *years, bank_holidays(*years))
        elif into != "wh":
            cur.execute(f"CREATE OR REPLACE TABLE {into}.{STORED_HOLIDAYS_TABLE} AS "
                        f"SELECT * FROM wh.{STORED_HOLIDAYS_TABLE}")
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    return CubeSummary(counted.first, counted.last, len(counted.units), tuple(k.id for _, k in counted.served),
                       time.perf_counter() - counted.started)


def _count(wh: Warehouse, families: tuple[Family, ...], started: float) -> CountedCube:
    """The cube of the warehouse's records: every family's changes read and added up into running totals."""
    with wh.cursor() as cur:
        last = cube_last_day(wh.extract_date)
        wh.ensure_calendar(wh.extract_date, last)
        # a KPI whose files the extract did not hold has no rows (the engine's rule): nothing to hold
        served = [(f, KPIS_BY_ID[m.kpi_id]) for f in families if all(wh.has_table(t) for t in f.requires)
                  for m in cube_measures(f) if all(wh.has_table(t) for t in m.requires)]
        # Units in the engine's row order: level, then UNKNOWN last, then name. Listed: in teams.csv; the
        # UNKNOWN team and service are always in the cube, with rows only where something counts there.
        teams = wh.teams()
        if any(t["team_id"] == UNKNOWN for t in teams):  # (docs/kpis.md: a real team whose team_id is UNKNOWN)
            raise ValueError(f'teams.csv has a team whose team_id is "{UNKNOWN}", the unit of records with no known '
                             "team: the cube adds each team into one service, so it cannot keep the two apart")
        listed = ({("trust", "trust")} | {("service", t["service"]) for t in teams}
                  | {("team", t["team_id"]) for t in teams})
        units = sorted(listed | {("service", UNKNOWN), ("team", UNKNOWN)},
                       key=lambda lu: (_LEVEL_RANK[lu[0]], lu[1] == UNKNOWN, lu[1]))
        # the families' queries read these by name, each from its own cursor (so not TEMP tables)
        _table(cur, "OR REPLACE TABLE cube_units", {"u": range(len(units)), "level": [lv for lv, _ in units],
                                                    "unit": [unit for _, unit in units]})
        try:
            flow_rows, stretches = _read(wh, families, served, last)
        finally:
            cur.execute("DROP TABLE IF EXISTS cube_units")
    # a keyed family's key values come from its flow rows (its facts are read once)
    keys = {f.name: _key_values(flow_rows[f.name]) for f in families
            if f.extra_key is not None and f.name in flow_rows}
    served = [(f, k) for f, k in served if f.extra_key is None or keys[f.name] is not None]
    cells = _cells(served, keys)
    kpi_ids = [c for c, _, _ in cells]
    flow = [_flow_changes(f, [k for g, k in served if g is f and k.kind == "flow"], flow_rows[f.name], kpi_ids,
                          keys.get(f.name))
            for f in families if f.name in flow_rows and any(g is f for g, _ in served)]
    # columns a family gives as sums of its others' (DailyStock.compute's same)
    same = {_column(kpi, part): [(_column(k, p), sign) for k, p, sign in terms]
            for _, found in stretches for kpi, part, terms in found.pop("same", ())}
    stock = [part | {"k": np.array([kpi_ids.index(k) for k in wanted], np.int64)[part["k"]]}
             for wanted, part in stretches]
    first, grid = _grid(wh.extract_date, teams, units, cells, flow, stock, last, same)
    return CountedCube(first, last, units, listed, served, keys, grid, wh.config.caseload_limit,
                       sorted(set(wh.config.closure_days)), wh.calendar_years, started)


def _cells(served: list[tuple[Family, Kpi]], keys: dict[str, _Keys | None]) -> list[Cell]:
    """The column pairs of the KPIs held: one per KPI, or one per KPI and key value."""
    out: list[Cell] = []
    for family, kpi in served:
        if family.extra_key is None:
            out.append((kpi.id, family, kpi))
        else:
            out.extend((f"{kpi.id}__{j}", family, kpi) for j in range(len(keys[family.name].values)))
    return out


def _key_values(rows: dict[str, np.ndarray]) -> _Keys | None:
    """A keyed family's key values and its facts rows per value and day (from _flow_rows), or None when
    the cube cannot follow them: a facts row not dated by the family's flow_day (its rows in a period
    would not be those dated in it), or a key value the engine does not order (the contract's AUDIT_DOMAINS)."""
    key = rows["key"]  # each row's value as its place in AUDIT_DOMAINS, from 1 (0: another value, or none)
    if not key.all() or rows["undated"].any():
        return None
    present = np.unique(key)
    return _Keys(tuple(AUDIT_DOMAINS[place - 1] for place in present.tolist()), np.searchsorted(present, key),
                 rows["day"], rows["rows"])


def _bank_holidays_from(path: Path, published: Path) -> None:
    """Copy the bank holidays kept in the published warehouse into the one being built (if it keeps any)."""
    try:
        with duckdb.connect() as con:
            con.execute("ATTACH ? AS wh", [str(path)])
            _copy_bank_holidays(con, published)
    except duckdb.Error:
        pass  # the file's own error is the Warehouse's to report


def _copy_bank_holidays(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """_bank_holidays_from into `wh` as attached to con, attaching the published file for the while."""
    try:
        con.execute("ATTACH ? AS published (READ_ONLY)", [str(published)])
    except duckdb.Error:
        return  # an unreadable published file: the holidays package gives them
    try:
        if con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'published' "
                       "AND table_name = ?", [STORED_HOLIDAYS_TABLE]).fetchone()[0]:
            con.execute(f"CREATE OR REPLACE TABLE wh.{STORED_HOLIDAYS_TABLE} AS "
                        f"SELECT * FROM published.{STORED_HOLIDAYS_TABLE}")
    except duckdb.Error:
        pass  # the holidays package gives them
    finally:
        con.execute("DETACH published")


def _floor(extract: dt.date) -> dt.date:
    return dt.date(extract.year - MAX_YEARS, extract.month, 1)


def _read(wh: Warehouse, families: tuple[Family, ...], served: list[tuple[Family, Kpi]], last: dt.date
          ) -> tuple[dict[str, dict[str, np.ndarray]], list[tuple[list[str], dict[str, np.ndarray]]]]:
    """Every family's flow rows (_flow_rows, by family name) and stock stretches (_stretches, with the
    KPIs their k numbers), as numpy arrays. The families' queries are independent, so they run two at a
    time, each on its own cursor (DuckDB and numpy let go of the GIL), the longest (caseload's) first."""
    params = {"caseload_limit": wh.config.caseload_limit, "last": last, "floor": _floor(wh.extract_date)}
    ratios = {k.id for _, k in served if k.measure == "ratio"}

    def flow_of(family: Family) -> dict[str, np.ndarray]:
        with wh.cursor() as cur:
            return _flow_rows(cur, family, [k for g, k in served if g is family and k.kind == "flow"], last,
                              wh.config.caseload_limit)

    def stock_of(family: Family) -> tuple[list[str], dict[str, np.ndarray]]:
        kpis = [k.id for g, k in served if g is family and k.kind == "stock"]
        with wh.cursor() as cur:
            return kpis, _stretches(cur, family, kpis, ratios, params)

    with ThreadPoolExecutor(max_workers=2) as pool:
        stock = pool.map(stock_of, [f for f in families if any(g is f and k.kind == "stock" for g, k in served)])
        with_flows = [f for f in families if any(g is f and k.kind == "flow" for g, k in served)]
        flow = pool.map(flow_of, with_flows)
        return dict(zip([f.name for f in with_flows], flow, strict=True)), list(stock)


def _column(kpi: str, part: str) -> str:
    return numerator_column(kpi) if part == "n" else denominator_column(kpi)


def _grid(extract: dt.date, teams: list[dict], units: list[tuple[str, str]], cells: list[Cell],
          flow: list[dict[str, np.ndarray]], stock: list[dict[str, np.ndarray]], last: dt.date,
          same: dict[str, list[tuple[str, int]]]) -> tuple[dt.date, dict[str, np.ndarray]]:
    """The cube's first day and its rows (day by day, the units in order within each day) from the changes."""
    floor = _floor(extract)
    # The history starts with the first flow event (with none, the first stock change); earlier
    # changes are in the first day's figures (a running total, or what is open at its end).
    epoch = dt.date(1970, 1, 1)
    earliest = min((int(part["day"].min()) for part in flow if len(part["day"])), default=None)
    if earliest is None:
        earliest = min((int(part["f"][part["f"] < part["u"]].min(initial=2**40)) for part in stock), default=None)
        earliest = None if earliest == 2**40 else earliest
    earliest_day = epoch + dt.timedelta(days=earliest) if earliest is not None else extract
    first = max(min(earliest_day, extract), floor + dt.timedelta(days=1)) - dt.timedelta(days=1)
    start, end = (first - epoch).days, (last - epoch).days
    n_units, n_days = len(units), end - start + 1

    service_of = {t["team_id"]: t["service"] for t in teams} | {UNKNOWN: UNKNOWN}
    index = {lu: i for i, lu in enumerate(units)}
    service_of_unit = np.full(n_units, -1)
    for i, (level, unit) in enumerate(units):
        if level == "team":
            service_of_unit[i] = index[("service", service_of[unit])]
    grid = _running_totals(cells, flow, stock, service_of_unit, start, end, same)
    grid["d"] = np.repeat(np.arange(n_days, dtype=np.int32), n_units)
    grid["u"] = np.tile(np.arange(n_units, dtype=np.int32), n_days)
    return first, grid


def _write(cur: duckdb.DuckDBPyConnection, into: str, counted: CountedCube) -> None:
    """The cube's tables, in the database `into`."""
    grid, first, units, served, keys = counted.grid, counted.first, counted.units, counted.served, counted.keys
    ratios = {c for c, _, k in _cells(served, keys) if k.measure == "ratio"}
    n_days = (counted.last - first).days + 1
    shown = []
    for column in grid:
        if column in ("d", "u"):
            continue
        if column.startswith("d_") and column[2:] in ratios:
            shown.append(f'CAST(CAST("{column}" AS DECIMAL(28, 0)) * CAST(0.000000001 AS DECIMAL(10, 9)) AS DOUBLE) '
                         f'AS "{column}"')
        else:  # INTEGER where the numbers fit: a third of BIGINT's cost to write
            kind = "INTEGER" if grid[column].dtype == np.int32 else "BIGINT"
            shown.append(f'CAST("{column}" AS {kind}) AS "{column}"')
    cur.register("cube_grid", grid)
    try:
        # rows stay in the grid's order (day, unit): a day's rows are together, so a day's look-up reads little
        cur.execute(f"CREATE TABLE {into}.{CUBE_TABLE} AS SELECT CAST($first + d AS DATE) AS d, u, "
                    f"{', '.join(shown)} FROM cube_grid", {"first": first})
    finally:
        cur.unregister("cube_grid")
    _table(cur, f"TABLE {into}.{UNIT_TABLE}", {"u": range(len(units)), "level": [lv for lv, _ in units],
                                               "unit": [unit for _, unit in units],
                                               "listed": [lu in counted.listed for lu in units]})
    cur.execute(f"""CREATE TABLE {into}.{META_TABLE} (format INTEGER, first_day DATE, last_day DATE,
                    caseload_limit DOUBLE, closure_days DATE[], built_at TIMESTAMP)""")
    cur.execute(f"INSERT INTO {into}.{META_TABLE} VALUES (?, ?, ?, ?, ?, current_localtimestamp())",
                [CUBE_FORMAT, first, counted.last, counted.caseload_limit, counted.closure_days])
    cur.execute(f"CREATE TABLE {into}.{KPI_TABLE} (kpi VARCHAR, family VARCHAR, kind VARCHAR, measure VARCHAR, "
                "fingerprint VARCHAR, keys VARCHAR[])")
    if served:  # one statement (executemany prepares and runs one per row: 20 ms for the 26 KPIs)
        rows = [(k.id, f.name, k.kind, k.measure, fingerprint(f),
                 None if f.extra_key is None else list(keys[f.name].values)) for f, k in served]
        cur.execute(f"INSERT INTO {into}.{KPI_TABLE} VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(rows)),
                    [value for row in rows for value in row])
    # per keyed family and key value, its facts rows dated on or before each day (earlier: in the first)
    start = (first - dt.date(1970, 1, 1)).days
    end = start + n_days - 1
    key_rows: dict[str, list] = {"family": [], "key": [], "d": [], "rows": []}
    for family, found in keys.items():
        for j, value in enumerate(found.values if found is not None else ()):
            mine = (found.k == j) & (found.day <= end)
            counts = np.zeros(n_days, np.int64)
            np.add.at(counts, np.maximum(found.day[mine] - start, 0), found.rows[mine])
            key_rows["family"].append(np.full(n_days, family, dtype=object))
            key_rows["key"].append(np.full(n_days, value, dtype=object))
            key_rows["d"].append(np.arange(n_days, dtype=np.int32))
            key_rows["rows"].append(np.cumsum(counts))
    if key_rows["d"]:
        cur.register("cube_key_rows", {name: np.concatenate(parts) for name, parts in key_rows.items()})
        try:
            cur.execute(f"CREATE TABLE {into}.{KEYS_TABLE} AS SELECT CAST(family AS VARCHAR) AS family, "
                        "CAST(key AS VARCHAR) AS key, CAST($first + d AS DATE) AS d, CAST(rows AS BIGINT) AS rows "
                        "FROM cube_key_rows", {"first": first})
        finally:
            cur.unregister("cube_key_rows")
    else:
        cur.execute(f"CREATE TABLE {into}.{KEYS_TABLE} (family VARCHAR, key VARCHAR, d DATE, rows BIGINT)")


def _running_totals(cells: list[Cell], flow: list[dict[str, np.ndarray]], stock: list[dict[str, np.ndarray]],
                    service_of_unit: np.ndarray, start: int, end: int,
                    same: dict[str, list[tuple[str, int]]] | None = None) -> dict[str, np.ndarray]:
    """Each stored column's running totals (a numerator per cell, a denominator per cell that is not a
    count), day by day with the units in order within each day. Every change is added into its column's
    cell (day, unit): those that add up (lv 0) into their team, then rolled into its service and the trust
    (a team is in one service; UNKNOWN in UNKNOWN); those of a single level (lv 1 trust, 2 service, 3
    team) into their unit. Days before the first are in the first day's figures; a stretch ending after
    the last never ends. A column whose rows' sizes add up to under 2**31 (each stretch twice) is counted
    in int32 (no sum of some of its changes can overflow it): half the memory to fill and add up; the
    others in int64, stored as INTEGER where their totals fit, as before."""
    n_units, n_days = len(service_of_unit), end - start + 1
    size = n_days * n_units
    same = same or {}
    order: list[str] = []  # every stored column, in the cells' order
    names: list[str] = []  # those counted here (the others are sums of these: same)
    column_of = np.full((2, len(cells)), -1, np.int64)  # [0: numerator, 1: denominator][cell]
    made = np.zeros((2, len(cells)), bool)  # [part][cell]: a column made from others
    for i, (cell, _, kpi) in enumerate(cells):
        for j, column in enumerate((numerator_column(cell), denominator_column(cell))):
            if j == 0 or kpi.measure != "count":
                order.append(column)
                made[j, i] = column in same
                if not made[j, i]:
                    column_of[j, i] = len(names)
                    names.append(column)

    parts = [(part, 1) for part in flow] + [(part, 2) for part in stock]  # a stretch changes twice
    if any(((part[name] != 0) & made[j][part["k"]]).any() for part, _ in parts for j, name in enumerate("nd")):
        raise ValueError("a change of the daily cube is given for a column made from others")
    # each column's rows' sizes added up (bound[0]: the rows of no stored column)
    bound = np.zeros(len(names) + 1)
    for part, times in parts:
        for j, name in enumerate(("n", "d")):
            bound += times * np.bincount(column_of[j][part["k"]] + 1, weights=np.abs(part[name]),
                                         minlength=len(names) + 1)
    narrow = bound[1:] < 2**31
    local = np.zeros(len(names) + 1, np.int64)  # a column's place in its grid (local[-1]: no column)
    local[:-1][narrow] = np.arange(int(narrow.sum()))
    local[:-1][~narrow] = np.arange(int((~narrow).sum()))
    wide_of = np.append(~narrow, False)

    # every change as its place in its grid and its value, by grid (wide or not) and whether it adds up
    found: dict[tuple[bool, bool], tuple[list[np.ndarray], list[np.ndarray]]] = {
        (wide, up): ([], []) for wide in (False, True) for up in (True, False)}

    def collect(part: dict[str, np.ndarray], places: list[tuple[np.ndarray, np.ndarray | None, int]]) -> None:
        """places: (where each change falls in a column, which rows change there (None: all), sign)."""
        lv = part["lv"]
        up = None if not lv.any() else lv == 0  # None: every change adds up
        for j, name in enumerate(("n", "d")):
            column, value = column_of[j][part["k"]], part[name]
            counted = (value != 0) & (column >= 0)
            start_of = local[column] * size
            wide = wide_of[column]
            wide = wide if wide.any() else None
            groups = [(is_wide, adds_up) for is_wide in ((False,) if wide is None else (False, True))
                      for adds_up in ((True,) if up is None else (True, False))]
            for place, rows, sign in places:
                kept = counted if rows is None else counted & rows
                for is_wide, adds_up in groups:
                    mine = kept if wide is None else kept & (wide == is_wide)
                    mine = mine if up is None else mine & (up == adds_up)
                    at, values = found[(is_wide, adds_up)]
                    at.append(start_of[mine] + place[mine])
                    values.append(value[mine] if sign > 0 else -value[mine])

    def unit(part: dict[str, np.ndarray]) -> np.ndarray:
        """Where each change of the part goes first: its team (if it adds up), else its level's unit."""
        lv, team, service = part["lv"], part["team_u"], part["service_u"]
        up = not lv.any()
        if (service != service_of_unit[team] if up else (service != service_of_unit[team]) & (lv == 0)).any():
            raise ValueError("a change of the daily cube is placed in a team and another team's service")
        return team if up else np.where(lv == 1, 0, np.where(lv == 2, service, team))

    for part in flow:
        collect(part, [(np.maximum(part["day"] - start, 0) * n_units + unit(part), None, 1)])
    for part in stock:  # + where a stretch begins, - where it ends
        f, u, where = part["f"], part["u"], unit(part)
        kept = (f < u) & (f <= end) & (u > start)
        collect(part, [(np.maximum(f - start, 0) * n_units + where, kept, 1),
                       ((u - start) * n_units + where, kept & (u <= end), -1)])

    # the teams (after the trust and the services) in runs of one service each, as they come
    team_units = np.flatnonzero(service_of_unit >= 0)
    runs = np.flatnonzero(np.diff(service_of_unit[team_units], prepend=-1))
    contiguous = team_units[-1] - team_units[0] + 1 == len(team_units)
    teams_of = slice(team_units[0], team_units[-1] + 1) if contiguous else team_units  # a view where it can be
    grids = {}
    for wide, dtype in ((False, np.int32), (True, np.int64)):
        grids[wide] = grid = np.zeros((int((narrow != wide).sum()), n_days, n_units), dtype)
        flat = grid.reshape(-1)
        for adds_up in (True, False):
            at, values = found[(wide, adds_up)]
            if at:
                np.add.at(flat, np.concatenate(at), np.concatenate(values).astype(dtype))
            if adds_up and at:  # each team's changes into its service (a run of teams at a time) and the trust
                teams = grid[:, :, teams_of]
                sums = np.add.reduceat(teams, runs, axis=2, dtype=dtype)
                for r, service in enumerate(service_of_unit[team_units[runs]]):
                    grid[:, :, service] += sums[:, :, r]
                grid[:, :, 0] = sums.sum(axis=2, dtype=dtype)
                del teams, sums
        for day in range(1, n_days):  # the totals along the days: a third of np.cumsum's time over this middle axis
            np.add(grid[:, day - 1], grid[:, day], out=grid[:, day])
    out = {}
    for i, name in enumerate(names):
        values = grids[not narrow[i]][local[i]].reshape(-1)
        out[name] = values if narrow[i] else _int32_where_it_fits(values)
    for name, terms in same.items():
        out[name] = _int32_where_it_fits(sum(sign * out[source].astype(np.int64) for source, sign in terms))
    return {name: out[name] for name in order}


def _int32_where_it_fits(values: np.ndarray) -> np.ndarray:
    """int64 totals as int32 when every one fits: half the memory for a national cube."""
    return values.astype(np.int32) if np.abs(values).max(initial=0) < 2**31 else values


def _table(cur: duckdb.DuckDBPyConnection, what: str, columns: dict[str, object]) -> None:
    """CREATE what from columns of values (one statement, not an INSERT per row)."""
    kinds = {"u": np.int32, "k": np.int32, "listed": bool}  # the rest text (object: VARCHAR, not ENUM)
    arrays = {name: np.asarray(list(values), dtype=kinds.get(name, object)) for name, values in columns.items()}
    cur.register("cube_rows", arrays)
    try:
        cur.execute(f"CREATE {what} AS SELECT * FROM cube_rows")
    finally:
        cur.unregister("cube_rows")


def _flow_rows(cur: duckdb.DuckDBPyConnection, family: Family, kpis: list[Kpi], last: dt.date,
               caseload_limit: float) -> dict[str, np.ndarray]:
    """The family's flow events per day and unit: its facts over one period from the start of time to
    the cube's last day, each row on its flow_day, counted by the measures' own conditions in one pass
    (columns n<i>, d<i> for the i-th measure of kpis). Columns day (days since 1970-01-01), team_u and
    service_u (cube units, -1 for none) and, for a keyed family, key (its value's place in the contract's
    AUDIT_DOMAINS, from 1; 0 for any other value or none: numbers, not text, to group and compare) and rows
    (every facts row, counted or not; undated: rows with no flow_day, which only a keyed family keeps)."""
    everything = single_period(dt.date(1, 1, 1), last)
    measures = [m for m in family.measures if m.kpi_id in {k.id for k in kpis}]
    keyed = family.extra_key is not None
    domains = ", ".join("'" + value.replace("'", "''") + "'" for value in AUDIT_DOMAINS)
    key = f", coalesce(list_position([{domains}], CAST({family.extra_key} AS VARCHAR)), 0) AS key" if keyed else ""
    flags = "".join(f", ({m.numerator_if}) AS nf{i}, ({m.denominator_if or 'FALSE'}) AS df{i}"
                    for i, m in enumerate(measures))
    sums = "".join(f", count_if(nf{i}) AS n{i}, count_if(df{i}) AS d{i}" for i in range(len(measures)))
    sql = f"""
    WITH {periods_cte(everything)},
    facts AS ({family.facts_for(1)}),
    dated AS (
        SELECT date_diff('day', DATE '1970-01-01', CAST(({family.flow_day}) AS DATE)) AS day_,
               coalesce(tu.u, -1) AS team_u, coalesce(su.u, -1) AS service_u{key}{flags}
        FROM facts
        LEFT JOIN cube_units tu ON tu.level = 'team' AND tu.unit = facts.team_unit
        LEFT JOIN cube_units su ON su.level = 'service' AND su.unit = facts.service_unit
    ),
    agg AS (  -- grouped by unit numbers, not names: cheaper where nearly every row is a group of its own
        SELECT day_, team_u, service_u{", key, count(*) AS rows" if keyed else ""}{sums}
        FROM dated {"" if keyed else "WHERE day_ IS NOT NULL"} GROUP BY ALL
    )
    SELECT coalesce(day_, 0) AS day, day_ IS NULL AS undated, agg.* EXCLUDE (day_)
    FROM agg"""
    got = cur.execute(sql, bind(sql, {**everything.params, "caseload_limit": caseload_limit})).fetchnumpy()
    return {name: np.asarray(values) if name == "undated" else np.asarray(values).astype(np.int64)
            for name, values in got.items()}


def _flow_changes(family: Family, kpis: list[Kpi], rows: dict[str, np.ndarray], kpi_ids: list[str],
                  keys: _Keys | None) -> dict[str, np.ndarray]:
    """The flow rows of _flow_rows as the cube's changes (the columns _fetch gives): one per measure and
    row that counts in it (a keyed family's in cell `<kpi>__<j>` for key value j)."""
    # a keyed family without key values (no facts rows) has no cells
    measures = [m for m in family.measures if m.kpi_id in {k.id for k in kpis} and (keys is None or keys.values)]
    dated = ~rows["undated"]
    slot = keys.k if keys is not None else np.zeros(len(dated), np.int64)  # each row's key value's place
    place = {c: i for i, c in enumerate(kpi_ids)}
    parts: dict[str, list[np.ndarray]] = {c: [] for c in ("k", "team_u", "service_u", "day", "n", "d")}
    for i, m in enumerate(measures):
        n, d = rows[f"n{i}"], rows[f"d{i}"]
        kept = np.flatnonzero(dated & ((n > 0) | (d > 0)))
        first = place[m.kpi_id if keys is None else f"{m.kpi_id}__0"]
        parts["k"].append(first + slot[kept])
        for name, values in (("team_u", rows["team_u"]), ("service_u", rows["service_u"]), ("day", rows["day"]),
                             ("n", n), ("d", d)):
            parts[name].append(values[kept])
    out = {c: np.concatenate(v) if v else np.zeros(0, np.int64) for c, v in parts.items()}
    out["lv"] = np.zeros(len(out["k"]), np.int64)
    if ((out["team_u"] < 0) | (out["service_u"] < 0)).any():  # neither in teams.csv nor UNKNOWN: the SQL is wrong
        raise ValueError(f"{int(((out['team_u'] < 0) | (out['service_u'] < 0)).sum())} changes of the daily cube "
                         "are placed in no known unit")
    return out


def _stretches(cur: duckdb.DuckDBPyConnection, family: Family, kpis: list[str], ratios: set[str], params: dict
               ) -> dict[str, np.ndarray]:
    """The family's DailyStock rows as int64 columns k (the KPI's place in kpis), lv, team_u, service_u,
    f, u (days since 1970-01-01), n, d (a ratio's denominator in units of 1e-9), for the KPIs asked."""
    stock = family.daily_stock
    if stock.compute is not None:
        got = stock.compute(cur, {"kpis": kpis, "caseload_limit": params["caseload_limit"]})
        return {"k": got["kpi"], "lv": np.zeros(len(got["kpi"]), np.int64),
                "team_u": got["team_u"], "service_u": got["service_u"],
                "f": got["valid_from"], "u": got["valid_until"], "n": got["numerator"], "d": got["denominator"],
                "same": got.get("same", ())}
    wanted = ", ".join(f"'{k}'" for k in kpis)
    scaled = ", ".join(f"'{k}'" for k in kpis if k in ratios) or "NULL"
    sql = f"""
    SELECT kpi, level, team_unit, service_unit,
           date_diff('day', DATE '1970-01-01', CAST(valid_from AS DATE)) AS day,
           date_diff('day', DATE '1970-01-01', CAST(valid_until AS DATE)) AS until, numerator AS n,
           CASE WHEN kpi IN ({scaled}) THEN denominator * {_NANO} ELSE denominator END AS d
    FROM ({stock.sql})
    WHERE kpi IN ({wanted}) AND valid_from < valid_until AND valid_from <= $last AND valid_until > $floor"""
    got = _fetch(cur, sql, params, kpis, extra=["until"])
    got["f"], got["u"] = got.pop("day"), got.pop("until")
    return got


def _fetch(cur: duckdb.DuckDBPyConnection, sql: str, params: dict, kpis: list[str], extra: list[str] | None = None
           ) -> dict[str, np.ndarray]:
    """The changes as int64 numpy columns: k (the KPI's place in kpis), lv (0: adds up at every level,
    else 1 trust, 2 service, 3 team), team_u and service_u (cube units), day (days since 1970-01-01), n
    and d (0 for no denominator). Codes, not names: a national cube has millions."""
    more = "".join(f", CAST(c.{name} AS BIGINT) AS {name}" for name in extra or [])
    listed = ", ".join(f"'{k}'" for k in kpis)
    coded = f"""
    SELECT list_position([{listed}], c.kpi) - 1 AS k,
           CASE c.level WHEN 'trust' THEN 1 WHEN 'service' THEN 2 WHEN 'team' THEN 3 ELSE 0 END AS lv,
           coalesce(tu.u, -1) AS team_u, coalesce(su.u, -1) AS service_u,
           CAST(c.day AS BIGINT) AS day, CAST(c.n AS BIGINT) AS n, CAST(coalesce(c.d, 0) AS BIGINT) AS d{more}
    FROM ({sql}) c
    LEFT JOIN cube_units tu ON tu.level = 'team' AND tu.unit = c.team_unit
    LEFT JOIN cube_units su ON su.level = 'service' AND su.unit = c.service_unit
    WHERE c.kpi IN ({listed})"""
    got = cur.execute(coded, bind(coded, params)).fetchnumpy()
    out = {name: np.asarray(got[name]).astype(np.int64)
           for name in ("k", "lv", "team_u", "service_u", "day", "n", "d", *(extra or []))}
    lost = ((np.isin(out["lv"], (0, 3)) & (out["team_u"] < 0)) | (np.isin(out["lv"], (0, 2)) & (out["service_u"] < 0)))
    if lost.any():  # a unit that is neither in teams.csv nor UNKNOWN: a family's SQL is wrong
        raise ValueError(f"{int(lost.sum())} changes of the daily cube are placed in no known unit")
    return out
