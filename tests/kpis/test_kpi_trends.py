"""Trends: calendar months and Monday-to-Sunday weeks, a partial last period, and agreement with the
figure of each period (flow: events in it; stock: at its end)."""

from __future__ import annotations

import datetime as dt

import pytest
from kpis import KPIS, KpiError, compute_kpis, kpi_trend
from kpis.compute import JSON_KEYS

D = dt.date.fromisoformat


def _periods(rows: list[dict]) -> list[tuple[str, str]]:
    return sorted({(r["period_start"], r["period_end"]) for r in rows})


def test_months_end_with_a_partial_month(everything) -> None:
    rows = kpi_trend(everything, ["referrals"], by="month", periods=3, date_to=D("2025-11-23"))
    assert _periods(rows) == [("2025-09-01", "2025-09-30"), ("2025-10-01", "2025-10-31"), ("2025-11-01", "2025-11-23")]
    assert list(rows[0]) == ["period_start", "period_end", "kpi", "level", "unit", "numerator", "denominator", "value"]


def test_months_across_a_leap_february_and_a_year_end(everything) -> None:
    rows = kpi_trend(everything, ["referrals"], by="month", periods=3, date_to=D("2024-03-31"))
    assert _periods(rows) == [("2024-01-01", "2024-01-31"), ("2024-02-01", "2024-02-29"), ("2024-03-01", "2024-03-31")]
    # February 2024 holds RA1, RB1, RC1, RC2 and RD1, March 2024 RE1 and RF1 (tests/kpis/test_kpi_referrals.py)
    assert [r["value"] for r in rows] == [0, 5, 2]


def test_weeks_run_monday_to_sunday(everything) -> None:
    rows = kpi_trend(everything, ["open_cases"], by="week", periods=2, date_to=D("2025-11-19"))  # a Wednesday
    assert _periods(rows) == [("2025-11-10", "2025-11-16"), ("2025-11-17", "2025-11-19")]
    sunday = kpi_trend(everything, ["open_cases"], by="week", periods=1, date_to=D("2025-11-23"))
    assert _periods(sunday) == [("2025-11-17", "2025-11-23")]


def test_default_end_is_the_extract_date(everything) -> None:
    rows = kpi_trend(everything, ["open_cases"], periods=1)
    assert _periods(rows) == [("2025-11-01", "2025-11-24")]


@pytest.mark.parametrize(
    ("by", "periods", "date_to"),
    [("month", 2, "2025-01-31"), ("week", 2, "2025-04-27"), ("month", 2, "2025-11-23")],  # each family's cases
)
@pytest.mark.parametrize("level", ["trust", "team", "worker"])
def test_each_period_equals_its_figure(everything, by: str, periods: int, date_to: str, level: str) -> None:
    trend = kpi_trend(everything, None, by=by, periods=periods, level=level, date_to=D(date_to))
    assert len(_periods(trend)) == periods
    for start, end in _periods(trend):
        expected = compute_kpis(everything, D(start), D(end), level=level)
        got = [{k: r[k] for k in JSON_KEYS} for r in trend if (r["period_start"], r["period_end"]) == (start, end)]
        assert got == expected, (start, end)


def test_stock_is_taken_at_each_period_end(everything) -> None:
    # E6 (C6, T3) is open from 2025-06-01 to 2025-11-23: open at the ends of June to October, not on 23 Nov
    rows = kpi_trend(everything, ["open_cases"], periods=7, level="team", unit="T3", date_to=D("2025-11-23"))
    # T3 at each month end: E5 (from May), E6 (June to 22 Nov), E10 (from Sept), E30-E39 (from Oct)
    assert [r["value"] for r in rows] == [1, 2, 2, 2, 3, 13, 12]


def test_all_kpis_in_registry_order(everything) -> None:
    rows = kpi_trend(everything, None, periods=2)  # `everything` holds no QA files: no QA rows
    assert [r["kpi"] for r in rows] == [k.id for k in KPIS if not k.family.startswith("qa_") for _ in range(2)]


def test_bad_requests(everything) -> None:
    with pytest.raises(KpiError, match='"quarter" is not a trend period'):
        kpi_trend(everything, None, by="quarter")
    with pytest.raises(KpiError, match="1 to 520 periods"):
        kpi_trend(everything, None, periods=0)
