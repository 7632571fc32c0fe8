"""Sign-in over HTTP: sessions and their cookie, bearer tokens, and every way a token stops working."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from api import accounts, audit
from api.models import Token, utcnow

V1 = "/api/v1"
SIGNED_IN_PATHS = ["/me", "/kpis", "/kpis/open_cases/trend", "/kpis/open_cases/records", "/teams", "/services",
                   "/workers/W1/caseload", "/status", "/runs", "/runs/R1/rejects", "/definitions", "/users", "/audit"]


def test_health_needs_no_sign_in(api) -> None:
    response = api.client.get(f"{V1}/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", SIGNED_IN_PATHS)
def test_everything_else_needs_sign_in(api, path: str) -> None:
    response = api.client.get(V1 + path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"].startswith("Sign in first: POST /api/v1/auth/login")


def test_a_basic_auth_header_is_not_a_token(api) -> None:
    response = api.client.get(f"{V1}/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401


def test_sign_in_gives_a_token_and_an_httponly_samesite_cookie(api) -> None:
    client = api.client
    try:
        response = client.post(f"{V1}/auth/login", json={"username": "test_analyst", "password": "analyst-password-123"})
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer" and body["user"]["username"] == "test_analyst"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"kpidash_session={body['token']};")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        # the cookie alone signs the browser in
        me = client.get(f"{V1}/me")
        assert me.status_code == 200 and me.json()["role"] == "analyst" and me.json()["token_kind"] == "session"
        # and so does the token as a bearer
        client.cookies.clear()
        assert client.get(f"{V1}/me", headers={"Authorization": f"Bearer {body['token']}"}).status_code == 200
        # signing out ends the session: the token stops working, the cookie is cleared
        out = client.post(f"{V1}/auth/logout", headers={"Authorization": f"Bearer {body['token']}"})
        assert out.status_code == 200 and 'kpidash_session=""' in out.headers["set-cookie"]
        gone = client.get(f"{V1}/me", headers={"Authorization": f"Bearer {body['token']}"})
        assert gone.status_code == 401 and "revoked" in gone.json()["detail"]
    finally:
        client.cookies.clear()


def test_an_api_token_cannot_sign_out(api) -> None:
    response = api.client.post(f"{V1}/auth/logout", headers=api.auth("analyst"))
    assert response.status_code == 422 and "kpidash tokens revoke" in response.json()["detail"]


def test_a_wrong_password_is_a_401_and_is_audited_with_the_address(api) -> None:
    response = api.client.post(f"{V1}/auth/login", json={"username": "test_executive", "password": "not it at all"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Wrong username or password."}
    entry = audit.entries(api.engine, limit=1, event="login_failed")[0]
    assert (entry.username, entry.outcome, entry.client_address) == ("test_executive", "wrong_password", "testclient")


def test_repeated_failures_lock_the_account_without_revealing_the_name(api) -> None:
    accounts.add_user(api.engine, "lockme", "executive", password="the right password")
    for _ in range(5):  # login_max_failures
        assert api.client.post(f"{V1}/auth/login", json={"username": "lockme", "password": "nope nope"}).status_code == 401
    response = api.client.post(f"{V1}/auth/login", json={"username": "lockme", "password": "the right password"})
    unknown = api.client.post(f"{V1}/auth/login", json={"username": "no-such-name", "password": "the right password"})
    # locked even for the right password, and indistinguishable from a name that does not exist
    assert (response.status_code, response.json(), response.headers.get("retry-after")) == (
        unknown.status_code, unknown.json(), unknown.headers.get("retry-after")) == (
        401, {"detail": "Wrong username or password."}, None)
    assert audit.entries(api.engine, limit=2, event="login_failed")[1].outcome == "locked"


def test_a_login_without_a_password_says_what_is_missing(api) -> None:
    response = api.client.post(f"{V1}/auth/login", json={"username": "test_analyst"})
    assert response.status_code == 422
    assert response.json() == {"detail": "password is required."}


def test_an_expired_api_token_is_a_401(api) -> None:
    issued = accounts.create_api_token(api.engine, "test_executive", days=1)
    with Session(api.engine) as session, session.begin():
        session.execute(update(Token).where(Token.id == issued.id).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    response = api.client.get(f"{V1}/kpis", headers={"Authorization": f"Bearer {issued.token}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_revoked_api_token_is_a_401(api) -> None:
    issued = accounts.create_api_token(api.engine, "test_executive", days=1)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert api.client.get(f"{V1}/me", headers=headers).status_code == 200
    accounts.revoke_token(api.engine, issued.id)
    response = api.client.get(f"{V1}/kpis", headers=headers)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_me_says_who_and_what_they_may_see(api) -> None:
    me = api.client.get(f"{V1}/me", headers=api.auth("team_manager")).json()
    assert (me["username"], me["role"], me["team"], me["scope"]) == (
        "test_team_manager", "team_manager", api.team, f"team {api.team}")
