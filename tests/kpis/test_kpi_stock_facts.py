"""The caseload facts have three versions: interval lists (trends over 63 periods), period masks (trends of
2 to 63 periods) and plain joins at the one as-at date (one period: figures and drill-down). All must
give every figure, and the one-period form every drill-down record, identically."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from kpis import KPIS, Warehouse, kpi_records, kpi_trend, open_warehouse
from kpis.engine import figures, single_period
from kpis.families import CASELOAD, FAMILIES, FAMILIES_BY_NAME, MASK_PERIODS
from kpis.trends import trend_periods
from kpis.warehouse import LEVELS

LIST_FAMILIES = tuple(dataclasses.replace(f, trend_facts=None, one_period_facts=None) for f in FAMILIES)
CASELOAD_KPIS = [k for k in KPIS if k.family == "caseload"]


@pytest.fixture(scope="module")
def sample(sample_warehouse: Path) -> Warehouse:
    with open_warehouse(sample_warehouse) as opened:
        yield opened


@pytest.mark.slow
@pytest.mark.parametrize(("by", "periods"), [("month", 24), ("week", 53), ("day", 30), ("week", 2)])
def test_masks_and_lists_agree_on_the_sample_trust(sample: Warehouse, by: str, periods: int) -> None:
    trend = trend_periods(by, periods, sample.extract_date)
    masks = figures(sample, trend, LEVELS, KPIS, with_period=True, families=FAMILIES)
    lists = figures(sample, trend, LEVELS, KPIS, with_period=True, families=LIST_FAMILIES)
    assert CASELOAD.facts_for(periods) != LIST_FAMILIES[0].facts_for(periods)  # two versions compared
    assert any(r["kpi"] == "unallocated_cases" and r["numerator"] > 0 for r in masks)  # something to compare
    assert any(r["kpi"] == "average_caseload" and r["level"] == "worker" for r in masks)
    assert masks == lists


def test_masks_and_lists_agree_on_hand_made_cases(everything: Warehouse) -> None:
    for by, end in (("month", dt.date(2025, 11, 23)), ("week", dt.date(2025, 4, 27))):
        trend = trend_periods(by, 12, end)
        masks = figures(everything, trend, LEVELS, CASELOAD_KPIS, with_period=True, families=FAMILIES)
        lists = figures(everything, trend, LEVELS, CASELOAD_KPIS, with_period=True, families=LIST_FAMILIES)
        assert masks == lists


def test_a_trend_longer_than_a_mask_ends_as_the_shorter_one(everything: Warehouse) -> None:
    end = dt.date(2025, 11, 23)
    long = kpi_trend(everything, None, by="week", periods=MASK_PERIODS + 7, level="team", date_to=end)
    short = kpi_trend(everything, None, by="week", periods=MASK_PERIODS, level="team", date_to=end)
    last = {(r["period_start"], r["period_end"]) for r in short}
    assert len(last) == MASK_PERIODS
    assert [r for r in long if (r["period_start"], r["period_end"]) in last] == short
    assert any(r["kpi"] == "open_cases" and r["numerator"] > 0 for r in short)


@pytest.mark.parametrize("as_at", ["2025-11-23", "2025-06-30", "2024-12-25", "2023-01-01"])
def test_one_period_facts_and_lists_agree_on_the_sample_trust(sample: Warehouse, as_at: str) -> None:
    day = dt.date.fromisoformat(as_at)
    period = single_period(day.replace(day=1), day)
    assert CASELOAD.facts_for(1) != LIST_FAMILIES[0].facts_for(1)
    one = figures(sample, period, LEVELS, CASELOAD_KPIS, families=FAMILIES)
    lists = figures(sample, period, LEVELS, CASELOAD_KPIS, families=LIST_FAMILIES)
    assert any(r["kpi"] == "unallocated_cases" and r["numerator"] > 0 for r in one)
    assert one == lists


def _records_with(monkeypatch: pytest.MonkeyPatch, wh: Warehouse, kpi: str, unit: str, day: dt.date,
                  one_period: bool) -> list[dict]:
    if not one_period:
        monkeypatch.setitem(FAMILIES_BY_NAME, "caseload", LIST_FAMILIES[0])
    try:
        return kpi_records(wh, kpi, unit, day.replace(day=1), day)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("kpi", [k.id for k in CASELOAD_KPIS])
def test_one_period_drill_down_lists_the_same_records(sample: Warehouse, monkeypatch: pytest.MonkeyPatch,
                                                      kpi: str) -> None:
    day = sample.extract_date
    team = sample.teams()[0]["team_id"]
    for unit in ("trust", team):
        one = _records_with(monkeypatch, sample, kpi, unit, day, one_period=True)
        lists = _records_with(monkeypatch, sample, kpi, unit, day, one_period=False)
        assert one == lists and (one or kpi == "workers_over_caseload_limit")


def test_one_period_facts_and_lists_agree_on_hand_made_cases(everything: Warehouse,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for as_at in ("2025-11-23", "2025-11-24", "2025-04-27", "2025-01-01"):
        day = dt.date.fromisoformat(as_at)
        period = single_period(day, day)
        assert figures(everything, period, LEVELS, CASELOAD_KPIS, families=FAMILIES) == figures(
            everything, period, LEVELS, CASELOAD_KPIS, families=LIST_FAMILIES)
        for kpi in CASELOAD_KPIS:
            for unit in ("trust", "T1", "T3"):
                assert (_records_with(monkeypatch, everything, kpi.id, unit, day, one_period=True)
                        == _records_with(monkeypatch, everything, kpi.id, unit, day, one_period=False))
