"""GET /api/v1/kpis/{kpi}/spc and GET /api/v1/spc over real HTTP on the sample trust: the same JSON as
`kpidash spc`, for every signed-in role, and a 4xx that says what to fix for bad parameters."""

from __future__ import annotations

import pytest

from kpis import kpi_spc, open_warehouse
from kpis.spc import POINT_KEYS, SPC_KEYS

V1 = "/api/v1"


def test_spc_is_the_kpi_layers_json(api) -> None:
    response = api.client.get(f"{V1}/kpis/assessments_within_45wd/spc", headers=api.auth("executive"))
    assert response.status_code == 200, response.text
    charts = response.json()
    with open_warehouse() as wh:
        assert charts == kpi_spc(wh, "assessments_within_45wd")
        extract = wh.extract_date
    (chart,) = charts
    assert tuple(chart) == SPC_KEYS and tuple(chart["points"][0]) == POINT_KEYS
    assert len(chart["points"]) == 24 and chart["points"][-1]["period_end"] == "2025-10-31"
    assert response.headers["X-Kpidash-Extract-Date"] == extract.isoformat()


def test_spc_by_week_for_every_team_and_one_team(api) -> None:
    every = api.client.get(f"{V1}/kpis/assessments_overdue/spc", params={"by": "week", "periods": 12, "level": "team"},
                           headers=api.auth("team_manager"))
    assert every.status_code == 200
    units = [c["unit"] for c in every.json()]
    assert units == sorted(units) and api.team in units and api.other_team in units
    assert all(c["points"][-1]["period_end"] == "2025-11-23" and len(c["points"]) == 12 for c in every.json())
    one = api.client.get(f"{V1}/kpis/assessments_overdue/spc",
                         params={"by": "week", "periods": 12, "level": "team", "unit": api.other_team},
                         headers=api.auth("team_manager"))
    assert one.json() == [c for c in every.json() if c["unit"] == api.other_team]


def test_to_ends_the_chart_with_the_last_complete_period(api) -> None:
    response = api.client.get(f"{V1}/kpis/referrals/spc", params={"periods": 3, "to": "2025-09-29"},
                              headers=api.auth("analyst"))
    assert [p["period_start"] for p in response.json()[0]["points"]] == ["2025-06-01", "2025-07-01", "2025-08-01"]


def test_every_kpi_at_once(api) -> None:
    response = api.client.get(f"{V1}/spc", params={"level": "team", "by": "week"}, headers=api.auth("head_of_service"))
    assert response.status_code == 200
    with open_warehouse() as wh:
        assert response.json() == kpi_spc(wh, None, "week", 24, "team")
    some = api.client.get(f"{V1}/spc", params=[("kpi", "referrals"), ("kpi", "open_cases")],
                          headers=api.auth("admin"))
    assert [c["kpi"] for c in some.json()] == ["open_cases", "referrals"]
    concerns = api.client.get(f"{V1}/spc", params={"level": "team", "by": "week", "variation": "special_cause_concern"},
                              headers=api.auth("admin")).json()
    assert concerns == [c for c in response.json() if c["variation"] == "special_cause_concern"] and concerns


def test_spc_needs_sign_in(api) -> None:
    assert api.client.get(f"{V1}/kpis/referrals/spc").status_code == 401
    assert api.client.get(f"{V1}/spc").status_code == 401


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/kpis/caseloads/spc", 404, "'caseloads' is not a KPI; KPIs are: open_cases, "),
    ("/kpis/referrals/spc?by=quarter", 422, "by ('quarter') must be one of 'month' or 'week'."),
    ("/kpis/referrals/spc?periods=0", 422, "periods ('0') must be at least 1."),
    ("/kpis/referrals/spc?periods=121", 422, "periods ('121') must be at most 120."),
    ("/kpis/referrals/spc?periods=many", 422, "periods ('many') is not a whole number."),
    ("/kpis/referrals/spc?level=region", 422, "level ('region') must be one of 'trust', 'service', 'team' or 'worker'."),
    ("/kpis/referrals/spc?level=team&unit=NO-SUCH-TEAM", 422, "unit 'NO-SUCH-TEAM' is not a team in the published"),
    ("/kpis/referrals/spc?to=2025-02-30", 422, "to ('2025-02-30') is not a date: there is no such day in the calendar"),
    ("/kpis/referrals/spc?to=1899-12-31", 422, "to (1899-12-31) is outside the dates kpidash handles"),
    ("/kpis/referrals/spc?levl=team", 422, "unknown parameter 'levl': this endpoint takes by, level, periods, to, unit."),
    ("/spc?kpi=caseloads", 422, "'caseloads' is not a KPI; KPIs are: open_cases, "),
    ("/spc?by=day", 422, "by ('day') must be one of 'month' or 'week'."),
    ("/spc?variation=bad", 422, "variation.0 ('bad') must be one of 'common_cause', 'special_cause_improvement'"),
])
def test_bad_parameters_say_what_to_fix(api, path: str, status: int, message: str) -> None:
    response = api.client.get(V1 + path, headers=api.auth("admin"))
    assert response.status_code == status, response.text
    assert response.json()["detail"].startswith(message)


def test_openapi_declares_the_parameters_and_the_422(api) -> None:
    doc = api.client.get("/api/openapi.json").json()
    get = doc["paths"]["/api/v1/kpis/{kpi}/spc"]["get"]
    assert {p["name"] for p in get["parameters"]} == {"kpi", "by", "periods", "level", "unit", "to"}
    assert {"200", "401", "404", "422", "503"} <= set(get["responses"])
    assert "/api/v1/spc" in doc["paths"]


def test_a_second_request_is_answered_from_the_cache_with_its_etag(api) -> None:
    first = api.client.get(f"{V1}/kpis/referrals/spc", headers=api.auth("admin"))
    again = api.client.get(f"{V1}/kpis/referrals/spc", headers={**api.auth("admin"),
                                                                 "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304

