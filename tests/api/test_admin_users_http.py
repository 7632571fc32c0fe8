"""Users managed over HTTP by admins (the dashboard's admin page uses these): add, disable, enable, reset a
password, change a role. Admins only, each change on the audit trail (`user_change`), refusals said."""

from __future__ import annotations

import pytest

V1 = "/api/v1"


def _trail(api, detail_has: str) -> list[dict]:
    rows = api.client.get(f"{V1}/audit", params={"event": "user_change", "limit": 1000}, headers=api.auth("admin")).json()
    return [r for r in rows if detail_has in (r["detail"] or "")]


@pytest.mark.parametrize("role", ["executive", "head_of_service", "team_manager", "analyst"])
def test_only_admins_change_users(api, role: str) -> None:
    got = api.client.post(f"{V1}/users", json={"username": f"nope_{role}", "role": "analyst"}, headers=api.auth(role))
    assert got.status_code == 403 and "Only admins" in got.json()["detail"]
    got = api.client.post(f"{V1}/users/test_analyst/disable", headers=api.auth(role))
    assert got.status_code == 403
    # refused, and on the audit trail: who tried what (an audit found no trace of such an attempt)
    tried = api.client.put(f"{V1}/users/test_{role}/role", json={"role": "admin"}, headers=api.auth(role))
    assert tried.status_code == 403
    [entry] = _trail(api, f"PUT {V1}/users/test_{role}/role: refused")
    assert (entry["username"], entry["role"], entry["unit"], entry["outcome"]) == (f"test_{role}", role,
                                                                                   f"test_{role}", "forbidden")
    assert [e["username"] for e in _trail(api, f"POST {V1}/users/test_analyst/disable: refused")].count(f"test_{role}") == 1


def test_an_admin_adds_a_user_who_signs_in_with_the_password_shown_once(api) -> None:
    got = api.client.post(f"{V1}/users", json={"username": "web_added", "role": "team_manager", "team": api.team},
                          headers=api.auth("admin"))
    assert got.status_code == 201, got.text
    body = got.json()
    assert body["user"]["role"] == "team_manager" and body["user"]["team"] == api.team and len(body["password"]) >= 16
    signed = api.client.post(f"{V1}/auth/login", json={"username": "web_added", "password": body["password"]})
    assert signed.status_code == 200
    [entry] = _trail(api, "web_added")
    assert entry["username"] == "test_admin" and entry["outcome"] == "ok" and entry["channel"] == "api"
    again = api.client.post(f"{V1}/users", json={"username": "web_added", "role": "analyst"}, headers=api.auth("admin"))
    assert again.status_code == 409 and "already a user" in again.json()["detail"]
    wrong = api.client.post(f"{V1}/users", json={"username": "web_x", "role": "team_manager", "team": "NO_SUCH"},
                            headers=api.auth("admin"))
    assert wrong.status_code == 422 and "not in the published extract" in wrong.json()["detail"]
    assert [e["outcome"] for e in _trail(api, "web_x")] == ["invalid"]


def test_disable_enable_reset_and_role_change_are_made_and_audited(api) -> None:
    admin = api.auth("admin")
    password = api.client.post(f"{V1}/users", json={"username": "web_life", "role": "analyst"}, headers=admin).json()["password"]
    token = api.client.post(f"{V1}/auth/login", json={"username": "web_life", "password": password}).json()["token"]
    me = {"Authorization": f"Bearer {token}"}
    assert api.client.get(f"{V1}/me", headers=me).status_code == 200
    assert api.client.post(f"{V1}/users/web_life/disable", headers=admin).json()["user"]["active"] is False
    assert api.client.get(f"{V1}/me", headers=me).status_code == 401  # their session ends at once
    assert api.client.post(f"{V1}/auth/login", json={"username": "web_life", "password": password}).status_code in (401, 403)
    assert api.client.post(f"{V1}/users/web_life/enable", headers=admin).json()["user"]["active"] is True
    new = api.client.post(f"{V1}/users/web_life/password", headers=admin).json()["password"]
    assert new != password
    assert api.client.post(f"{V1}/auth/login", json={"username": "web_life", "password": new}).status_code == 200
    changed = api.client.put(f"{V1}/users/web_life/role", json={"role": "head_of_service", "service": api.service},
                             headers=admin).json()["user"]
    assert (changed["role"], changed["service"], changed["team"]) == ("head_of_service", api.service, None)
    refused = api.client.put(f"{V1}/users/web_life/role", json={"role": "team_manager"}, headers=admin)
    assert refused.status_code == 422 and "needs --team" in refused.json()["detail"]
    missing = api.client.post(f"{V1}/users/nobody_here/disable", headers=admin)
    assert missing.status_code == 404
    details = [e["detail"] for e in _trail(api, "web_life")]
    assert any(d.startswith("disable web_life") for d in details) and any(d.startswith("enable web_life") for d in details)
    assert any("reset the password of web_life" in d for d in details)
    assert any(d.startswith(f"make head_of_service of service {api.service}") for d in details)
    assert all(new not in d and password not in d for d in details)  # never a password on the trail


def test_an_admin_cannot_lock_themselves_out(api) -> None:
    admin = api.auth("admin")
    assert api.client.post(f"{V1}/users/test_admin/disable", headers=admin).status_code == 422
    assert api.client.put(f"{V1}/users/test_admin/role", json={"role": "analyst"}, headers=admin).status_code == 422
    assert [e["outcome"] for e in _trail(api, "disable test_admin: You cannot disable yourself")] == ["invalid"]
    assert [e["outcome"] for e in _trail(api, "test_admin: You cannot take away your own admin role")] == ["invalid"]
