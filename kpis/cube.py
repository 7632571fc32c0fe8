"""The daily KPI cube: every KPI's figure for every day of the extract's history, built when a load
publishes (kpis/cube_builder.py), so the figure for any period is a lookup, not a count of records.

The cube is a table of the warehouse version it was built from, one row per unit (trust, services,
teams) and day D of [first, last], two columns per KPI:
- flow KPIs: the running totals of numerator and denominator events dated on or before D, so a
  period [a, b] is total(b) - total(a - 1);
- stock KPIs: the numerator and denominator at the end of D, so a period is the row at its end.
A rate or ratio is then computed from its numerator and denominator exactly as the facts engine
computes it (kpis/engine.py), and a row exists exactly where the engine's does: every unit of
teams.csv always, UNKNOWN only where something counts.

The facts queries stay the definition. The cube answers only what it can answer exactly: the trust,
service and team levels (worker rows are counted from the facts), the KPIs of families that declare
how (Family.flow_day, Family.daily_stock), and periods whose days it holds. A cube built under
another KPI configuration (caseload limit, closure days) or from another definition of a family (its
fingerprint) is not read at all, or not for that family's KPIs: those figures come from the facts.

The families' other declarations are read as the engine reads them: a KPI whose files the extract did
not hold (Family.requires, Measure.requires) has no rows from either; listed workers
(Family.listed_workers) concern the worker level only, which is always counted from the facts; a
family with an extra key (Family.extra_key: domain_good_or_better's domain) has two columns per KPI
and key value (`n_<kpi>__<j>`, `d_<kpi>__<j>`), and beside them, per key value, the running count of
all its facts rows (KEYS_TABLE), because the engine gives every listed unit a row for each value that
has facts in the period. Only flow KPIs of such a family are held.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import inspect
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np

from kpis.families import FAMILIES, Family, Measure
from kpis.registry import KPIS, KPIS_BY_ID, Kpi
from kpis.targets import KpiConfig

log = logging.getLogger("kpidash.kpis")

# Bump when the builder's arithmetic changes: a cube of another format is not read.
CUBE_FORMAT = 2
CUBE_TABLE = "kpi_cube"
META_TABLE = "kpi_cube_meta"
KPI_TABLE = "kpi_cube_kpis"
UNIT_TABLE = "kpi_cube_units"
KEYS_TABLE = "kpi_cube_keys"
CUBE_LEVELS = ("trust", "service", "team")
# A cube up to this size is read into memory whole on first use (a trust's; a national one is queried)
IN_MEMORY_BYTES = 64 * 2**20


def numerator_column(kpi_id: str, slot: int | None = None) -> str:
    """A KPI's numerator column; slot: the place of its key value among the KPI's (keyed KPIs only)."""
    return f"n_{kpi_id}" if slot is None else f"n_{kpi_id}__{slot}"


def denominator_column(kpi_id: str, slot: int | None = None) -> str:
    return f"d_{kpi_id}" if slot is None else f"d_{kpi_id}__{slot}"


# The declarations the cube knows how to read. A family or measure declaring anything else (a field
# added later, e.g. rows split by another key) is counted from the facts until the cube learns it.
_FAMILY_FIELDS = frozenset({"name", "facts", "measures", "record_columns", "trend_facts", "one_period_facts",
                            "flow_day", "daily_stock", "requires", "listed_workers", "extra_key"})
_MEASURE_FIELDS = frozenset({"kpi_id", "numerator_if", "denominator_if", "numerator_sql", "denominator_sql",
                             "record_columns", "one_record_per_child", "uses", "requires"})


def _only_known(declaration: object, known: frozenset[str]) -> bool:
    """Every field of the declaration the cube does not know is at its default (or it is not a dataclass)."""
    if not dataclasses.is_dataclass(declaration):
        return False
    for f in dataclasses.fields(declaration):
        if f.name in known:
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        if getattr(declaration, f.name) != default:
            return False
    return True


def cube_measures(family: Family) -> list[Measure]:
    """The family's measures the cube can hold: flow ones counted row by row (a distinct count or a
    sum of decimals does not add up day by day) when the family dates its flow rows, and the stock
    ones its DailyStock gives (none of a family with an extra key: its rows at a day's end would decide
    which key values have rows, and the cube does not follow them)."""
    if not _only_known(family, _FAMILY_FIELDS):
        return []
    if family.extra_key is not None:
        family = dataclasses.replace(family, daily_stock=None)
    stock = set(family.daily_stock.kpis) if family.daily_stock is not None else set()
    out = []
    for m in family.measures:
        kpi = KPIS_BY_ID.get(m.kpi_id)
        if kpi is None or kpi.family != family.name or not _only_known(m, _MEASURE_FIELDS):
            continue
        if kpi.kind == "flow" and family.flow_day is not None and m.numerator_sql is None and m.denominator_sql is None:
            out.append(m)
        elif kpi.kind == "stock" and m.kpi_id in stock:
            out.append(m)
    return out


def _stable(value: object) -> str:
    """A declaration as text that is the same in every process: code by its source, not its address."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        parts = ", ".join(f"{f.name}={_stable(getattr(value, f.name))}" for f in dataclasses.fields(value))
        return f"{type(value).__name__}({parts})"
    if isinstance(value, tuple):
        return "(" + ", ".join(_stable(v) for v in value) + ")"
    if callable(value):
        try:
            source = inspect.getsource(inspect.getmodule(value))
        except (OSError, TypeError):  # no source shipped: the name alone
            source = ""
        return f"{value.__module__}.{value.__qualname__}:{source!r}"
    return repr(value)


@functools.lru_cache(maxsize=64)
def fingerprint(family: Family) -> str:
    """What a family's cube columns were built from: its whole declaration (the code of a DailyStock's
    compute: its module's source) and its KPIs' kinds. A warehouse published by another version of the
    definition has that family's figures counted from the facts instead."""
    kinds = [(k.id, k.kind, k.measure) for k in KPIS if k.family == family.name]
    text = f"{CUBE_FORMAT}|{_stable(family)}|{kinds!r}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class CubeUnits:
    """The cube's units in its row order (level, then UNKNOWN last, then name: the engine's order)."""

    levels: tuple[str, ...]
    names: tuple[str, ...]
    listed: np.ndarray  # bool per unit: in teams.csv (always has a row) or not (UNKNOWN)
    ranges: dict[str, tuple[int, int]]  # level -> [lo, hi) of its units
    index: dict[tuple[str, str], int]


@dataclass(frozen=True)
class Keyed:
    """A keyed KPI's key: its name in the rows (`domain`), its values in the engine's row order (a
    column pair each), and per value the running count of its family's facts rows by day."""

    name: str
    values: tuple[str, ...]
    rows: tuple[np.ndarray, ...]


class Cube:
    """The cube of one opened warehouse version: what it holds, and how to read figures from it."""

    def __init__(self, first: dt.date, last: dt.date, kpis: dict[str, Kpi], units: CubeUnits,
                 keyed: dict[str, Keyed] | None = None) -> None:
        self.first = first
        self.last = last
        self.kpis = kpis  # the KPIs it serves (current definition, same configuration)
        self.units = units
        self.keyed = keyed or {}  # kpi id -> its key, for the KPIs of a family with an extra key
        self._held: dict[str, np.ndarray] | None = None  # every column, (day, unit), once read: see _in_memory
        self._lock = threading.Lock()

    def columns(self, kpi: Kpi) -> list[tuple[str, str | None]]:
        """The KPI's (numerator, denominator) column pairs: one, or one per key value (None: a count)."""
        slots = [None] if kpi.id not in self.keyed else list(range(len(self.keyed[kpi.id].values)))
        return [(numerator_column(kpi.id, j), denominator_column(kpi.id, j) if kpi.measure != "count" else None)
                for j in slots]

    def _in_memory(self, cursor: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray] | None:
        """The whole cube as arrays, when it is small (a trust's: a few megabytes): a figure is then a
        few array look-ups instead of a query (whose planning alone costs more). A national cube is
        queried day by day instead. Read on first use, once."""
        n_days, n_units = (self.last - self.first).days + 1, len(self.units.names)
        columns = [c for k in self.kpis.values() for pair in self.columns(k) for c in pair if c is not None]
        if n_days * n_units * len(columns) * 8 > IN_MEMORY_BYTES:
            return None
        with self._lock:
            if self._held is None:
                quoted = ", ".join(f'"{c}"' for c in columns)
                got = cursor.execute(f"SELECT {quoted} FROM wh.{CUBE_TABLE} ORDER BY d, u").fetchnumpy()
                self._held = {c: np.asarray(got[c]).reshape(n_days, n_units) for c in columns}
        return self._held

    def serves(self, kpi: Kpi, bounds: Sequence[tuple[dt.date, dt.date]]) -> bool:
        """Whether every period's figure of the KPI is in the cube (stock: its end; flow: the day
        before its start and its end)."""
        if kpi.id not in self.kpis:
            return False
        for start, end in bounds:
            if not self.first <= end <= self.last:
                return False
            if kpi.kind == "flow" and start - dt.timedelta(days=1) < self.first:
                return False
        return True

    def figures(
        self, cursor: duckdb.DuckDBPyConnection, bounds: Sequence[tuple[dt.date, dt.date]], levels: Sequence[str],
        kpis: Sequence[Kpi], unit: str | None, dates: Sequence[tuple[str, str]] | None,
    ) -> dict[tuple[str, str], list[dict]]:
        """(kpi id, level) -> the figure rows of that KPI at that level, for every period (rows per
        unit, then key value, periods in order), as the engine gives them. levels: trust, service or
        team only."""
        units = self.units
        if unit is not None:
            u = units.index.get((levels[0], unit))
            if u is None:  # a unit with nothing the cube counts (UNKNOWN with no records): no rows
                return {}
            spans = {levels[0]: (u, u + 1)}
        else:
            spans = {lv: units.ranges[lv] for lv in levels if lv in units.ranges}
        if not spans:
            return {}
        lo, hi = min(s[0] for s in spans.values()), max(s[1] for s in spans.values())
        flows = any(k.kind == "flow" for k in kpis)
        ends = [end for _, end in bounds]
        befores = [start - dt.timedelta(days=1) for start, _ in bounds] if flows else []
        days = sorted(set(ends) | set(befores))
        row_of = {d: i for i, d in enumerate(days)}
        columns = [c for k in kpis for pair in self.columns(k) for c in pair if c is not None]
        held = self._in_memory(cursor) if columns else None
        if not columns:
            grid = {}
        elif held is not None:
            rows = np.array([(d - self.first).days for d in days])
            grid = {c: held[c][rows, lo:hi] for c in columns}
        else:
            listed_days = ", ".join(f"DATE '{d.isoformat()}'" for d in days)
            sql = (f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)} FROM wh.{CUBE_TABLE} "
                   f"WHERE d IN ({listed_days}) AND u >= {lo} AND u < {hi} ORDER BY d, u")
            fetched = cursor.execute(sql).fetchnumpy()
            grid = {c: np.asarray(fetched[c]).reshape(len(days), hi - lo) for c in columns}
        end_rows = np.array([row_of[d] for d in ends])
        before_rows = np.array([row_of[d] for d in befores]) if flows else None
        end_days = np.array([(d - self.first).days for d in ends])
        before_days = np.array([(d - self.first).days for d in befores]) if flows else None
        out: dict[tuple[str, str], list[dict]] = {}
        for level, (a, b) in spans.items():
            cols = slice(a - lo, b - lo)
            names, listed = units.names[a:b], units.listed[a:b]
            for k in kpis:
                pairs = self.columns(k)
                if not pairs:  # a keyed KPI whose family has no key values: no rows, as the engine
                    out[(k.id, level)] = []
                    continue
                # (unit, key value, period): the engine's row order within a level
                num = np.stack([_period_values(grid[n], cols, end_rows, before_rows, k.kind) for n, _ in pairs], 1)
                den = np.stack([_period_values(grid[d], cols, end_rows, before_rows, k.kind) if d is not None
                                else np.zeros(num.shape[::2]) for _, d in pairs], 1)
                key = self.keyed.get(k.id)
                if key is None:
                    present = np.ones((1, len(bounds)), dtype=bool)
                else:  # the key values with facts rows in each period, trust-wide (flow rows: their days)
                    present = np.stack([(r[end_days] - r[before_days]) > 0 for r in key.rows])
                out[(k.id, level)] = _rows(k, level, names, listed, num, den, present, dates, key)
        return out


def _period_values(grid: np.ndarray, cols: slice, end_rows: np.ndarray, before_rows: np.ndarray | None,
                   kind: str) -> np.ndarray:
    """The (unit, period) figures of one column: stock the row at each period's end, flow the
    running total at its end less the one the day before it starts."""
    values = grid[end_rows, cols]
    if kind == "flow":
        values = values - grid[before_rows, cols]
    return values.T  # unit by unit, periods in order within each (the engine's row order)


def _rows(kpi: Kpi, level: str, names: Sequence[str], listed: np.ndarray, num: np.ndarray, den: np.ndarray,
          present: np.ndarray, dates: Sequence[tuple[str, str]] | None, key: Keyed | None) -> list[dict]:
    """One KPI's rows at one level (num, den: unit by key value by period), with the engine's JSON
    types, where the engine has a row: every listed unit (for each key value with facts in the
    period), an unlisted one (UNKNOWN) only where its numerator or denominator is not 0. A national
    trend makes a million rows here, so each is one dict display and nothing else."""
    n_units, n_keys, n_periods = num.shape
    n, d = num.ravel(), den.ravel()
    keep = (np.repeat(listed, n_keys * n_periods) & np.tile(present.ravel(), n_units)) | (n > 0) | (d > 0)
    every = bool(keep.all())
    if not every:
        n, d = n[keep], d[keep]
    picked = (lambda a: a) if every else (lambda a: a[keep])
    xs = n.astype(np.int64).tolist()
    us = picked(np.repeat(np.array(names, dtype=object), n_keys * n_periods)).tolist()
    if kpi.measure == "count":
        ys, vs = [None] * len(xs), xs
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            if kpi.measure == "rate":
                ys, vs = d.astype(np.int64).tolist(), (100 * n.astype(np.int64) / d).tolist()
            else:
                ys, vs = d.astype(np.float64).tolist(), (n.astype(np.int64) / d).tolist()
        for j in np.flatnonzero(d == 0).tolist():
            vs[j] = None
    kid = kpi.id
    if dates is not None:
        ss = picked(np.tile(np.array([s for s, _ in dates], dtype=object), n_units * n_keys)).tolist()
        es = picked(np.tile(np.array([e for _, e in dates], dtype=object), n_units * n_keys)).tolist()
    if key is None:
        if dates is None:
            return [{"kpi": kid, "level": level, "unit": u, "numerator": x, "denominator": y, "value": v}
                    for u, x, y, v in zip(us, xs, ys, vs)]
        return [{"period_start": a, "period_end": b, "kpi": kid, "level": level, "unit": u,
                 "numerator": x, "denominator": y, "value": v}
                for a, b, u, x, y, v in zip(ss, es, us, xs, ys, vs)]
    ks = picked(np.tile(np.repeat(np.array(key.values, dtype=object), n_periods), n_units)).tolist()
    name = key.name
    if dates is None:
        return [{"kpi": kid, "level": level, "unit": u, name: k, "numerator": x, "denominator": y, "value": v}
                for u, k, x, y, v in zip(us, ks, xs, ys, vs)]
    return [{"period_start": a, "period_end": b, "kpi": kid, "level": level, "unit": u, name: k,
             "numerator": x, "denominator": y, "value": v}
            for a, b, u, k, x, y, v in zip(ss, es, us, ks, xs, ys, vs)]


def read_cube(con: duckdb.DuckDBPyConnection, config: KpiConfig,
              families: Sequence[Family] | None = None) -> Cube | None:
    """The cube of the attached warehouse `wh`, or None when it has none this code can read; it
    serves the KPIs whose family (default: the registry's) is declared as when it was built."""
    families = FAMILIES if families is None else families
    have = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh'").fetchall()}
    if not {CUBE_TABLE, META_TABLE, KPI_TABLE, UNIT_TABLE, KEYS_TABLE} <= have:
        return None
    meta = con.execute(f"SELECT format, first_day, last_day, caseload_limit, closure_days FROM wh.{META_TABLE}").fetchone()
    if meta is None or meta[0] != CUBE_FORMAT:
        return None
    _, first, last, limit, closures = meta
    if limit != config.caseload_limit or set(closures or ()) != set(config.closure_days):
        log.info("the warehouse's KPI cube was built under another KPI configuration; figures are counted "
                 "from the records until the next load")
        return None
    by_name = {f.name: f for f in families}
    prints = {f.name: fingerprint(f) for f in families}
    columns = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'wh' AND table_name = ?", [CUBE_TABLE]
    ).fetchall()}
    n_days = (last - first).days + 1
    counts: dict[tuple[str, str], np.ndarray] = {}  # (family, key value) -> facts rows, running, by day
    for family, value, rows in con.execute(
            f"SELECT family, key, list(rows ORDER BY d) FROM wh.{KEYS_TABLE} GROUP BY family, key").fetchall():
        if len(rows) == n_days:
            counts[(family, value)] = np.asarray(rows, dtype=np.int64)
    served: dict[str, Kpi] = {}
    keyed: dict[str, Keyed] = {}
    for kpi_id, family, kind, measure, print_, values in con.execute(
            f"SELECT kpi, family, kind, measure, fingerprint, keys FROM wh.{KPI_TABLE}").fetchall():
        kpi = KPIS_BY_ID.get(kpi_id)
        if kpi is None or kpi.family != family or prints.get(family) != print_ or (kind, measure) != (kpi.kind, kpi.measure):
            continue
        extra_key = by_name[family].extra_key
        if (values is None) != (extra_key is None):
            continue
        slots = [None] if values is None else list(range(len(values)))
        needed = {numerator_column(kpi_id, j) for j in slots} | (
            {denominator_column(kpi_id, j) for j in slots} if kpi.measure != "count" else set())
        if not needed <= columns:
            continue
        if values is not None:
            if not all((family, v) in counts for v in values):
                continue
            keyed[kpi_id] = Keyed(extra_key, tuple(values), tuple(counts[(family, v)] for v in values))
        served[kpi_id] = kpi
    rows = con.execute(f"SELECT u, level, unit, listed FROM wh.{UNIT_TABLE} ORDER BY u").fetchall()
    if not served or not rows or [r[0] for r in rows] != list(range(len(rows))):
        return None
    levels = tuple(r[1] for r in rows)
    ranges: dict[str, tuple[int, int]] = {}
    for i, level in enumerate(levels):
        lo, _ = ranges.get(level, (i, i))
        ranges[level] = (lo, i + 1)
    units = CubeUnits(levels, tuple(r[2] for r in rows), np.array([bool(r[3]) for r in rows]), ranges,
                      {(r[1], r[2]): r[0] for r in rows})
    return Cube(first, last, served, units, keyed)
