"""GET /kpis' answer written from the daily cube's columns (kpis.compute_kpi_columns) instead of from
a dict per row: the same bytes as orjson.dumps of the rows compute_kpis gives, or of with_targets's
rows for `fields=all`, at a fraction of the cost (a team-level answer is 640 rows: making them, adding
the targets to each and writing them were about 0.7 ms of a request's 2 ms).

Every value is written by orjson itself: each KPI's numerators, denominators and values as one list
(then split at its commas: a number or null has none), each unit and key value once per warehouse
version, and per KPI and RAG the row's end (`,"title":...,"rag":...,"national_comparator":...}`) from
the very dict with_targets merges into a row. Only the row's own keys (kpi, level, unit, the key's
name, numerator, denominator, value) are written here, in the order kpis.cube.FigureColumns.rows()
gives them; a row's pieces are laid into one list by slices, so no Python code runs per row but the
RAG's judge (tests/api/test_figures_json.py compares the bytes over periods, levels, units and KPIs).
"""

from __future__ import annotations

from collections.abc import Sequence

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
        self._targets: dict[str, tuple[_Ends, Judge | None]] = {
            kpi: (_Ends(static), judge) for kpi, (static, judge) in extras.items()}
        self._plain = _Ends(None)
        self._text = _Written()  # a unit's, key value's, KPI's or level's JSON string

    def write(self, columns: Sequence[FigureColumns], finite: bool, targets: bool) -> bytes | None:
        """orjson.dumps of the columns' rows, one after another (targets: of with_targets's rows); None
        when a number is not finite (the caller then makes the rows and refuses the NaN as it always
        has) or the columns are a trend's (periods)."""
        if not finite or (targets and not self.targets_finite):
            return None
        if any(c.periods is not None for c in columns):
            return None
        text = self._text.__getitem__
        parts: list[bytes] = []
        for c in columns:
            n = len(c.units)
            if not n:
                continue
            if targets:
                ends, judge = self._targets[c.kpi]
                row_ends = [ends[None]] * n if judge is None else list(map(ends.__getitem__, map(judge, c.values)))
            else:
                row_ends = [self._plain[None]] * n
            width = 9 if c.keyed is None else 11
            block = [b'{"kpi":' + text(c.kpi) + b',"level":' + text(c.level) + b',"unit":'] * (width * n)
            block[1::width] = map(text, c.units)
            at = 2
            if c.keyed is not None:
                block[2::width] = [b"," + text(c.keyed[0]) + b":"] * n
                block[3::width] = map(text, c.keyed[1])
                at = 4
            block[at::width] = [_NUMERATOR] * n
            block[at + 1::width] = _items(c.numerators)
            block[at + 2::width] = [_DENOMINATOR] * n
            block[at + 3::width] = _items(c.denominators)
            block[at + 4::width] = [_VALUE] * n
            block[at + 5::width] = _items(c.values)
            block[at + 6::width] = row_ends
            parts += block
        if not parts:
            return b"[]"
        parts[-1] = parts[-1][:-1]  # the last row's end without its comma
        return b"[" + b"".join(parts) + b"]"


def _items(values: list) -> list[bytes]:
    """Each number (or null) of a list as orjson writes it: the list written once, split at its commas."""
    return orjson.dumps(values)[1:-1].split(b",")


class _Written(dict):
    """text -> its JSON string, written on first use."""

    def __missing__(self, text: str) -> bytes:
        found = self[text] = orjson.dumps(text)
        return found


class _Ends(dict):
    """RAG -> a row's end after its value, and the comma before the next row: with_targets's keys (the
    RAG in its place) as orjson writes them, or only the closing brace (static None: the spec's keys)."""

    def __init__(self, static: dict | None) -> None:
        super().__init__()
        self.static = static

    def __missing__(self, rag: str | None) -> bytes:
        if self.static is None:
            found = self[rag] = b"},"
        else:
            found = self[rag] = b"," + orjson.dumps({**self.static, "rag": rag})[1:] + b","
        return found
