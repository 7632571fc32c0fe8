"""The team's weekly pack on a small hand-made warehouse: this week (Mon 2025-11-24 to Wed 2025-11-26)
against last week (17 to 23 November) and the trust, workers, action lists, and the workbook.
Answers worked out by hand."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import pytest
from python_calamine import CalamineWorkbook
from warehouse_builder import TEAMS

from kpis import UnknownUnit, Warehouse, compute_kpis, open_warehouse
from kpis.team_pack import (ACTION_LISTS, SHEET_NAMES, WITHHELD, team_pack_xlsx, team_week, team_weeks,
                             without_records)

D = dt.date.fromisoformat
AS_AT = D("2025-11-26")  # a Wednesday: this week is Mon 24 to Wed 26 November

ROWS = {
    "workers": [
        {"worker_id": "W1", "worker_name": "Ada Fictional", "team_id": "T1", "role": "social_worker",
         "qualified": "Y", "fte": 1.0},
        {"worker_id": "W2", "worker_name": "Bo Madeup", "team_id": "T2", "role": "social_worker",
         "qualified": "Y", "fte": 0.5},
    ],
    "episodes": [  # open at D: C1 and C2 in T1, C3 in T2
        {"episode_id": "E1", "child_id": "C1", "episode_type": "CIN", "start_date": "2025-01-01", "team_id": "T1"},
        {"episode_id": "E2", "child_id": "C2", "episode_type": "CIN", "start_date": "2025-01-01", "team_id": "T1"},
        {"episode_id": "E3", "child_id": "C3", "episode_type": "CP", "start_date": "2025-01-01", "team_id": "T2"},
    ],
    "allocations": [  # C2 has no worker: T1's one unallocated case
        {"allocation_id": "A1", "child_id": "C1", "worker_id": "W1", "start_date": "2025-01-01"},
        {"allocation_id": "A3", "child_id": "C3", "worker_id": "W2", "start_date": "2025-01-01"},
    ],
    "referrals": [  # T1: two last week, one this week; T2: one this week
        {"referral_id": "R1", "child_id": "C1", "referral_date": "2025-11-18", "team_id": "T1"},
        {"referral_id": "R2", "child_id": "C2", "referral_date": "2025-11-19", "team_id": "T1"},
        {"referral_id": "R3", "child_id": "C3", "referral_date": "2025-11-25", "team_id": "T1"},
        {"referral_id": "R4", "child_id": "C4", "referral_date": "2025-11-25", "team_id": "T2"},
    ],
    "missing_episodes": [
        # C9 is missing now from both T1 and T2: each team lists its own episode; the trust counts C9 once
        {"missing_id": "M1", "child_id": "C9", "start_time": "2025-11-20T10:00:00", "team_id": "T1"},
        {"missing_id": "M2", "child_id": "C9", "start_time": "2025-11-22T10:00:00", "team_id": "T2"},
        # T1, back this week, no return interview offered: on the RHI list and this week's 0 %
        {"missing_id": "M3", "child_id": "C8", "start_time": "2025-11-24T09:00:00",
         "end_time": "2025-11-24T12:00:00", "team_id": "T1"},
        # T1, back on 3 November, offered within 25 hours: counted in the numerator, so not on the list
        {"missing_id": "M4", "child_id": "C7", "start_time": "2025-11-03T09:00:00",
         "end_time": "2025-11-03T10:00:00", "rhi_offered_time": "2025-11-04T11:00:00", "team_id": "T1"},
    ],
}


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    from warehouse_builder import build_warehouse

    path = build_warehouse(tmp_path_factory.mktemp("team_pack") / "warehouse.duckdb", ROWS)
    with open_warehouse(path) as opened:  # the packaged configuration: unallocated_cases target 0, tolerance 5
        yield opened


@pytest.fixture(scope="module")
def t1(wh: Warehouse) -> dict:
    return team_week(wh, "T1", AS_AT)


def _summary(week: dict) -> dict[str, dict]:
    return {r["kpi"]: r for r in week["summary"]}


def test_the_week_runs_monday_to_the_as_at_date(t1: dict) -> None:
    assert (t1["team_id"], t1["team_name"], t1["monday"], t1["as_at"]) == ("T1", TEAMS[0]["team_name"],
                                                                        D("2025-11-24"), AS_AT)


def test_this_week_last_week_and_the_trust(t1: dict) -> None:
    s = _summary(t1)
    assert (s["referrals"]["this"], s["referrals"]["last"], s["referrals"]["trust"]) == (1, 2, 2)
    assert (s["open_cases"]["this"], s["open_cases"]["trust"]) == (2, 3)
    assert (s["unallocated_cases"]["this"], s["unallocated_cases"]["target"], s["unallocated_cases"]["rag"]) == (
        1, 0, "amber")  # 1 is over the target 0 but within the tolerance 5
    assert (s["children_missing_now"]["this"], s["children_missing_now"]["trust"]) == (1, 1)
    assert s["rhi_offered_within_72h"]["this"] == 0  # M3 came back this week and was offered nothing


def test_workers_are_the_teams_caseholders_with_their_caseloads(wh: Warehouse, t1: dict) -> None:
    assert t1["workers"] == [{"worker_id": "W1", "worker_name": "Ada Fictional", "team_id": "T1", "caseload": 1,
                              "fte": 1.0, "cases_per_fte": 1.0, "over_limit": False}]
    assert [(w["worker_id"], w["cases_per_fte"]) for w in team_week(wh, "T2", AS_AT)["workers"]] == [("W2", 2.0)]


def test_action_lists_follow_their_period_and_filter(wh: Warehouse, t1: dict) -> None:
    ids = {kpi: [r["record_id"] for r in listed["records"]] for kpi, listed in t1["lists"].items()}
    assert ids["unallocated_cases"] == ["E2"]
    assert ids["children_missing_now"] == ["M1"]
    assert ids["rhi_offered_within_72h"] == ["M3"]  # month to date, only those not offered in 72 hours
    assert ids["assessments_overdue"] == [] and t1["lists"]["assessments_overdue"]["count"] == 0
    assert t1["lists"]["rhi_offered_within_72h"] == {"note": None, "count": 1, "records": t1["lists"][
        "rhi_offered_within_72h"]["records"]}
    t2 = team_week(wh, "T2", AS_AT)
    assert [r["record_id"] for r in t2["lists"]["children_missing_now"]["records"]] == ["M2"]


def test_every_team_at_once_gives_each_teams_own_week(wh: Warehouse) -> None:
    weeks = team_weeks(wh, AS_AT)
    assert sorted(weeks) == ["T1", "T2", "T3"]
    for team_id, week in weeks.items():
        assert week == team_week(wh, team_id, AS_AT), team_id
    assert weeks["T3"]["workers"] == [] and all(v["count"] == 0 for v in weeks["T3"]["lists"].values())


def test_without_records_keeps_the_counts_and_no_child(t1: dict) -> None:
    bare = without_records(t1)
    assert {k: v["count"] for k, v in bare["lists"].items()} == {k: v["count"] for k, v in t1["lists"].items()}
    assert all(v == {"note": WITHHELD, "count": v["count"], "records": []} for v in bare["lists"].values())
    assert "C2" not in repr(bare) and "C9" not in repr(bare) and bare["summary"] == t1["summary"]


def test_an_unknown_team_is_refused_by_name(wh: Warehouse) -> None:
    with pytest.raises(UnknownUnit, match='"T9" is not a team'):
        team_week(wh, "T9", AS_AT)


def test_the_workbook_holds_the_weeks_figures_and_lists(wh: Warehouse, t1: dict) -> None:
    book = CalamineWorkbook.from_filelike(io.BytesIO(team_pack_xlsx(t1)))
    assert book.sheet_names == ["Summary", "Workers", *(SHEET_NAMES[k] for _, k, _, _ in ACTION_LISTS), "About"]
    summary = book.get_sheet_by_name("Summary").to_python()
    assert summary[0] == ["KPI", "This week", "Last week", "Trust this week", "RAG", "Target"]
    figures = compute_kpis(wh, D("2025-11-24"), AS_AT, "team", "T1")
    shown = {row[0]: row[1] for row in summary[1:]}
    titles = {r["kpi"]: r["title"] for r in t1["summary"]}
    assert {titles[f["kpi"]]: ("" if f["value"] is None else f["value"]) for f in figures} == shown
    assert (shown["Referrals"], shown["Unallocated cases"]) == (1, 1)
    unallocated = book.get_sheet_by_name("Unallocated cases").to_python()
    assert unallocated[1][unallocated[0].index("child_id")] == "C2"
    bare = CalamineWorkbook.from_filelike(io.BytesIO(team_pack_xlsx(without_records(t1))))
    assert bare.get_sheet_by_name("Unallocated cases").to_python() == [["count", "note"], [1, WITHHELD]]



def test_the_workbooks_numbers_are_formatted_and_its_sheet_names_whole(t1: dict) -> None:
    """Rates read 97.5% (one decimal) while keeping their value; counts are whole; every sheet name is the
    list's own name within Excel's 31 characters, none cut short (issue 16)."""
    import zipfile

    from kpis.xlsx import xlsx_bytes

    assert all(len(name) <= 31 for name in SHEET_NAMES.values()) and set(SHEET_NAMES) == {k for _, k, _, _ in ACTION_LISTS}
    assert not any(name.endswith(" ") for name in SHEET_NAMES.values())
    data = team_pack_xlsx(t1)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        styles = z.read("xl/styles.xml").decode()
    assert 'formatCode="0.0&quot;%&quot;"' in styles and 'formatCode="#,##0"' in styles
    summary = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Summary").to_python()
    rates = {r["title"]: r["this"] for r in t1["summary"] if r["unit_of_measure"] == "%" and r["this"] is not None}
    shown = {row[0]: row[1] for row in summary[1:]}
    assert rates and all(shown[t] == v for t, v in rates.items())  # the value kept, only its look is a %
    with pytest.raises(ValueError, match="31 characters"):
        xlsx_bytes({"Section 47 enquiries open over 15 working days": []})


def test_a_kpi_the_source_cannot_supply_says_so_on_the_summary(tmp_path) -> None:
    """An SSD load has no return interview times: the Summary says "not available from this source" for that
    KPI, not a blank and "no figure", which would read as a week with no returns; other KPIs are as ever."""
    from warehouse_builder import build_warehouse

    from kpis.availability import NOT_AVAILABLE

    path = build_warehouse(tmp_path / "ssd.duckdb", ROWS, source_system="ssd")
    with open_warehouse(path) as ssd:
        week = team_week(ssd, "T1", AS_AT)
    summary = CalamineWorkbook.from_filelike(io.BytesIO(team_pack_xlsx(week))).get_sheet_by_name("Summary").to_python()
    rows = {row[0]: row for row in summary[1:]}
    title = _summary(week)["rhi_offered_within_72h"]["title"]
    assert rows[title][1] == NOT_AVAILABLE and rows[title][4] == NOT_AVAILABLE
    assert "no figure" not in rows[title] and rows["Referrals"][1] == 1
    assert (_summary(week)["rhi_offered_within_72h"]["available"], _summary(week)["referrals"]["available"]) == (
        False, True)
