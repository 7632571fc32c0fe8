"""What routes ask for, as named types: the app's state, who is signed in, the warehouse version."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api import audit
from api.accounts import RUN_LOG_ROLES, AccountError, Principal, authenticate
from api.errors import ApiError
from api.live_warehouse import LiveWarehouse, WarehouseUnavailable, Version
from api.response_cache import ResponseCache
from api.token_cache import TokenCache
from core import client_address as client_addresses
from core.settings import Settings

SESSION_COOKIE = "kpidash_session"
MAX_TOKEN_LENGTH = 200
_UNCHECKED = object()


@dataclass
class ApiState:
    """Everything a request may need, made once per app."""

    settings: Settings
    engine: Engine
    live: LiveWarehouse
    cache: ResponseCache
    query_parameters: dict[int, frozenset[str]] = field(default_factory=dict)  # per route id, see params.py
    tokens: TokenCache = field(default_factory=TokenCache)  # recently checked tokens, see token_cache.py


async def get_state(request: Request) -> ApiState:
    return request.app.state.kpidash


class SignedIn(HTTPBearer):
    """The signed-in user, from `Authorization: Bearer <token>` or else the session cookie; 401 otherwise.

    One dependency does it all because it runs on every request. A token is checked against the
    database (on SQLite a local indexed read, done on the event loop; a database server is a network
    round trip, so it goes to a worker thread), and what passed is trusted for a few seconds
    (api/token_cache.py: revocation by another process of the deployment takes effect at once, through
    the sign-out stamp of api/revocations.py).
    """

    def __init__(self) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="bearer",
            description="A session token from POST /api/v1/auth/login (a browser may send the kpidash_session "
            "cookie instead), or an API token from `kpidash tokens create`.",
        )

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        token = credentials.strip() if scheme.lower() == "bearer" else request.cookies.get(SESSION_COOKIE)
        if not token:
            raise ApiError(
                401,
                "Sign in first: POST /api/v1/auth/login, then send 'Authorization: Bearer <token>' "
                "(or let the browser send the session cookie).",
                {"WWW-Authenticate": "Bearer"},
            )
        if len(token) > MAX_TOKEN_LENGTH:
            raise ApiError(401, "This token is not valid: sign in again.", {"WWW-Authenticate": "Bearer"})
        state = request.app.state.kpidash
        known = state.tokens.get(token)
        if known is not None:
            return known
        stamp = state.tokens.stamp()  # before the check: a revocation after it is seen by the next request
        engine = state.engine
        try:
            if engine.dialect.name == "sqlite":
                principal = authenticate(engine, token)
            else:
                principal = await run_in_threadpool(authenticate, engine, token)
        except AccountError as exc:
            raise ApiError(exc.status, str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
        state.tokens.put(token, principal, stamp)
        return principal


current_user = SignedIn()


async def current_warehouse(state: Annotated[ApiState, Depends(get_state)]) -> AsyncIterator[Version]:
    """The published warehouse version, held for the whole request; 503 when there is none."""
    if state.live.must_open():
        await run_in_threadpool(state.live.refresh_if_due)
    try:
        version = state.live.acquire()
    except WarehouseUnavailable as exc:
        raise ApiError(503, str(exc)) from None
    try:
        yield version
    finally:
        state.live.release(version)


def _vouched_address(request: Request) -> str | None:
    """The browser's address when the dashboard passes this request on and vouches for it (checked once
    per request)."""
    found = getattr(request.state, "vouched_address", _UNCHECKED)
    if found is _UNCHECKED:
        value = request.headers.get(client_addresses.HEADER)
        found = client_addresses.vouched_address(request.app.state.kpidash.engine, value) if value else None
        request.state.vouched_address = found
    return found


def client_address(request: Request) -> str | None:
    """Who made this request: the browser behind the dashboard when the dashboard vouches for it
    (core/client_address.py), else the peer, which is the client behind any trusted proxy
    (api/middleware.py). What the sign-in throttle counts and the audit trail records."""
    return _vouched_address(request) or (request.client.host if request.client else None)


def request_origin(request: Request) -> dict[str, str | None]:
    """The audit trail's `client_address` and `channel` (dashboard or api) of this request."""
    vouched = _vouched_address(request)
    if vouched:
        return {"client_address": vouched, "channel": "dashboard"}
    return {"client_address": request.client.host if request.client else None, "channel": "api"}


def role_refusal(user: Principal, *roles: str) -> ApiError | None:
    """The 403 for a user whose role is not one of these, or None when it is."""
    if user.role in roles:
        return None
    allowed = " and ".join(f"{r}s" for r in roles)
    return ApiError(403, f"Only {allowed} may see this; your role is {user.role}.")


def require_role(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets only these roles through (403 with the reason otherwise)."""

    async def check(user: Annotated[Principal, Depends(current_user)]) -> Principal:
        if (refusal := role_refusal(user, *roles)) is not None:
            raise refusal
        return user

    return check


StateDep = Annotated[ApiState, Depends(get_state)]
CurrentUser = Annotated[Principal, Depends(current_user)]
WarehouseVersion = Annotated[Version, Depends(current_warehouse)]
RunLogReader = Annotated[Principal, Depends(require_role(*sorted(RUN_LOG_ROLES)))]
Admin = Annotated[Principal, Depends(require_role("admin"))]


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def audited(event: str) -> Callable[[Endpoint], Endpoint]:
    """Mark a route whose every request, done or refused, is an audit entry of `event` (its own code writes
    them), so that a request FastAPI refuses before the route runs, a body or parameter it cannot read, is
    one too (audit_unread_write, called by api/errors.py)."""
    def mark(endpoint: Endpoint) -> Endpoint:
        endpoint.audit_event = event  # type: ignore[attr-defined]
        return endpoint
    return mark


async def audit_unread_write(request: Request, detail: str) -> None:
    """The audit entry of a marked route's request refused before it ran (422), when its sender is signed in."""
    event = getattr(getattr(request.scope.get("route"), "endpoint", None), "audit_event", None)
    if event is None:
        return
    try:
        user = await current_user(request)
    except ApiError:
        return  # not signed in: refused all the same, and nobody to name
    params = request.path_params

    def write() -> None:
        audit.record(request.app.state.kpidash.engine, event, "invalid", username=user.username, role=user.role,
                     kpi=params.get("kpi"), level=params.get("level"), unit=params.get("unit") or params.get("username"),
                     detail=f"{request.method} {request.url.path}: {detail}", **request_origin(request))

    await run_in_threadpool(write)
