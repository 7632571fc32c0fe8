"""Who may see which child-level records. Aggregates are open to every signed-in user; records are
not: a team manager sees their team's, a head of service their service's, and the all-scope roles
(executive, analyst, admin) everyone's. A worker's records belong to the worker's team."""

from __future__ import annotations

from api.accounts import Principal


def records_refusal(
    user: Principal, level: str, unit: str, team_service: dict[str, str], worker_team: dict[str, str]
) -> str | None:
    """None when the user may see the records of this unit, else the reason, for a 403."""
    if user.sees_all_records:
        return None
    team = unit if level == "team" else worker_team.get(unit) if level == "worker" else None
    if user.role == "team_manager":
        if team is not None and team == user.team:
            return None
        return (f"As team manager of {user.team} you may see the child-level records of team {user.team} and its "
                f"workers only, not {level} {unit}. The figures themselves are open to you at every level.")
    if user.role == "head_of_service":
        service = unit if level == "service" else team_service.get(team) if team is not None else None
        if service is not None and service == user.service:
            return None
        return (f"As head of service for {user.service} you may see the child-level records of that service, its "
                f"teams and their workers only, not {level} {unit}. The figures themselves are open to you at "
                "every level.")
    return f"Your role ({user.role}) may not see child-level records."
