"""domain_good_or_better over a trend, at the worker and team levels, for every unit and for one: the
rows a keyed family's facts query makes (kpis/engine.py). A listed unit (each team of teams.csv, each
worker of a loaded audit) has a row for every domain graded somewhere in the period, and for no other;
UNKNOWN only where it grades something. Three months (September to November 2025), worked out by hand.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kpis import compute_kpis, kpi_trend

D = dt.date.fromisoformat
KPI = ["domain_good_or_better"]
MONTHS = {"2025-09-01": (D("2025-09-01"), D("2025-09-30")), "2025-10-01": (D("2025-10-01"), D("2025-10-31")),
          "2025-11-01": (D("2025-11-01"), D("2025-11-30"))}


def _audit(aid: str, team: str | None, worker: str | None, completed: str | None, grade: str | None) -> dict:
    return {"audit_id": aid, "child_id": f"C-{aid}", "audit_type": "learning", "team_id": team, "worker_id": worker,
            "auditor_id": "TM1", "auditor_role": "team_manager", "assigned_date": "2025-08-01",
            "due_date": "2025-11-10", "completed_date": completed, "grade": grade}


AUDITS = [
    _audit("A1", "T1", "W1", "2025-09-10", "good"),
    _audit("A2", "T1", "W2", "2025-10-05", "requires_improvement"),
    _audit("A3", "TX", "W1", "2025-10-20", "good"),          # a team not in teams.csv: UNKNOWN
    _audit("A4", "T2", "W3", None, None),                    # open: its domain row never counts
    _audit("A5", None, None, "2025-11-03", "good"),          # no team (UNKNOWN), no worker
]
DOMAINS = [
    {"audit_id": "A1", "domain": "assessment", "grade": "good"},
    {"audit_id": "A1", "domain": "planning", "grade": "inadequate"},
    {"audit_id": "A2", "domain": "assessment", "grade": "requires_improvement"},
    {"audit_id": "A3", "domain": "recording", "grade": "outstanding"},
    {"audit_id": "A4", "domain": "voice_of_child", "grade": "good"},
    {"audit_id": "A5", "domain": "planning", "grade": "good"},
]
# graded somewhere in each month: September assessment and planning (A1), October assessment (A2) and
# recording (A3), November planning (A5); in the contract's order of domains, then by month
CELLS = [("assessment", "2025-09-01"), ("assessment", "2025-10-01"), ("planning", "2025-09-01"),
         ("planning", "2025-11-01"), ("recording", "2025-10-01")]


@pytest.fixture()
def wh(make_wh):
    return make_wh({"audits": AUDITS, "audit_domains": DOMAINS}, extracted_at="2025-11-30T06:30:00")


def _trend(wh, level: str, unit: str | None = None) -> list[tuple]:
    rows = kpi_trend(wh, KPI, "month", 3, level, unit=unit, date_to=D("2025-11-30"))
    assert all(list(r) == ["period_start", "period_end", "kpi", "level", "unit", "domain", "numerator",
                           "denominator", "value"] for r in rows)
    return [(r["unit"], r["domain"], r["period_start"], r["numerator"], r["denominator"], r["value"]) for r in rows]


def _zeros(unit: str) -> list[tuple]:
    return [(unit, d, p, 0, 0, None) for d, p in CELLS]


W1 = [("W1", "assessment", "2025-09-01", 1, 1, 100.0), ("W1", "assessment", "2025-10-01", 0, 0, None),
      ("W1", "planning", "2025-09-01", 0, 1, 0.0), ("W1", "planning", "2025-11-01", 0, 0, None),
      ("W1", "recording", "2025-10-01", 1, 1, 100.0)]                          # A1, and A3 in an UNKNOWN team
W2 = [("W2", "assessment", "2025-09-01", 0, 0, None), ("W2", "assessment", "2025-10-01", 0, 1, 0.0),
      ("W2", "planning", "2025-09-01", 0, 0, None), ("W2", "planning", "2025-11-01", 0, 0, None),
      ("W2", "recording", "2025-10-01", 0, 0, None)]                           # A2
T1 = [("T1", "assessment", "2025-09-01", 1, 1, 100.0), ("T1", "assessment", "2025-10-01", 0, 1, 0.0),
      ("T1", "planning", "2025-09-01", 0, 1, 0.0), ("T1", "planning", "2025-11-01", 0, 0, None),
      ("T1", "recording", "2025-10-01", 0, 0, None)]                           # A1, A2
UNKNOWN = [("UNKNOWN", "planning", "2025-11-01", 1, 1, 100.0),               # A5
           ("UNKNOWN", "recording", "2025-10-01", 1, 1, 100.0)]              # A3


def test_worker_trend_every_listed_worker_each_domain_graded_in_the_month(wh) -> None:
    # W3's only audit is open: a row for each cell, all 0 of 0; A5 has no worker, so no row
    assert _trend(wh, "worker") == W1 + W2 + _zeros("W3")


def test_worker_trend_of_one_worker(wh) -> None:
    assert _trend(wh, "worker", "W2") == W2
    assert _trend(wh, "worker", "W3") == _zeros("W3")


def test_team_trend_with_unknown_last(wh) -> None:
    assert _trend(wh, "team") == T1 + _zeros("T2") + _zeros("T3") + UNKNOWN
    assert _trend(wh, "team", "UNKNOWN") == UNKNOWN
    assert _trend(wh, "team", "T1") == T1


def test_all_levels_at_once_are_each_level_alone(wh) -> None:
    rows = kpi_trend(wh, KPI, "month", 3, "all", date_to=D("2025-11-30"))
    for level in ("trust", "service", "team", "worker"):
        assert [r for r in rows if r["level"] == level] == kpi_trend(wh, KPI, "month", 3, level,
                                                                     date_to=D("2025-11-30"))
    trust = [(r["domain"], r["period_start"], r["numerator"], r["denominator"]) for r in rows if r["level"] == "trust"]
    assert trust == [("assessment", "2025-09-01", 1, 1), ("assessment", "2025-10-01", 0, 1),
                     ("planning", "2025-09-01", 0, 1), ("planning", "2025-11-01", 1, 1),
                     ("recording", "2025-10-01", 1, 1)]


def test_trend_rows_are_each_months_figures(wh) -> None:
    rows = kpi_trend(wh, KPI, "month", 3, "worker", date_to=D("2025-11-30"))
    for start, (first, last) in MONTHS.items():
        month = [{k: v for k, v in r.items() if k not in ("period_start", "period_end")}
                 for r in rows if r["period_start"] == start]
        assert month == compute_kpis(wh, first, last, "worker", kpi_ids=KPI)


def test_a_trend_before_any_audit_has_no_domain_rows(wh) -> None:
    assert kpi_trend(wh, KPI, "month", 3, "all", date_to=D("2025-06-30")) == []
