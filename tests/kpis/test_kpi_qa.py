"""Case-file audits (qa-audits.md): completed on the due date and a day late, overdue then completed,
moderated to the same and to another grade (after the period too), UNKNOWN teams, domains, actions, the
workers of loaded audits, the files an extract may leave out, and each child's latest grade beside
any KPI's records. Every answer below was worked out by hand for October 2025 (D = Fri 31 October)."""

from __future__ import annotations

import datetime as dt

import pytest
from kpi_checks import assert_reconciles, pick, units_of

from kpis import KpiError, compute_kpis, kpi_records, kpi_trend
from kpis.qa import qa_page

D = dt.date.fromisoformat
OCT = (D("2025-10-01"), D("2025-10-31"))
NOV = (D("2025-11-01"), D("2025-11-30"))
QA = ["audits_completed", "audits_on_time", "audits_overdue", "audits_good_or_better", "audits_inadequate",
      "moderation_agreement", "audit_actions_overdue", "domain_good_or_better"]


def _audit(aid: str, team: str | None, worker: str | None, due: str, completed: str | None = None,
           grade: str | None = None, moderated: str | None = None, moderated_grade: str | None = None) -> dict:
    return {"audit_id": aid, "child_id": f"C-{aid}", "audit_type": "learning", "team_id": team, "worker_id": worker,
            "auditor_id": "TM1", "auditor_role": "team_manager", "assigned_date": "2025-09-01", "due_date": due,
            "completed_date": completed, "grade": grade, "moderated_date": moderated,
            "moderated_grade": moderated_grade}


AUDITS = [
    _audit("DUE", "T1", "W1", "2025-10-15", "2025-10-15", "good"),                     # on the due date: on time
    _audit("LATE", "T1", "W1", "2025-10-15", "2025-10-16", "requires_improvement",     # a day late
           "2025-10-20", "requires_improvement"),                                      # moderated: same grade
    _audit("THEN", "T2", "W2", "2025-10-20", "2025-11-05", "good"),                    # overdue at D, done in Nov
    _audit("ON_D", "T2", "W2", "2025-10-31"),                                          # due on D: not yet overdue
    _audit("OPEN", "T3", "W3", "2025-10-30"),                                          # overdue at D
    _audit("MODLATER", "T3", "W3", "2025-10-10", "2025-10-08", "good",                 # moderated after the period
           "2025-11-03", "inadequate"),                                                # to another grade: inadequate
    _audit("NOTEAM", None, "W4", "2025-10-05", "2025-10-05", "outstanding", "2025-10-06", "outstanding"),
    _audit("TX", "TX", None, "2025-10-31", "2025-10-25", "inadequate", "2025-10-28", "requires_improvement"),
    _audit("SEPT", "T1", "W1", "2025-09-30", "2025-09-30", "good", "2025-10-02", "good"),  # moderated in October
    _audit("NEXT", "T1", "W5", "2025-11-17"),                                          # due later: W5 has nothing
]
DOMAINS = [
    {"audit_id": "DUE", "domain": "assessment", "grade": "good"},
    {"audit_id": "DUE", "domain": "planning", "grade": "inadequate"},
    {"audit_id": "LATE", "domain": "assessment", "grade": "requires_improvement"},
    {"audit_id": "NOTEAM", "domain": "assessment", "grade": "outstanding"},
    {"audit_id": "SEPT", "domain": "assessment", "grade": "good"},   # completed in September
    {"audit_id": "OPEN", "domain": "recording", "grade": "good"},    # not completed: never counted
]
ACTIONS = [
    {"action_id": "AC1", "audit_id": "LATE", "description": "Update the plan", "owner_id": "W9",
     "due_date": "2025-10-30"},                                               # overdue: counts for W1, not W9
    {"action_id": "AC2", "audit_id": "LATE", "description": "Visit", "due_date": "2025-10-31"},  # due on D
    {"action_id": "AC3", "audit_id": "TX", "description": "Chronology", "due_date": "2025-10-20",
     "completed_date": "2025-11-02"},                                         # done after D: overdue at D
    {"action_id": "AC4", "audit_id": "DUE", "description": "Views", "due_date": "2025-10-25",
     "completed_date": "2025-10-31"},                                         # done on D: not overdue
]


@pytest.fixture(scope="module")
def wh(shared_wh):
    return shared_wh("qa", {"audits": AUDITS, "audit_domains": DOMAINS, "audit_actions": ACTIONS})


def _figures(rows: list[dict], kpi: str) -> dict[str, tuple]:
    return {r["unit"]: (r["numerator"], r["denominator"], r["value"]) for r in rows if r["kpi"] == kpi}


def test_trust_figures_for_october(wh) -> None:
    rows = compute_kpis(wh, *OCT, kpi_ids=QA)
    got = {r["kpi"]: (r["numerator"], r["denominator"], r["value"]) for r in rows if "domain" not in r}
    assert got == {
        "audits_completed": (5, None, 5),             # DUE LATE MODLATER NOTEAM TX
        "audits_on_time": (4, 5, 80.0),               # all but LATE (a day late)
        "audits_overdue": (2, None, 2),               # THEN (done after D), OPEN; not ON_D (due on D)
        "audits_good_or_better": (2, 5, 40.0),        # DUE good, NOTEAM outstanding; MODLATER's final is inadequate
        "audits_inadequate": (1, None, 1),            # MODLATER: moderated in November, still corrects October
        "moderation_agreement": (3, 4, 75.0),         # LATE NOTEAM SEPT agree, TX does not
        "audit_actions_overdue": (2, None, 2),        # AC1, AC3
    }


def test_november_counts_the_overdue_audit_when_it_is_completed(wh) -> None:
    rows = compute_kpis(wh, *NOV, kpi_ids=QA)
    assert pick(rows, "audits_completed")["value"] == 1                                   # THEN
    assert (pick(rows, "audits_on_time")["numerator"], pick(rows, "audits_on_time")["denominator"]) == (0, 1)
    assert pick(rows, "audits_overdue")["value"] == 3                                     # ON_D, OPEN, NEXT
    assert pick(rows, "moderation_agreement")["value"] == 0.0                             # MODLATER disagrees
    assert pick(rows, "audit_actions_overdue")["value"] == 2                              # AC1, AC2 still open
    assert [r for r in rows if r["kpi"] == "domain_good_or_better"] == []                 # THEN graded no domain


def test_team_figures_and_unknown(wh) -> None:
    rows = compute_kpis(wh, *OCT, level="team", kpi_ids=QA)
    # NOTEAM (empty team) and TX (not in teams.csv) are UNKNOWN
    assert _figures(rows, "audits_completed") == {"T1": (2, None, 2), "T2": (0, None, 0), "T3": (1, None, 1),
                                                  "UNKNOWN": (2, None, 2)}
    assert _figures(rows, "audits_on_time") == {"T1": (1, 2, 50.0), "T2": (0, 0, None), "T3": (1, 1, 100.0),
                                                "UNKNOWN": (2, 2, 100.0)}
    assert _figures(rows, "audits_overdue") == {"T1": (0, None, 0), "T2": (1, None, 1), "T3": (1, None, 1)}
    assert _figures(rows, "audits_good_or_better") == {"T1": (1, 2, 50.0), "T2": (0, 0, None), "T3": (0, 1, 0.0),
                                                       "UNKNOWN": (1, 2, 50.0)}
    assert _figures(rows, "moderation_agreement") == {"T1": (2, 2, 100.0), "T2": (0, 0, None), "T3": (0, 0, None),
                                                      "UNKNOWN": (1, 2, 50.0)}
    assert _figures(rows, "audit_actions_overdue") == {"T1": (1, None, 1), "T2": (0, None, 0), "T3": (0, None, 0),
                                                       "UNKNOWN": (1, None, 1)}


def test_service_figures(wh) -> None:
    rows = compute_kpis(wh, *OCT, level="service", kpi_ids=QA)
    assert _figures(rows, "audits_completed") == {"Care Management": (1, None, 1), "Front Door": (2, None, 2),
                                                  "UNKNOWN": (2, None, 2)}
    assert _figures(rows, "audits_overdue") == {"Care Management": (1, None, 1), "Front Door": (1, None, 1)}


def test_every_worker_of_a_loaded_audit_has_a_row(wh) -> None:
    rows = compute_kpis(wh, *OCT, level="worker", kpi_ids=QA)
    # W5's only audit is due in November: rows all the same (0, or null for a rate); TX has no worker
    for kpi in QA:
        assert sorted(set(units_of(rows, kpi))) == ["W1", "W2", "W3", "W4", "W5"], kpi
    assert _figures(rows, "audits_completed") == {"W1": (2, None, 2), "W2": (0, None, 0), "W3": (1, None, 1),
                                                  "W4": (1, None, 1), "W5": (0, None, 0)}
    assert _figures(rows, "moderation_agreement")["W1"] == (2, 2, 100.0)   # LATE and SEPT
    # an action counts for its audit's worker (W1), not its owner (W9)
    assert _figures(rows, "audit_actions_overdue") == {"W1": (1, None, 1), "W2": (0, None, 0), "W3": (0, None, 0),
                                                       "W4": (0, None, 0), "W5": (0, None, 0)}


def test_domains_one_row_per_domain_graded_in_the_period(wh) -> None:
    trust = [r for r in compute_kpis(wh, *OCT, kpi_ids=["domain_good_or_better"])]
    assert trust == [
        {"kpi": "domain_good_or_better", "level": "trust", "unit": "trust", "domain": "assessment",
         "numerator": 2, "denominator": 3, "value": pytest.approx(200 / 3)},   # DUE good, NOTEAM outstanding, LATE not
        {"kpi": "domain_good_or_better", "level": "trust", "unit": "trust", "domain": "planning",
         "numerator": 0, "denominator": 1, "value": 0.0},                    # DUE inadequate
    ]  # recording: OPEN is not completed; SEPT's assessment was in September
    teams = compute_kpis(wh, *OCT, level="team", kpi_ids=["domain_good_or_better"])
    got = {(r["unit"], r["domain"]): (r["numerator"], r["denominator"]) for r in teams}
    # every team gets both domains (nothing to count: 0 of 0); UNKNOWN only the domain it graded
    assert got == {("T1", "assessment"): (1, 2), ("T1", "planning"): (0, 1), ("T2", "assessment"): (0, 0),
                   ("T2", "planning"): (0, 0), ("T3", "assessment"): (0, 0), ("T3", "planning"): (0, 0),
                   ("UNKNOWN", "assessment"): (1, 1)}
    assert all(list(r)[:4] == ["kpi", "level", "unit", "domain"] and len(r) == 7 for r in teams)


def test_records_count_to_every_figure_at_every_level(wh) -> None:
    for level in ("trust", "service", "team", "worker"):
        for row in compute_kpis(wh, *OCT, level=level, kpi_ids=QA):
            assert_reconciles(wh, row, *OCT)


def test_records_are_the_audits_and_actions(wh) -> None:
    overdue = kpi_records(wh, "audits_overdue", "trust", *OCT)
    assert [(r["record_type"], r["record_id"], r["due_date"], r["completed_date"]) for r in overdue] == [
        ("audit", "OPEN", "2025-10-30", None), ("audit", "THEN", "2025-10-20", "2025-11-05")]
    good = kpi_records(wh, "audits_good_or_better", "T3", *OCT)
    assert [(r["record_id"], r["grade"], r["moderated_grade"], r["final_grade"], r["counted_in"]) for r in good] == [
        ("MODLATER", "good", "inadequate", "inadequate", "denominator")]
    actions = kpi_records(wh, "audit_actions_overdue", "W1", *OCT)
    assert [(r["record_id"], r["audit_id"], r["owner_id"], r["worker_id"]) for r in actions] == [
        ("AC1", "LATE", "W9", "W1")]
    planning = kpi_records(wh, "domain_good_or_better", "T1", *OCT, domain="planning")
    assert [(r["record_id"], r["domain"], r["domain_grade"]) for r in planning] == [("DUE", "planning", "inadequate")]
    with pytest.raises(KpiError, match='"timeliness" is not an audit domain'):
        kpi_records(wh, "domain_good_or_better", "trust", *OCT, domain="timeliness")
    with pytest.raises(KpiError, match="audits_completed has no domains"):
        kpi_records(wh, "audits_completed", "trust", *OCT, domain="planning")


def test_trend_rows_equal_the_figures_of_each_month(wh) -> None:
    trend = kpi_trend(wh, QA, "month", 2, "team", date_to=D("2025-11-30"))
    for start, end in (OCT, NOV):
        mine = [{k: v for k, v in r.items() if k not in ("period_start", "period_end")}
                for r in trend if r["period_start"] == start.isoformat()]
        assert mine == compute_kpis(wh, start, end, "team", kpi_ids=QA)


def test_without_audits_no_qa_rows_at_all(make_wh) -> None:
    wh = make_wh({"assessments": []})
    assert not [r for r in compute_kpis(wh, *OCT, level="all") if r["kpi"] in QA]
    with pytest.raises(KpiError, match=r"no audits loaded \(the extract holds no audits.csv\)"):
        kpi_records(wh, "audits_completed", "trust", *OCT)


def test_without_domains_or_actions_no_rows_for_their_kpis(make_wh) -> None:
    audits_only = make_wh({"audits": AUDITS})
    kpis = {r["kpi"] for r in compute_kpis(audits_only, *OCT, level="all")}
    assert {"audits_completed", "moderation_agreement"} <= kpis
    assert not {"domain_good_or_better", "audit_actions_overdue"} & kpis
    with pytest.raises(KpiError, match="no audit actions loaded"):
        kpi_records(audits_only, "audit_actions_overdue", "trust", *OCT)
    # the files given but empty: the figures are there (0, or no domain graded), not "not loaded"
    empty = make_wh({"audits": AUDITS, "audit_actions": []})
    assert pick(compute_kpis(empty, *OCT, kpi_ids=["audit_actions_overdue"]), "audit_actions_overdue")["value"] == 0


def test_any_kpis_records_show_the_childs_latest_audit_grade(make_wh) -> None:
    audits = [
        {**_audit("OLD", "T1", "W1", "2025-09-30", "2025-09-30", "good", "2025-10-20", "inadequate"), "child_id": "C1"},
        {**_audit("NEW", "T1", "W1", "2025-10-20", "2025-10-15", "requires_improvement"), "child_id": "C1"},
        {**_audit("OPEN", "T1", "W1", "2025-10-20"), "child_id": "C2"},  # not completed: no grade to show
    ]
    assessments = [{"assessment_id": f"S{c}", "child_id": f"C{c}", "start_date": "2025-10-01",
                    "authorised_date": "2025-10-05", "team_id": "T1"} for c in (1, 2, 3)]
    wh = make_wh({"audits": audits, "assessments": assessments})
    shown = {r["child_id"]: (r["latest_audit_grade"], r["latest_audit_completed"])
             for r in kpi_records(wh, "assessments_completed", "trust", *OCT)}
    assert shown == {"C1": ("requires_improvement", "2025-10-15"), "C2": (None, None), "C3": (None, None)}
    # as at 10 October the latest is OLD, whose final grade is the moderator's (moderated later)
    early = {r["child_id"]: r["latest_audit_grade"]
             for r in kpi_records(wh, "assessments_completed", "trust", D("2025-10-01"), D("2025-10-10"))}
    assert early["C1"] == "inadequate"


def test_done_before_it_was_due_is_never_overdue_month_by_month(make_wh) -> None:
    """Worked by hand, month ends 31 Aug, 30 Sep, 31 Oct (and two days inside October): EARLY and its
    action X1 were done before they were due, so never overdue (the cube's stretch from the day after
    the due date to the completion is empty); SEPOD was overdue at 30 Sep only (done 2 Oct); X2 is due
    29 Sep and still open, so overdue at 30 Sep and 31 Oct."""
    audits = [_audit("EARLY", "T1", "W1", "2025-10-20", "2025-10-05", "good"),
              _audit("SEPOD", "T1", "W1", "2025-09-10", "2025-10-02", "inadequate", "2025-10-03", "good")]
    actions = [{"action_id": "X1", "audit_id": "EARLY", "description": "Views", "due_date": "2025-10-25",
                "completed_date": "2025-10-01"},
               {"action_id": "X2", "audit_id": "SEPOD", "description": "Plan", "due_date": "2025-09-29"}]
    wh = make_wh({"audits": audits, "audit_actions": actions})
    trend = kpi_trend(wh, ["audits_overdue", "audit_actions_overdue"], "month", 3, "team", unit="T1",
                      date_to=D("2025-10-31"))
    got = {(r["kpi"], r["period_start"]): r["value"] for r in trend}
    assert got == {("audits_overdue", "2025-08-01"): 0, ("audits_overdue", "2025-09-01"): 1,
                   ("audits_overdue", "2025-10-01"): 0, ("audit_actions_overdue", "2025-08-01"): 0,
                   ("audit_actions_overdue", "2025-09-01"): 1, ("audit_actions_overdue", "2025-10-01"): 1}
    for day, audits_overdue in (("2025-10-21", 0), ("2025-10-26", 0)):  # after EARLY's and X1's due dates
        rows = compute_kpis(wh, D("2025-10-01"), D(day), kpi_ids=["audits_overdue", "audit_actions_overdue"])
        assert pick(rows, "audits_overdue")["value"] == audits_overdue
        assert pick(rows, "audit_actions_overdue")["value"] == 1  # X2 only


@pytest.mark.parametrize(("graded", "weakest"), [(3, []), (4, ["d4"]), (5, ["d5", "d4"]), (6, ["d6", "d5", "d4"]),
                                                  (7, ["d7", "d6", "d5"])])
def test_qa_page_never_shows_a_domain_as_both_strongest_and_weakest(make_wh, graded: int, weakest: list[str]) -> None:
    """Domains d1..dN graded good or better in falling shares: the three strongest, then the weakest (up to
    three, the lowest first) from the rest. With four or five graded the weakest three repeated a strongest."""
    from etl.contract import AUDIT_DOMAINS

    names = dict(zip(AUDIT_DOMAINS, (f"d{i}" for i in range(1, 8)), strict=True))
    audits = [_audit(f"A{i}", "T1", "W1", "2025-10-10", "2025-10-10", "good") for i in range(1, 8)]
    # domain k (1-based) is good or better in 8 - k of the 7 audits: shares 6/7, 5/7, ... so d1 is strongest
    domains = [{"audit_id": f"A{i}", "domain": domain, "grade": "good" if i <= 7 - k else "inadequate"}
               for k, domain in enumerate(AUDIT_DOMAINS[:graded], start=1) for i in range(1, 8)]
    page = qa_page(make_wh({"audits": audits, "audit_domains": domains}), "2025-10")
    assert [names[d["domain"]] for d in page["strongest"]] == ["d1", "d2", "d3"]
    assert [names[d["domain"]] for d in page["weakest"]] == weakest
