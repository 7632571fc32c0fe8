"""GET /kpis' answer written from the daily cube's columns (kpis.compute_kpi_columns) instead of from
a dict per row: the same bytes as orjson.dumps of the rows compute_kpis gives, or of with_targets's
rows for `fields=all`, at a fraction of the cost (a team-level answer is 640 rows: making them, adding
the targets to each and writing them were about 0.7 ms of a request's 2 ms).

Every value is written by orjson itself: all the answer's numerators, denominators and values as one
list (then split at its commas: a number or null has none), each row's start up to its numerator
(`{"kpi":...,"level":...,"unit":...,"numerator":`, with the key value where there is one) once per
warehouse version, and per KPI and RAG the row's end (`,"title":...,"rag":...,"national_comparator":...}`)
from the very dict with_targets merges into a row. Only the row's own keys (kpi, level, unit, the key's
name, numerator, denominator, value) are written here, in the order kpis.cube.FigureColumns.rows() gives
them; the rows' seven pieces are laid into one list by slices, the whole answer at once, so no Python
code runs per row but the RAG's judge, and little per KPI (tests/api/test_figures_json.py compares the
bytes over periods, levels, units and KPIs).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import orjson

from kpis import KpiConfig
from kpis.cube import FigureColumns
from kpis.targets import Judge, extras_finite, target_extras

_NUMERATOR, _DENOMINATOR, _VALUE = b',"numerator":', b',"denominator":', b',"value":'


class FiguresJson:
    """The writer of one warehouse version's answers (its KPI configuration's targets; the JSON of its
    units, key values and each KPI's row ends, written once and kept: api.live_warehouse.memoised)."""

    def __init__(self, config: KpiConfig) -> None:
        extras = target_extras(config)
        self.targets_finite = extras_finite(extras)  # else the rows are made and the NaN refused, as always
        self._targets: dict[str, tuple[_Ends, _EndOf | None]] = {}
        for kpi, (static, judge) in extras.items():
            ends = _Ends(static)
            self._targets[kpi] = (ends, None if judge is None else _EndOf(ends, judge))
        self._text = _Written()  # a unit's, key value's, KPI's or level's JSON string
        self._heads: dict[tuple[str, str, str | bool], _Heads] = {}  # per KPI, level and key: each row's start

    def write(self, columns: Sequence[FigureColumns], finite: bool, targets: bool) -> bytes | None:
        """orjson.dumps of the columns' rows, one after another (targets: of with_targets's rows); None
        when a number is not finite (the caller then makes the rows and refuses the NaN as it always
        has) or the columns are a trend's (periods)."""
        if not finite or (targets and not self.targets_finite):
            return None
        if any(c.periods is not None for c in columns):
            return None
        columns = [c for c in columns if c.units]
        if not columns:
            return b"[]"
        heads = self._heads
        starts = []  # each row's start up to `"numerator":` (KPI, level, unit, key value), KPI by KPI
        for c in columns:
            at = (c.kpi, c.level, c.keyed is not None and c.keyed[0])
            kept = heads.get(at)
            if kept is None:
                kept = heads[at] = _Heads(self._text, c.kpi, c.level, None if c.keyed is None else c.keyed[0])
            starts.append(map(kept.__getitem__, c.units if c.keyed is None else zip(c.units, c.keyed[1])))
        if targets:
            ends = []  # each row's end: with_targets's keys after the value, its RAG in its place
            for c in columns:
                kpi_ends, end_of = self._targets[c.kpi]
                ends.append([kpi_ends[None]] * len(c.units) if end_of is None else map(end_of.__getitem__, c.values))
        # every number of the answer written by orjson at once (numerators, then denominators, then
        # values), split at the commas: a number or null has none
        numbers = orjson.dumps([*chain.from_iterable(c.numerators for c in columns),
                                *chain.from_iterable(c.denominators for c in columns),
                                *chain.from_iterable(c.values for c in columns)])[1:-1].split(b",")
        n = len(numbers) // 3
        block: list[bytes] = [b""] * (7 * n)
        block[0::7] = chain.from_iterable(starts)
        block[1::7] = numbers[:n]
        block[2::7] = [_DENOMINATOR] * n
        block[3::7] = numbers[n:2 * n]
        block[4::7] = [_VALUE] * n
        block[5::7] = numbers[2 * n:]
        block[6::7] = chain.from_iterable(ends) if targets else [b"},"] * n
        block[0] = b"[" + block[0]
        block[-1] = block[-1][:-1] + b"]"  # the last row's end without its comma
        return b"".join(block)  # (one copy of the answer: b"[" + ... + b"]" made two more)


class _Heads(dict):
    """unit (keyed: (unit, key value)) -> a row's start up to its numerator, `{"kpi":...,"numerator":`,
    written on first use (one per KPI, level and unit of a warehouse version)."""

    def __init__(self, text: _Written, kpi: str, level: str, key: str | None) -> None:
        super().__init__()
        self.text = text
        self.start = b'{"kpi":' + text[kpi] + b',"level":' + text[level] + b',"unit":'
        self.key = None if key is None else b"," + text[key] + b":"

    def __missing__(self, unit: str | tuple[str, str]) -> bytes:
        if self.key is None:
            found = self.start + self.text[unit] + _NUMERATOR
        else:
            found = self.start + self.text[unit[0]] + self.key + self.text[unit[1]] + _NUMERATOR
        self[unit] = found
        return found


class _Written(dict):
    """text -> its JSON string, written on first use."""

    def __missing__(self, text: str) -> bytes:
        found = self[text] = orjson.dumps(text)
        return found


class _Ends(dict):
    """RAG -> a row's end after its value, and the comma before the next row: with_targets's keys (the
    RAG in its place) as orjson writes them."""

    def __init__(self, static: dict) -> None:
        super().__init__()
        self.static = static

    def __missing__(self, rag: str | None) -> bytes:
        found = self[rag] = b"," + orjson.dumps({**self.static, "rag": rag})[1:] + b","
        return found


class _EndOf(dict):
    """value -> its row's end (its RAG judged): a value seen before is one dict look-up, no call (a KPI's
    values repeat from one period to the next: small counts and their ratios). Kept for a warehouse
    version's life, so bounded; equal numbers (1 and 1.0) share an entry, as they share a RAG."""

    def __init__(self, ends: _Ends, judge: Judge) -> None:
        super().__init__()
        self.ends = ends
        self.judge = judge

    def __missing__(self, value: float | None) -> bytes:
        if len(self) >= 4096:
            self.clear()
        found = self[value] = self.ends[self.judge(value)]
        return found
