"""Who is using the dashboard: the API's session token, kept in the browser as the same HttpOnly
cookie the API sets, read on every callback and forwarded to the API as a bearer token."""

from __future__ import annotations

from typing import Any

import flask
from dash import callback_context, html

from dashboard.api_client import ApiClient, ApiProblem

SESSION_COOKIE = "kpidash_session"


def request_token() -> str | None:
    """The session token the browser sent with this request (None outside a request or signed out)."""
    if not flask.has_request_context():
        return None
    return flask.request.cookies.get(SESSION_COOKIE) or None


def client(api_url: str) -> ApiClient:
    return ApiClient(api_url, request_token())


def current_user(api_url: str) -> dict[str, Any] | None:
    """The signed-in user as the API knows them, or None: nothing with data is shown without one."""
    api = client(api_url)
    if not api.token:
        return None
    try:
        return api.me()
    except ApiProblem:
        return None


def session_ended() -> html.P:
    """What a view shows in place of its data when the session has ended (expired, revoked, signed out)."""
    return html.P(["Your session has ended. ", html.A("Sign in again", href="/", className="signin-again"), "."],
                  role="alert")


def start_session(token: str, hours: float, secure: bool) -> None:
    """Keep the token in the browser: HttpOnly (no script reads it), SameSite=Lax, whole site."""
    callback_context.response.set_cookie(SESSION_COOKIE, token, max_age=int(hours * 3600), httponly=True,
                                         samesite="Lax", secure=secure, path="/")


def end_session() -> None:
    callback_context.response.set_cookie(SESSION_COOKIE, "", max_age=0, httponly=True, samesite="Lax", path="/")
