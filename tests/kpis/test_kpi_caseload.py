"""Caseload allocation at the as-at date: allocations to leavers and unknown workers, an episode and an
allocation ending on D, co-worked children, a part-time worker over the limit, workers with no
children, UNKNOWN teams and a team with no records. Answers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from kpi_checks import assert_reconciles, pick, units_of
from warehouse_builder import TEAMS

from kpis import KpiConfig, compute_kpis, get_kpi, kpi_records

D = dt.date.fromisoformat
NOV = (D("2025-11-01"), D("2025-11-23"))  # D = Sun 2025-11-23
QUIET = {"team_id": "T4", "team_name": "Hollow Oak", "service": "Quiet Service"}  # no records at all


def _w(wid: str, team: str, role: str, fte: float, start: str | None = None, end: str | None = None) -> dict:
    return {"worker_id": wid, "worker_name": f"Worker {wid}", "team_id": team, "role": role, "qualified": "Y",
            "fte": fte, "start_date": start, "end_date": end}


def _e(eid: str, child: str, team: str, start: str, end: str | None = None, kind: str = "CIN") -> dict:
    return {"episode_id": eid, "child_id": child, "episode_type": kind, "start_date": start, "end_date": end,
            "team_id": team}


def _al(aid: str, child: str, worker: str, start: str, end: str | None = None) -> dict:
    return {"allocation_id": aid, "child_id": child, "worker_id": worker, "start_date": start, "end_date": end}


WORKERS = [
    _w("W1", "T1", "social_worker", 1.0),
    _w("W2", "T1", "senior_social_worker", 0.5),                    # part time, 11 children: 22 per FTE
    _w("W3", "T2", "social_worker", 1.0, end="2025-11-20"),         # left before D
    _w("W4", "T2", "team_manager", 1.0),                            # holds a case, not case-holding
    _w("W5", "T3", "personal_advisor", 0.8, end="2025-11-23"),      # last day in post is D: active
    _w("W6", "T3", "social_worker", 1.0, start="2025-11-24"),       # starts after D
    _w("W7", "TX", "social_worker", 1.0),                           # team not in teams.csv: UNKNOWN
    _w("W8", "T2", "social_worker", 0.6),                           # no children
    _w("W9", "T3", "social_worker", 0.5),                           # 10 children: exactly 20 per FTE
]
EPISODES = [
    _e("E1", "C1", "T1", "2025-01-01"),
    _e("E2", "C2", "T1", "2025-02-01", kind="CP"),                  # co-worked by W1 and W2
    _e("E3", "C3", "T2", "2025-03-01", kind="CLA"),                 # only allocated to W3, who left
    _e("E4", "C4", "T2", "2025-04-01"),                             # allocated to the team manager
    _e("E5", "C5", "T3", "2025-05-01", kind="CARE_LEAVER"),         # W5 on their last day
    _e("E6", "C6", "T3", "2025-06-01", end="2025-11-23"),           # ends on D: not open
    _e("E7", "C7", "T1", "2025-07-01"),                             # allocated to WX, unknown to workers.csv
    _e("E8", "C8", "T1", "2025-08-01"),                             # its allocation ends on D
    _e("E9", "C9", "TZ", "2025-09-01"),                             # team not in teams.csv; worker not started
    _e("E10", "C1", "T3", "2025-09-01", kind="CP"),                 # C1's second open episode
    _e("E11", "C11", "T1", "2025-11-24"),                           # starts after D
    *[_e(f"E2{i}", f"C2{i}", "T1", "2025-10-01") for i in range(10)],
    *[_e(f"E3{i}", f"C3{i}", "T3", "2025-10-01") for i in range(10)],
]
ALLOCATIONS = [
    _al("AL01", "C1", "W1", "2025-01-01"),
    _al("AL01B", "C1", "W1", "2025-09-01"),                         # a second open allocation, same pair
    _al("AL02", "C2", "W1", "2025-02-01"),
    _al("AL03", "C2", "W2", "2025-02-01"),
    _al("AL04", "C3", "W3", "2025-03-01"),
    _al("AL05", "C4", "W4", "2025-04-01"),
    _al("AL06", "C5", "W5", "2025-05-01"),
    _al("AL07", "C6", "W5", "2025-06-01"),
    _al("AL08", "C7", "WX", "2025-07-01"),
    _al("AL09", "C8", "W1", "2025-08-01", end="2025-11-23"),
    _al("AL10", "C9", "W6", "2025-11-01"),
    *[_al(f"AL2{i}", f"C2{i}", "W2", "2025-10-01") for i in range(10)],
    *[_al(f"AL3{i}", f"C3{i}", "W9", "2025-10-01") for i in range(10)],
]
# Open at D: E1-E5, E7-E10 (9) + E20-E29 (T1) + E30-E39 (T3) = 29.
# Allocated at D: C1 (W1), C2 (W1, W2), C4 (W4), C5 (W5), C20-C29 (W2), C30-C39 (W9);
# not: C3 (W3 left), C7 (WX unknown), C8 (allocation ended on D), C9 (W6 not started).
# Caseloads of case-holding workers active at D: W1 {C1, C2} = 2, W2 {C2, C20-C29} = 11,
# W5 {C5} = 1 (C6's episode closed on D), W7 0, W8 0, W9 {C30-C39} = 10.


@pytest.fixture(scope="module")
def wh(shared_wh):
    rows = {"workers": WORKERS, "episodes": EPISODES, "allocations": ALLOCATIONS}
    return shared_wh("caseload", rows, teams=[*TEAMS, QUIET])


def test_trust_figures(wh) -> None:
    rows = compute_kpis(wh, *NOV)
    assert pick(rows, "open_cases")["value"] == 29
    assert pick(rows, "unallocated_cases")["value"] == 4  # E3, E7, E8, E9
    rate = pick(rows, "allocation_rate")
    assert (rate["numerator"], rate["denominator"]) == (25, 29)
    assert rate["value"] == 100 * 25 / 29
    avg = pick(rows, "average_caseload")
    # 2 + 11 + 1 + 0 + 0 + 10 = 24 children over 1.0 + 0.5 + 0.8 + 1.0 + 0.6 + 0.5 = 4.4 FTE
    assert avg["numerator"] == 24 and isinstance(avg["numerator"], int)
    assert avg["denominator"] == 4.4 and isinstance(avg["denominator"], float)  # summed exactly, not 4.3999...
    assert avg["value"] == pytest.approx(24 / 4.4)
    assert pick(rows, "workers_over_caseload_limit")["value"] == 1  # W2 only: W9 is at exactly 20


def test_team_figures(wh) -> None:
    rows = compute_kpis(wh, *NOV, level="team")
    # open: T1 E1, E2, E7, E8 + 10 = 14; T2 E3, E4 = 2; T3 E5, E10 + 10 = 12; T4 0; UNKNOWN E9 = 1
    assert [(r["unit"], r["value"]) for r in rows if r["kpi"] == "open_cases"] == [
        ("T1", 14), ("T2", 2), ("T3", 12), ("T4", 0), ("UNKNOWN", 1)]
    assert [r["value"] for r in rows if r["kpi"] == "unallocated_cases"] == [2, 1, 0, 0, 1]
    assert [(r["numerator"], r["denominator"]) for r in rows if r["kpi"] == "allocation_rate"] == [
        (12, 14), (1, 2), (12, 12), (0, 0), (0, 1)]
    assert pick(rows, "allocation_rate", "T4")["value"] is None
    # caseload by the worker's team: T1 W1 + W2 = 13 / 1.5; T2 W8 = 0 / 0.6 (W3 left, W4 a manager);
    # T3 W5 + W9 = 11 / 1.3; T4 nobody: 0 / 0, null; UNKNOWN W7 = 0 / 1.0
    avg = {r["unit"]: (r["numerator"], r["denominator"], r["value"]) for r in rows if r["kpi"] == "average_caseload"}
    assert avg["T1"] == (13, 1.5, 13 / 1.5)
    assert avg["T2"] == (0, 0.6, 0.0)
    assert avg["T3"][:2] == (11, 1.3)
    assert avg["T4"] == (0, 0.0, None)
    assert avg["UNKNOWN"] == (0, 1.0, 0.0)
    assert [(r["unit"], r["value"]) for r in rows if r["kpi"] == "workers_over_caseload_limit"] == [
        ("T1", 1), ("T2", 0), ("T3", 0), ("T4", 0)]


def test_service_rows_include_a_service_with_no_records(wh) -> None:
    rows = compute_kpis(wh, *NOV, level="service")
    assert units_of(rows, "open_cases") == ["Care Management", "Front Door", "Quiet Service", "UNKNOWN"]
    assert pick(rows, "open_cases", "Front Door")["value"] == 16
    assert pick(rows, "open_cases", "Quiet Service")["value"] == 0
    assert pick(rows, "average_caseload", "Quiet Service")["value"] is None


def test_worker_rows_are_caseload_per_fte(wh) -> None:
    rows = compute_kpis(wh, *NOV, level="worker")
    assert {r["kpi"] for r in rows} <= {"average_caseload"}  # no other caseload KPI has worker rows
    assert [(r["unit"], r["numerator"], r["denominator"], r["value"]) for r in rows] == [
        ("W1", 2, 1.0, 2.0), ("W2", 11, 0.5, 22.0), ("W5", 1, 0.8, 1.25), ("W7", 0, 1.0, 0.0),
        ("W8", 0, 0.6, 0.0), ("W9", 10, 0.5, 20.0)]


def test_caseload_limit_comes_from_the_configuration(make_wh) -> None:
    wh = make_wh({"workers": WORKERS, "episodes": EPISODES, "allocations": ALLOCATIONS},
                 config=KpiConfig(caseload_limit=19.5))
    assert pick(compute_kpis(wh, *NOV), "workers_over_caseload_limit")["value"] == 2  # W2 (22) and W9 (20)


def test_records(wh) -> None:
    unallocated = kpi_records(wh, "unallocated_cases", "trust", *NOV)
    assert [r["record_id"] for r in unallocated] == ["E3", "E7", "E8", "E9"]
    coworked = [r for r in kpi_records(wh, "allocation_rate", "T1", *NOV) if r["record_id"] == "E2"]
    assert (coworked[0]["allocated_workers"], coworked[0]["counted_in"]) == ("W1, W2", "numerator")
    assert [r["allocated_workers"] for r in unallocated] == [None, None, None, None]  # a leaver, WX, ended, W6
    held = kpi_records(wh, "average_caseload", "W1", *NOV)
    # C1 is held by two open allocations (AL01, AL01B): one record, shown by the first
    assert [(r["child_id"], r["record_id"], r["caseload"], r["fte"]) for r in held] == [
        ("C1", "AL01", 2, 1.0), ("C2", "AL02", 2, 1.0)]
    over = kpi_records(wh, "workers_over_caseload_limit", "trust", *NOV)
    assert [(r["record_type"], r["worker_id"], r["caseload"], r["fte"]) for r in over] == [("worker", "W2", 11, 0.5)]
    nobody = kpi_records(wh, "average_caseload", "T2", *NOV)
    assert [(r["record_type"], r["worker_id"], r["counted_in"]) for r in nobody] == [("worker", "W8", "denominator")]
    for level in ("trust", "service", "team", "worker"):
        for row in compute_kpis(wh, *NOV, level=level):
            if get_kpi(row["kpi"]).family == "caseload":
                assert_reconciles(wh, row, *NOV)

