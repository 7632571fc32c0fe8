"""Section 47 enquiries: ICPC at 15 vs 16 working days across Easter, enquiries open over 15 working
days at the as-at date. Answers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from kpi_checks import assert_reconciles, pick, units_of

from kpis import compute_kpis, kpi_records

D = dt.date.fromisoformat
APRIL = (D("2025-04-01"), D("2025-04-30"))  # D = Wed 2025-04-30
MAY = (D("2025-05-01"), D("2025-05-31"))


def _s(sid: str, strategy: str, team: str | None, worker: str | None = None, *, icpc: str | None = None,
       completed: str | None = None) -> dict:
    return {"s47_id": sid, "child_id": f"C-{sid}", "strategy_date": strategy, "completed_date": completed,
            "icpc_date": icpc, "team_id": team, "worker_id": worker}


# Working days from Mon 2025-04-07 (Good Friday 18th and Easter Monday 21st are holidays):
# Apr 8-11 = 4, 14-17 = 8, 22-25 = 12, 28 = 13, 29 = 14, 30 = 15, May 1 = 16.
# From Fri 2025-04-04 to Apr 30: 16 (Apr 7 also counts). From Mon 2025-03-03 to Apr 1: 21.
ENQUIRIES = [
    _s("S15", "2025-04-07", "T1", "W1", icpc="2025-04-30"),   # started; ICPC held on D at 15 wd: within
    _s("S16", "2025-04-07", "T1", "W2", icpc="2025-05-01"),   # started; open at D but only 15 wd; ICPC in May at 16
    _s("SOVER", "2025-04-04", "T2", "W1"),                    # started; open at D at 16 wd: over
    _s("SCOMPD", "2025-03-03", "T2", completed="2025-04-30"),  # completed on D: not open
    _s("SCOMPL", "2025-03-03", "T3", "W3", completed="2025-05-02"),  # completed after D: open, over
    _s("SLATE", "2025-03-03", "T3", "W3", icpc="2025-04-01"),  # ICPC in April at 21 wd: not within
    _s("SFUT", "2025-05-02", "T1"),                           # begins after D: nothing in April
]


@pytest.fixture(scope="module")
def wh(shared_wh):
    return shared_wh("s47", {"s47_enquiries": ENQUIRIES})


def test_trust_figures_in_april(wh) -> None:
    rows = compute_kpis(wh, *APRIL)
    assert pick(rows, "s47_started")["value"] == 3  # S15, S16, SOVER
    assert pick(rows, "icpcs_held")["value"] == 2  # S15, SLATE
    icpc = pick(rows, "icpc_within_15wd")
    assert (icpc["numerator"], icpc["denominator"], icpc["value"]) == (1, 2, 50.0)  # S15 only
    assert pick(rows, "s47_open_over_15wd")["value"] == 2  # SOVER, SCOMPL


def test_icpc_at_16_working_days_is_late(wh) -> None:
    icpc = pick(compute_kpis(wh, *MAY), "icpc_within_15wd")
    assert (icpc["numerator"], icpc["denominator"], icpc["value"]) == (0, 1, 0.0)  # S16 at 16 wd


def test_team_and_worker_figures(wh) -> None:
    teams = compute_kpis(wh, *APRIL, level="team")
    # T1: S15, S16 started; S15's ICPC within. T2: SOVER started and over. T3: SLATE late, SCOMPL over.
    assert [r["value"] for r in teams if r["kpi"] == "s47_started"] == [2, 1, 0]
    assert [r["value"] for r in teams if r["kpi"] == "icpc_within_15wd"] == [100.0, None, 0.0]
    assert [r["value"] for r in teams if r["kpi"] == "s47_open_over_15wd"] == [0, 1, 1]
    workers = compute_kpis(wh, *APRIL, level="worker")
    # W1: S15, SOVER. W2: S16 (no ICPC in April, not over). W3: SLATE, SCOMPL.
    assert pick(workers, "s47_started", "W1")["value"] == 2
    assert units_of(workers, "s47_started") == ["W1", "W2"]
    assert units_of(workers, "icpc_within_15wd") == ["W1", "W3"]
    assert pick(workers, "icpc_within_15wd", "W3")["value"] == 0.0
    assert units_of(workers, "s47_open_over_15wd") == ["W1", "W3"]


def test_records_reconcile(wh) -> None:
    over = kpi_records(wh, "s47_open_over_15wd", "trust", *APRIL)
    # SCOMPL from Mon 2025-03-03: 21 to Apr 1, Apr 2-4 = 24, 7-11 = 29, 14-17 = 33, 22-25 = 37, 28-30 = 40
    assert [(r["record_id"], r["working_days"]) for r in over] == [("SCOMPL", 40), ("SOVER", 16)]
    for level in ("trust", "service", "team", "worker"):
        for period in (APRIL, MAY):
            for row in compute_kpis(wh, *period, level=level):
                if row["kpi"] in ("s47_started", "icpcs_held", "icpc_within_15wd", "s47_open_over_15wd"):
                    assert_reconciles(wh, row, *period)
