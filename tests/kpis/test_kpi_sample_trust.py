"""The sample trust: every figure reconciles to its records, additive KPIs add up, every unit has rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from kpi_checks import assert_reconciles

from kpis import KPIS, Warehouse, compute_kpis, get_kpi, kpi_trend, open_warehouse

pytestmark = pytest.mark.slow
PERIODS = [None, (dt.date(2025, 10, 1), dt.date(2025, 10, 31))]  # the extract month (default), a full month
NOT_ADDITIVE = {"children_missing_now"}


@pytest.fixture(scope="module")
def wh(sample_warehouse: Path) -> Warehouse:
    with open_warehouse(sample_warehouse) as opened:
        yield opened


def _period(period: tuple[dt.date, dt.date] | None) -> tuple[dt.date | None, dt.date | None]:
    return period if period is not None else (None, None)


@pytest.mark.parametrize("period", PERIODS)
def test_every_kpi_reconciles_at_trust_and_for_some_teams(wh: Warehouse, period) -> None:
    start, end = _period(period)
    teams = wh.units("team")
    chosen = {teams[0], teams[len(teams) // 2], teams[-1]}  # the last is UNKNOWN when any record has no team
    rows = compute_kpis(wh, start, end) + [r for r in compute_kpis(wh, start, end, level="team") if r["unit"] in chosen]
    assert {r["kpi"] for r in rows} == {k.id for k in KPIS}
    for row in rows:
        assert_reconciles(wh, row, start, end)


def test_every_kpi_reconciles_for_a_worker(wh: Warehouse) -> None:
    rows = compute_kpis(wh, level="worker")
    workers = sorted({r["unit"] for r in rows})
    for row in (r for r in rows if r["unit"] in (workers[0], workers[-1])):
        assert_reconciles(wh, row, None, None)


@pytest.mark.parametrize("period", PERIODS)
def test_additive_kpis_sum_over_teams_and_services(wh: Warehouse, period) -> None:
    start, end = _period(period)
    trust = {(r["kpi"], r.get("domain")): r for r in compute_kpis(wh, start, end)}
    for level in ("team", "service"):
        parts = compute_kpis(wh, start, end, level=level)
        for (kpi_id, domain), whole in trust.items():
            kpi = get_kpi(kpi_id)
            if kpi.id in NOT_ADDITIVE:
                continue
            mine = [r for r in parts if r["kpi"] == kpi.id and r.get("domain") == domain]
            assert sum(r["numerator"] for r in mine) == whole["numerator"], (level, kpi.id, domain)
            if kpi.measure != "count":
                assert sum(r["denominator"] for r in mine) == pytest.approx(whole["denominator"]), kpi.id


def test_every_team_and_service_has_its_rows(wh: Warehouse) -> None:
    teams = wh.teams()
    rows = compute_kpis(wh, level="team")
    for kpi in KPIS:
        units = {r["unit"] for r in rows if r["kpi"] == kpi.id}
        assert {t["team_id"] for t in teams} <= units
    services = {r["unit"] for r in compute_kpis(wh, level="service")}
    assert {t["service"] for t in teams} <= services


def test_the_trend_agrees_with_the_figures(wh: Warehouse) -> None:
    trend = kpi_trend(wh, None, by="month", periods=3, level="team")
    last = [r for r in trend if r["period_end"] == wh.extract_date.isoformat()]
    expected = compute_kpis(wh, level="team")
    assert [{k: v for k, v in r.items() if k not in ("period_start", "period_end")} for r in last] == expected
