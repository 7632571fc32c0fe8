"""The rows the engine makes from a facts query's columns (kpis/engine.py: _unit_rows) are the family's
facts counted plainly: one GROUP BY per KPI and level over the facts, the rows written out one by one by
the rules of kpis.md and qa-audits.md (every listed unit has a row, for each key value with facts in the
period; another unit only where it counts something; worker rows only for worker-level KPIs), in the
engine's order and with the spec's JSON types. On the sample trust with its audit programme, counted from
the facts (no cube), for one period and a trend, at every level, the worker level (listed workers of the
QA families, workers where they count of the others) most of all.

Rows are compared by repr, so 3 and 3.0 differ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.contract import AUDIT_DOMAINS
from kpis import KPIS, Warehouse, compute_kpis, kpi_trend, open_warehouse
from kpis.engine import Periods, bind, periods_cte, single_period
from kpis.families import FAMILIES, Family, Measure
from kpis.registry import KPIS_BY_ID
from kpis.trends import trend_periods

LEVELS = ("trust", "service", "team", "worker")
_COLUMN = {"trust": "'trust'", "service": "service_unit", "team": "team_unit", "worker": "worker_unit"}


@pytest.fixture(scope="module")
def facts_wh(sample_warehouse: Path) -> Iterator[Warehouse]:
    with open_warehouse(sample_warehouse, cube=False) as wh:
        assert wh.has_table("audits") and wh.has_table("audit_domains") and wh.has_table("audit_actions")
        yield wh


def _counted(wh: Warehouse, family: Family, m: Measure, level: str, periods: Periods) -> dict[tuple, tuple]:
    """(unit, key value, p) -> (numerator, denominator) where the facts have rows, one plain GROUP BY."""
    key = family.extra_key or "NULL"
    numerator = m.numerator_sql or f"count(*) FILTER (WHERE {m.numerator_if})"
    denominator = m.denominator_sql or (f"count(*) FILTER (WHERE {m.denominator_if})" if m.denominator_if else "NULL")
    sql = f"""WITH {periods_cte(periods)}, facts AS ({family.facts_for(periods.count)})
              SELECT {_COLUMN[level]} AS unit, {key} AS xk, p, {numerator}, {denominator}
              FROM facts WHERE {_COLUMN[level]} IS NOT NULL GROUP BY ALL"""
    params = {**periods.params, "caseload_limit": wh.config.caseload_limit}
    with wh.cursor() as cur:
        return {(u, k, p): (n, d) for u, k, p, n, d in cur.execute(sql, bind(sql, params)).fetchall()}


def _listed(wh: Warehouse, family: Family, level: str) -> list[str]:
    if level == "worker":
        if family.listed_workers is None:
            return []
        with wh.cursor() as cur:
            return [r[0] for r in cur.execute(family.listed_workers).fetchall()]
    return ["trust"] if level == "trust" else [u for u in wh.units(level) if u != "UNKNOWN"]


def _plain_rows(wh: Warehouse, periods: Periods, dates: list[tuple[str, str]] | None) -> list[dict]:
    """Every KPI's rows at every level, written out one by one."""
    out = []
    for family in FAMILIES:
        for m in sorted(family.measures, key=lambda m: KPIS.index(KPIS_BY_ID[m.kpi_id])):
            kpi = KPIS_BY_ID[m.kpi_id]
            for level in LEVELS:
                if level == "worker" and not kpi.worker_level:
                    continue
                counted = _counted(wh, family, m, level, periods)
                # a listed unit's cells: each period, and each key value with facts in it (at any unit)
                keys_in = {p: {None} for p in range(periods.count)}
                if family.extra_key:
                    keys_in = {p: {k for (_, k, q) in _counted(wh, family, m, "trust", periods) if q == p}
                               for p in range(periods.count)}
                listed = set(_listed(wh, family, level))
                cells = set(counted) | {(u, k, p) for u in listed for p in range(periods.count) for k in keys_in[p]}
                rows = []
                for u, k, p in cells:
                    n, d = counted.get((u, k, p), (0, 0))
                    n, d = n or 0, d or 0
                    if u not in listed and n == 0 and d == 0:
                        continue
                    if kpi.measure == "count":
                        den, value = None, int(n)
                    elif kpi.measure == "rate":
                        den = int(d)
                        value = 100 * int(n) / den if den else None
                    else:
                        den = float(d)
                        value = int(n) / den if den else None
                    row = {"kpi": kpi.id, "level": level, "unit": u}
                    if dates is not None:
                        row = {"period_start": dates[p][0], "period_end": dates[p][1], **row}
                    if family.extra_key:
                        row[family.extra_key] = k
                    row.update({"numerator": int(n), "denominator": den, "value": value})
                    rank = AUDIT_DOMAINS.index(k) if k is not None else 0
                    rows.append(((u == "UNKNOWN", u, rank, p), row))
                out.extend(row for _, row in sorted(rows, key=lambda r: r[0]))
    return out


def _same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    diffs = [(x, y) for x, y in zip(a, b) if repr(x) != repr(y)]
    assert not diffs, f"{len(diffs)} rows differ, e.g. {diffs[:3]}"


def test_one_period_at_every_level_is_the_facts_counted_plainly(facts_wh: Warehouse) -> None:
    end = facts_wh.extract_date
    start = end - dt.timedelta(days=90)
    rows = compute_kpis(facts_wh, start, end, "all")
    assert any(r["level"] == "worker" and r["kpi"] == "domain_good_or_better" for r in rows)
    assert any(r["level"] == "worker" and r["kpi"] == "audits_on_time" and r["denominator"] == 0 for r in rows)
    _same(rows, _plain_rows(facts_wh, single_period(start, end), None))


def test_a_trend_at_every_level_is_the_facts_counted_plainly(facts_wh: Warehouse) -> None:
    periods = trend_periods("month", 4, facts_wh.extract_date)
    rows = kpi_trend(facts_wh, None, "month", 4, "all")
    dates = list(dict.fromkeys((r["period_start"], r["period_end"]) for r in rows if r["level"] == "trust"))
    assert len(dates) == 4
    _same(rows, _plain_rows(facts_wh, periods, dates))
