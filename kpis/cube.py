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
from typing import NamedTuple

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
# From this many candidate rows (column pairs x units x periods) a level's rows are made KPI by KPI:
# whole-array passes over every row at once cost more than they save on a national trend's millions
# of rows (2x slower), and save 60% on a request's few hundred.
PER_KPI_FROM = 50_000


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
        self._held: tuple[np.ndarray, dict[str, int]] | None = None  # every column, once read: see _in_memory
        self._all_columns: tuple[str, ...] | None = None  # every column of the KPIs it serves, in order
        self._layouts: dict[tuple[str, ...], _Layout] = {}
        self._orders: dict[tuple, tuple] = {}  # see _row_order
        self._lock = threading.Lock()

    def columns(self, kpi: Kpi) -> list[tuple[str, str | None]]:
        """The KPI's (numerator, denominator) column pairs: one, or one per key value (None: a count)."""
        slots = [None] if kpi.id not in self.keyed else list(range(len(self.keyed[kpi.id].values)))
        return [(numerator_column(kpi.id, j), denominator_column(kpi.id, j) if kpi.measure != "count" else None)
                for j in slots]

    def _in_memory(self, cursor: duckdb.DuckDBPyConnection) -> tuple[np.ndarray, dict[str, int]] | None:
        """The whole cube as one array (day, column, unit) of doubles and each column's place in it, when
        it is small (a trust's: a few megabytes): a figure is then one array look-up instead of a query
        (whose planning alone costs more). A national cube is queried day by day instead. Read on first
        use, once. (Doubles hold every count exactly: they are far below 2**53.)"""
        n_days, n_units = (self.last - self.first).days + 1, len(self.units.names)
        columns = self._all_columns
        if columns is None:  # worked out once: a request asks this every time
            columns = self._all_columns = tuple(
                c for k in self.kpis.values() for pair in self.columns(k) for c in pair if c is not None)
        if n_days * n_units * len(columns) * 8 > IN_MEMORY_BYTES:
            return None
        if self._held is not None:
            return self._held
        with self._lock:
            if self._held is None:
                quoted = ", ".join(f'"{c}"' for c in columns)
                got = cursor.execute(f"SELECT {quoted} FROM wh.{CUBE_TABLE} ORDER BY d, u").fetchnumpy()
                held = np.empty((n_days, len(columns), n_units))
                for i, c in enumerate(columns):
                    held[:, i, :] = np.asarray(got[c], dtype=np.float64).reshape(n_days, n_units)
                self._held = (held, {c: i for i, c in enumerate(columns)})
        return self._held

    def _layout(self, kpis: Sequence[Kpi]) -> _Layout:
        """Where the KPIs' column pairs are in a grid of their columns (cached: a request asks for the
        same KPIs again and again)."""
        ids = tuple(k.id for k in kpis)
        found = self._layouts.get(ids)
        if found is None:
            columns: list[str] = []
            num, den, kpi_of, key_of, measure, spans = [], [], [], [], [], []
            for i, k in enumerate(kpis):
                s = len(num)
                for j, (n, d) in enumerate(self.columns(k)):
                    num.append(len(columns))
                    columns.append(n)
                    den.append(-1 if d is None else len(columns))
                    if d is not None:
                        columns.append(d)
                    kpi_of.append(i)
                    key_of.append(j)
                    measure.append(_MEASURES.index(k.measure))
                spans.append((s, len(num)))
            flow = np.zeros(len(columns), dtype=bool)
            for k, (s, e) in zip(kpis, spans):
                if k.kind == "flow":
                    flow[num[s:e]] = True
                    flow[[d for d in den[s:e] if d >= 0]] = True
            found = _Layout(tuple(columns), flow, np.array(num, dtype=np.intp), np.array(den, dtype=np.intp),
                            np.array(kpi_of, dtype=np.intp), np.array(key_of, dtype=np.intp),
                            np.array(measure, dtype=np.intp), tuple(spans))
            if len(self._layouts) < 256:
                self._layouts[ids] = found
        return found

    def _grid(self, cursor: duckdb.DuckDBPyConnection, days: Sequence[dt.date], columns: Sequence[str], lo: int,
              hi: int) -> np.ndarray:
        """(day, column, unit) doubles of the columns on the days (in the order given, repeats allowed),
        for units [lo, hi)."""
        held = self._in_memory(cursor)
        if held is not None:
            matrix, place = held
            rows = np.array([(d - self.first).days for d in days], dtype=np.intp)
            return matrix[rows[:, None], np.array([place[c] for c in columns], dtype=np.intp)[None, :], lo:hi]
        distinct = sorted(set(days))
        listed_days = ", ".join(f"DATE '{d.isoformat()}'" for d in distinct)
        sql = (f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)} FROM wh.{CUBE_TABLE} "
               f"WHERE d IN ({listed_days}) AND u >= {lo} AND u < {hi} ORDER BY d, u")
        fetched = cursor.execute(sql).fetchnumpy()
        grid = np.empty((len(distinct), len(columns), hi - lo))
        for i, c in enumerate(columns):
            grid[:, i, :] = np.asarray(fetched[c], dtype=np.float64).reshape(len(distinct), hi - lo)
        if list(days) == distinct:
            return grid
        row_of = {d: i for i, d in enumerate(distinct)}
        return grid[np.array([row_of[d] for d in days], dtype=np.intp)]

    def serves(self, kpi: Kpi, bounds: Sequence[tuple[dt.date, dt.date]]) -> bool:
        """Whether every period's figure of the KPI is in the cube (stock: its end; flow: the day
        before its start and its end)."""
        return kpi.id in self.served([kpi], bounds)

    def served(self, kpis: Sequence[Kpi], bounds: Sequence[tuple[dt.date, dt.date]]) -> set[str]:
        """The ids of the KPIs whose every period's figure is in the cube: serves() for many KPIs at once
        (the periods looked at once, not once per KPI)."""
        stock = all(self.first <= end <= self.last for _, end in bounds)
        flow = stock and all(start - dt.timedelta(days=1) >= self.first for start, _ in bounds)
        return {k.id for k in kpis if k.id in self.kpis and (flow if k.kind == "flow" else stock)}

    def figures(
        self, cursor: duckdb.DuckDBPyConnection, bounds: Sequence[tuple[dt.date, dt.date]], levels: Sequence[str],
        kpis: Sequence[Kpi], unit: str | None, dates: Sequence[tuple[str, str]] | None,
    ) -> tuple[dict[tuple[str, str], FigureColumns], bool]:
        """(kpi id, level) -> the figure rows of that KPI at that level, for every period (rows per
        unit, then key value, periods in order), as the engine gives them but column by column
        (FigureColumns.rows() makes the rows), and whether every number in them is finite (looked at
        on the arrays, where it costs nothing). levels: trust, service or team only.

        Every KPI at once: one look-up of all their columns, the arithmetic on whole arrays, then the
        rows made in one pass per KPI (a request's cost is then the rows it returns, not its KPIs)."""
        units = self.units
        if unit is not None:
            u = units.index.get((levels[0], unit))
            if u is None:  # a unit with nothing the cube counts (UNKNOWN with no records): no rows
                return {}, True
            spans = {levels[0]: (u, u + 1)}
        else:
            spans = {lv: units.ranges[lv] for lv in levels if lv in units.ranges}
        if not spans:
            return {}, True
        layout = self._layout(kpis)
        out: dict[tuple[str, str], FigureColumns] = {}
        if not layout.columns:  # keyed KPIs whose family has no key values: no rows, as the engine
            return {(k.id, level): FigureColumns.empty(k.id, level) for level in spans for k in kpis}, True
        lo, hi = min(s[0] for s in spans.values()), max(s[1] for s in spans.values())
        n_p = len(bounds)
        flows = bool(layout.flow.any())
        ends = [end for _, end in bounds]
        befores = [start - dt.timedelta(days=1) for start, _ in bounds] if flows else []
        grid = self._grid(cursor, ends + befores, layout.columns, lo, hi)
        values = grid[:n_p]
        if flows:  # flow: the running total at the period's end less the one the day before it starts
            values = values - np.where(layout.flow[None, :, None], grid[n_p:], 0.0)
        # (pair, unit, period): a KPI's rows are its units, then key values, then periods
        num_all = values[:, layout.num, :].transpose(1, 2, 0)
        den_all = values[:, np.maximum(layout.den, 0), :].transpose(1, 2, 0)
        den_all[layout.den < 0] = 0.0  # counts have no denominator
        present = np.ones((len(layout.num), n_p), dtype=bool)  # key values with facts rows in the period
        keyed = [(self.keyed[k.id], s, e) for k, (s, e) in zip(kpis, layout.spans) if k.id in self.keyed and e > s]
        if keyed:  # the periods' days, once for every keyed KPI
            end_days = np.array([(d - self.first).days for d in ends])
            before_days = np.array([(d - self.first).days for d in befores])
            for key, s, e in keyed:
                present[s:e] = np.stack([(r[end_days] - r[before_days]) > 0 for r in key.rows])
        starts = np.array([s for s, _ in dates], dtype=object) if dates is not None else None
        stops = np.array([e for _, e in dates], dtype=object) if dates is not None else None
        finite = bool(np.isfinite(values).all())
        for level, (a, b) in spans.items():
            if len(layout.num) * (b - a) * n_p >= PER_KPI_FROM:  # a large result: KPI by KPI (see PER_KPI_FROM)
                for k, (s, e) in zip(kpis, layout.spans):
                    num = num_all[s:e, a - lo:b - lo, :].transpose(1, 0, 2)  # unit by key value by period
                    den = den_all[s:e, a - lo:b - lo, :].transpose(1, 0, 2)
                    if e == s:  # a keyed KPI whose family has no key values: no rows, as the engine
                        out[(k.id, level)] = FigureColumns.empty(k.id, level)
                        continue
                    rows, finite_values = _per_kpi_rows(k, level, units.names[a:b], units.listed[a:b], num, den,
                                                        present[s:e], dates, self.keyed.get(k.id))
                    out[(k.id, level)] = rows
                    finite = finite and finite_values
                continue
            rows, finite_values = self._level_rows(kpis, layout, level, units.names[a:b], units.listed[a:b],
                                                   num_all[:, a - lo:b - lo, :], den_all[:, a - lo:b - lo, :],
                                                   present, starts, stops)
            out.update(rows)
            finite = finite and finite_values
        return out, finite

    def _row_order(self, spans: tuple[tuple[int, int], ...], n_pairs: int, n_units: int, n_p: int
                   ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        """The flat place of each row in (pair, unit, period), in the engine's order (KPI, unit, key,
        period; None: that order already), and each row's pair, unit and period. Kept per shape: a
        request asks for the same KPIs at the same level again and again (read, never written to)."""
        shape = (spans, n_pairs, n_units, n_p)
        found = self._orders.get(shape)
        if found is not None:
            return found
        block = n_units * n_p
        keyed_spans = [(s, e) for s, e in spans if e - s > 1]
        if not keyed_spans:
            order = None
            pair = np.repeat(np.arange(n_pairs), block)
            rest = np.tile(np.arange(block), n_pairs)
        else:
            pieces, plain = [], 0  # the pairs of unkeyed KPIs before the next keyed one: in place already
            for s, e in keyed_spans:
                pieces.append(np.arange(plain * block, s * block))
                grid = (np.arange(n_units)[:, None, None] * n_p + np.arange(s, e)[None, :, None] * block
                        + np.arange(n_p)[None, None, :])
                pieces.append(grid.ravel())
                plain = e
            pieces.append(np.arange(plain * block, n_pairs * block))
            order = np.concatenate(pieces)
            pair, rest = np.divmod(order, block)
        u, p = np.divmod(rest, n_p)
        found = (order, pair, u, p)
        for a in found:
            if a is not None:
                a.flags.writeable = False
        if len(self._orders) < 256:
            self._orders[shape] = found
        return found

    def _level_rows(self, kpis: Sequence[Kpi], layout: _Layout, level: str, names: Sequence[str],
                    listed: np.ndarray, num: np.ndarray, den: np.ndarray, present: np.ndarray,
                    starts: np.ndarray | None, stops: np.ndarray | None
                    ) -> tuple[dict[tuple[str, str], FigureColumns], bool]:
        """Every KPI's rows at one level (num, den: pair by unit by period), with the engine's JSON types,
        where the engine has a row: every listed unit (for each key value with facts in the period), an
        unlisted one (UNKNOWN) only where its numerator or denominator is not 0; and whether every value
        worked out (n / d) is finite. A national trend makes a million rows here, so each is one dict
        display and nothing else."""
        order, pair, u, p = self._row_order(layout.spans, *num.shape)
        n = num.ravel() if order is None else num.ravel()[order]
        d = den.ravel() if order is None else den.ravel()[order]
        keep = (listed[u] & present[pair, p]) | (n > 0) | (d > 0)
        if not keep.all():
            n, d, pair, u, p = n[keep], d[keep], pair[keep], u[keep], p[keep]
        measure = layout.measure[pair]
        # Python numbers only where rows show them: a denominator and a worked-out value for rates and
        # ratios (a count's value is its numerator), each list holding its measure's rows in order
        rate, ratio = measure == _RATE, measure == _RATIO
        shown = rate | ratio
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a damaged cube's NaN: not finite
            xs = n.astype(np.int64).tolist()
            worked_out = np.where(rate, 100 * n, n)[shown] / d[shown]
            d_int = d[rate].astype(np.int64).tolist()
        finite = bool(np.isfinite(worked_out[d[shown] != 0]).all())
        vf = worked_out.tolist()
        d_float = d[ratio].tolist()
        for j in np.flatnonzero(d[shown] == 0).tolist():
            vf[j] = None
        us = np.array(names, dtype=object)[u].tolist()
        ss = starts[p].tolist() if starts is not None else None
        es = stops[p].tolist() if stops is not None else None
        at_kpi = np.searchsorted(layout.kpi_of[pair], np.arange(len(kpis) + 1))
        bounds = at_kpi.tolist()
        # where each KPI's rows start in those lists (a KPI's rows are all of one measure), per KPI
        before = {name: np.concatenate(([0], np.cumsum(mask)))[at_kpi[:-1]].tolist()
                  for name, mask in (("rate", rate), ("ratio", ratio), ("shown", shown))}
        out: dict[tuple[str, str], FigureColumns] = {}
        for i, k in enumerate(kpis):
            a, b = bounds[i], bounds[i + 1]
            kid = k.id
            x = xs[a:b]
            if k.measure == "count":
                y, v = [None] * (b - a), x
            else:
                at, shown_at = before[k.measure][i], before["shown"][i]
                y = (d_int if k.measure == "rate" else d_float)[at:at + b - a]
                v = vf[shown_at:shown_at + b - a]
            key = self.keyed.get(kid)
            keyed = (key.name, np.array(key.values, dtype=object)[layout.key_of[pair[a:b]]].tolist()) if key else None
            periods = (ss[a:b], es[a:b]) if ss is not None else None
            out[(kid, level)] = FigureColumns(kid, level, us[a:b], x, y, v, periods, keyed)
        return out, finite


def _per_kpi_rows(kpi: Kpi, level: str, names: Sequence[str], listed: np.ndarray, num: np.ndarray,
                   den: np.ndarray, present: np.ndarray, dates: Sequence[tuple[str, str]] | None, key: Keyed | None
                   ) -> tuple[FigureColumns, bool]:
    """One KPI's rows at one level (num, den: unit by key value by period), with the engine's JSON
    types, where the engine has a row: every listed unit (for each key value with facts in the
    period), an unlisted one (UNKNOWN) only where its numerator or denominator is not 0. A national
    trend makes a million rows here, so each is one dict display and nothing else. Also: whether every
    worked-out value is finite. Used for large results (Cube._level_rows: small ones)."""
    n_units, n_keys, n_periods = num.shape
    n, d = num.ravel(), den.ravel()
    keep = (np.repeat(listed, n_keys * n_periods) & np.tile(present.ravel(), n_units)) | (n > 0) | (d > 0)
    every = bool(keep.all())
    if not every:
        n, d = n[keep], d[keep]
    picked = (lambda a: a) if every else (lambda a: a[keep])
    xs, ys, vs, finite = kpi_numbers(kpi.measure, n, d)
    us = picked(np.repeat(np.array(names, dtype=object), n_keys * n_periods)).tolist()
    periods = None
    if dates is not None:
        periods = (picked(np.tile(np.array([s for s, _ in dates], dtype=object), n_units * n_keys)).tolist(),
                   picked(np.tile(np.array([e for _, e in dates], dtype=object), n_units * n_keys)).tolist())
    keyed = None
    if key is not None:
        keyed = (key.name, picked(np.tile(np.repeat(np.array(key.values, dtype=object), n_periods), n_units)).tolist())
    return FigureColumns(kpi.id, level, us, xs, ys, vs, periods, keyed), finite


def kpi_numbers(measure: str, n: np.ndarray, d: np.ndarray) -> tuple[list, list, list, bool]:
    """One KPI's numerators, denominators and values in the spec's JSON types (counts: int with a null
    denominator; rates: int/int, 100 x n / d; caseload: int/float), null where there is nothing to
    divide; and whether every worked-out value is finite. The one place that arithmetic is written:
    rows from the cube and from the facts agree by construction."""
    xs = n.astype(np.int64).tolist()
    if measure == "count":
        return xs, [None] * len(xs), xs, True
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if measure == "rate":
            ys, worked_out = d.astype(np.int64).tolist(), 100 * n.astype(np.int64) / d
        else:
            ys, worked_out = d.astype(np.float64).tolist(), n.astype(np.int64) / d
    finite = bool(np.isfinite(worked_out[d != 0]).all())
    vs = worked_out.tolist()
    for j in np.flatnonzero(d == 0).tolist():
        vs[j] = None
    return xs, ys, vs, finite


class FigureColumns(NamedTuple):
    """One KPI's rows at one level, column by column (each list a row's value, rows in the engine's
    order): what the cube works out, before any dict is made. keyed: the key's name and each row's
    value (domain_good_or_better's domain); periods: each row's period start and end (a trend's)."""

    kpi: str
    level: str
    units: list
    numerators: list
    denominators: list
    values: list
    periods: tuple[list, list] | None = None
    keyed: tuple[str, list] | None = None

    @classmethod
    def empty(cls, kpi: str, level: str) -> FigureColumns:
        return cls(kpi, level, [], [], [], [])

    def rows(self) -> list[dict]:
        """The rows, with the engine's keys in the engine's order: the period's start and end first (a
        trend's), the key value after the unit (keyed: its name and values). One comprehension per
        shape, so that a row is one dict display and nothing else."""
        kid, level, units, numerators, denominators, values, periods, keyed = self
        if keyed is None:
            if periods is None:
                return [{"kpi": kid, "level": level, "unit": u, "numerator": x, "denominator": y, "value": v}
                        for u, x, y, v in zip(units, numerators, denominators, values)]
            return [{"period_start": a, "period_end": b, "kpi": kid, "level": level, "unit": u,
                     "numerator": x, "denominator": y, "value": v}
                    for a, b, u, x, y, v in zip(*periods, units, numerators, denominators, values)]
        name, keys = keyed
        if periods is None:
            return [{"kpi": kid, "level": level, "unit": u, name: k, "numerator": x, "denominator": y, "value": v}
                    for u, k, x, y, v in zip(units, keys, numerators, denominators, values)]
        return [{"period_start": a, "period_end": b, "kpi": kid, "level": level, "unit": u, name: k,
                 "numerator": x, "denominator": y, "value": v}
                for a, b, u, k, x, y, v in zip(*periods, units, keys, numerators, denominators, values)]


_MEASURES = ("count", "rate", "ratio")
_RATE, _RATIO = 1, 2


@dataclass(frozen=True)
class _Layout:
    """The asked KPIs' columns as gathered (each once), and per column pair (a KPI's, or one per key
    value): the places of its numerator and denominator (-1: a count), its KPI, key value and measure;
    per KPI its pairs [s, e)."""

    columns: tuple[str, ...]
    flow: np.ndarray  # per column: a flow KPI's (running totals)
    num: np.ndarray
    den: np.ndarray
    kpi_of: np.ndarray
    key_of: np.ndarray
    measure: np.ndarray
    spans: tuple[tuple[int, int], ...]


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
