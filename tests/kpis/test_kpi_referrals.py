"""Referrals and re-referrals: 12 calendar months back from 29 February, exactly 12 months, a
same-day referral, an earlier referral from another team. Answers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from kpi_checks import assert_reconciles, pick, units_of

from kpis import compute_kpis, kpi_records

D = dt.date.fromisoformat
FEB_2024 = (D("2024-02-01"), D("2024-02-29"))
MAR_2025 = (D("2025-03-01"), D("2025-03-31"))


def _r(rid: str, child: str, date: str, team: str | None, worker: str | None = None) -> dict:
    return {"referral_id": rid, "child_id": child, "referral_date": date, "team_id": team, "worker_id": worker}


REFERRALS = [
    _r("RA1", "CA", "2024-02-29", "T1", "W1"),  # 2024-02-29 - 12 months = 2023-02-28: RA0 counts -> re-referral
    _r("RA0", "CA", "2023-02-28", "T2"),
    _r("RB1", "CB", "2024-02-29", "T1", "W2"),  # RB0 on 2023-02-27 is a day too early: not a re-referral
    _r("RB0", "CB", "2023-02-27", "T1"),
    _r("RC1", "CC", "2024-02-15", "T2", "W1"),  # two referrals the same day: neither is earlier than the other
    _r("RC2", "CC", "2024-02-15", "T2", "W1"),
    _r("RD1", "CD", "2024-02-10", "", "W9"),    # earlier referral RD0 from another team; W9 not in workers.csv
    _r("RD0", "CD", "2023-08-01", "T3"),
    _r("RE2", "CE", "2025-03-15", "T1"),        # 2025-03-15 looks back to 2024-03-15 exactly: re-referral
    _r("RE1", "CE", "2024-03-15", "T1"),
    _r("RF2", "CF", "2025-03-15", "T1"),        # 2024-03-14 is a day too early
    _r("RF1", "CF", "2024-03-14", "T1"),
]
WORKERS = [
    {"worker_id": w, "worker_name": f"Worker {w}", "team_id": "T1", "role": "social_worker", "qualified": "Y",
     "fte": 1.0}
    for w in ("W1", "W2")
]


@pytest.fixture(scope="module")
def wh(shared_wh):
    return shared_wh("referrals", {"referrals": REFERRALS, "workers": WORKERS})


def test_twelve_months_back_from_29_february(wh) -> None:
    rows = compute_kpis(wh, *FEB_2024)
    # February 2024: RA1, RB1, RC1, RC2, RD1 = 5 referrals; re-referrals RA1, RD1 = 2 -> 40%
    assert pick(rows, "referrals")["value"] == 5
    rate = pick(rows, "re_referral_rate")
    assert (rate["numerator"], rate["denominator"], rate["value"]) == (2, 5, 40.0)


def test_exactly_twelve_months(wh) -> None:
    rate = pick(compute_kpis(wh, *MAR_2025), "re_referral_rate")
    assert (rate["numerator"], rate["denominator"], rate["value"]) == (1, 2, 50.0)  # RE2 yes, RF2 no


def test_teams_and_workers(wh) -> None:
    teams = compute_kpis(wh, *FEB_2024, level="team")
    # T1: RA1 (re), RB1 -> 1/2; T2: RC1, RC2 -> 0/2; T3: none -> null; UNKNOWN: RD1 (re) -> 1/1
    rates = [(r["unit"], r["numerator"], r["denominator"], r["value"]) for r in teams if r["kpi"] == "re_referral_rate"]
    assert rates == [("T1", 1, 2, 50.0), ("T2", 0, 2, 0.0), ("T3", 0, 0, None), ("UNKNOWN", 1, 1, 100.0)]
    workers = compute_kpis(wh, *FEB_2024, level="worker")
    # W1: RA1 (re), RC1, RC2 -> 1/3; W2: RB1 -> 0/1; W9 (unknown to workers.csv): RD1 -> 1/1
    assert units_of(workers, "referrals") == ["W1", "W2", "W9"]
    assert pick(workers, "re_referral_rate", "W1")["value"] == pytest.approx(100 / 3)
    assert pick(workers, "re_referral_rate", "W9")["value"] == 100.0


def test_records_name_the_earlier_referral(wh) -> None:
    records = {r["record_id"]: r for r in kpi_records(wh, "re_referral_rate", "trust", *FEB_2024)}
    assert records["RA1"]["previous_referral_date"] == "2023-02-28"
    assert records["RA1"]["counted_in"] == "numerator"
    assert records["RB1"]["previous_referral_date"] is None
    assert records["RC2"]["counted_in"] == "denominator"
    for level in ("trust", "service", "team", "worker"):
        for period in (FEB_2024, MAR_2025):
            for row in compute_kpis(wh, *period, level=level, kpi_ids=["referrals", "re_referral_rate"]):
                assert_reconciles(wh, row, *period)
