"""Drill-down: which unit a name means, what a record holds, and bad requests."""

from __future__ import annotations

import datetime as dt

import pytest
import test_kpi_assessments as assessments
import test_kpi_referrals as referrals

from kpis import KpiError, UnknownKpi, UnknownUnit, kpi_records

D = dt.date.fromisoformat
JAN = assessments.JAN


@pytest.fixture
def wh(make_wh):
    # a worker whose id is also a team id: "T2" names the team first
    workers = [{"worker_id": "T2", "worker_name": "Confusing Name", "team_id": "T1", "role": "social_worker",
                "qualified": "Y", "fte": 1.0}]
    rows = [*assessments.ASSESSMENTS, assessments._a("AT2", "2025-01-06", "2025-01-07", "T1", "T2")]
    return make_wh({"assessments": rows, "workers": workers})


def _ids(records: list[dict]) -> set[str]:
    return {r["record_id"] for r in records}


def test_level_is_inferred_from_the_unit(wh) -> None:
    # trust: A45, A46, A0, ASAT, AUTHD, AT2 completed in January
    assert _ids(kpi_records(wh, "assessments_completed", "trust", *JAN)) == {"A45", "A46", "A0", "ASAT", "AUTHD", "AT2"}
    assert _ids(kpi_records(wh, "assessments_completed", "T1", *JAN)) == {"A45", "A46", "AT2"}
    assert _ids(kpi_records(wh, "assessments_completed", "Front Door", *JAN)) == {"A45", "A46", "A0", "ASAT", "AT2"}
    assert _ids(kpi_records(wh, "assessments_completed", "W1", *JAN)) == {"A45", "A0"}
    assert _ids(kpi_records(wh, "assessments_due_soon", "UNKNOWN", *JAN)) == {"O45", "O41"}
    # "T2" is a team and a worker: the team wins unless the level says otherwise
    assert _ids(kpi_records(wh, "assessments_completed", "T2", *JAN)) == {"A0", "ASAT"}
    assert _ids(kpi_records(wh, "assessments_completed", "T2", *JAN, level="worker")) == {"AT2"}


def test_a_record_says_where_it_counts_and_why(wh) -> None:
    [a45] = [r for r in kpi_records(wh, "assessments_within_45wd", "T1", *JAN) if r["record_id"] == "A45"]
    assert a45 == {
        "record_type": "assessment", "record_id": "A45", "child_id": "C-A45", "team_id": "T1", "team_unit": "T1",
        "service_unit": "Front Door", "worker_id": "W1", "start_date": "2024-11-01", "authorised_date": "2025-01-08",
        "working_days": 45, "counted_in": "numerator",
    }


def test_numerator_rows_come_first(wh) -> None:
    records = kpi_records(wh, "assessments_within_45wd", "trust", *JAN)
    flags = [r["counted_in"] for r in records]
    assert flags == sorted(flags, key=lambda f: f != "numerator") and "denominator" in flags


def test_default_period_is_the_extract_month(make_wh) -> None:
    wh = make_wh({"referrals": [referrals._r("R1", "C1", "2025-11-03", "T1"),
                                referrals._r("R2", "C2", "2025-10-31", "T1")]})
    assert _ids(kpi_records(wh, "referrals", "trust")) == {"R1"}


def test_bad_requests_are_explained(wh) -> None:
    with pytest.raises(UnknownUnit, match='"Nowhere" is not the trust, a team, a service or a worker'):
        kpi_records(wh, "referrals", "Nowhere")
    with pytest.raises(UnknownUnit):
        kpi_records(wh, "referrals", "W1", level="team")
    with pytest.raises(UnknownKpi):
        kpi_records(wh, "caseloads", "trust")
    with pytest.raises(KpiError, match="open_cases has no worker-level figures"):
        kpi_records(wh, "open_cases", "W1")
    with pytest.raises(KpiError, match="after it ends"):
        kpi_records(wh, "referrals", "trust", D("2025-02-01"), D("2025-01-01"))
