"""GET /kpis' answer written from the daily cube's columns (kpis.compute_kpi_columns) instead of from
a dict per row: the same bytes as orjson.dumps of the rows compute_kpis gives, or of with_targets's
rows for `fields=all`, at a fraction of the cost (a team-level answer is 640 rows: making them, adding
the targets to each and writing them were about 0.7 ms of a request's 2 ms).

Every value is written by orjson itself: each KPI's numerators, denominators and values as one list
(then split at its commas: a number or null has none, each piece carrying the key that follows it),
each row's start up to its numerator (KPI, level, unit, key value) once per warehouse version, and per
KPI and RAG the row's end (`,"title":...,"rag":...,"national_comparator":...}`) from the very dict
with_targets merges into a row. Only the row's own keys (kpi, level, unit, the key's name, numerator,
denominator, value) are written here, in the order kpis.cube.FigureColumns.rows() gives them; a row's
four or five pieces are laid into one list by slices, so no Python code runs per row but the RAG's
judge (tests/api/test_figures_json.py compares the bytes over periods, levels, units and KPIs).
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
        parts: list[bytes] = []
        for c in columns:
            n = len(c.units)
            if not n:
                continue
            heads = self._heads.get((c.kpi, c.level, c.keyed is not None and c.keyed[0]))
            if heads is None:
                heads = self._heads[(c.kpi, c.level, c.keyed is not None and c.keyed[0])] = _Heads(
                    self._text, c.kpi, c.level, None if c.keyed is None else c.keyed[0])
            # a row: its head (up to `"numerator":`), the numerator and `,"denominator":`, the denominator
            # and `,"value":`, the value (and, without targets, the row's end), then the RAG's row end
            width = 5 if targets else 4
            block: list[bytes] = [b""] * (width * n)
            block[0::width] = map(heads.__getitem__, c.units if c.keyed is None else zip(c.units, c.keyed[1]))
            block[1::width] = _items(c.numerators, _DENOMINATOR)
            block[2::width] = _items(c.denominators, _VALUE)
            if targets:
                ends, judge = self._targets[c.kpi]
                block[3::width] = _items(c.values, b"")
                block[4::width] = [ends[None]] * n if judge is None else map(ends.__getitem__, map(judge, c.values))
            else:
                block[3::width] = _items(c.values, b"},")
            parts += block
        if not parts:
            return b"[]"
        parts[-1] = parts[-1][:-1]  # the last row's end without its comma
        return b"[" + b"".join(parts) + b"]"


def _items(values: list, after: bytes) -> list[bytes]:
    """Each number (or null) of a list as orjson writes it, followed by `after`: the list written once,
    its commas (a number or null has none) made `after` and a line end, and split at the line ends."""
    return (orjson.dumps(values)[1:-1] + b",").replace(b",", after + b"\n").split(b"\n")[:-1]


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
