"""The API's JSON writer refuses NaN and infinities wherever they are, unless the payload is figure rows
already seen to be finite where they were made (kpis.FiniteRows); with_targets keeps that promise only
when what it adds (targets, tolerances, comparators from the configuration file) is finite too."""

from __future__ import annotations

import math

import orjson
import pytest

from api.response_cache import json_bytes
from kpis import KpiConfig, with_targets
from kpis.finite import FiniteRows

ROW = {"kpi": "allocation_rate", "level": "trust", "unit": "trust", "numerator": 3, "denominator": 4, "value": 75.0}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("where", ["row", "nested list", "dict", "tuple"])
def test_nan_and_infinities_are_refused_anywhere(bad: float, where: str) -> None:
    payload = {"row": [{**ROW, "value": bad}], "nested list": [[1, [2.0, bad]]], "dict": {"a": {"b": bad}},
               "tuple": [(1, bad)]}[where]
    with pytest.raises(ValueError, match="not JSON"):
        json_bytes(payload)


def test_finite_rows_are_written_as_plain_rows() -> None:
    rows = [dict(ROW), {**ROW, "unit": "null", "value": None}]
    assert json_bytes(FiniteRows(rows)) == json_bytes(rows) == orjson.dumps(rows)


def test_with_targets_keeps_the_promise_only_for_finite_targets() -> None:
    finite = FiniteRows([dict(ROW)])
    assert type(with_targets(finite, KpiConfig(targets={"allocation_rate": {"target": 90.0}}))) is FiniteRows
    assert type(with_targets([dict(ROW)], KpiConfig())) is list  # no promise given, none passed on
    for bad in (math.nan, math.inf):
        rows = with_targets(finite, KpiConfig(targets={"allocation_rate": {"target": bad}}))
        assert type(rows) is list
        with pytest.raises(ValueError, match="not JSON"):
            json_bytes(rows)


def test_non_string_keys_are_still_written() -> None:
    import datetime as dt

    assert json_bytes({dt.date(2025, 1, 2): 1, 3: "x"}) == b'{"2025-01-02":1,"3":"x"}'
