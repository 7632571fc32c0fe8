"""SPC of every KPI on the sample trust, at every level, by month and by week, against the plain exact
reference (tests/kpis/spc_reference.py) applied to kpidash trend's own rows: the series, the units,
every decision and every number."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction as F
from pathlib import Path

import pytest
from spc_reference import reference_spc

from kpis import KPIS, kpi_spc, kpi_trend, open_warehouse

EXTRACT = dt.date(2025, 11, 24)  # the sample trust's extract (history to Sunday 23 November)
LAST_COMPLETE = {"month": dt.date(2025, 10, 31), "week": dt.date(2025, 11, 23)}


@pytest.fixture(scope="module")
def wh(sample_warehouse: Path):
    with open_warehouse(sample_warehouse) as opened:
        assert opened.extract_date == EXTRACT
        yield opened


def _expected(wh, by: str, level: str, periods: int) -> dict[tuple[str, str, str | None], dict]:
    """Each (kpi, unit, domain) series from kpi_trend's rows: a count's missing period is 0, a rate's no point.
    (domain_good_or_better has one series per audit domain; every other KPI's domain is None.)"""
    rows = kpi_trend(wh, None, by, periods, level, date_to=LAST_COMPLETE[by])
    starts = sorted({r["period_start"] for r in rows})
    assert len(starts) == periods and max(r["period_end"] for r in rows) == LAST_COMPLETE[by].isoformat()
    measure = {k.id: k.measure for k in KPIS}
    cells: dict[tuple[str, str, str | None], dict[str, object]] = {}
    for r in rows:
        cells.setdefault((r["kpi"], r["unit"], r.get("domain")), {})[r["period_start"]] = r["value"]
    out = {}
    targets = wh.config.targets
    for (kpi, unit, domain), by_start in cells.items():
        fill = 0 if measure[kpi] == "count" else None
        values = [by_start.get(s, fill) for s in starts]
        target = targets[kpi].target if kpi in targets else None
        out[(kpi, unit, domain)] = reference_spc([None if v is None else F(v) for v in values],
                                         better=next(k.polarity for k in KPIS if k.id == kpi),
                                         target=None if target is None else F(target))
        out[(kpi, unit, domain)]["values"] = values
        out[(kpi, unit, domain)]["starts"] = starts
    return out


@pytest.mark.parametrize(("by", "level"), [("month", "trust"), ("month", "service"), ("month", "team"),
                                           ("month", "worker"), ("week", "trust"), ("week", "team")])
def test_every_kpi_agrees_with_the_reference(wh, by: str, level: str) -> None:
    charts = kpi_spc(wh, None, by, 24, level)
    expected = _expected(wh, by, level, 24)
    key = [(c["kpi"], c["unit"], c.get("domain")) for c in charts]
    assert set(key) == set(expected)
    assert any(k[2] is not None for k in key)  # the sample's audit domains are series too
    kpi_order = [k.id for k in KPIS]
    assert key == sorted(key, key=lambda ku: (kpi_order.index(ku[0]), ku[1], ku[2] or ""))
    flagged = 0
    for c in charts:
        ref = expected[(c["kpi"], c["unit"], c.get("domain"))]
        assert (c["trial_limits"], c["variation"], c["assurance"]) == (
            ref["trial_limits"], ref["variation"], ref["assurance"]), (c["kpi"], c["unit"])
        assert len(c["points"]) == len(ref["points"])
        for p, r in zip(c["points"], ref["points"]):
            assert p["period_start"] == ref["starts"][r["period"]]
            assert p["value"] == ref["values"][r["period"]]
            for key in ("outside", "two_of_three", "shift", "trend", "special_cause"):
                assert p[key] == r[key], (c["kpi"], c["unit"], p["period_start"], key)
            for key in ("mean", "lower_limit", "upper_limit", "lower_near", "upper_near"):
                if r[key] is None:
                    assert p[key] is None
                else:
                    assert p[key] == pytest.approx(float(r[key]), rel=1e-12, abs=1e-9)
            flagged += p["special_cause"] is not None
    assert flagged > 0  # the sample trust has signals to find


def test_units_are_every_team_plus_unknown_at_team_level(wh) -> None:
    charts = kpi_spc(wh, "assessments_completed", "month", 24, "team")
    assert [c["unit"] for c in charts] == sorted(t["team_id"] for t in wh.teams()) + (
        ["UNKNOWN"] if "UNKNOWN" in wh.units("team") and any(c["unit"] == "UNKNOWN" for c in charts) else [])
    assert all(len(c["points"]) == 24 for c in charts)  # a count: every period is a point
