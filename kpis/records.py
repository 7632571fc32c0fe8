"""Drill-down: the child-level records behind one figure, each marked numerator or denominator.

Records come from the same facts query as the figure (kpis/families.py), filtered to the unit and
to the KPI's conditions, so they always count to it: rows counted_in "numerator" number the
numerator; for a rate all rows number the denominator. Two KPIs count something other than rows:
children_missing_now lists one row per child (their latest-started open episode), and
average_caseload lists (worker, child) pairs plus a row for each worker holding no children, so its
denominator is the sum of `fte` over the distinct workers listed.

Where the extract held audits.csv, every record with a child also shows the final grade of that
child's latest audit completed by the end of the period (`latest_audit_grade`, `latest_audit_completed`).
domain_good_or_better's records are (audit, domain) pairs: ask for one domain to count to its figure.
"""

from __future__ import annotations

import datetime as dt

from etl.contract import AUDIT_DOMAINS
from kpis.availability import NOT_AVAILABLE, unavailable_kpis
from kpis.compute import check_unit, resolve_period
from kpis.engine import bind, periods_cte, single_period
from kpis.errors import KpiError
from kpis.families import FAMILIES_BY_NAME, MEASURES, Column
from kpis.registry import get_kpi
from kpis.warehouse import TRUST, Warehouse, check_level

NOT_LOADED = {"audits": "no audits loaded", "audit_domains": "no audit domains loaded",
              "audit_actions": "no audit actions loaded"}
COMMON_COLUMNS = (Column("record_type"), Column("record_id"), Column("child_id"), Column("team_id"),
                  Column("team_unit"), Column("service_unit"), Column("worker_id"))
_UNIT_COLUMN = {"service": "service_unit", "team": "team_unit", "worker": "worker_unit"}


def _shown(c: Column) -> str:
    value = c.sql or c.name
    if c.kind == "date":
        return f"strftime({value}, '%Y-%m-%d') AS {c.name}"
    if c.kind == "datetime":
        return f"strftime({value}, '%Y-%m-%dT%H:%M:%S') AS {c.name}"
    return f"{value} AS {c.name}"


def kpi_records(
    wh: Warehouse,
    kpi_id: str,
    unit: str,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    level: str | None = None,
    domain: str | None = None,
    within: tuple[str, str] | None = None,
) -> list[dict]:
    """The records behind the figure of one KPI for one unit and period (numerator rows first).

    level is inferred from unit when None: "trust", then a team id (UNKNOWN is a team), a service
    name, a worker id. domain: for domain_good_or_better, only that domain's records (the figure's).
    within, ("team", T) or ("service", S): only the records that belong to that team or service
    themselves (their own team_unit / service_unit): a worker's records can belong to another team than
    the worker's, and a reader scoped to a team sees only their team's children.
    """
    kpi = get_kpi(kpi_id)
    level = wh.infer_level(unit) if level is None else check_level(level)
    check_unit(wh, level, unit)
    if level == "worker" and not kpi.worker_level:
        raise KpiError(f"{kpi.id} has no worker-level figures; ask for a team, a service or the trust")
    family = FAMILIES_BY_NAME[kpi.family]
    if domain is not None:
        if family.extra_key != "domain":
            raise KpiError(f"{kpi.id} has no domains; domain is only for domain_good_or_better")
        if domain not in AUDIT_DOMAINS:
            raise KpiError(f'"{domain}" is not an audit domain; domains: {", ".join(AUDIT_DOMAINS)}')
    if within is not None and within[0] not in ("team", "service"):
        raise KpiError(f"records can be limited to a team or a service, not a {within[0]}")
    missing = [t for t in (*family.requires, *MEASURES[kpi.id].requires) if not wh.has_table(t)]
    if missing:
        raise KpiError(f"{kpi.id} has no figures: {NOT_LOADED[missing[0]]} (the extract holds no {missing[0]}.csv)")
    return _records(wh, kpi_id, level, unit, date_from, date_to, domain, within)


def kpi_records_by_team(
    wh: Warehouse, kpi_id: str, date_from: dt.date | None = None, date_to: dt.date | None = None,
) -> dict[str, list[dict]]:
    """team id -> what kpi_records gives for that team, for every team in one query (weekly packs)."""
    by_team: dict[str, list[dict]] = {}
    for row in _records(wh, kpi_id, "team", None, date_from, date_to):
        by_team.setdefault(row["team_unit"], []).append(row)
    return by_team


def _records(wh: Warehouse, kpi_id: str, level: str, unit: str | None, date_from: dt.date | None,
             date_to: dt.date | None, domain: str | None = None,
             within: tuple[str, str] | None = None) -> list[dict]:
    """unit None at a level below the trust: every unit's records (one per child within each unit)."""
    kpi = get_kpi(kpi_id)
    gap = unavailable_kpis(wh.source_system).get(kpi.id)
    if gap is not None:  # its figure is null, never 0: no list may read as one (records counted only in a denominator)
        raise KpiError(f"{kpi.id} is {NOT_AVAILABLE} ({gap}): it has no figure, so no records behind one")
    date_from, date_to = resolve_period(wh, date_from, date_to)
    periods = single_period(date_from, date_to)
    wh.ensure_calendar(periods.first, periods.last)

    measure = MEASURES[kpi.id]
    family = FAMILIES_BY_NAME[kpi.family]
    extra = measure.record_columns or family.record_columns
    overrides = {c.name: c for c in extra}
    columns = tuple(overrides.pop(c.name, c) for c in COMMON_COLUMNS) + tuple(c for c in extra if c.name in overrides)
    selected = ", ".join(_shown(c) for c in columns)
    num, den = measure.numerator_if, measure.denominator_if or "FALSE"
    where = f"(({num}) OR ({den}))"
    if level != TRUST:
        where += f" AND {_UNIT_COLUMN[level]} = $unit" if unit is not None else ""
        within_unit = f"{_UNIT_COLUMN[level]}, "
    else:
        within_unit = ""
    if domain is not None:
        where += " AND domain = $domain"
    if within is not None:
        where += f" AND {_UNIT_COLUMN[within[0]]} = $within"
    per_child = ""
    if measure.one_record_per_child:
        selected += f", count(*) OVER (PARTITION BY {within_unit}child_id) AS open_episodes"
        per_child = (f"QUALIFY row_number() OVER (PARTITION BY {within_unit}child_id ORDER BY start_time DESC, "
                     "record_id) = 1")
    listed = f"""
    SELECT {selected}, CASE WHEN {num} THEN 'numerator' ELSE 'denominator' END AS counted_in
    FROM facts
    WHERE {where}
    {per_child}"""
    if wh.has_table("audits"):  # beside each child: the final grade of their latest completed audit
        listed = f"""
        WITH listed AS ({listed}),
        latest AS (
            SELECT child_id, coalesce(moderated_grade, grade) AS latest_audit_grade,
                   strftime(completed_date, '%Y-%m-%d') AS latest_audit_completed
            FROM wh.audits
            WHERE completed_date <= (SELECT max(period_end) FROM periods)
            QUALIFY row_number() OVER (PARTITION BY child_id ORDER BY completed_date DESC, audit_id DESC) = 1
        )
        SELECT l.*, latest.latest_audit_grade, latest.latest_audit_completed
        FROM listed l LEFT JOIN latest ON latest.child_id = l.child_id"""
    sql = f"""
    WITH {periods_cte(periods)},
    facts AS ({family.facts_for(periods.count)})
    SELECT * FROM ({listed})
    ORDER BY counted_in DESC, record_id, child_id NULLS FIRST{", " + family.extra_key if family.extra_key else ""}
    """
    params = {**periods.params, "caseload_limit": wh.config.caseload_limit, "unit": unit, "domain": domain,
              "within": within[1] if within else None}
    with wh.cursor() as cur:
        result = cur.execute(sql, bind(sql, params))
        names = [d[0] for d in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]
