"""The caseload facts have two versions: interval lists (one period: figures and drill-down; trends
over 63 periods) and period masks (trends of 2 to 63 periods). Both must give every figure identically."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from kpis import KPIS, Warehouse, kpi_trend, open_warehouse
from kpis.engine import figures
from kpis.families import CASELOAD, FAMILIES, MASK_PERIODS
from kpis.trends import trend_periods
from kpis.warehouse import LEVELS

LIST_FAMILIES = tuple(dataclasses.replace(f, trend_facts=None) for f in FAMILIES)
CASELOAD_KPIS = [k for k in KPIS if k.family == "caseload"]


@pytest.fixture(scope="module")
def sample(sample_warehouse: Path) -> Warehouse:
    with open_warehouse(sample_warehouse) as opened:
        yield opened


@pytest.mark.slow
@pytest.mark.parametrize(("by", "periods"), [("month", 24), ("week", 53), ("day", 30), ("week", 2)])
def test_masks_and_lists_agree_on_the_sample_trust(sample: Warehouse, by: str, periods: int) -> None:
    trend = trend_periods(by, periods, sample.extract_date)
    masks = figures(sample, trend, LEVELS, KPIS, with_period=True)
    lists = figures(sample, trend, LEVELS, KPIS, with_period=True, families=LIST_FAMILIES)
    assert CASELOAD.facts_for(periods) != LIST_FAMILIES[0].facts_for(periods)  # two versions compared
    assert any(r["kpi"] == "unallocated_cases" and r["numerator"] > 0 for r in masks)  # something to compare
    assert any(r["kpi"] == "average_caseload" and r["level"] == "worker" for r in masks)
    assert masks == lists


def test_masks_and_lists_agree_on_hand_made_cases(everything: Warehouse) -> None:
    for by, end in (("month", dt.date(2025, 11, 23)), ("week", dt.date(2025, 4, 27))):
        trend = trend_periods(by, 12, end)
        masks = figures(everything, trend, LEVELS, CASELOAD_KPIS, with_period=True)
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
