"""The QA figures on the sample trust against a plain reading of ../shared/spec/qa-audits.md written
apart from the engine (Python over the warehouse's rows, no SQL but a SELECT *): every QA KPI, every
level, a few months and the extract's own part-month, from the daily cube and from the facts. The hand-made cases are in test_kpi_qa.py."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from kpis import compute_kpis, open_warehouse

GOOD = {"outstanding", "good"}
PERIODS = [(dt.date(2025, 6, 1), dt.date(2025, 6, 30)), (dt.date(2025, 10, 1), dt.date(2025, 10, 31)),
           (dt.date(2025, 11, 1), dt.date(2025, 11, 24)), (dt.date(2024, 2, 1), dt.date(2024, 2, 29))]


@pytest.fixture(scope="module", params=("cube", "facts"))
def wh(sample_warehouse: Path, request: pytest.FixtureRequest):
    with open_warehouse(sample_warehouse, cube=request.param == "cube") as opened:
        assert (opened.cube is not None) == (request.param == "cube")
        assert all(opened.has_table(t) for t in ("audits", "audit_domains", "audit_actions"))
        yield opened


def _rows(wh, table: str) -> list[dict]:
    cur = wh.cursor()
    cur.execute(f"SELECT * FROM wh.{table}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _reference(wh, start: dt.date, day: dt.date) -> dict[tuple, tuple]:
    """(kpi, level, unit[, domain]) -> (numerator, denominator) by the spec's words, D = day."""
    service_of = {t["team_id"]: t["service"] for t in wh.teams()}
    audits = {a["audit_id"]: a for a in _rows(wh, "audits")}

    def units(a: dict) -> list[tuple[str, str]]:
        team = a["team_id"] if a["team_id"] in service_of else "UNKNOWN"
        out = [("trust", "trust"), ("service", service_of.get(team, "UNKNOWN")), ("team", team)]
        return out + ([("worker", a["worker_id"])] if a["worker_id"] else [])

    def final(a: dict) -> str:
        return a["moderated_grade"] or a["grade"]

    num: dict[tuple, int] = defaultdict(int)
    den: dict[tuple, int] = defaultdict(int)
    for a in audits.values():
        done = a["completed_date"] is not None and start <= a["completed_date"] <= day
        moderated = a["moderated_date"] is not None and start <= a["moderated_date"] <= day
        overdue = a["due_date"] < day and (a["completed_date"] is None or a["completed_date"] > day)
        for u in units(a):
            num[("audits_completed", *u)] += done
            num[("audits_on_time", *u)] += done and a["completed_date"] <= a["due_date"]
            den[("audits_on_time", *u)] += done
            num[("audits_good_or_better", *u)] += done and final(a) in GOOD
            den[("audits_good_or_better", *u)] += done
            num[("audits_inadequate", *u)] += done and final(a) == "inadequate"
            num[("moderation_agreement", *u)] += moderated and a["moderated_grade"] == a["grade"]
            den[("moderation_agreement", *u)] += moderated
            num[("audits_overdue", *u)] += overdue
    for ac in _rows(wh, "audit_actions"):
        overdue = ac["due_date"] < day and (ac["completed_date"] is None or ac["completed_date"] > day)
        for u in units(audits[ac["audit_id"]]):
            num[("audit_actions_overdue", *u)] += overdue
    for d in _rows(wh, "audit_domains"):
        a = audits[d["audit_id"]]
        if a["completed_date"] is not None and start <= a["completed_date"] <= day:
            for u in units(a):
                num[("domain_good_or_better", *u, d["domain"])] += d["grade"] in GOOD
                den[("domain_good_or_better", *u, d["domain"])] += 1
    rates = {"audits_on_time", "audits_good_or_better", "moderation_agreement", "domain_good_or_better"}
    return {k: (n, den[k] if k[0] in rates else None) for k, n in num.items()}


@pytest.mark.parametrize(("start", "day"), PERIODS, ids=[f"{s}..{d}" for s, d in PERIODS])
def test_every_qa_figure_at_every_level_agrees_with_the_specs_words(wh, start: dt.date, day: dt.date) -> None:
    expected = _reference(wh, start, day)
    got = {}
    for r in compute_kpis(wh, start, day, "all"):
        if r["kpi"] in {k[0] for k in expected}:
            key = (r["kpi"], r["level"], r["unit"], *([r["domain"]] if "domain" in r else []))
            got[key] = (r["numerator"], r["denominator"])
            if r["denominator"]:
                assert r["value"] == pytest.approx(100 * r["numerator"] / r["denominator"], rel=1e-12)
    # every figure the spec's reading counts something for is there and equal
    assert {k: got.get(k) for k, v in expected.items() if v[0] or v[1]} == {k: v for k, v in expected.items()
                                                                           if v[0] or v[1]}
    # and every other row kpidash gives counts nothing (a listed unit with nothing to count)
    assert all(not n and not d for k, (n, d) in got.items() if k not in expected or not any(expected[k]))
    assert sum(n for (kpi, level, *_), (n, _) in expected.items()
               if kpi == "audits_completed" and level == "trust") > 0
