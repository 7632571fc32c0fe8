"""Daily trends (the dashboard's sparklines): one period per calendar day, each equal to that day's figure."""

from __future__ import annotations

import datetime as dt

from kpis import compute_kpis, kpi_trend
from kpis.compute import JSON_KEYS

D = dt.date.fromisoformat


def test_days_are_single_dates_ending_on_to(everything) -> None:
    rows = kpi_trend(everything, ["open_cases"], by="day", periods=3, date_to=D("2025-03-01"))
    assert [(r["period_start"], r["period_end"]) for r in rows] == [
        ("2025-02-27", "2025-02-27"), ("2025-02-28", "2025-02-28"), ("2025-03-01", "2025-03-01")]


def test_each_day_equals_its_figure(everything) -> None:
    trend = kpi_trend(everything, None, by="day", periods=4, level="team", date_to=D("2025-11-23"))
    for day in ("2025-11-20", "2025-11-21", "2025-11-22", "2025-11-23"):
        expected = compute_kpis(everything, D(day), D(day), level="team")
        got = [{k: r[k] for k in JSON_KEYS} for r in trend if r["period_start"] == day]
        assert got == expected, day


def test_stock_open_cases_drop_the_day_an_episode_ends(everything) -> None:
    # E6 (C6, T3) is open from 2025-06-01 to 2025-11-23 (tests/kpis/test_kpi_trends.py): open at the end of
    # 22 November, not at the end of 23 November
    rows = kpi_trend(everything, ["open_cases"], by="day", periods=2, level="team", unit="T3", date_to=D("2025-11-23"))
    assert rows[0]["value"] - rows[1]["value"] == 1
