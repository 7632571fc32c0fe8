"""GET /kpis' answer written from the daily cube's columns (kpis.compute_kpi_columns) instead of from
a dict per row: the same bytes as orjson.dumps of the rows compute_kpis gives, or of with_targets's
rows for `fields=all`, at a fraction of the cost (a team-level answer is 640 rows: making them, adding
the targets to each and writing them were about 0.7 ms of a request's 2 ms).

Every value is written by orjson itself: each KPI's numerators, denominators and values as one list
(then split at its commas: a number or null has none), each unit and key value once, and per KPI
and RAG the row's end (`,"title":...,"rag":...,"national_comparator":...}`) from the very dict
with_targets merges into a row. Only the row's own keys (kpi, level, unit, the key's name, numerator,
denominator, value) are written here, in the order kpis.FigureColumns.rows() gives them
(tests/api/test_figures_json.py compares the bytes over periods, levels, units and KPIs).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat

import orjson

from kpis import KpiConfig
from kpis.cube import FigureColumns
from kpis.targets import Judge, extras_finite, target_extras


def figures_json(columns: Sequence[FigureColumns], finite: bool, targets: Targets | None = None) -> bytes | None:
    """orjson.dumps of the columns' rows, one after another (targets: for with_targets's rows); None
    when a number is not finite (the caller then makes the rows and refuses the NaN as it always has)
    or the columns are a trend's (periods)."""
    if not finite or (targets is not None and not targets.finite):
        return None
    if any(c.periods is not None for c in columns):
        return None
    dumps = orjson.dumps
    names = _Written()  # each unit's and key value's JSON, written once per answer
    blocks = []
    for c in columns:
        if not c.units:
            continue
        if targets is None:
            ends = repeat(b"}")
        else:
            tails, judge = targets.kpis[c.kpi]
            ends = repeat(tails[None]) if judge is None else map(tails.__getitem__, map(judge, c.values))
        row = b'{"kpi":' + dumps(c.kpi) + b',"level":' + dumps(c.level) + b',"unit":%b'
        given = [list(map(names.__getitem__, c.units))]
        if c.keyed is not None:
            row += b"," + dumps(c.keyed[0]) + b":%b"
            given.append(list(map(names.__getitem__, c.keyed[1])))
        row += b',"numerator":%b,"denominator":%b,"value":%b%b'
        given += [_items(c.numerators), _items(c.denominators), _items(c.values), ends]
        blocks.append(b",".join([row % t for t in zip(*given)]))
    return b"[" + b",".join(blocks) + b"]"


def _items(values: list) -> list[bytes]:
    """Each number (or null) of a list as orjson writes it: the list written once, split at its commas."""
    return orjson.dumps(values)[1:-1].split(b",")


class _Written(dict):
    """text -> its JSON, written on first use."""

    def __missing__(self, text: str) -> bytes:
        found = self[text] = orjson.dumps(text)
        return found


class Targets:
    """What with_targets adds to a row, per KPI (kpis.target_extras: made once per warehouse version,
    as the configuration it reads is the version's): the row's end after its value for each RAG, and
    the function judging a value's RAG (None: no target)."""

    def __init__(self, config: KpiConfig) -> None:
        extras = target_extras(config)
        self.finite = extras_finite(extras)  # else the rows are made and their NaN refused, as always
        self.kpis: dict[str, tuple[_Tails, Judge | None]] = {
            kpi: (_Tails(static), judge) for kpi, (static, judge) in extras.items()}


class _Tails(dict):
    """RAG -> a row's end after its value: with_targets's keys (the RAG in its place) as orjson writes them."""

    def __init__(self, static: dict) -> None:
        super().__init__()
        self.static = static

    def __missing__(self, rag: str | None) -> bytes:
        found = self[rag] = b"," + orjson.dumps({**self.static, "rag": rag})[1:]
        return found
