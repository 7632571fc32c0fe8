"""One user (with a day's API token) per role, made through the API's account functions: the users the
API, dashboard and security tests sign in as."""

from __future__ import annotations

from sqlalchemy import Engine

ROLES = ("executive", "head_of_service", "team_manager", "analyst", "admin", "board")
PASSWORD = "correct-horse-battery-1"  # the live services' users' (tests/dashboard, tests/security)


def add_role_users(engine: Engine, prefix: str, team: str, service: str, password: str = PASSWORD,
                   roles: tuple[str, ...] = ROLES) -> tuple[dict[str, str], dict[str, str]]:
    """Users named `prefix` + role, the team manager scoped to `team` and the head of service to `service`;
    `password` may name the role as {role}. Returns (role -> username, role -> API token)."""
    from api import accounts

    users: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for role in roles:
        scope = {"team": team} if role == "team_manager" else {"service": service} if role == "head_of_service" else {}
        users[role] = f"{prefix}{role}"
        accounts.add_user(engine, users[role], role, password=password.format(role=role), **scope)
        tokens[role] = accounts.create_api_token(engine, users[role], days=1).token
    return users, tokens
