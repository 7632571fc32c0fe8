"""The team manager's weekly pack: every KPI this week (Monday to the as-at date) against last week and
the trust, the workers' caseloads, and the action lists; and its one workbook layout.

One place for both, so the pack the dashboard downloads (through the API) and the one the scheduler
writes and emails are the same document. Figures come from compute_kpis and lists from kpi_records,
so a pack always agrees with the figures and drill-downs served elsewhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kpis.availability import NOT_AVAILABLE, unavailable_kpis
from kpis.compute import compute_kpis
from kpis.errors import UnknownUnit
from kpis.records import kpi_records, kpi_records_by_team
from kpis.targets import with_targets
from kpis.warehouse import Warehouse
from kpis.xlsx import xlsx_bytes

# (heading, KPI, period: "now" = as at the date, "month" = month to date, only rows counted_in this)
ACTION_LISTS = (
    ("Unallocated cases", "unallocated_cases", "now", None),
    ("Assessments overdue", "assessments_overdue", "now", None),
    ("Assessments due within 5 working days", "assessments_due_soon", "now", None),
    ("Section 47 enquiries open over 15 working days", "s47_open_over_15wd", "now", None),
    ("Children missing now", "children_missing_now", "now", None),
    ("Return home interviews not offered within 72 hours (this month)", "rhi_offered_within_72h", "month",
     "denominator"),
)
# Each action list's sheet, named in full within Excel's 31 characters (kpis.xlsx refuses a longer name
# rather than cut it: "Section 47 enquiries open over " is not a name).
SHEET_NAMES = {
    "unallocated_cases": "Unallocated cases",
    "assessments_overdue": "Assessments overdue",
    "assessments_due_soon": "Due within 5 working days",
    "s47_open_over_15wd": "S47s open over 15 working days",
    "children_missing_now": "Children missing now",
    "rhi_offered_within_72h": "RHIs not offered in 72 hours",
}
WITHHELD = "child-level lists are in kpidash; sign in to see them"
UNKNOWN_TEAM_NAME = "Cases whose team is not in teams.csv"


def week_bounds(day: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """(this Monday, last Monday, last Sunday): this week runs Monday to `day`."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)


def team_week(wh: Warehouse, team_id: str, as_at: dt.date, *, records: bool = True,
              note: str = WITHHELD) -> dict[str, Any]:
    """One team's week (see team_weeks); records=False keeps each list's count and replaces its rows
    by `note`, for readers who may not (or where the pack may not) carry child-level data."""
    if not wh.has_unit("team", team_id):
        raise UnknownUnit(f'"{team_id}" is not a team in this extract; teams: {", ".join(wh.units("team"))}')
    week = _weeks(wh, as_at, team_id)[team_id]
    return week if records else without_records(week, note)


def team_weeks(wh: Warehouse, as_at: dt.date) -> dict[str, dict[str, Any]]:
    """Every team's week (team_id -> week), each figure computed once for all teams, not per team.

    A week: team_id, team_name, monday, as_at, summary (per KPI: title, unit_of_measure, this, last,
    trust, rag, target, available: false where the source cannot supply the KPI), workers (case-holding
    workers in post on as_at, busiest per FTE first), and lists (per action-list KPI: note, count, records).
    """
    return _weeks(wh, as_at, None)


def without_records(week: dict[str, Any], note: str = WITHHELD) -> dict[str, Any]:
    """The week with each action list reduced to its count and a note (no child ids anywhere)."""
    lists = {kpi: {"note": listed["note"] or note, "count": listed["count"], "records": []}
             for kpi, listed in week["lists"].items()}
    return {**week, "lists": lists}


def team_pack_xlsx(week: dict[str, Any]) -> bytes:
    """The pack as a workbook: Summary, Workers, one sheet per action list (its rows, or its count and a
    note where the rows are withheld), and About (which team and week)."""
    sheets: dict[str, list[dict[str, Any]]] = {
        "Summary": [_summary_row(r) for r in week["summary"]],
        "Workers": week["workers"],
    }
    for _, kpi, _, _ in ACTION_LISTS:
        listed = week["lists"][kpi]
        sheets[SHEET_NAMES[kpi]] = listed["records"] if listed["note"] is None else [
            {"count": listed["count"], "note": listed["note"]}]
    sheets["About"] = [{"team_id": week["team_id"], "team_name": week["team_name"],
                        "week_from": week["monday"].isoformat(), "week_to": week["as_at"].isoformat()}]
    units = {"Summary": [r["unit_of_measure"] for r in week["summary"]]}
    return xlsx_bytes(sheets, row_units=units, column_units={"Workers": {"caseload": "count", "fte": "FTE",
                                                                         "cases_per_fte": "cases per FTE"}})


def _summary_row(r: dict[str, Any]) -> dict[str, Any]:
    """A Summary line. A KPI the source cannot supply says so in place of its figure and RAG: a blank and
    "no figure" would read as a week with no cases."""
    if r.get("available") is False:
        return {"KPI": r["title"], "This week": NOT_AVAILABLE, "Last week": None, "Trust this week": None,
                "RAG": NOT_AVAILABLE, "Target": r["target"]}
    return {"KPI": r["title"], "This week": r["this"], "Last week": r["last"], "Trust this week": r["trust"],
            "RAG": r["rag"] or ("no target" if r["target"] is None else "no figure"), "Target": r["target"]}


def _weeks(wh: Warehouse, as_at: dt.date, unit: str | None) -> dict[str, dict[str, Any]]:
    monday, last_monday, last_sunday = week_bounds(as_at)
    team_ids = [unit] if unit is not None else wh.units("team")
    names = {t["team_id"]: t["team_name"] for t in wh.teams()}
    this = with_targets(compute_kpis(wh, monday, as_at, "team", unit), wh.config)
    # a figure is (kpi, domain): domain_good_or_better has one per audit domain, titled with its domain
    last = {(r["unit"], r["kpi"], r.get("domain")): r["value"]
            for r in compute_kpis(wh, last_monday, last_sunday, "team", unit)}
    trust = {(r["kpi"], r.get("domain")): r["value"] for r in compute_kpis(wh, monday, as_at, "trust")}
    weeks: dict[str, dict[str, Any]] = {
        t: {"team_id": t, "team_name": names.get(t, UNKNOWN_TEAM_NAME), "monday": monday, "as_at": as_at,
            "summary": [], "workers": [], "lists": {}} for t in team_ids
    }
    for r in this:
        domain = r.get("domain")
        weeks[r["unit"]]["summary"].append({
            "kpi": r["kpi"], "title": r["title"] + (f": {domain.replace('_', ' ')}" if domain else ""),
            "unit_of_measure": r["unit_of_measure"], "this": r["value"],
            "last": last.get((r["unit"], r["kpi"], domain)), "trust": trust.get((r["kpi"], domain)), "rag": r["rag"],
            "target": r["target"], "available": r.get("available") is not False})
    for team_id, workers in _workers(wh, as_at, unit).items():
        if team_id in weeks:
            weeks[team_id]["workers"] = workers
    gaps = unavailable_kpis(wh.source_system)
    for _, kpi, period, only in ACTION_LISTS:
        if kpi in gaps:  # no figure, so no list: said, not shown as an empty one
            for week in weeks.values():
                week["lists"][kpi] = {"note": NOT_AVAILABLE, "count": 0, "records": []}
            continue
        by_team = _action_list(wh, kpi, as_at.replace(day=1) if period == "month" else None, as_at, unit)
        for team_id, week in weeks.items():
            rows = [r for r in by_team.get(team_id, []) if only is None or r["counted_in"] == only]
            week["lists"][kpi] = {"note": None, "count": len(rows), "records": rows}
    return weeks


def _workers(wh: Warehouse, as_at: dt.date, unit: str | None) -> dict[str, list[dict[str, Any]]]:
    """team_id (workers.csv) -> its case-holding workers in post on as_at, as GET
    /dashboard/teams/{team}/workers gives them: busiest per FTE first, then by name."""
    caseloads = compute_kpis(wh, as_at, as_at, "worker", None, ["average_caseload"])
    with wh.cursor() as cur:
        staff = {wid: (name, team) for wid, name, team in cur.execute(
            "SELECT worker_id, worker_name, team_id FROM wh.workers WHERE $team IS NULL OR team_id = $team",
            {"team": unit}).fetchall()}
    limit = wh.config.caseload_limit
    by_team: dict[str, list[dict[str, Any]]] = {}
    for r in caseloads:
        if r["unit"] in staff:
            name, team = staff[r["unit"]]
            by_team.setdefault(team, []).append({
                "worker_id": r["unit"], "worker_name": name, "team_id": team, "caseload": r["numerator"],
                "fte": r["denominator"], "cases_per_fte": r["value"],
                "over_limit": r["value"] is not None and r["value"] > limit})
    for workers in by_team.values():
        workers.sort(key=lambda w: (-(w["cases_per_fte"] or 0), w["worker_name"]))
    return by_team


def _action_list(wh: Warehouse, kpi: str, date_from: dt.date | None, as_at: dt.date,
                 unit: str | None) -> dict[str, list[dict[str, Any]]]:
    """team_id -> the records behind the team's figure, exactly as kpi_records gives them at team level."""
    if unit is not None:
        return {unit: kpi_records(wh, kpi, unit, date_from, as_at, level="team")}
    return kpi_records_by_team(wh, kpi, date_from, as_at)
