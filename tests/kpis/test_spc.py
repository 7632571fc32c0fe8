"""SPC on a hand-made warehouse (kpis.kpi_spc): only complete periods, the units kpidash trend gives,
missing rows (0 for a count, no point for a rate), stock at each period's end, the spec's JSON, the
configuration. Answers worked out by hand."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from kpi_checks import config_refusal
from warehouse_builder import build_warehouse

from kpis import KpiConfig, KpiError, kpi_spc, kpi_trend, load_kpi_config, open_warehouse
from kpis.registry import Kpi
from kpis.spc import POINT_KEYS, SPC_KEYS, last_complete_period_end, period_bounds, spc_from_trend
from kpis.targets import SpcSettings

D = dt.date.fromisoformat
SUNDAY = "2025-11-23T06:00:00"  # the extract date is a Sunday: October is the last whole month, 17-23 Nov the last week


def _r(rid: str, child: str, date: str, team: str | None, worker: str | None = None) -> dict:
    return {"referral_id": rid, "child_id": child, "referral_date": date, "team_id": team, "worker_id": worker}


REFERRALS = [
    _r("A1", "C1", "2025-08-04", "T1", "W1"),
    _r("A2", "C2", "2025-08-20", "TX"),          # a team teams.csv does not know: UNKNOWN, in August ...
    _r("A3", "C3", "2025-09-02", "T1", "W2"),
    _r("A4", "C3", "2025-09-09", "T2", "W2"),    # C3 again within 12 months: a re-referral, W2 in September only
    _r("A5", "C5", "2025-10-14", ""),            # ... and October (empty team), none in September
    _r("A6", "C6", "2025-10-31", "T1"),
    _r("A7", "C7", "2025-11-05", "T1"),          # November is not complete on 23 November: never counted
    _r("A8", "C8", "2025-11-17", "T2"),          # Monday of the last complete week
    _r("A9", "C9", "2025-11-23", "T2"),          # its Sunday
]
EPISODES = [  # open from 15 September to 10 October: open at the end of September only
    {"episode_id": "E1", "child_id": "C1", "team_id": "T3", "episode_type": "cin", "start_date": "2025-09-15",
     "end_date": "2025-10-10"},
]


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory):
    path = build_warehouse(tmp_path_factory.mktemp("spc") / "warehouse.duckdb",
                           {"referrals": REFERRALS, "episodes": EPISODES}, extracted_at=SUNDAY)
    with open_warehouse(path, load_kpi_config()) as opened:
        yield opened


def _chart(charts: list[dict], unit: str) -> dict:
    return next(c for c in charts if c["unit"] == unit)


def _values(chart: dict) -> list[tuple[str, object]]:
    return [(p["period_start"], p["value"]) for p in chart["points"]]


def test_last_complete_period() -> None:
    assert last_complete_period_end("month", D("2025-11-23")) == D("2025-10-31")
    assert last_complete_period_end("month", D("2025-10-31")) == D("2025-10-31")
    assert last_complete_period_end("month", D("2024-02-29")) == D("2024-02-29")
    assert last_complete_period_end("month", D("2025-01-01")) == D("2024-12-31")
    assert last_complete_period_end("week", D("2025-11-23")) == D("2025-11-23")  # a Sunday
    assert last_complete_period_end("week", D("2025-11-22")) == D("2025-11-16")
    assert last_complete_period_end("week", D("2025-11-24")) == D("2025-11-23")
    assert period_bounds("month", 2, D("2024-03-31")) == [(D("2024-02-01"), D("2024-02-29")),
                                                          (D("2024-03-01"), D("2024-03-31"))]


def test_months_are_complete_and_end_before_the_extract_date(wh) -> None:
    (chart,) = kpi_spc(wh, "referrals", "month", 3)
    # August A1 + A2, September A3 + A4, October A5 + A6; November (A7 to A9) is not complete
    assert [(p["period_start"], p["period_end"], p["value"]) for p in chart["points"]] == [
        ("2025-08-01", "2025-08-31", 2), ("2025-09-01", "2025-09-30", 2), ("2025-10-01", "2025-10-31", 2)]


def test_weeks_run_monday_to_sunday_and_the_extract_week_counts_when_it_ends_on_a_sunday(wh) -> None:
    (chart,) = kpi_spc(wh, "referrals", "week", 3)
    assert [(p["period_start"], p["period_end"], p["value"]) for p in chart["points"]] == [
        ("2025-11-03", "2025-11-09", 1), ("2025-11-10", "2025-11-16", 0), ("2025-11-17", "2025-11-23", 2)]
    (before,) = kpi_spc(wh, "referrals", "week", 2, date_to=D("2025-11-22"))  # a Saturday: that week is not over
    assert [p["period_end"] for p in before["points"]] == ["2025-11-09", "2025-11-16"]


def test_to_ends_the_series_with_the_last_period_ending_on_or_before_it(wh) -> None:
    (october,) = kpi_spc(wh, "referrals", "month", 1, date_to=D("2025-10-31"))
    assert _values(october) == [("2025-10-01", 2)]
    (september,) = kpi_spc(wh, "referrals", "month", 1, date_to=D("2025-10-30"))
    assert _values(september) == [("2025-09-01", 2)]


def test_a_missing_count_row_is_zero_and_a_missing_rate_row_is_no_point(wh) -> None:
    charts = kpi_spc(wh, ["referrals", "re_referral_rate"], "month", 3, level="team")
    referrals = [c for c in charts if c["kpi"] == "referrals"]
    assert [c["unit"] for c in referrals] == ["T1", "T2", "T3", "UNKNOWN"]  # ordered by unit
    # UNKNOWN has referrals in August and October only: September is a count of 0, a point
    assert _values(_chart(referrals, "UNKNOWN")) == [("2025-08-01", 1), ("2025-09-01", 0), ("2025-10-01", 1)]
    rates = [c for c in charts if c["kpi"] == "re_referral_rate"]
    # a rate with no referrals that month has no denominator: no point, for a team of teams.csv too
    assert _values(_chart(rates, "T2")) == [("2025-09-01", 100.0)]
    assert _values(_chart(rates, "UNKNOWN")) == [("2025-08-01", 0.0), ("2025-10-01", 0.0)]
    assert _chart(rates, "T3")["points"] == [] and _chart(rates, "T3")["variation"] is None


def test_worker_units_are_those_the_trend_gives(wh) -> None:
    charts = kpi_spc(wh, "referrals", "month", 3, level="worker")
    assert [c["unit"] for c in charts] == ["W1", "W2"]
    assert _values(_chart(charts, "W2")) == [("2025-08-01", 0), ("2025-09-01", 2), ("2025-10-01", 0)]
    trend_units = {r["unit"] for r in kpi_trend(wh, ["referrals"], "month", 3, "worker", date_to=D("2025-10-31"))}
    assert trend_units == {"W1", "W2"}
    # a KPI without worker rows has no worker charts
    assert kpi_spc(wh, "open_cases", "month", 3, level="worker") == []


def test_stock_is_taken_at_each_period_end(wh) -> None:
    (chart,) = kpi_spc(wh, "open_cases", "month", 3, level="team", unit="T3")
    assert _values(chart) == [("2025-08-01", 0), ("2025-09-01", 1), ("2025-10-01", 0)]


def test_the_json_is_the_specs(wh) -> None:
    (chart,) = kpi_spc(wh, "re_referral_rate", "month", 3)
    assert tuple(chart) == SPC_KEYS and all(tuple(p) == POINT_KEYS for p in chart["points"])
    # 0/2, 1/2, 0/2: mean 50/3, moving ranges 50 and 50
    assert chart["better"] == "lower" and chart["target"] == 20.0 and chart["by"] == "month"
    assert chart["trial_limits"] is True
    assert [p["value"] for p in chart["points"]] == [0.0, 50.0, 0.0]
    p = chart["points"][0]
    assert p["mean"] == pytest.approx(50 / 3) and p["upper_limit"] == pytest.approx(50 / 3 + 133)
    assert p["lower_limit"] == pytest.approx(50 / 3 - 133)  # not clipped at 0
    assert chart["assurance"] == "hit_and_miss" and chart["variation"] == "common_cause"
    (count,) = kpi_spc(wh, "referrals", "month", 2)
    assert all(type(p["value"]) is int for p in count["points"]) and count["target"] is None


def test_one_unit_and_bad_requests(wh) -> None:
    assert [c["unit"] for c in kpi_spc(wh, "referrals", "month", 2, level="team", unit="T2")] == ["T2"]
    with pytest.raises(KpiError, match='"quarter" is not an SPC period'):
        kpi_spc(wh, "referrals", "quarter")
    with pytest.raises(KpiError, match="1 to 520 periods"):
        kpi_spc(wh, "referrals", "month", 0)
    with pytest.raises(KpiError, match='"T9" is not a team'):
        kpi_spc(wh, "referrals", "month", 3, level="team", unit="T9")
    with pytest.raises(KpiError, match='"nope" is not a KPI'):
        kpi_spc(wh, "nope")
    with pytest.raises(KpiError, match="outside the dates"):
        kpi_spc(wh, "referrals", "month", 3, date_to=D("2300-01-01"))


def test_configuration_sets_run_lengths_baseline_and_rebase(tmp_path: Path) -> None:
    # T1 has one referral every Monday for 6 weeks after 6 weeks of none: with R = 6 that is a shift
    rows = [_r(f"S{i}", f"K{i}", (D("2025-10-13") + dt.timedelta(days=7 * i)).isoformat(), "T1") for i in range(6)]
    path = build_warehouse(tmp_path / "wh.duckdb", {"referrals": rows}, extracted_at=SUNDAY)
    plain, six, rebased = (
        KpiConfig(),
        KpiConfig(spc={"referrals": SpcSettings(shift_run_length=6)}),
        KpiConfig(spc={"referrals": SpcSettings(shift_run_length=6, rebase_dates=(D("2025-10-15"),))}),
    )
    results = []
    for config in (plain, six, rebased):
        with open_warehouse(path, config) as opened:
            (chart,) = kpi_spc(opened, "referrals", "week", 12, level="team", unit="T1")
        results.append(chart)
    assert [p["value"] for p in results[0]["points"]] == [0] * 6 + [1] * 6
    assert not any(p["shift"] for p in results[0]["points"])
    assert all(p["shift"] for p in results[1]["points"])
    assert results[1]["variation"] == "special_cause_neither"  # referrals have no better direction
    # a rebase in the week of 13 October: two segments of 6 constant weeks, nothing to flag
    assert [p["mean"] for p in results[2]["points"]] == [0.0] * 6 + [1.0] * 6
    assert not any(p["shift"] for p in results[2]["points"]) and results[2]["trial_limits"] is True


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("spc:\n  nope: {shift_run_length: 7}\n", '"nope" in spc is not a KPI'),
    ("spc:\n  referrals: {shift_run_length: 5}\n", "spc.referrals.shift_run_length: Input should be greater than or equal to 6"),
    ("spc:\n  referrals: {trend_run_length: 10}\n", "spc.referrals.trend_run_length: Input should be less than or equal to 9"),
    ("spc:\n  referrals: {trend_run_length: 7.5}\n", "spc.referrals.trend_run_length: Input should be a valid integer"),
    ("spc:\n  referrals: {baseline_length: 1}\n", "spc.referrals.baseline_length: Input should be greater than or equal to 2"),
    ("spc:\n  referrals: {rebase_dates: [1 April 2025]}\n", "spc.referrals.rebase_dates.0: '1 April 2025' is not a date"),
    ("spc:\n  referrals: {rebase: [2025-01-01]}\n", "spc.referrals.rebase: Extra inputs are not permitted"),
])
def test_bad_spc_configuration_is_refused_clearly(tmp_path: Path, yaml_text: str, message: str) -> None:
    refusal = config_refusal(tmp_path, yaml_text)
    assert "has a problem" in refusal and message in refusal


def test_a_rebase_date_that_does_not_exist_is_refused_clearly(tmp_path: Path) -> None:
    refusal = config_refusal(tmp_path, "spc:\n  referrals: {rebase_dates: [2025-13-01]}\n")
    assert re.search("has a date that does not exist .month must be in 1..12.: write dates YYYY-MM-DD", refusal)


def test_rebase_dates_read_from_yaml(tmp_path: Path) -> None:
    config = tmp_path / "kpi_config.yaml"
    config.write_text("spc:\n  referrals: {shift_run_length: 6, baseline_length: 12, rebase_dates: [2025-04-01]}\n")
    settings = load_kpi_config(config).spc_settings("referrals")
    assert settings == SpcSettings(shift_run_length=6, baseline_length=12, rebase_dates=(D("2025-04-01"),))
    assert load_kpi_config(config).spc_settings("open_cases") == SpcSettings()


# --- a KPI whose rows carry an extra key (the QA KPI domain_good_or_better carries `domain`) ---------------------------

DOMAIN_KPI = Kpi("domain_good_or_better", "Domains good or better", "", "flow", "rate", "%", "higher", "qa", True, "audit")
BOUNDS = period_bounds("month", 2, D("2025-10-31"))


def _row(start: str, end: str, unit: str, domain: str, n: int, d: int) -> dict:
    return {"period_start": start, "period_end": end, "kpi": "domain_good_or_better", "level": "team", "unit": unit,
            "numerator": n, "denominator": d, "value": 100 * n / d, "domain": domain}


def test_rows_with_an_extra_key_are_one_series_per_key() -> None:
    sep, octo = ("2025-09-01", "2025-09-30"), ("2025-10-01", "2025-10-31")
    rows = [_row(*sep, "T1", "planning", 1, 2), _row(*sep, "T1", "assessment", 1, 1),
            _row(*octo, "T1", "assessment", 0, 1)]
    charts = spc_from_trend(rows, [DOMAIN_KPI], "month", BOUNDS, {}, lambda _k: SpcSettings())
    assert [(c["unit"], c["domain"]) for c in charts] == [("T1", "assessment"), ("T1", "planning")]
    assert list(charts[0])[:4] == ["kpi", "level", "unit", "domain"]
    assert [p["value"] for p in charts[0]["points"]] == [100.0, 0.0]
    assert [p["value"] for p in charts[1]["points"]] == [50.0]  # no row in October: a rate, so no point


def test_two_rows_for_one_unit_and_period_without_a_key_are_refused() -> None:
    sep = ("2025-09-01", "2025-09-30")
    rows = [_row(*sep, "T1", "planning", 1, 2), _row(*sep, "T1", "planning", 1, 1)]
    with pytest.raises(KpiError, match="more than one figure for team T1 in one period"):
        spc_from_trend(rows, [DOMAIN_KPI], "month", BOUNDS, {}, lambda _k: SpcSettings())


def test_a_kpi_the_source_cannot_support_has_no_points(tmp_path: Path) -> None:
    path = build_warehouse(tmp_path / "wh.duckdb", {"referrals": REFERRALS}, extracted_at=SUNDAY,
                           source_system="annex_a")
    with open_warehouse(path, KpiConfig()) as opened:
        charts = kpi_spc(opened, ["referrals", "re_referral_rate", "children_missing_now"], "month", 3)
    by_kpi = {c["kpi"]: c for c in charts}
    assert "available" not in by_kpi["referrals"] and len(by_kpi["referrals"]["points"]) == 3
    for kpi in ("re_referral_rate", "children_missing_now"):  # never 0s: not available
        assert by_kpi[kpi]["points"] == [] and by_kpi[kpi]["available"] is False
        assert by_kpi[kpi]["variation"] is None and by_kpi[kpi]["note"] == "not available from this source"
