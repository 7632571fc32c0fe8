"""GET /kpis' answer written from the cube's columns (api/figures_json.py) is, byte for byte, what
orjson writes of compute_kpis's rows (and of with_targets's for fields=all): over periods of every
shape, every cube level, one unit and all, some KPIs and all (the keyed domain KPI among them), and
targets with every RAG. Where it cannot promise that (a figure counted from the facts, a NaN, a
trend's columns), it gives nothing and the rows are made as before."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from api.figures_json import FiguresJson
from api.response_cache import json_bytes
from kpis import KPIS, KpiConfig, Warehouse, compute_kpis, load_kpi_config, open_warehouse, with_targets
from kpis.compute import compute_kpi_columns
from kpis.cube import FigureColumns


@pytest.fixture(scope="module")
def wh(sample_warehouse: Path) -> Iterator[Warehouse]:
    with open_warehouse(sample_warehouse, cube=True) as opened:
        assert opened.cube is not None
        yield opened


def _periods(extract: dt.date) -> list[tuple[dt.date, dt.date]]:
    """A day, a week, months, a quarter, a year, and 40 periods of every length ending anywhere."""
    out = [(extract, extract), (extract - dt.timedelta(days=6), extract), (extract.replace(day=1), extract),
           (dt.date(2025, 4, 1), dt.date(2025, 6, 30)), (dt.date(2024, 4, 1), dt.date(2025, 3, 31))]
    for i in range(40):
        end = extract - dt.timedelta(days=17 * i)
        out.append((end - dt.timedelta(days=(7 * i) % 120), end))
    return out


def _rows_json(wh: Warehouse, period: tuple[dt.date, dt.date], level: str | tuple[str, ...], unit: str | None,
               kpi_ids: tuple[str, ...] | None, config: KpiConfig | None) -> bytes:
    rows = compute_kpis(wh, *period, level, unit, kpi_ids)
    return json_bytes(with_targets(rows, config) if config is not None else rows)


_WRITERS: dict[int, tuple[KpiConfig, FiguresJson]] = {}


def _columns_json(wh: Warehouse, period: tuple[dt.date, dt.date], level: str | tuple[str, ...], unit: str | None,
                  kpi_ids: tuple[str, ...] | None, config: KpiConfig | None) -> bytes | None:
    """Written by one writer per configuration, as the API keeps one per warehouse version."""
    columns = compute_kpi_columns(wh, *period, level, unit, kpi_ids)
    assert columns is not None  # every figure here is read from the cube
    used = config or wh.config
    writer = _WRITERS.setdefault(id(used), (used, FiguresJson(used)))[1]
    return writer.write(*columns, targets=config is not None)


@pytest.mark.parametrize("fields", ["spec", "all"])
@pytest.mark.parametrize("level", ["trust", "service", "team", ("trust", "service", "team")])
def test_the_answer_written_from_columns_is_the_rows_written_by_orjson(wh: Warehouse, level: str, fields: str) -> None:
    config = wh.config if fields == "all" else None
    for period in _periods(wh.extract_date):
        assert _columns_json(wh, period, level, None, None, config) == _rows_json(wh, period, level, None, None, config)


@pytest.mark.parametrize("kpi_ids", [("allocation_rate",), ("domain_good_or_better",),
                                     ("average_caseload", "open_cases", "domain_good_or_better"), None])
def test_one_unit_and_some_kpis_too(wh: Warehouse, kpi_ids: tuple[str, ...] | None) -> None:
    period = (dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    units = [("trust", "trust"), *(("service", s) for s in wh.units("service")[:2]),
             *(("team", t) for t in wh.units("team")[:3]), ("team", "UNKNOWN")]
    for level, unit in units:
        for config in (None, wh.config):
            assert (_columns_json(wh, period, level, unit, kpi_ids, config)
                    == _rows_json(wh, period, level, unit, kpi_ids, config))


def test_every_rag_and_no_target_are_written_as_with_targets_writes_them(wh: Warehouse) -> None:
    """Targets placed so that each KPI's team figures fall green, amber and red (and on the boundaries,
    where the value is judged as it is shown, rounded), and KPIs with no target at all."""
    period = (dt.date(2025, 1, 1), dt.date(2025, 6, 30))
    rows = compute_kpis(wh, *period, "team")
    targets = {}
    for k in [k for k in KPIS if k.polarity is not None][::2]:  # every other KPI that may have one has none
        values = sorted(r["value"] for r in rows if r["kpi"] == k.id and r["value"] is not None)
        if values:
            middle = values[len(values) // 2]
            targets[k.id] = {"target": middle, "tolerance": (values[-1] - values[0]) / 4}
    config = KpiConfig(targets=targets)
    made = with_targets(rows, config)
    assert {r["rag"] for r in made} >= {"green", "amber", "red", None}
    assert any(r["value"] == r["target"] for r in made)  # on a boundary
    assert _columns_json(wh, period, "team", None, None, config) == json_bytes(made)


def test_nothing_is_promised_where_the_rows_must_be_made(wh: Warehouse) -> None:
    period = (dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    # the worker level is counted from the facts
    assert compute_kpi_columns(wh, *period, "worker") is None
    assert compute_kpi_columns(wh, *period, ("team", "worker")) is None
    # a number that is not finite: the rows are made, and the NaN refused where they are written
    columns, _ = compute_kpi_columns(wh, *period, "team")
    assert FiguresJson(wh.config).write(columns, False, targets=False) is None
    for bad in (math.nan, math.inf):
        nan_target = FiguresJson(KpiConfig(targets={"allocation_rate": {"target": bad}}))
        assert nan_target.write(columns, True, targets=True) is None
        assert nan_target.write(columns, True, targets=False) is not None  # the spec's keys hold no target
    # a trend's columns (each row's period) are not written here
    trend = [FigureColumns("referrals", "trust", ["trust"], [1], [None], [1], (["2025-01-01"], ["2025-01-31"]))]
    assert FiguresJson(wh.config).write(trend, True, targets=False) is None


def test_no_rows_at_all_is_an_empty_list(wh: Warehouse) -> None:
    writer = FiguresJson(load_kpi_config())
    assert writer.write([], True, targets=False) == b"[]" == orjson.dumps([])
    empty = [FigureColumns.empty("referrals", "team"), FigureColumns.empty("open_cases", "team")]
    assert writer.write(empty, True, targets=True) == b"[]"


def test_units_and_key_values_are_written_as_json_strings() -> None:
    """Quotes, commas, backslashes and letters outside ASCII in a unit's name (or a key value) stay
    inside its string: only lists of numbers are split at commas."""
    units = ['Team "A", North', "Équipe \\ 2", "trust"]
    columns = [FigureColumns("allocation_rate", "team", units, [1, 0, 3], [2, 0, 4], [50.0, None, 75.0]),
               FigureColumns("domain_good_or_better", "team", units, [1, 2, 3], [4, 5, 6], [25.0, 40.0, 50.0],
                             keyed=("domain", ["plan, ning", 'x"y', "é"]))]
    rows = [row for c in columns for row in c.rows()]
    config = KpiConfig(targets={"allocation_rate": {"target": 60.0, "tolerance": 20.0}})
    writer = FiguresJson(config)
    for _ in range(2):  # the second time from what the writer kept
        assert writer.write(columns, True, targets=False) == orjson.dumps(rows)
        assert writer.write(columns, True, targets=True) == orjson.dumps(with_targets(rows, config))
        assert writer.write(columns[:1], True, targets=True) == orjson.dumps(with_targets(rows[:3], config))


def test_get_kpis_answers_with_the_columns_and_the_same_bytes(api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over HTTP: the body is the rows' JSON, byte for byte, and it was written from the columns."""
    from api import figures_json as module

    written = []
    write = module.FiguresJson.write

    def counted(self: FiguresJson, *args: object, **kwargs: object) -> bytes | None:
        body = write(self, *args, **kwargs)
        written.append(body is not None)
        return body

    monkeypatch.setattr(module.FiguresJson, "write", counted)
    with open_warehouse(Path(api.env["KPIDASH_DB"])) as opened:
        team = opened.units("team")[0]
        for query, level, unit in (("level=team", "team", None), ("level=service", "service", None),
                                   ("level=trust", "trust", None), (f"level=team&unit={team}", "team", team)):
            for fields in ("spec", "all"):
                url = f"/api/v1/kpis?{query}&from=2025-05-03&to=2025-08-30&fields={fields}"
                response = api.client.get(url, headers=api.auth("analyst"))
                rows = compute_kpis(opened, dt.date(2025, 5, 3), dt.date(2025, 8, 30), level, unit)
                assert response.status_code == 200
                assert response.content == json_bytes(with_targets(rows, opened.config) if fields == "all" else rows)
    assert written == [True] * 8


def test_a_kept_writer_judges_every_value_right_past_its_memory_of_values() -> None:
    """The writer lives as long as a warehouse version and remembers each value's row end (its RAG):
    bounded (forgotten past 4,096 values), and every row still what with_targets writes, for values
    seen before, values never seen, values on and beside the boundaries, and 1 beside 1.0."""
    config = KpiConfig(targets={"allocation_rate": {"target": 90.0, "tolerance": 5.0},
                                "unallocated_cases": {"target": 10.0, "tolerance": 2.0}})
    writer = FiguresJson(config)
    rates = [80.0 + i / 500 for i in range(6_000)] + [90.0, 85.0, 89.95, 84.95, 100.0, 0.0, None]
    counts = [i % 30 for i in range(6_000)] + [10, 8, 1]
    for values in (rates, rates[::-1], rates[:100]):
        columns = [FigureColumns("allocation_rate", "team", [f"T{i}" for i in range(len(values))],
                                 [1] * len(values), [1] * len(values), values),
                   FigureColumns("unallocated_cases", "team", [f"T{i}" for i in range(len(counts))], counts,
                                 [None] * len(counts), [float(c) if c % 2 else c for c in counts])]
        rows = [row for c in columns for row in c.rows()]
        assert writer.write(columns, True, targets=True) == orjson.dumps(with_targets(rows, config))
    kept = writer._targets["allocation_rate"][1]
    assert kept is not None and 0 < len(kept) <= 4096
    assert writer._targets["open_cases"][1] is None  # no target: no RAG to judge
