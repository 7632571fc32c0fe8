"""compute_kpis as a whole: the spec's JSON, which rows exist, defaults, additivity, bad requests."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
import test_kpi_assessments as assessments
import test_kpi_referrals as referrals
from kpi_checks import pick, units_of

from kpis import KPIS, InvalidPeriod, KpiError, UnknownKpi, UnknownUnit, compute_kpis

D = dt.date.fromisoformat
NOT_ADDITIVE = {"children_missing_now"}  # distinct children: one child can be missing in two teams
# The KPIs of the contract's nine files: the QA KPIs have no rows at all without the QA files
CONTRACT_KPIS = [k for k in KPIS if not k.family.startswith("qa_")]


def test_json_rows_have_exactly_the_spec_keys_and_types(make_wh) -> None:
    wh = make_wh({})  # teams only: nothing to count anywhere, and no QA files
    rows = compute_kpis(wh, D("2025-11-01"), D("2025-11-23"))
    assert [r["kpi"] for r in rows] == [k.id for k in CONTRACT_KPIS]
    for row, kpi in zip(rows, CONTRACT_KPIS):
        assert list(row) == ["kpi", "level", "unit", "numerator", "denominator", "value"]
        assert (row["level"], row["unit"]) == ("trust", "trust")
        assert row["numerator"] == 0 and type(row["numerator"]) is int
        if kpi.measure == "count":
            assert row["denominator"] is None and row["value"] == 0 and type(row["value"]) is int
        elif kpi.measure == "rate":
            assert row["denominator"] == 0 and type(row["denominator"]) is int and row["value"] is None
        else:
            assert row["denominator"] == 0.0 and type(row["denominator"]) is float and row["value"] is None


def test_every_team_and_service_has_a_row_and_unknown_only_when_used(make_wh) -> None:
    wh = make_wh({})
    teams = compute_kpis(wh, D("2025-11-01"), D("2025-11-23"), level="team")
    assert len(teams) == len(CONTRACT_KPIS) * 3 and set(units_of(teams, "referrals")) == {"T1", "T2", "T3"}
    services = compute_kpis(wh, D("2025-11-01"), D("2025-11-23"), level="service")
    assert units_of(services, "open_cases") == ["Care Management", "Front Door"]
    assert compute_kpis(wh, D("2025-11-01"), D("2025-11-23"), level="worker") == []


def test_rows_are_ordered_by_registry_then_unit_with_unknown_last(everything) -> None:
    rows = compute_kpis(everything, D("2025-11-01"), D("2025-11-23"), level="team")
    order = [k.id for k in KPIS]
    assert [order.index(r["kpi"]) for r in rows] == sorted(order.index(r["kpi"]) for r in rows)
    assert units_of(rows, "open_cases") == ["T1", "T2", "T3", "T4", "UNKNOWN"]


@pytest.mark.parametrize(
    "period",
    [(D("2025-11-01"), D("2025-11-23")), (D("2024-02-01"), D("2024-02-29")), (D("2025-01-01"), D("2025-04-30"))],
)
def test_additive_kpis_sum_over_teams_to_the_trust(everything, period) -> None:
    trust = {r["kpi"]: r for r in compute_kpis(everything, *period)}
    teams = compute_kpis(everything, *period, level="team")
    services = compute_kpis(everything, *period, level="service")
    for kpi in CONTRACT_KPIS:  # `everything` holds no QA files
        if kpi.id in NOT_ADDITIVE:
            continue
        for parts in (teams, services):
            mine = [r for r in parts if r["kpi"] == kpi.id]
            assert sum(r["numerator"] for r in mine) == trust[kpi.id]["numerator"], kpi.id
            if kpi.measure != "count":
                assert sum(r["denominator"] for r in mine) == pytest.approx(trust[kpi.id]["denominator"]), kpi.id


def test_one_unit_and_some_kpis(everything) -> None:
    rows = compute_kpis(everything, D("2025-11-01"), D("2025-11-23"), level="team", unit="T1",
                        kpi_ids=["referrals", "open_cases"])
    assert [(r["kpi"], r["unit"]) for r in rows] == [("open_cases", "T1"), ("referrals", "T1")]
    assert pick(rows, "open_cases", "T1")["value"] == 14


def test_period_defaults_to_the_extract_month(make_wh) -> None:
    # extracted 2025-11-24: the default period is 2025-11-01 to 2025-11-24
    dates = {"R1": "2025-11-01", "R2": "2025-11-24", "R3": "2025-10-31", "R4": "2025-11-25"}
    wh = make_wh({"referrals": [referrals._r(rid, f"C-{rid}", date, "T1") for rid, date in dates.items()]})
    assert wh.extract_date == D("2025-11-24")
    assert pick(compute_kpis(wh), "referrals")["value"] == 2
    # with only `to`, `from` is the first of to's month
    assert pick(compute_kpis(wh, date_to=D("2025-10-31")), "referrals")["value"] == 1


def test_periods_far_from_the_data_still_count(make_wh) -> None:
    # an assessment open since 2025-11-03 is overdue years later: the calendar widens to the request
    wh = make_wh({"assessments": [assessments._a("A", "2025-11-03", None, "T1")]})
    assert pick(compute_kpis(wh, D("2031-06-01"), D("2031-06-30")), "assessments_overdue")["value"] == 1
    assert pick(compute_kpis(wh, D("1999-01-01"), D("1999-01-31")), "assessments_overdue")["value"] == 0


def test_threads_share_a_warehouse(everything) -> None:
    expected = compute_kpis(everything, level="team")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: compute_kpis(everything, level="team"), range(4)))
    assert all(r == expected for r in results)


def test_bad_requests_are_explained(everything) -> None:
    with pytest.raises(InvalidPeriod, match="starts .2025-12-01. after it ends .2025-11-30."):
        compute_kpis(everything, D("2025-12-01"), D("2025-11-30"))
    with pytest.raises(InvalidPeriod, match="outside the dates"):
        compute_kpis(everything, D("1800-01-01"), D("2025-11-30"))
    with pytest.raises(UnknownUnit, match='"T9" is not a team'):
        compute_kpis(everything, level="team", unit="T9")
    with pytest.raises(UnknownUnit):
        compute_kpis(everything, level="service", unit="T1")
    with pytest.raises(UnknownKpi, match='"nope" is not a KPI'):
        compute_kpis(everything, kpi_ids=["nope"])
    with pytest.raises(KpiError, match='"region" is not a level'):
        compute_kpis(everything, level="region")
    assert issubclass(KpiError, ValueError)
