"""Hand-made cases for corners the differential fuzz does not draw: a real team whose id is "UNKNOWN",
identifiers with surrounding spaces or another case, and boundaries of kpis.md's definitions (working
days over year ends, the edges of "within N working days", several open episodes, re-referrals on the
12-month edge, missing episodes across period edges, stocks before the first and after the last record).

Each extract goes through the real loader (etl.load_extract, which builds the daily cube too), and
each figure is asserted three ways: the answer worked out by hand in the test's docstring, the cube
and the facts engine giving the same rows, and the pandas reference (benchmarks/pandas_reference.py)
agreeing with both.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from test_agreement import _differences

from benchmarks.pandas_reference import LEVELS, compute_kpis_pandas, load_tables
from core.settings import get_settings
from etl import load_extract
from etl.contract import EXTRACT_TABLES, TABLES_BY_NAME
from kpis import KpiConfig, compute_kpis, kpi_trend, open_warehouse

D = dt.date.fromisoformat
TEAMS = [{"team_id": "T1", "team_name": "Duckpond", "service": "Front Door"},
         {"team_id": "T2", "team_name": "Moonbeam", "service": "Care"}]


def _worker(wid: str, team: str, fte: str = "1", start: str | None = None, end: str | None = None,
            role: str = "social_worker") -> dict:
    return {"worker_id": wid, "worker_name": f"Worker {wid}", "team_id": team, "role": role, "qualified": "Y",
            "fte": fte, "start_date": start, "end_date": end}


def load(tmp_path: Path, rows: dict[str, list[dict]], extracted_at: str) -> Path:
    """The rows written as the contract's CSV files (every required file, empty where not given) and
    published by the real loader; the warehouse's path. Values are written exactly as given."""
    folder = tmp_path / "extract"
    folder.mkdir()
    rows = {"teams": TEAMS, **rows}
    for table in EXTRACT_TABLES:
        if table.optional and table.name not in rows:
            continue
        with (folder / table.file_name).open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(table.column_names)
            out.writerows([[r.get(c) for c in table.column_names] for r in rows.get(table.name, [])])
    (folder / "manifest.json").write_text(f'{{"extracted_at": "{extracted_at}", "source_system": "LCS"}}')
    result = load_extract(folder)
    assert result.status == "published", result.message
    return Path(get_settings().db)


def figures(db: Path, start: dt.date, end: dt.date, kpis: list[str] | None = None,
            levels: tuple[str, ...] = LEVELS) -> dict[tuple[str, str, str], tuple]:
    """{(kpi, level, unit): (numerator, denominator)}, after checking that the cube, the facts and the
    pandas reference give the same rows for the period."""
    tables = load_tables(db)
    with open_warehouse(db, cube=True) as wh, open_warehouse(db, cube=False) as facts:
        rows = compute_kpis(wh, start, end, list(levels), kpi_ids=kpis)
        assert repr(rows) == repr(compute_kpis(facts, start, end, list(levels), kpi_ids=kpis))
        reference = [r for lv in levels for r in compute_kpis_pandas(tables, start, end, lv, wh.config.caseload_limit,
                                                                     tuple(wh.config.closure_days))
                     if kpis is None or r["kpi"] in kpis]
    diffs = _differences(rows, reference)
    assert not diffs, "\n".join(diffs)
    return {(r["kpi"], r["level"], r["unit"]): (r["numerator"], r["denominator"]) for r in rows}


@pytest.fixture
def data(isolated_settings) -> None:
    """A fresh data folder; the cube is built by every load (the default)."""
    get_settings.cache_clear()


# --- (b) a real team whose team_id is "UNKNOWN" ---------------------------------------------------


def test_a_real_team_called_unknown_shares_the_team_unit_but_keeps_its_service(tmp_path: Path, data) -> None:
    """teams.csv has T1 (Front Door) and a real team whose id is literally UNKNOWN (service Care).

    kpis.md: a record's team unit is its team_id; a record whose team is empty or not in teams.csv
    "belongs to team unit UNKNOWN and service unit UNKNOWN". The JSON's unit is the team_id, so the two
    cannot be told apart at team level; at service level they can, and the spec puts each where it says.
    Referrals in January 2025: R0 team UNKNOWN (the real team), R1 no team, R2 team T9 (not in
    teams.csv), R3 team T1. By hand:
      team UNKNOWN = R0 + R1 + R2 = 3; team T1 = 1;
      service Care = R0 = 1 (the real team's own service); service UNKNOWN = R1 + R2 = 2;
      service Front Door = 1; trust = 4.
    Episodes open at 31 January: E0 team UNKNOWN (real), E1 team T9, E2 team T1, none allocated:
      open_cases team UNKNOWN = 2, service Care = 1, service UNKNOWN = 1, trust = 3.
    The cube cannot keep the two apart (it rolls teams up into services), so the load publishes without
    one and every figure is counted from the records: the same figures either way.
    """
    teams = [TEAMS[0], {"team_id": "UNKNOWN", "team_name": "Unknown Lane", "service": "Care"}]
    db = load(tmp_path, {
        "teams": teams,
        "children": [{"child_id": f"C{i}"} for i in range(4)],
        "referrals": [{"referral_id": f"R{i}", "child_id": f"C{i}", "referral_date": "2025-01-10", "team_id": t}
                      for i, t in enumerate(["UNKNOWN", None, "T9", "T1"])],
        "episodes": [{"episode_id": f"E{i}", "child_id": f"C{i}", "episode_type": "CIN", "start_date": "2025-01-02",
                      "team_id": t} for i, t in enumerate(["UNKNOWN", "T9", "T1"])],
    }, "2025-01-31T06:30:00")
    got = figures(db, D("2025-01-01"), D("2025-01-31"), ["referrals", "open_cases"])
    referrals = {(lv, u): n for (k, lv, u), (n, _) in got.items() if k == "referrals" and lv != "worker"}
    assert referrals == {("trust", "trust"): 4, ("service", "Front Door"): 1, ("service", "Care"): 1,
                         ("service", "UNKNOWN"): 2, ("team", "T1"): 1, ("team", "UNKNOWN"): 3}
    assert got["open_cases", "team", "UNKNOWN"] == (2, None)
    assert (got["open_cases", "service", "Care"], got["open_cases", "service", "UNKNOWN"]) == ((1, None), (1, None))
    with open_warehouse(db) as wh:  # the unit lists name UNKNOWN once
        assert wh.units("team") == ["T1", "UNKNOWN"]
        assert wh.units("service") == ["Care", "Front Door", "UNKNOWN"]
    from etl.issues import run_issues  # the load says so, on the team's own row
    reserved = [i for i in run_issues() if i.file == "teams.csv" and "is UNKNOWN" in i.reason]
    assert [(i.line, i.column, i.value, i.severity) for i in reserved] == [(3, "team_id", "UNKNOWN", "warning")]


# --- (c) identifiers with surrounding spaces or another case ---------------------------------------


def test_identifiers_match_exactly_as_written_spaces_and_case_included(tmp_path: Path, data) -> None:
    """extract-contract.md: "Identifiers are strings (keep leading zeros)"; it names no trimming or
    case-folding, and the loader compares values exactly as written (etl/validation.py, docs/kpis.md):
    " T1", "T1 " and "t1" are not team T1, "C1 " is not child C1, "w1" is not worker W1. What matters
    is that every join between files (team, child, worker) treats them the same way, in the cube, the
    facts engine and the pandas reference alike. As-at 31 January 2025; by hand:
      episodes open: E1 (C1, T1), E2 (C2, "T2 "), E3 (C3, "t1"), E4 (C4, T2) -> trust 4;
        team T1 = E1 = 1; team T2 = E4 = 1; team UNKNOWN = E2 + E3 = 2 (not in teams.csv).
      allocations: A1 "C1 " -> W1 (no child "C1 " has an episode: C1 is not allocated by it);
        A2 C2 -> "w1" (no such worker: never counts); A3 C3 -> W1 (counts); A4 C4 -> W2 (team " T1").
      allocated: C3, C4 -> unallocated_cases = 2 (E1, E2); allocation_rate trust 2/4.
      caseloads: W1 (team T1) holds C3 -> 1; W2 (team " T1", so team UNKNOWN) holds C4 -> 1;
        average_caseload trust 2 / 2.0 FTE; team T1 1/1.0; team UNKNOWN 1/1.0; worker W1 1/1.0.
      referrals: R1 C1 2024-12-01 and R2 "c1" 2025-01-10: another child, so R2 is no re-referral;
        R3 C1 2025-01-20 is one (R1 within 12 months); re_referral_rate trust 1/2.
    """
    db = load(tmp_path, {
        "workers": [_worker("W1", "T1"), _worker("W2", " T1")],
        "children": [{"child_id": c} for c in ("C1", "C2", "C3", "C4")],
        "episodes": [{"episode_id": e, "child_id": c, "episode_type": "CIN", "start_date": "2025-01-02",
                      "team_id": t} for e, c, t in (("E1", "C1", "T1"), ("E2", "C2", "T2 "), ("E3", "C3", "t1"),
                                                   ("E4", "C4", "T2"))],
        "allocations": [{"allocation_id": a, "child_id": c, "worker_id": w, "start_date": "2025-01-02"}
                        for a, c, w in (("A1", "C1 ", "W1"), ("A2", "C2", "w1"), ("A3", "C3", "W1"),
                                        ("A4", "C4", "W2"))],
        "referrals": [{"referral_id": r, "child_id": c, "referral_date": d, "team_id": "T1"}
                      for r, c, d in (("R1", "C1", "2024-12-01"), ("R2", "c1", "2025-01-10"),
                                      ("R3", "C1", "2025-01-20"))],
    }, "2025-01-31T06:30:00")
    got = figures(db, D("2025-01-01"), D("2025-01-31"))
    assert got["open_cases", "trust", "trust"] == (4, None)
    assert [got["open_cases", "team", t][0] for t in ("T1", "T2", "UNKNOWN")] == [1, 1, 2]
    assert got["unallocated_cases", "trust", "trust"] == (2, None)
    assert got["allocation_rate", "trust", "trust"] == (2, 4)
    assert got["average_caseload", "trust", "trust"] == (2, 2.0)
    assert got["average_caseload", "team", "T1"] == (1, 1.0)
    assert got["average_caseload", "team", "UNKNOWN"] == (1, 1.0)
    assert got["average_caseload", "worker", "W1"] == (1, 1.0)
    assert got["re_referral_rate", "trust", "trust"] == (1, 2)
    with duckdb_read(db) as con:  # the loader kept the values as written
        assert con.execute("SELECT team_id FROM workers WHERE worker_id = 'W2'").fetchone() == (" T1",)
        assert con.execute("SELECT child_id FROM allocations WHERE allocation_id = 'A1'").fetchone() == ("C1 ",)


def duckdb_read(db: Path):
    import duckdb

    return duckdb.connect(str(db), read_only=True)


# --- (d) boundaries of the definitions -------------------------------------------------------------


def test_within_n_working_days_over_a_year_end_with_substitute_bank_holidays(tmp_path: Path, data) -> None:
    """Christmas 2022 fell on a Sunday: bank holidays Mon 26 and Tue 27 December (the substitute day)
    and Mon 2 January 2023 (New Year's Day, a Sunday, observed). wd(a, b) counts days d, a < d <= b.

    Assessment S1 starts Fri 2022-11-25. Its working days: Nov 28-Dec 2 = 5, Dec 5-9 = 10, 12-16 = 15,
    19-23 = 20, Dec 28-30 = 23 (26, 27 closed), Jan 3-6 = 27 (2 closed), 9-13 = 32, 16-20 = 37,
    23-27 = 42, Jan 30 = 43, Jan 31 = 44, Feb 1 = 45, Feb 2 = 46.
      S1 authorised 2023-02-01: 45 working days, within 45 ("within N" is wd <= N).
      S2, same start, authorised 2023-02-02: 46, not within. -> assessments_within_45wd Feb 2023 = 1/2.
      S3, same start, still open. Open at D: start <= D and authorised empty or after D, so S1 and
      S2 are open until the day before their authorisation. At D = Wed 2023-01-25 wd = 40: none due
      soon (that is 40 < wd <= 45); Thu 2023-01-26 wd = 41: S1, S2, S3 due soon = 3; Wed 2023-02-01
      wd = 45: S2, S3 due soon = 2 (S1 authorised that day), none overdue; Thu 2023-02-02 wd = 46:
      S3 overdue = 1, none due soon.
    Enquiry Q1: strategy Fri 2022-12-16: Dec 19-23 = 5, Dec 28-30 = 8, Jan 3-6 = 12, Jan 9 = 13,
    10 = 14, 11 = 15, 12 = 16.
      Q1 ICPC 2023-01-11: 15, within. Q2, same strategy, ICPC 2023-01-12: 16, not. -> 1/2 in January.
      Q3, same strategy, no ICPC, not completed: open over 15 wd at D = 2023-01-12 (16), not at
      2023-01-11 (15; Q2 is waiting then too, also at 15); at Sat 2023-01-14 still over (17).
    Q4: strategy Sat 2022-12-24, ICPC Wed 2022-12-28: counting starts on the next working day, which
    is Wed 28 (Mon 26 and Tue 27 closed), so wd = 1, within.
    """
    start = "2022-11-25"
    db = load(tmp_path, {
        "children": [{"child_id": "C1"}],
        "assessments": [{"assessment_id": a, "child_id": "C1", "start_date": start, "authorised_date": end,
                         "team_id": "T1", "worker_id": "W1"}
                        for a, end in (("S1", "2023-02-01"), ("S2", "2023-02-02"), ("S3", None))],
        "s47_enquiries": [{"s47_id": q, "child_id": "C1", "strategy_date": s, "icpc_date": icpc,
                           "icpc_required": "Y", "team_id": "T1", "worker_id": "W1"}
                          for q, s, icpc in (("Q1", "2022-12-16", "2023-01-11"), ("Q2", "2022-12-16", "2023-01-12"),
                                             ("Q3", "2022-12-16", None), ("Q4", "2022-12-24", "2022-12-28"))],
    }, "2023-02-28T06:30:00")
    feb = figures(db, D("2023-02-01"), D("2023-02-28"), ["assessments_within_45wd"])
    assert feb["assessments_within_45wd", "trust", "trust"] == (1, 2)
    kpis = ["assessments_due_soon", "assessments_overdue", "s47_open_over_15wd"]
    at = {d: figures(db, D(d), D(d), kpis, ("trust",)) for d in
          ("2023-01-11", "2023-01-12", "2023-01-14", "2023-01-25", "2023-01-26", "2023-02-01", "2023-02-02")}
    assert [at[d]["assessments_due_soon", "trust", "trust"][0] for d in sorted(at)] == [0, 0, 0, 0, 3, 2, 0]
    assert [at[d]["assessments_overdue", "trust", "trust"][0] for d in sorted(at)] == [0, 0, 0, 0, 0, 0, 1]
    assert [at[d]["s47_open_over_15wd", "trust", "trust"][0] for d in sorted(at)] == [0, 1, 1, 1, 1, 1, 1]
    jan = figures(db, D("2023-01-01"), D("2023-01-31"), ["icpc_within_15wd"], ("trust",))
    assert jan["icpc_within_15wd", "trust", "trust"] == (1, 2)
    dec = figures(db, D("2022-12-01"), D("2022-12-31"), ["icpc_within_15wd"], ("trust",))
    assert dec["icpc_within_15wd", "trust", "trust"] == (1, 1)  # Q4: Saturday to Wednesday is 1


def test_several_open_episodes_leavers_and_stocks_outside_the_history(tmp_path: Path, data) -> None:
    """Caseload stocks at the ends of the records' history and on the day things end.

    Workers: W1 (T1, fte 0.5), W2 (T2, fte 1, end_date 2025-01-31: still active on the 31st, its
    last day in post), W3 (T2, fte 1, a team manager: not case-holding).
    Episodes: C1 has two open at once, E1 (T1, from 2025-01-06) and E2 (T2, from 2025-01-10);
    C2 has E3 (T2, 2025-01-06 to 2025-01-31: closed at D = 31 January, "open at D" needs end > D).
    Allocations: C1 -> W1 from 2025-01-06, open; C2 -> W2 from 2025-01-06 to 2025-01-31 (closed
    at 31 January); C1 -> W2 from 2025-01-20, open (W2 leaves on the 31st).
    By hand, at D = 2025-01-31: open E1, E2 -> open_cases 2 (T1 1, T2 1, episodes not children);
    C1 allocated (W1, W2 active) -> unallocated 0, allocation_rate 2/2; caseloads: W1 holds C1 = 1 at
    0.5 FTE, W2 holds C1 = 1 (C2's allocation and episode end on D) at 1 FTE -> average_caseload
    trust 2 / 1.5; W3 not case-holding: not in the denominator.
    At D = 2025-02-01: W2 has left (end_date < D) so only W1 counts: trust 1 / 0.5; C1 still
    allocated (W1) -> unallocated 0.
    At D = 2025-01-05, before every record: open_cases 0, allocation_rate null (0/0), average
    caseload 0 / 1.5 (W1 at 0.5 and W2 at 1 are active, having no start date, and hold nothing).
    At D = 2025-06-30, after the extract date (2025-02-03) and past the cube's last day: E1, E2 still
    open, C1 held by W1 only -> open_cases 2, unallocated 0, average_caseload 1 / 0.5.
    """
    db = load(tmp_path, {
        "workers": [_worker("W1", "T1", "0.5"), _worker("W2", "T2", end="2025-01-31"),
                    _worker("W3", "T2", role="team_manager")],
        "children": [{"child_id": "C1"}, {"child_id": "C2"}],
        "episodes": [{"episode_id": e, "child_id": c, "episode_type": "CIN", "start_date": s, "end_date": end,
                      "team_id": t} for e, c, s, end, t in (("E1", "C1", "2025-01-06", None, "T1"),
                                                            ("E2", "C1", "2025-01-10", None, "T2"),
                                                            ("E3", "C2", "2025-01-06", "2025-01-31", "T2"))],
        "allocations": [{"allocation_id": a, "child_id": c, "worker_id": w, "start_date": s, "end_date": end}
                        for a, c, w, s, end in (("A1", "C1", "W1", "2025-01-06", None),
                                                ("A2", "C2", "W2", "2025-01-06", "2025-01-31"),
                                                ("A3", "C1", "W2", "2025-01-20", None))],
    }, "2025-02-03T06:30:00")
    kpis = ["open_cases", "unallocated_cases", "allocation_rate", "average_caseload"]

    def at(day: str) -> dict:
        got = figures(db, D(day), D(day), kpis)
        return {k: got[k, "trust", "trust"] for k in kpis}

    assert at("2025-01-31") == {"open_cases": (2, None), "unallocated_cases": (0, None), "allocation_rate": (2, 2),
                                "average_caseload": (2, 1.5)}
    assert figures(db, D("2025-01-31"), D("2025-01-31"), ["open_cases"])["open_cases", "team", "T2"] == (1, None)
    assert at("2025-02-01")["average_caseload"] == (1, 0.5)
    assert at("2025-01-05") == {"open_cases": (0, None), "unallocated_cases": (0, None), "allocation_rate": (0, 0),
                                "average_caseload": (0, 1.5)}
    assert at("2025-06-30") == {"open_cases": (2, None), "unallocated_cases": (0, None), "allocation_rate": (2, 2),
                                "average_caseload": (1, 0.5)}


def test_re_referrals_on_the_twelve_month_edge(tmp_path: Path, data) -> None:
    """kpis.md: a referral is a re-referral when its child has another referral r' with
    referral_date - 12 months <= r' < referral_date, months calendar (2024-02-29 looks back to
    2023-02-28). By hand, for the referrals of February and March 2025 and February 2024:
      C1: 2024-03-15 and 2025-03-15 -> the later one is a re-referral (exactly 12 months: inclusive).
      C2: 2024-03-14 and 2025-03-15 -> not (12 months and a day).
      C3: 2023-02-28 and 2024-02-29 -> the leap-day one is (2024-02-29 looks back to 2023-02-28).
      C4: 2023-02-27 and 2024-02-29 -> not.
      C5: 2024-02-29 and 2025-02-28 -> is (2025-02-28 looks back to 2024-02-28).
      C6: 2024-02-29 and 2025-03-01 -> not (2025-03-01 looks back to 2024-03-01).
      C7: two referrals on 2025-03-10 -> neither (r' must be strictly earlier).
      C8: 2025-03-01 (team T1) and 2025-03-20 (team T2) -> the second is, whatever the team.
    March 2025: C1 (1 of 1 re), C2 (0/1), C6 (0/1), C7 (0/2), C8 (1/2) -> 2 / 7.
    February 2025: C5 -> 1 / 1. February 2024: C3, C4's leap-day referrals and C5's, C6's
    2024-02-29 -> C3 only: 1 / 4. Team T2 in March 2025: C8's second referral only -> 1 / 1.
    """
    pairs = {"C1": ("2024-03-15", "2025-03-15"), "C2": ("2024-03-14", "2025-03-15"),
             "C3": ("2023-02-28", "2024-02-29"), "C4": ("2023-02-27", "2024-02-29"),
             "C5": ("2024-02-29", "2025-02-28"), "C6": ("2024-02-29", "2025-03-01"),
             "C7": ("2025-03-10", "2025-03-10"), "C8": ("2025-03-01", "2025-03-20")}
    referrals = [{"referral_id": f"R{c}{i}", "child_id": c, "referral_date": d,
                  "team_id": "T2" if (c, i) == ("C8", 1) else "T1"}
                 for c, days in pairs.items() for i, d in enumerate(days)]
    db = load(tmp_path, {"children": [{"child_id": c} for c in pairs], "referrals": referrals},
              "2025-03-31T06:30:00")
    rate = "re_referral_rate"
    assert figures(db, D("2025-03-01"), D("2025-03-31"), [rate])[rate, "trust", "trust"] == (2, 7)
    assert figures(db, D("2025-03-01"), D("2025-03-31"), [rate])[rate, "team", "T2"] == (1, 1)
    assert figures(db, D("2025-02-01"), D("2025-02-28"), [rate])[rate, "trust", "trust"] == (1, 1)
    assert figures(db, D("2024-02-01"), D("2024-02-29"), [rate])[rate, "trust", "trust"] == (1, 4)


def test_missing_episodes_across_period_edges_and_midnight(tmp_path: Path, data) -> None:
    """Missing-episode times are local date-times; "by the end of D" is before D+1 00:00.

    M1 C1 (T1): 2025-01-31T23:59 to 2025-02-01T00:00, RHI offered 2025-02-04T00:00 (exactly 72 hours).
    M2 C1 (T2): 2025-01-20T10:00, still missing. M3 C2 (T1): 2025-01-31T00:00 to 2025-01-31T23:59:59,
    RHI offered 2025-02-03T23:59:59 (72 hours). M4 C3 (T1): 2025-01-30T12:00 to 2025-02-02T08:00,
    RHI offered 2025-02-05T08:00:01 (a second late). M5 C3 (no team): 2025-02-01T00:00 to
    2025-02-01T06:00, RHI offered before the return (2025-01-31T20:00: the difference is negative,
    so within 72 hours).
    By hand:
      children_missing_now at D = 2025-01-31: C1 (M1 has not ended by Feb 1 00:00? it ends exactly at
        Feb 1 00:00, and the spec counts end_time >= D+1 00:00 as not ended: missing; M2 too) and C3
        (M4) -> 2 distinct children (C1 once although two episodes); team T1: C1 (M1), C3 (M4) = 2;
        team T2: C1 (M2) = 1; C2 returned at 23:59:59 -> not missing.
      At D = 2025-02-01: M2 (C1) and M4 (C3) -> 2; M5 (C3) ended 06:00 that day.
      missing_episodes_started in January: M1, M2, M3, M4 = 4; in February: M5 = 1.
      rhi_offered_within_72h, returns in January: M3 (72 h exactly, within) -> 1/1;
        in February: M1 (72 h, within), M4 (72 h + 1 s, not), M5 (offered before the return, within)
        -> 2/3; team UNKNOWN: M5 -> 1/1.
    """
    rows = [("M1", "C1", "2025-01-31T23:59", "2025-02-01T00:00", "2025-02-04T00:00", "T1"),
            ("M2", "C1", "2025-01-20T10:00", None, None, "T2"),
            ("M3", "C2", "2025-01-31T00:00", "2025-01-31T23:59:59", "2025-02-03T23:59:59", "T1"),
            ("M4", "C3", "2025-01-30T12:00", "2025-02-02T08:00", "2025-02-05T08:00:01", "T1"),
            ("M5", "C3", "2025-02-01T00:00", "2025-02-01T06:00", "2025-01-31T20:00", None)]
    db = load(tmp_path, {
        "children": [{"child_id": c} for c in ("C1", "C2", "C3")],
        "missing_episodes": [dict(zip(("missing_id", "child_id", "start_time", "end_time", "rhi_offered_time",
                                       "team_id"), r), rhi_accepted="Y" if r[4] else None) for r in rows],
    }, "2025-02-28T06:30:00")
    now = "children_missing_now"
    jan31 = figures(db, D("2025-01-01"), D("2025-01-31"))
    assert jan31[now, "trust", "trust"] == (2, None)
    assert (jan31[now, "team", "T1"], jan31[now, "team", "T2"]) == ((2, None), (1, None))
    assert jan31["missing_episodes_started", "trust", "trust"] == (4, None)
    assert jan31["rhi_offered_within_72h", "trust", "trust"] == (1, 1)
    feb = figures(db, D("2025-02-01"), D("2025-02-28"))
    assert figures(db, D("2025-02-01"), D("2025-02-01"))[now, "trust", "trust"] == (2, None)
    assert feb["missing_episodes_started", "trust", "trust"] == (1, None)
    assert feb["rhi_offered_within_72h", "trust", "trust"] == (2, 3)
    assert feb["rhi_offered_within_72h", "team", "UNKNOWN"] == (1, 1)


# --- (a) trends: months and weeks, the partial current period, periods after the extract date -----


def test_trends_by_month_and_week_partial_period_and_past_the_extract_date(tmp_path: Path, data) -> None:
    """Extract taken Wed 2025-01-15. Assessments (team T1): S1 2024-11-01 -> authorised Sat 2024-11-30;
    S2 2024-12-02 -> 2024-12-31; S3 2025-01-02 -> 2025-01-15 (the extract date); S4 2025-01-06 ->
    2025-01-20 (after the extract date: loaded, with a warning); S5 from Tue 2024-10-01, open.
    wd(2024-10-01, D) for S5: October 2-31 = 22, November = 21 -> 43 at 30 November (due soon);
    December 2-24 = 17, 27, 30, 31 = 20 (25, 26 closed) -> 63 at 31 December (overdue), more after.
    S4 at 15 January: wd(Jan 6, Jan 15) = 7, neither.
    Monthly trend of 3 to the extract date: November (1-30), December (1-31), January 1-15 (partial):
      assessments_completed 1, 1, 1 (S1, S2, S3); due soon 1, 0, 0; overdue 0, 1, 1.
    Weekly trend of 3 to the extract date (weeks Monday to Sunday): Dec 30-Jan 5, Jan 6-12, Jan 13-15:
      completed 1 (S2), 0, 1 (S3); overdue 1, 1, 1.
    Monthly trend of 3 to 2025-01-31, past the extract date: January is 1-31: completed 2 (S3, S4),
    overdue 1 (S5 at 31 January).
    Every trend row is the figure compute_kpis gives for its period, which the pandas reference agrees with.
    """
    days = (("S1", "2024-11-01", "2024-11-30"), ("S2", "2024-12-02", "2024-12-31"), ("S3", "2025-01-02", "2025-01-15"),
            ("S4", "2025-01-06", "2025-01-20"), ("S5", "2024-10-01", None))
    db = load(tmp_path, {
        "children": [{"child_id": "C1"}],
        "assessments": [{"assessment_id": a, "child_id": "C1", "start_date": s, "authorised_date": e,
                         "team_id": "T1", "worker_id": "W1"} for a, s, e in days],
    }, "2025-01-15T06:30:00")
    kpis = ["assessments_completed", "assessments_due_soon", "assessments_overdue"]

    def trend(by: str, date_to: str) -> dict[str, list]:
        with open_warehouse(db, cube=True) as wh, open_warehouse(db, cube=False) as facts:
            rows = kpi_trend(wh, kpis, by, 3, "all", date_to=D(date_to))
            assert repr(rows) == repr(kpi_trend(facts, kpis, by, 3, "all", date_to=D(date_to)))
        periods = sorted({(r["period_start"], r["period_end"]) for r in rows})
        for start, end in periods:  # each period's rows are that period's figures (and the reference's)
            figs = figures(db, D(start), D(end), kpis)
            assert {(r["kpi"], r["level"], r["unit"]): (r["numerator"], r["denominator"]) for r in rows
                    if r["period_start"] == start} == figs
        trust = [r for r in rows if r["level"] == "trust"]
        return {"periods": periods, **{k: [r["numerator"] for r in trust if r["kpi"] == k] for k in kpis}}

    assert trend("month", "2025-01-15") == {
        "periods": [("2024-11-01", "2024-11-30"), ("2024-12-01", "2024-12-31"), ("2025-01-01", "2025-01-15")],
        "assessments_completed": [1, 1, 1], "assessments_due_soon": [1, 0, 0], "assessments_overdue": [0, 1, 1]}
    assert trend("week", "2025-01-15") == {
        "periods": [("2024-12-30", "2025-01-05"), ("2025-01-06", "2025-01-12"), ("2025-01-13", "2025-01-15")],
        "assessments_completed": [1, 0, 1], "assessments_due_soon": [0, 0, 0], "assessments_overdue": [1, 1, 1]}
    past = trend("month", "2025-01-31")
    assert past["periods"][-1] == ("2025-01-01", "2025-01-31")
    assert (past["assessments_completed"][-1], past["assessments_overdue"][-1]) == (2, 1)


# --- caseload allocation at one as-at date: who allocates, who holds, the limit's edge -------------


def test_caseload_allocation_at_d_roles_leavers_unknown_workers_and_the_limit(tmp_path: Path, data) -> None:
    """kpis.md, Caseload allocation, at D = Mon 2025-06-30 (the extract date). Teams T1 (Front Door),
    T2 (Care); TZ is not in teams.csv.
    Workers: W1 T1 social worker fte 1; W2 T1 social worker fte 0.05, end_date D (last day in post:
    active); W3 T2 team manager (allocates, holds no caseload); W4 T2 social worker, end_date D-1
    (left); W5 T2 social worker from D+1 (not yet); W6 T2 personal adviser fte 0.04 from D (active);
    W7 TZ senior social worker fte 0.3 (team UNKNOWN).
    Episodes open at D (start <= D < end): E1 C1 T1; E2 C2 T1 from D; E4 C4 T2; E5 C5 T2; E6 C6 T2;
    E7 C1 T2 (C1's second); E8 C7 T1; E9 C8 T1 to D+1; E10 C9 TZ; E11 C11 T2. Not open: E3 C3 T2 ends
    on D; E12 C12 T2 starts D+1.
    Allocations: C1 -> W1 twice (overlapping) and -> W7; C2 -> W2 from D; C3 -> W1 (no open episode);
    C4 -> W4 (left); C5 -> W3 (manager); C6 -> WX (not in workers.csv); C7 -> W1 ending on D;
    C8 -> W1 from D; C9 -> W7 from D+1; C11 -> W6 from 2025-06-01; C12 -> W7.
    By hand: open_cases 10 (T1: E1 E2 E8 E9 = 4; T2: E4 E5 E6 E7 E11 = 5; UNKNOWN: E10 = 1).
    Allocated: C1 (E1, E7), C2 (E2), C5 (E5: a manager allocates), C8 (E9), C11 (E11) -> 6 of 10;
    not: C4 (worker left), C6 (unknown worker), C7 (allocation ends on D), C9 (allocation from D+1).
    allocation_rate T1 3/4, T2 3/5, UNKNOWN 0/1; unallocated_cases 4 (T1 1, T2 2, UNKNOWN 1).
    Caseloads of case-holding workers active at D: W1 = C1, C8 = 2 (C1 once; C3 no open episode, C7's
    allocation ended) at fte 1; W2 = C2 = 1 at 0.05 (1 / 0.05 = 20: at the limit, not over);
    W6 = C11 = 1 at 0.04 (25: over); W7 = C1 = 1 at 0.3 (C9, C12 not yet) in UNKNOWN.
    average_caseload trust 5 / 1.39, T1 3 / 1.05, T2 1 / 0.04, UNKNOWN 1 / 0.3; W2's row 1 / 0.05.
    workers_over_caseload_limit trust 1 (W6, T2), T1 0.
    """
    workers = [_worker("W1", "T1"), _worker("W2", "T1", "0.05", end="2025-06-30"),
               _worker("W3", "T2", role="team_manager"), _worker("W4", "T2", end="2025-06-29"),
               _worker("W5", "T2", "0.8", start="2025-07-01"),
               _worker("W6", "T2", "0.04", start="2025-06-30", role="personal_advisor"),
               _worker("W7", "TZ", "0.3", role="senior_social_worker")]
    episodes = [("E1", "C1", "2025-01-01", None, "T1"), ("E2", "C2", "2025-06-30", None, "T1"),
                ("E3", "C3", "2025-01-01", "2025-06-30", "T2"), ("E4", "C4", "2025-01-01", None, "T2"),
                ("E5", "C5", "2025-01-01", None, "T2"), ("E6", "C6", "2025-01-01", None, "T2"),
                ("E7", "C1", "2025-03-01", None, "T2"), ("E8", "C7", "2025-01-01", None, "T1"),
                ("E9", "C8", "2025-01-01", "2025-07-01", "T1"), ("E10", "C9", "2025-01-01", None, "TZ"),
                ("E11", "C11", "2025-06-01", None, "T2"), ("E12", "C12", "2025-07-01", None, "T2")]
    allocations = [("A1", "C1", "W1", "2024-12-01", None), ("A1b", "C1", "W1", "2025-02-01", None),
                   ("A14", "C1", "W7", "2025-01-01", None), ("A2", "C2", "W2", "2025-06-30", None),
                   ("A3", "C3", "W1", "2025-01-01", None), ("A4", "C4", "W4", "2025-01-01", None),
                   ("A5", "C5", "W3", "2025-01-01", None), ("A6", "C6", "WX", "2025-01-01", None),
                   ("A8", "C7", "W1", "2025-01-01", "2025-06-30"), ("A9", "C8", "W1", "2025-06-30", None),
                   ("A13", "C9", "W7", "2025-07-01", None), ("A11", "C11", "W6", "2025-06-01", None),
                   ("A12", "C12", "W7", "2025-06-01", None)]
    db = load(tmp_path, {
        "workers": workers,
        "children": [{"child_id": f"C{i}"} for i in range(1, 13)],
        "episodes": [dict(zip(("episode_id", "child_id", "start_date", "end_date", "team_id"), e), episode_type="CIN")
                     for e in episodes],
        "allocations": [dict(zip(("allocation_id", "child_id", "worker_id", "start_date", "end_date"), a))
                        for a in allocations],
    }, "2025-06-30T06:30:00")
    got = figures(db, D("2025-06-01"), D("2025-06-30"), ["open_cases", "unallocated_cases", "allocation_rate",
                                                         "average_caseload", "workers_over_caseload_limit"])
    assert [got["open_cases", "team", u][0] for u in ("T1", "T2", "UNKNOWN")] == [4, 5, 1]
    assert got["allocation_rate", "trust", "trust"] == (6, 10)
    assert [got["allocation_rate", "team", u] for u in ("T1", "T2", "UNKNOWN")] == [(3, 4), (3, 5), (0, 1)]
    assert [got["unallocated_cases", lv, u][0] for lv, u in (("trust", "trust"), ("team", "T1"), ("team", "T2"),
                                                                ("team", "UNKNOWN"))] == [4, 1, 2, 1]
    assert got["average_caseload", "trust", "trust"] == (5, 1.39)
    assert [got["average_caseload", "team", u] for u in ("T1", "T2", "UNKNOWN")] == [(3, 1.05), (1, 0.04), (1, 0.3)]
    assert (got["average_caseload", "worker", "W1"], got["average_caseload", "worker", "W2"]) == ((2, 1.0), (1, 0.05))
    assert ("average_caseload", "worker", "W4") not in got and ("average_caseload", "worker", "W3") not in got
    over = "workers_over_caseload_limit"
    assert (got[over, "trust", "trust"], got[over, "team", "T1"], got[over, "team", "T2"]) == ((1, None), (0, None),
                                                                                                (1, None))


def test_a_repeated_key_whose_first_row_is_rejected_leaves_no_row(tmp_path: Path, data,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """extract-contract.md: "key unique within its file (the second and later rows with a repeated key
    are rejected)". Read as written: the second row is rejected even when the first row with that key is
    itself rejected (here for a date that does not exist), so the key has no row at all; validating first
    and then keeping the first valid row would be another reading (docs/extract-contract.md).
    Referrals: line 2 R1 C1 "2025-02-30" (no such date), line 3 R1 C1 2025-03-03 (repeated key),
    R2 C2 2025-03-04, R3 C1 2025-03-12. By hand, March 2025: referrals R2, R3 = 2; R3 is not a
    re-referral (C1's only other referral was rejected) -> re_referral_rate 0 / 2. (The other reading
    would give 3 referrals and 1 re-referral.)
    """
    monkeypatch.setenv("KPIDASH_MAX_REJECT_PCT", "100")
    get_settings.cache_clear()
    rows = [("R1", "C1", "2025-02-30"), ("R1", "C1", "2025-03-03"), ("R2", "C2", "2025-03-04"),
            ("R3", "C1", "2025-03-12")]
    db = load(tmp_path, {"children": [{"child_id": "C1"}, {"child_id": "C2"}],
                         "referrals": [dict(zip(("referral_id", "child_id", "referral_date"), r), team_id="T1")
                                       for r in rows]}, "2025-03-31T06:30:00")
    got = figures(db, D("2025-03-01"), D("2025-03-31"), ["referrals", "re_referral_rate"], ("trust",))
    assert (got["referrals", "trust", "trust"], got["re_referral_rate", "trust", "trust"]) == ((2, None), (0, 2))


def test_the_note_on_a_period_past_the_extract_date_says_what_its_figures_count(tmp_path: Path, data) -> None:
    """The contract loads dates after the extract's date (with a warning) and docs/kpis.md counts them:
    extract of Mon 2025-06-30; assessment A1 starts 2025-06-02 and is authorised Tue 2025-07-01, A2 starts
    2025-06-02 and is still open. By hand, period 2025-07-01 to 2025-07-06: assessments_completed 1 (A1,
    dated after the extract date but in the extract); at D = 2025-07-06 neither is overdue (A2:
    wd(2025-06-02, 2025-07-06) = 20 in June + 4 in July = 24). The note shown with such a period (CLI
    warning, API header) must not say that no events after the extract date are counted (it once did,
    while A1 was counted).
    """
    from core.dates import projection_note

    db = load(tmp_path, {"children": [{"child_id": "C1"}],
                         "assessments": [{"assessment_id": a, "child_id": "C1", "start_date": "2025-06-02",
                                          "authorised_date": end, "team_id": "T1"}
                                         for a, end in (("A1", "2025-07-01"), ("A2", None))]},
              "2025-06-30T06:30:00")
    got = figures(db, D("2025-07-01"), D("2025-07-06"), ["assessments_completed", "assessments_overdue"], ("trust",))
    assert got["assessments_completed", "trust", "trust"] == (1, None)
    assert got["assessments_overdue", "trust", "trust"] == (0, None)
    note = projection_note(D("2025-07-06"), D("2025-06-30"))
    assert note is not None and "count no events" not in note
    assert "flow figures count only the events the extract already dates after the extract date" in note
