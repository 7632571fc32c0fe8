"""Signing in and out, and who am I."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api import accounts
from api.datetimes import UtcDateTime
from api.deps import SESSION_COOKIE, CurrentUser, StateDep, request_origin
from api.errors import BAD_INPUT, SIGNED_IN, ApiError, ErrorMessage

router = APIRouter(prefix="/auth", tags=["sign-in"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    username: str
    role: str
    team: str | None
    service: str | None
    scope: str = Field(description="Whose child-level records this user may see: `all`, `team T` or `service S`.")
    token_kind: Literal["session", "api"]
    expires_at: UtcDateTime


class Session(BaseModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'; shown once, kept only hashed.")
    token_type: Literal["bearer"] = "bearer"
    expires_at: UtcDateTime
    user: Me


def me_of(user: accounts.Principal) -> Me:
    return Me(username=user.username, role=user.role, team=user.team, service=user.service, scope=user.scope,
              token_kind=user.token_kind, expires_at=user.expires_at)  # type: ignore[arg-type]


@router.post(
    "/login",
    response_model=Session,
    responses={
        **BAD_INPUT,
        400: {"model": ErrorMessage, "description": "The body could not be read as JSON."},
        401: {"model": ErrorMessage, "description": "Wrong username or password (also for a locked account, so that "
              "no answer tells which names exist)."},
        403: {"model": ErrorMessage, "description": "The account is disabled, or the request came from another site."},
        429: {"model": ErrorMessage, "description": "Too many failed sign-ins from the client's address: refused for a "
              "while."},
    },
)
def login(credentials: Credentials, request: Request, response: Response, state: StateDep) -> Session:
    """Sign in with a username and password: a session token, also set as an HttpOnly cookie."""
    origin = request_origin(request)  # the browser's address, also when the dashboard passes the sign-in on
    try:
        issued = accounts.sign_in(state.engine, state.settings, credentials.username, credentials.password,
                                  origin["client_address"], origin["channel"])
    except accounts.AccountError as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        raise ApiError(exc.status, str(exc), headers) from None
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(state.settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    user = accounts.authenticate(state.engine, issued.token)
    return Session(token=issued.token, expires_at=issued.expires_at, user=me_of(user))


@router.post("/logout", response_model=ErrorMessage, responses={
    **SIGNED_IN, 422: {"model": ErrorMessage},
    403: {"model": ErrorMessage, "description": "The request came from another site (its Origin is not this service)."}})
def logout(user: CurrentUser, response: Response, state: StateDep) -> ErrorMessage:
    """End this sign-in session (its token stops working at once) and clear the cookie."""
    if user.token_kind != "session":
        raise ApiError(422, "This is an API token, not a sign-in session: revoke it with `kpidash tokens revoke "
                       f"{user.token_id}`.")
    accounts.sign_out(state.engine, user)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return ErrorMessage(detail="Signed out.")


me_router = APIRouter(tags=["sign-in"], responses=BAD_INPUT)  # 422: a query parameter it does not take


@me_router.get("/me", response_model=Me, responses=SIGNED_IN)
async def me(user: CurrentUser) -> Me:
    """Who the token belongs to, their role and what they may see."""
    return me_of(user)
