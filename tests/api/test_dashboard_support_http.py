"""The dashboard's support routes: daily figures equal the day's figure; a team's workers match
GET /workers/{id}/caseload."""

from __future__ import annotations


def test_daily_last_day_equals_the_figure_of_that_day(api) -> None:
    h = api.auth("executive")
    rows = api.client.get("/api/v1/dashboard/daily", params=[("kpi", "open_cases"), ("kpi", "referrals"),
                                                              ("days", "3")], headers=h).json()
    assert [r["period_start"] for r in rows if r["kpi"] == "open_cases"] == ["2025-11-22", "2025-11-23", "2025-11-24"]
    day = api.client.get("/api/v1/kpis", params=[("kpi", "open_cases"), ("kpi", "referrals"), ("from", "2025-11-23"),
                                                 ("to", "2025-11-23")], headers=h).json()
    for figure in day:
        got = next(r for r in rows if r["kpi"] == figure["kpi"] and r["period_start"] == "2025-11-23")
        assert got["value"] == figure["value"], figure["kpi"]


def test_daily_refuses_an_unknown_kpi(api) -> None:
    r = api.client.get("/api/v1/dashboard/daily", params={"kpi": "nope"}, headers=api.auth("executive"))
    assert r.status_code == 422 and "'nope' is not a KPI" in r.json()["detail"]


def test_team_workers_match_each_workers_caseload(api) -> None:
    h = api.auth("team_manager")
    workers = api.client.get(f"/api/v1/dashboard/teams/{api.team}/workers", headers=h).json()
    assert workers and api.worker in {w["worker_id"] for w in workers}
    for w in workers:
        one = api.client.get(f"/api/v1/workers/{w['worker_id']}/caseload", headers=h).json()
        assert (w["caseload"], w["fte"], w["over_limit"], one["team_id"]) == (one["caseload"], one["fte"], one["over_limit"], api.team)
    assert api.client.get("/api/v1/dashboard/teams/NOPE/workers", headers=h).status_code == 404


def test_last_working_day_follows_the_trusts_calendar(api) -> None:
    h = api.auth("team_manager")
    assert api.client.get("/api/v1/dashboard/last-working-day", headers=h).json() == {
        "to": "2025-11-24", "last_working_day": "2025-11-21"}  # the extract is dated a Monday
    easter = api.client.get("/api/v1/dashboard/last-working-day", params={"to": "2025-04-22"}, headers=h).json()
    assert easter["last_working_day"] == "2025-04-17"
    assert api.client.get("/api/v1/dashboard/last-working-day", params={"to": "1900-01-01"}, headers=h).status_code == 422
