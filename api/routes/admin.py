"""What only admins see: the users and the audit trail (changes to users are made with the CLI)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api import accounts, audit
from api.datetimes import UtcDateTime
from api.deps import Admin, StateDep
from api.errors import BAD_INPUT, FORBIDDEN, SIGNED_IN

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
    event: Literal["records", "export", "rejects", "login_failed"] | None = None,
) -> list[dict]:
    """The audit trail, newest first (admins only): record views, exports, looks at a run's rejected rows,
    and failed sign-ins."""
    return [audit.as_dict(e) for e in audit.entries(state.engine, limit, username, event)]
