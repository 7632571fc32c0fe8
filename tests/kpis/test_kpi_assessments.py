"""Single assessments: 45 working days across Christmas, Saturday starts, 2022-2023 special holidays,
authorised on the start date, overdue and due soon at the as-at date. Answers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from kpi_checks import assert_reconciles, pick, units_of

from kpis import compute_kpis, kpi_records

D = dt.date.fromisoformat
JAN = (D("2025-01-01"), D("2025-01-31"))  # D = Fri 2025-01-31


def _a(aid: str, start: str, authorised: str | None, team: str | None, worker: str | None = None) -> dict:
    return {"assessment_id": aid, "child_id": f"C-{aid}", "start_date": start, "authorised_date": authorised,
            "team_id": team, "worker_id": worker}


# Working days counted by hand (a < d <= b; Christmas 2024: Wed 25, Thu 26; New Year: Wed 1 Jan):
# from Fri 2024-11-01: Nov = 20, Dec 2-20 = 35, 23 = 36, 24 = 37, 27 = 38, 30 = 39, 31 = 40,
#   Jan 2 = 41, 3 = 42, 6 = 43, 7 = 44, 8 = 45, 9 = 46.
# to Fri 2025-01-31: January has 22 working days after Dec 31, December 20 (Dec 2-31), so
#   from Mon 2024-11-25: 46, Tue 11-26: 45, Mon 12-02: 41, Tue 12-03: 40.
ASSESSMENTS = [
    _a("A45", "2024-11-01", "2025-01-08", "T1", "W1"),   # 45 wd: within
    _a("A46", "2024-11-01", "2025-01-09", "T1", "W2"),   # 46 wd: not within
    _a("A0", "2025-01-15", "2025-01-15", "T2", "W1"),    # authorised on its start date: 0 wd, within
    _a("ASAT", "2024-11-02", "2025-01-09", "T2"),        # Saturday start: Mon 4 Nov is day 1 -> 46, not within
    _a("AUTHD", "2024-11-25", "2025-01-31", "T3", "W3"),  # authorised on D: completed (46 wd), not open at D
    _a("O46", "2024-11-25", None, "T1", "W1"),           # open at D, 46 wd: overdue
    _a("O45", "2024-11-26", None, ""),                   # open, 45 wd: due soon; empty team -> UNKNOWN
    _a("O41", "2024-12-02", None, "TX"),                 # open, 41 wd: due soon; team not in teams.csv -> UNKNOWN
    _a("O40", "2024-12-03", None, "T3"),                 # open, 40 wd: neither
    _a("OLATE", "2024-11-25", "2025-02-03", "T2", "W2"),  # authorised after D: open at D, 46 wd, overdue
    _a("ADEC", "2024-10-01", "2024-12-31", "T1", "W1"),  # authorised before the period: not counted
]


@pytest.fixture(scope="module")
def wh(shared_wh):
    return shared_wh("assessments", {"assessments": ASSESSMENTS})


def test_trust_figures(wh) -> None:
    rows = compute_kpis(wh, *JAN)
    # completed in January: A45, A46, A0, ASAT, AUTHD = 5; within 45 wd: A45, A0 = 2 -> 40%
    assert pick(rows, "assessments_completed") == {"kpi": "assessments_completed", "level": "trust", "unit": "trust",
                                                   "numerator": 5, "denominator": None, "value": 5}
    assert pick(rows, "assessments_within_45wd") == {
        "kpi": "assessments_within_45wd", "level": "trust", "unit": "trust", "numerator": 2, "denominator": 5,
        "value": 40.0}
    assert pick(rows, "assessments_overdue")["value"] == 2  # O46, OLATE
    assert pick(rows, "assessments_due_soon")["value"] == 2  # O45, O41


def test_team_figures_and_unknown(wh) -> None:
    rows = compute_kpis(wh, *JAN, level="team")
    # T1: A45 (in), A46 (out) -> 1/2; overdue O46. T2: A0 (in), ASAT (out) -> 1/2; overdue OLATE.
    # T3: AUTHD (out) -> 0/1; O40 is neither. UNKNOWN: only the two due soon.
    assert [(r["numerator"], r["denominator"], r["value"]) for r in rows if r["kpi"] == "assessments_within_45wd"] == [
        (1, 2, 50.0), (1, 2, 50.0), (0, 1, 0.0)]
    assert units_of(rows, "assessments_within_45wd") == ["T1", "T2", "T3"]
    assert [r["value"] for r in rows if r["kpi"] == "assessments_overdue"] == [1, 1, 0]
    assert units_of(rows, "assessments_due_soon") == ["T1", "T2", "T3", "UNKNOWN"]
    assert pick(rows, "assessments_due_soon", "UNKNOWN")["value"] == 2
    assert "UNKNOWN" not in units_of(rows, "assessments_completed")  # nothing to count there: no row


def test_service_figures(wh) -> None:
    rows = compute_kpis(wh, *JAN, level="service")
    # Front Door = T1 + T2: 2 within of 4; Care Management = T3: 0 of 1; UNKNOWN service: due soon 2
    assert pick(rows, "assessments_within_45wd", "Front Door")["value"] == 50.0
    assert pick(rows, "assessments_within_45wd", "Care Management")["value"] == 0.0
    assert pick(rows, "assessments_overdue", "Front Door")["value"] == 2
    assert pick(rows, "assessments_due_soon", "UNKNOWN")["value"] == 2


def test_worker_figures(wh) -> None:
    rows = compute_kpis(wh, *JAN, level="worker")
    # W1: A45, A0 (both within), O46 overdue. W2: A46 (out), OLATE overdue. W3: AUTHD (out).
    assert pick(rows, "assessments_within_45wd", "W1")["value"] == 100.0
    assert pick(rows, "assessments_within_45wd", "W2")["value"] == 0.0
    assert pick(rows, "assessments_completed", "W3")["value"] == 1
    assert units_of(rows, "assessments_overdue") == ["W1", "W2"]
    assert units_of(rows, "assessments_due_soon") == []  # the due-soon assessments have no worker


def test_records_show_working_days_and_reconcile(wh) -> None:
    records = kpi_records(wh, "assessments_within_45wd", "trust", *JAN)
    days = {r["record_id"]: (r["working_days"], r["counted_in"]) for r in records}
    assert days == {"A45": (45, "numerator"), "A0": (0, "numerator"), "A46": (46, "denominator"),
                    "ASAT": (46, "denominator"), "AUTHD": (46, "denominator")}
    due = kpi_records(wh, "assessments_due_soon", "UNKNOWN", *JAN)
    assert [(r["record_id"], r["working_days"], r["team_id"]) for r in due] == [("O41", 41, "TX"), ("O45", 45, "")]
    for level in ("trust", "service", "team", "worker"):
        for row in compute_kpis(wh, *JAN, level=level):
            if row["kpi"].startswith("assessments"):
                assert_reconciles(wh, row, *JAN)


@pytest.mark.parametrize(
    ("start", "authorised", "within"),
    [
        # 2022 jubilee. From Fri 2022-04-01: April 18 (Good Friday 15th, Easter Monday 18th), May 21
        # (May Day 2nd) -> 39 at May 31; Jun 1 = 40, Jun 2 and 3 holidays, Jun 6 = 41 ... Jun 10 = 45.
        ("2022-04-01", "2022-06-10", True),
        ("2022-04-01", "2022-06-13", False),  # 46
        # 2023 coronation. From Fri 2023-03-03: March 20, April 18 (Good Friday 7th, Easter Monday
        # 10th) -> 38, May 2-5 -> 42 (May Day 1st), coronation Mon 8th, 9 = 43, 10 = 44, 11 = 45.
        ("2023-03-03", "2023-05-11", True),
        ("2023-03-03", "2023-05-12", False),  # 46
    ],
)
def test_special_bank_holidays_are_not_working_days(make_wh, start: str, authorised: str, within: bool) -> None:
    wh = make_wh({"assessments": [_a("J", start, authorised, "T1")]})
    month = D(authorised).replace(day=1)
    row = pick(compute_kpis(wh, month, D(authorised)), "assessments_within_45wd")
    assert (row["numerator"], row["denominator"]) == (int(within), 1)


def test_closure_days_from_the_configuration_count(make_wh) -> None:
    from kpis import KpiConfig

    # A45 above took exactly 45 working days; closing the office on Mon 2024-12-02 makes it 44
    # and A46 45, so both are within.
    config = KpiConfig(closure_days=(D("2024-12-02"),))
    wh = make_wh({"assessments": ASSESSMENTS[:2]}, config=config)
    row = pick(compute_kpis(wh, *JAN), "assessments_within_45wd")
    assert (row["numerator"], row["denominator"]) == (2, 2)
