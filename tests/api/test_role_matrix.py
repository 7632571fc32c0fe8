"""Who sees what: every role against every endpoint. Figures are open to all signed-in users; the
load log to analysts and admins; users and the audit trail to admins; child-level records by scope
(never to the board role)."""

from __future__ import annotations

import pytest

import etl

V1 = "/api/v1"
ROLES = ("executive", "head_of_service", "team_manager", "analyst", "admin", "board")
EVERYONE = set(ROLES)
RECORD_READERS = EVERYONE - {"board"}  # board members read figures, analysis and actions, never children
ALL_SCOPE = {"executive", "analyst", "admin"}
KPI = "assessments_completed"  # has rows at every level, workers included


def _matrix(api) -> list[tuple[str, set[str]]]:
    run_id = etl.list_runs(1)[0].run_id
    records = f"/kpis/{KPI}/records?unit="
    return [
        ("/me", EVERYONE),
        ("/definitions", EVERYONE),
        ("/kpis?level=team", EVERYONE),
        ("/kpis?level=worker", EVERYONE),
        (f"/kpis/{KPI}/trend?by=week&periods=4&level=service", EVERYONE),
        (f"/kpis/{KPI}/spc?by=week&periods=4&level=service", EVERYONE),
        ("/spc?level=team&periods=3", EVERYONE),
        ("/teams", EVERYONE),
        ("/services", EVERYONE),
        (f"/workers/{api.other_worker}/caseload", EVERYONE),
        ("/status", EVERYONE),
        ("/runs", {"analyst", "admin"}),
        (f"/runs/{run_id}/rejects", {"analyst", "admin"}),
        ("/users", {"admin"}),
        ("/audit", {"admin"}),
        (records + "trust", ALL_SCOPE),
        (records + api.team, RECORD_READERS),  # the team manager's own team, inside the head of service's service
        (records + api.other_team, ALL_SCOPE),
        (records + api.service, ALL_SCOPE | {"head_of_service"}),
        (records + api.other_service, ALL_SCOPE),
        (records + api.worker, RECORD_READERS),  # a worker of the team manager's team
        (records + api.other_worker, ALL_SCOPE),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_it_may_see(api, role: str) -> None:
    outcomes = {}
    for path, allowed in _matrix(api):
        response = api.client.get(V1 + path, headers=api.auth(role))
        outcomes[path] = response.status_code
        if role not in allowed:
            assert response.json()["detail"], path
    expected = {path: 200 if role in allowed else 403 for path, allowed in _matrix(api)}
    assert outcomes == expected


def test_a_team_manager_asking_for_another_teams_records_is_refused_not_given_an_empty_list(api) -> None:
    response = api.client.get(f"{V1}/kpis/{KPI}/records?unit={api.other_team}", headers=api.auth("team_manager"))
    assert response.status_code == 403
    assert response.json()["detail"].startswith(f"As team manager of {api.team} you may see the child-level records "
                                                f"of team {api.team}")


def test_a_team_managers_aggregates_at_other_teams_are_open(api) -> None:
    response = api.client.get(f"{V1}/kpis?level=team&unit={api.other_team}", headers=api.auth("team_manager"))
    assert response.status_code == 200
    assert {row["unit"] for row in response.json()} == {api.other_team}
