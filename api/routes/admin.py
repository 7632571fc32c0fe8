"""What only admins see and do: the users (add, disable, enable, reset a password, change a role: the same
account functions as `kpidash users ...`) and the audit trail. Every change to a user is written to the
trail (`user_change`: who made it, from where, through which door, and what changed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from api import accounts, audit
from api.audit import EVENTS
from api.datetimes import UtcDateTime
from api.deps import Admin, CurrentUser, StateDep, audited, request_origin, role_refusal
from api.errors import BAD_INPUT, FORBIDDEN, NOT_FOUND, SIGNED_IN, ApiError
from api.live_warehouse import WarehouseUnavailable
from api.params import team_services

router = APIRouter(tags=["admin"], responses={**SIGNED_IN, **FORBIDDEN, **BAD_INPUT})


class UserOut(BaseModel):
    username: str
    role: str
    team: str | None
    service: str | None
    active: bool
    created_at: UtcDateTime
    last_login_at: UtcDateTime | None
    locked_until: UtcDateTime | None


class AuditOut(BaseModel):
    id: int
    at: str
    event: str
    username: str | None
    role: str | None
    kpi: str | None
    level: str | None
    unit: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    record_count: int | None
    client_address: str | None
    outcome: str
    detail: str | None
    channel: str | None = Field(description="Through which door: api, dashboard, cli or scheduler.")


@router.get("/users", response_model=list[UserOut])
def users(_admin: Admin, state: StateDep) -> list[UserOut]:
    """Every user, their role and scope (admins only)."""
    return [UserOut.model_validate(u, from_attributes=True) for u in accounts.list_users(state.engine)]


@router.get("/audit", response_model=list[AuditOut], responses=BAD_INPUT)
def audit_log(
    _admin: Admin,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    username: Annotated[str | None, Query(max_length=64)] = None,
    event: Literal[EVENTS] | None = None,  # type: ignore[valid-type]
) -> list[dict]:
    """The audit trail, newest first (admins only): record views, exports, looks at a run's rejected rows,
    failed sign-ins, data removed, backed up or restored, the board's writes (analysis, actions, packs)
    and changes to users."""
    return [audit.as_dict(e) for e in audit.entries(state.engine, limit, username, event)]


Username = Annotated[str, Path(max_length=64)]


class NewUser(BaseModel):
    username: str = Field(max_length=64)
    role: str = Field(max_length=32)
    team: str | None = Field(None, max_length=64, description="team_manager only: their team's team_id.")
    service: str | None = Field(None, max_length=200, description="head_of_service only: their service.")


class RoleChange(BaseModel):
    role: str = Field(max_length=32)
    team: str | None = Field(None, max_length=64)
    service: str | None = Field(None, max_length=200)


class UserChanged(BaseModel):
    user: UserOut
    password: str | None = Field(None, description="A new password, shown once (kept only hashed): hand it over "
                                 "safely; the user should change it.")
    message: str


def _scope(role: str, team: str | None, service: str | None) -> str:
    return f"{role}" + (f" of team {team}" if team else f" of service {service}" if service else "")


def _change(request: Request, admin: accounts.Principal, state: StateDep, username: str, what: str,
            act: Callable[[], tuple[Any, str | None]]) -> UserChanged:
    """Make one change to a user and write it to the audit trail, refused or done."""
    trail = {"username": admin.username, "role": admin.role, "unit": username, **request_origin(request)}
    try:
        user, password = act()
    except accounts.AccountError as exc:
        audit.record(state.engine, "user_change", {404: "not_found", 409: "conflict"}.get(exc.status, "invalid"),
                     detail=f"{what} {username}: {exc}", **trail)
        raise ApiError(exc.status if exc.status in (404, 409) else 422, str(exc)) from None
    audit.record(state.engine, "user_change", "ok", detail=f"{what} {username}", **trail)
    out = UserOut.model_validate(user, from_attributes=True)
    return UserChanged(user=out, password=password, message=f"{what.capitalize()} {username}: done.")


def _user_admin(request: Request, user: CurrentUser, state: StateDep) -> accounts.Principal:
    """Admins only (as `Admin`); another role's attempt to change a user is on the audit trail too, with
    what it tried, so that someone trying to make themselves an admin leaves a trace."""
    if (refusal := role_refusal(user, "admin")) is not None:
        audit.record(state.engine, "user_change", "forbidden", username=user.username, role=user.role,
                     unit=request.path_params.get("username"),
                     detail=f"{request.method} {request.url.path}: refused, only admins change users",
                     **request_origin(request))
        raise refusal
    return user


UserAdmin = Annotated[accounts.Principal, Depends(_user_admin)]


def _known_scope(state: StateDep, team: str | None, service: str | None) -> None:
    """A team or service must be one the published extract knows (as `kpidash users add` checks)."""
    if team is None and service is None:
        return
    try:
        version = state.live.acquire()
    except WarehouseUnavailable:  # nothing published yet: the account functions' own checks apply
        return
    try:
        services = team_services(version)
    finally:
        state.live.release(version)
    if team is not None and team not in services:
        raise accounts.AccountError(f"Team {team!r} is not in the published extract.")
    if service is not None and service not in set(services.values()):
        raise accounts.AccountError(f"Service {service!r} is not in the published extract.")


UNREADABLE_BODY = {400: {"description": "The body could not be read as JSON."}}


@router.post("/users", response_model=UserChanged, status_code=201,
             responses={409: {"description": "There is already a user of that name."}, **UNREADABLE_BODY})
@audited("user_change")
def add_user(request: Request, admin: UserAdmin, state: StateDep, body: NewUser) -> UserChanged:
    """Add a user with a made-up password, shown once (as `kpidash users add`)."""
    def act() -> tuple[Any, str | None]:
        accounts.check_new_user(body.username, body.role, body.team, body.service)
        _known_scope(state, body.team, body.service)
        return accounts.add_user(state.engine, body.username, body.role, body.team, body.service)
    return _change(request, admin, state, body.username, f"add as {_scope(body.role, body.team, body.service)}:", act)


@router.post("/users/{username}/disable", response_model=UserChanged, responses=NOT_FOUND)
@audited("user_change")
def disable_user(request: Request, admin: UserAdmin, state: StateDep, username: Username) -> UserChanged:
    """Stop a user signing in and revoke their sessions and tokens (users are kept, for the audit trail)."""
    def act() -> tuple[Any, str | None]:
        if username == admin.username:
            raise accounts.AccountError("You cannot disable yourself: ask another admin.")
        return accounts.set_active(state.engine, username, active=False), None
    return _change(request, admin, state, username, "disable", act)


@router.post("/users/{username}/enable", response_model=UserChanged, responses=NOT_FOUND)
@audited("user_change")
def enable_user(request: Request, admin: UserAdmin, state: StateDep, username: Username) -> UserChanged:
    """Let a disabled or locked-out user sign in again."""
    return _change(request, admin, state, username, "enable",
                   lambda: (accounts.set_active(state.engine, username, active=True), None))


@router.post("/users/{username}/password", response_model=UserChanged, responses=NOT_FOUND)
@audited("user_change")
def reset_password(request: Request, admin: UserAdmin, state: StateDep, username: Username) -> UserChanged:
    """A new made-up password, shown once, and any lock-out lifted (as `kpidash users reset-password`)."""
    def act() -> tuple[Any, str | None]:
        password = accounts.set_password(state.engine, username)
        return next(u for u in accounts.list_users(state.engine) if u.username == username), password
    return _change(request, admin, state, username, "reset the password of", act)


@router.put("/users/{username}/role", response_model=UserChanged, responses={**NOT_FOUND, **UNREADABLE_BODY})
@audited("user_change")
def change_role(request: Request, admin: UserAdmin, state: StateDep, username: Username, body: RoleChange) -> UserChanged:
    """Another role (and its team or service); the user's sessions end, so the new scope applies at once."""
    def act() -> tuple[Any, str | None]:
        if username == admin.username and body.role != "admin":
            raise accounts.AccountError("You cannot take away your own admin role: ask another admin.")
        accounts.check_new_user(username, body.role, body.team, body.service)
        _known_scope(state, body.team, body.service)
        return accounts.set_role(state.engine, username, body.role, body.team, body.service), None
    return _change(request, admin, state, username, f"make {_scope(body.role, body.team, body.service)}:", act)
