"""The scope picker shared by Today and Team: the trust, each service, each team, labelled by name."""

from __future__ import annotations

from typing import Any

from dashboard.api_client import ApiClient


def options(api: ApiClient, with_trust: bool = True, teams_only: bool = False) -> tuple[list[dict[str, str]], dict[str, str]]:
    """(dropdown options, team_id -> service)."""
    teams = api.teams()
    team_service = {t["team_id"]: t["service"] for t in teams}
    opts: list[dict[str, str]] = [{"label": "Whole trust", "value": "trust"}] if with_trust and not teams_only else []
    if not teams_only:
        opts += [{"label": f"Service: {s}", "value": f"service:{s}"} for s in sorted(set(team_service.values()))]
    opts += [{"label": f"Team: {t['team_name']} ({t['team_id']})" if not teams_only else f"{t['team_name']} ({t['team_id']})",
              "value": f"team:{t['team_id']}" if not teams_only else t["team_id"]}
             for t in sorted(teams, key=lambda t: (t["service"], t["team_name"]))]
    return opts, team_service


def unit_name(level: str, unit: str | None, teams: list[dict[str, Any]] | None = None) -> str:
    if level == "trust":
        return "the whole trust"
    if level == "team" and teams:
        name = next((t["team_name"] for t in teams if t["team_id"] == unit), unit)
        return f"{name} ({unit})"
    return str(unit)
