"""Quality assurance beside the figures: what the QA page, "What audits found" and QA on a Page show.

Aggregates only (counts by grade, by domain, by action owner), never a child: the audits and actions
behind a figure are drill-down records (kpis.records), scoped and audited like every other. The QA
KPIs themselves come from compute_kpis, so every number here agrees with the figures served elsewhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from etl.contract import AUDIT_DOMAINS, GOOD_OR_BETTER, GRADES
from kpis.compute import check_unit, compute_kpis, resolve_period
from kpis.engine import bind
from kpis.errors import KpiError
from kpis.families import AUDITS_PLACED
from kpis.registry import KPIS
from kpis.targets import with_targets
from kpis.warehouse import Warehouse, check_level

QA_KPIS = tuple(k.id for k in KPIS if k.family.startswith("qa_"))
QA_FILES = ("audits", "audit_domains", "audit_actions")
NO_AUDITS = "no audits loaded"
NO_ACTIONS = "no audit actions loaded"
NO_DOMAINS = "no audit domains loaded"
PAGE_LEVELS = ("trust", "service", "team")
_IN_UNIT = {"trust": "TRUE", "service": "a.service_unit = $unit", "team": "a.team_unit = $unit",
            "worker": "a.worker = $unit"}


def loaded_files(wh: Warehouse) -> dict[str, bool]:
    """Which QA files the published extract held."""
    return {name: wh.has_table(name) for name in QA_FILES}


def _unit_args(wh: Warehouse, level: str, unit: str | None) -> tuple[str, str | None]:
    check_level(level)
    unit = None if level == "trust" else unit
    if level != "trust" and unit is None:
        raise KpiError(f"name the {level} (a unit) to show its audits")
    check_unit(wh, level, unit)
    return level, unit


def audit_findings(wh: Warehouse, date_from: dt.date | None, date_to: dt.date | None, level: str = "trust",
                   unit: str | None = None) -> dict[str, Any]:
    """What audits found for a period and unit: audits completed, and each domain's grades, with the
    configuration's map of domain -> KPIs (so a view can put each KPI's domains beside it)."""
    level, unit = _unit_args(wh, level, unit)
    date_from, date_to = resolve_period(wh, date_from, date_to)
    out: dict[str, Any] = {"from": date_from.isoformat(), "to": date_to.isoformat(), "level": level,
                           "unit": unit or "trust", "loaded": loaded_files(wh), "audits_completed": None,
                           "domains": {}, "kpi_domains": {k.id: wh.config.domains_of(k.id) for k in KPIS},
                           "note": None}
    if not wh.has_table("audits"):
        return {**out, "note": NO_AUDITS}
    params = {"date_from": date_from, "date_to": date_to, "unit": unit}
    with wh.cursor() as cur:
        out["audits_completed"] = _run(cur,
            f"""SELECT count(*) FROM {AUDITS_PLACED} a
                WHERE a.completed_date BETWEEN $date_from AND $date_to AND {_IN_UNIT[level]}""",
            params).fetchone()[0]
        if wh.has_table("audit_domains"):
            out["domains"] = _domain_grades(cur, level, params)
        else:
            out["note"] = NO_DOMAINS
    return out


def _run(cur: Any, sql: str, params: dict) -> Any:
    """Execute with the parameters the statement names (DuckDB refuses the others)."""
    return cur.execute(sql, bind(sql, params))


def _domain_grades(cur: Any, level: str, params: dict) -> dict[str, dict[str, Any]]:
    """domain -> graded, good_or_better, value (%) and the count of each grade, over the audits
    completed in the period in the unit (domain_good_or_better's records)."""
    rows = _run(cur,
        f"""SELECT d.domain, d.grade, count(*) FROM wh.audit_domains d JOIN {AUDITS_PLACED} a USING (audit_id)
            WHERE a.completed_date BETWEEN $date_from AND $date_to AND {_IN_UNIT[level]}
            GROUP BY ALL""", params).fetchall()
    found: dict[str, dict[str, Any]] = {}
    for domain, grade, n in rows:  # at most 7 domains x 4 grades
        d = found.setdefault(domain, {"graded": 0, "good_or_better": 0, "grades": dict.fromkeys(GRADES, 0)})
        d["graded"] += n
        d["good_or_better"] += n if grade in GOOD_OR_BETTER else 0
        d["grades"][grade] += n
    for d in found.values():
        d["value"] = 100 * d["good_or_better"] / d["graded"]
    return {domain: found[domain] for domain in AUDIT_DOMAINS if domain in found}


def qa_summary(wh: Warehouse, date_from: dt.date | None, date_to: dt.date | None, level: str = "trust",
               unit: str | None = None) -> dict[str, Any]:
    """The QA page for a period and unit: its QA figures (with targets), the same by service and team,
    audits due in the period and how many were done, the grade mix before and after moderation, the
    domains, and the open and overdue audit actions (counts by owner, no child)."""
    level, unit = _unit_args(wh, level, unit)
    date_from, date_to = resolve_period(wh, date_from, date_to)
    out: dict[str, Any] = {"from": date_from.isoformat(), "to": date_to.isoformat(), "level": level,
                           "unit": unit or "trust", "loaded": loaded_files(wh), "note": None}
    if not wh.has_table("audits"):
        return {**out, "note": NO_AUDITS}
    figures = with_targets(compute_kpis(wh, date_from, date_to, level, unit, QA_KPIS), wh.config)
    out["figures"] = [r for r in figures if "domain" not in r]
    out["domain_figures"] = [r for r in figures if "domain" in r]
    core = [k for k in QA_KPIS if k != "domain_good_or_better"]
    out["by_unit"] = [] if level == "team" else with_targets(
        compute_kpis(wh, date_from, date_to, ("service", "team"), None, core), wh.config)
    params = {"date_from": date_from, "date_to": date_to, "unit": unit}
    with wh.cursor() as cur:
        due, done, on_time = _run(cur,
            f"""SELECT count(*), count(*) FILTER (WHERE a.completed_date <= $date_to),
                       count(*) FILTER (WHERE a.completed_date <= least(a.due_date, $date_to))
                FROM {AUDITS_PLACED} a
                WHERE a.due_date BETWEEN $date_from AND $date_to AND {_IN_UNIT[level]}""",
            params).fetchone()
        out["due"] = {"due": due, "done": done, "done_on_time": on_time}
        mix = _run(cur,
            f"""SELECT a.grade, a.final_grade, count(*) FROM {AUDITS_PLACED} a
                WHERE a.completed_date BETWEEN $date_from AND $date_to AND {_IN_UNIT[level]} GROUP BY ALL""",
            params).fetchall()
        out["domains"] = _domain_grades(cur, level, params) if wh.has_table("audit_domains") else None
        out["actions"] = _actions(cur, level, params) if wh.has_table("audit_actions") else None
    before, after = dict.fromkeys(GRADES, 0), dict.fromkeys(GRADES, 0)
    changed = 0
    for grade, final, n in mix:
        before[grade] += n
        after[final] += n
        changed += n if grade != final else 0
    out["grades"] = {"auditor": before, "final": after, "changed_by_moderation": changed}
    if out["domains"] is None:
        out["note"] = NO_DOMAINS
    if out["actions"] is None:
        out["note"] = NO_ACTIONS if out["note"] is None else f"{out['note']}; {NO_ACTIONS}"
    return out


def _actions(cur: Any, level: str, params: dict) -> dict[str, Any]:
    """Actions still open at the end of the period, those of them overdue, and the overdue ones by owner."""
    open_at = "(ac.completed_date IS NULL OR ac.completed_date > $date_to) AND ac.due_date IS NOT NULL"
    rows = _run(cur,
        f"""SELECT ac.owner_id, w.worker_name, count(*) FILTER (WHERE ac.due_date < $date_to) AS overdue,
                   count(*) AS open, min(ac.due_date) FILTER (WHERE ac.due_date < $date_to) AS oldest_due
            FROM wh.audit_actions ac JOIN {AUDITS_PLACED} a USING (audit_id)
            LEFT JOIN wh.workers w ON w.worker_id = ac.owner_id
            WHERE {open_at} AND {_IN_UNIT[level]}
            GROUP BY ALL ORDER BY overdue DESC, oldest_due NULLS LAST, ac.owner_id NULLS LAST""",
        params).fetchall()
    owners = [{"owner_id": owner, "owner_name": name, "overdue": overdue, "open": n,
               "oldest_due": oldest.isoformat() if oldest else None}
              for owner, name, overdue, n, oldest in rows if overdue]
    return {"open": sum(r[3] for r in rows), "overdue": sum(r[2] for r in rows), "overdue_by_owner": owners}


def month_period(month: str, extract_date: dt.date) -> tuple[dt.date, dt.date]:
    """A YYYY-MM month as a period: its first day to its last (or the extract date in its month)."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise KpiError(f'"{month}" is not a month: write it YYYY-MM, e.g. 2025-10') from None
    if len(month) != 7 or first > extract_date:
        raise KpiError(f'"{month}" is not a month up to the extract\'s ({extract_date:%Y-%m}): write it YYYY-MM')
    nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, min(nxt - dt.timedelta(days=1), extract_date)


def qa_page(wh: Warehouse, month: str, level: str = "trust", unit: str | None = None) -> dict[str, Any]:
    """QA on a Page for a month and the trust, a service or a team: the summary, the three strongest and
    weakest domains, and the figures of the KPIs their domains speak to, for the same month and unit."""
    if level not in PAGE_LEVELS:
        raise KpiError(f'QA on a Page is for the trust, a service or a team, not "{level}"')
    date_from, date_to = month_period(month, wh.extract_date)
    summary = qa_summary(wh, date_from, date_to, level, unit)
    names = {t["team_id"]: t["team_name"] for t in wh.teams()}
    title = ("the whole trust" if level == "trust" else f"{names[unit]} ({unit})" if unit in names else str(unit))
    out = {**summary, "month": month, "title": title, "extract_date": wh.extract_date.isoformat(),
           "strongest": [], "weakest": [], "linked": []}
    domains = summary.get("domains") or {}
    ranked = sorted(domains.items(), key=lambda kv: (-kv[1]["value"], -kv[1]["graded"], kv[0]))
    # the weakest from those not among the strongest: with four or five graded, the last three of the ranking
    # would repeat a strongest one
    out["strongest"] = [{"domain": d, **v} for d, v in ranked[:3]]
    out["weakest"] = [{"domain": d, **v} for d, v in reversed(ranked[3:][-3:])]
    shown = [d["domain"] for d in out["strongest"] + out["weakest"]]
    linked = [k for k in dict.fromkeys(k for d in shown for k in wh.config.domain_kpis.get(d, ()))]
    if linked:
        rows = with_targets(compute_kpis(wh, date_from, date_to, level, None if level == "trust" else unit, linked),
                            wh.config)
        out["linked"] = [{**r, "domains": [d for d in shown if r["kpi"] in wh.config.domain_kpis.get(d, ())]}
                         for r in rows]
    return out

