"""Several levels in one call: `level="all"` or a list gives exactly the rows of one call per level,
ordered by KPI, then level (trust, service, team, worker), then unit."""

from __future__ import annotations

import datetime as dt

import pytest
from kpis import KPIS, KpiError, compute_kpis, kpi_trend

D = dt.date.fromisoformat
LEVELS = ("trust", "service", "team", "worker")


def _by_kpi_then_level(per_level: dict[str, list[dict]], levels: tuple[str, ...]) -> list[dict]:
    return [r for k in KPIS for lv in levels for r in per_level[lv] if r["kpi"] == k.id]


@pytest.mark.parametrize("date_to", ["2025-11-23", "2025-01-31"])
def test_all_levels_are_the_single_level_calls(everything, date_to: str) -> None:
    period = (D(date_to).replace(day=1), D(date_to))
    per_level = {lv: compute_kpis(everything, *period, level=lv) for lv in LEVELS}
    assert all(per_level[lv] for lv in LEVELS)  # the fixture has rows at every level
    got = compute_kpis(everything, *period, level="all")
    assert got == _by_kpi_then_level(per_level, LEVELS)


def test_a_list_of_levels_is_put_in_level_order(everything) -> None:
    per_level = {lv: compute_kpis(everything, level=lv) for lv in ("trust", "team")}
    got = compute_kpis(everything, level=["team", "trust", "team"])
    assert got == _by_kpi_then_level(per_level, ("trust", "team"))
    assert got[0]["level"] == "trust" and got[1]["level"] == "team"


def test_one_level_in_a_list_is_the_single_level_call(everything) -> None:
    assert compute_kpis(everything, level=["service"]) == compute_kpis(everything, level="service")


@pytest.mark.parametrize("by", ["month", "week"])
def test_trend_at_several_levels_is_the_single_level_trends(everything, by: str) -> None:
    per_level = {lv: kpi_trend(everything, None, by=by, periods=3, level=lv, date_to=D("2025-11-23"))
                 for lv in ("trust", "team")}
    got = kpi_trend(everything, None, by=by, periods=3, level=("trust", "team"), date_to=D("2025-11-23"))
    assert got == _by_kpi_then_level(per_level, ("trust", "team"))


def test_bad_level_requests(everything) -> None:
    with pytest.raises(KpiError, match='"region" is not a level'):
        compute_kpis(everything, level=["trust", "region"])
    with pytest.raises(KpiError, match="no level asked for"):
        compute_kpis(everything, level=[])
    with pytest.raises(KpiError, match="belongs to one level"):
        compute_kpis(everything, level="all", unit="T1")
    with pytest.raises(KpiError, match="belongs to one level"):
        kpi_trend(everything, None, level=["team", "service"], unit="T1")
