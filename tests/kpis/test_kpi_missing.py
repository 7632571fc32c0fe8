"""Children missing: exactly 72 hours and one minute more, an offer before the return, missing at the
end of the as-at date, distinct children (not additive). Answers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from kpi_checks import assert_reconciles, pick, units_of

from kpis import compute_kpis, kpi_records

D = dt.date.fromisoformat
NOV = (D("2025-11-01"), D("2025-11-23"))  # D = 2025-11-23, so "end of D" is 2025-11-24T00:00


def _m(mid: str, child: str, start: str, end: str | None, team: str | None, rhi: str | None = None) -> dict:
    return {"missing_id": mid, "child_id": child, "start_time": start, "end_time": end,
            "rhi_offered_time": rhi, "team_id": team}


EPISODES = [
    _m("M72", "C1", "2025-11-10T20:00", "2025-11-11T09:00", "T1", "2025-11-14T09:00"),   # offer at exactly 72h
    _m("M72P", "C2", "2025-11-10T20:00", "2025-11-11T09:00", "T1", "2025-11-14T09:01"),  # 72h and one minute
    _m("MBEF", "C3", "2025-11-12T10:00", "2025-11-12T18:00", "T2", "2025-11-12T17:00"),  # offered before return
    _m("MNONE", "C4", "2025-11-15T10:00", "2025-11-16T10:00", "T2"),                      # never offered
    _m("MPREV", "C5", "2025-10-30T22:00", "2025-11-01T01:00", "T3", "2025-11-02T10:00"),  # went in Oct, back in Nov
    _m("MNOW", "C6", "2025-11-23T23:59", None, "T1"),                 # went a minute before the end of D
    _m("MNOW2", "C6", "2025-11-01T00:00", None, "T2"),                # the same child, open in another team
    _m("MMID", "C7", "2025-11-20T08:00", "2025-11-24T00:00", "T1"),   # back at D+1 00:00: missing at end of D
    _m("M2359", "C8", "2025-11-22T08:00", "2025-11-23T23:59", "T3"),  # back a minute before: not missing
    _m("MFUT", "C9", "2025-11-24T00:00", None, "T3"),                 # went at D+1 00:00: after D
    _m("MUNK", "C10", "2025-11-05T12:00", None, None),                # no team: UNKNOWN
]


@pytest.fixture(scope="module")
def wh(shared_wh):
    return shared_wh("missing", {"missing_episodes": EPISODES})


def test_trust_figures(wh) -> None:
    rows = compute_kpis(wh, *NOV)
    # started 1-23 Nov: all but MPREV (Oct 30) and MFUT (Nov 24) = 9
    assert pick(rows, "missing_episodes_started")["value"] == 9
    # returned 1-23 Nov: M72, M72P, MBEF, MNONE, MPREV, M2359 = 6; within 72h: M72, MBEF, MPREV = 3
    rhi = pick(rows, "rhi_offered_within_72h")
    assert (rhi["numerator"], rhi["denominator"], rhi["value"]) == (3, 6, 50.0)
    # missing at the end of D: C6 (two episodes), C7, C10 = 3 children
    assert pick(rows, "children_missing_now")["value"] == 3


def test_team_figures_and_missing_children_are_not_additive(wh) -> None:
    rows = compute_kpis(wh, *NOV, level="team")
    # T1: C6 (MNOW), C7; T2: C6 (MNOW2); T3: none; UNKNOWN: C10 -> sum 4, but the trust has 3 children
    assert [(r["unit"], r["value"]) for r in rows if r["kpi"] == "children_missing_now"] == [
        ("T1", 2), ("T2", 1), ("T3", 0), ("UNKNOWN", 1)]
    # T1: M72, M72P, MNOW, MMID; T2: MBEF, MNONE, MNOW2; T3: M2359; UNKNOWN: MUNK
    assert [r["value"] for r in rows if r["kpi"] == "missing_episodes_started"] == [4, 3, 1, 1]
    # T1: M72 in, M72P out; T2: MBEF in, MNONE out; T3: MPREV in, M2359 out; UNKNOWN returned none: no row
    assert [(r["numerator"], r["denominator"]) for r in rows if r["kpi"] == "rhi_offered_within_72h"] == [
        (1, 2), (1, 2), (1, 2)]
    assert units_of(rows, "rhi_offered_within_72h") == ["T1", "T2", "T3"]


def test_service_counts_a_child_once(wh) -> None:
    rows = compute_kpis(wh, *NOV, level="service")
    assert pick(rows, "children_missing_now", "Front Door")["value"] == 2  # C6 in T1 and T2, C7
    assert pick(rows, "children_missing_now", "Care Management")["value"] == 0
    assert pick(rows, "children_missing_now", "UNKNOWN")["value"] == 1


def test_no_worker_rows(wh) -> None:
    assert compute_kpis(wh, *NOV, level="worker", kpi_ids=["children_missing_now", "missing_episodes_started",
                                                           "rhi_offered_within_72h"]) == []


def test_records_one_row_per_missing_child(wh) -> None:
    records = kpi_records(wh, "children_missing_now", "trust", *NOV)
    # C6's latest-started open episode is MNOW (23:59 on D), and it has two open; ordered by record id
    assert [(r["child_id"], r["record_id"], r["open_episodes"]) for r in records] == [
        ("C7", "MMID", 1), ("C6", "MNOW", 2), ("C10", "MUNK", 1)]
    records = kpi_records(wh, "rhi_offered_within_72h", "trust", *NOV)
    rhi = {r["record_id"]: (r["hours"], r["counted_in"]) for r in records}
    assert rhi["M72"] == (72.0, "numerator")
    assert rhi["M72P"] == (pytest.approx(72 + 1 / 60), "denominator")
    assert rhi["MBEF"] == (-1.0, "numerator")
    assert rhi["MNONE"] == (None, "denominator")
    for level in ("trust", "service", "team"):
        for row in compute_kpis(wh, *NOV, level=level):
            if row["kpi"] in ("children_missing_now", "missing_episodes_started", "rhi_offered_within_72h"):
                assert_reconciles(wh, row, *NOV)
