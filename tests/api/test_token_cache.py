"""The API trusts a checked token for a few seconds (api/token_cache.py): fewer app-database reads, and
revocation still takes effect within those seconds (at once when this process signs a session out)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from api import accounts, deps, revocations
from api.accounts import Principal
from api.models import utcnow
from api.token_cache import TokenCache

V1 = "/api/v1"


def _principal(token_id: int = 1, expires_in: dt.timedelta = dt.timedelta(hours=1)) -> Principal:
    return Principal(7, "someone", "analyst", None, None, token_id, "api", utcnow() + expires_in)


def test_a_token_is_trusted_for_its_seconds_then_checked_again() -> None:
    cache = TokenCache(seconds=0.2)
    who = _principal()
    assert cache.get("kpa_token") is None
    cache.put("kpa_token", who)
    assert cache.get("kpa_token") is who
    assert cache.get("kpa_other") is None
    time.sleep(0.25)
    assert cache.get("kpa_token") is None


def test_an_expired_token_is_not_trusted_from_the_cache() -> None:
    cache = TokenCache(seconds=60)
    cache.put("kpa_token", _principal(expires_in=dt.timedelta(seconds=-1)))
    assert cache.get("kpa_token") is None


def test_forget_and_no_cache_and_a_bounded_size() -> None:
    cache = TokenCache(seconds=60, max_entries=4)
    cache.put("a", _principal(1))
    cache.put("b", _principal(2))
    cache.forget(1)
    assert cache.get("a") is None and cache.get("b") is not None
    for i in range(10):
        cache.put(f"t{i}", _principal(10 + i))
    assert len(cache) <= 4 and cache.get("t9") is not None
    off = TokenCache(seconds=0)
    off.put("a", _principal())
    assert off.get("a") is None and len(off) == 0


def test_tokens_are_kept_only_as_their_digest() -> None:
    cache = TokenCache(seconds=60)
    cache.put("kpa_secret", _principal())
    assert all("kpa_secret" not in key for key in cache._entries)


def test_a_busy_client_is_checked_once_per_cache_period(api, monkeypatch: pytest.MonkeyPatch) -> None:
    issued = accounts.create_api_token(api.engine, "test_analyst", days=1)
    headers = {"Authorization": f"Bearer {issued.token}"}
    checks = []
    real = deps.authenticate
    monkeypatch.setattr(deps, "authenticate", lambda engine, token: checks.append(token) or real(engine, token))
    for _ in range(20):
        assert api.client.get(f"{V1}/me", headers=headers).status_code == 200
    assert len(checks) == 1
    time.sleep(float(api.env["KPIDASH_TOKEN_CACHE_SECONDS"]))
    assert api.client.get(f"{V1}/me", headers=headers).status_code == 200
    assert len(checks) == 2


def test_a_revocation_anywhere_in_the_deployment_is_seen_at_once(tmp_path) -> None:
    """Two workers' caches and one sign-out stamp: a revocation announced by any process ends every
    entry checked before it, and a check that began before it is not trusted after it."""
    stamp = tmp_path / "warehouse.duckdb.revocations"
    a, b = TokenCache(seconds=60, stamp=stamp), TokenCache(seconds=60, stamp=stamp)
    before = a.stamp()
    a.put("kpa_one", _principal(1), before)
    b.put("kpa_one", _principal(1), b.stamp())
    assert a.get("kpa_one") is not None and b.get("kpa_one") is not None
    slow_check = b.stamp()  # a check under way on b while the token is revoked
    revocations.announce(stamp)
    assert a.get("kpa_one") is None and b.get("kpa_one") is None
    b.put("kpa_one", _principal(1), slow_check)  # it passed before the revocation: not trusted
    assert b.get("kpa_one") is None
    a.put("kpa_one", _principal(1), a.stamp())  # checked again after it (and passed: another token, say)
    assert a.get("kpa_one") is not None
    for _ in range(3):  # every revocation changes the stamp, however close together
        seen = a.stamp()
        revocations.announce(stamp)
        assert a.stamp() != seen


def test_an_unwritable_stamp_leaves_the_cache_seconds(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    revocations.announce(tmp_path / "no such folder" / "stamp")
    assert "within KPIDASH_TOKEN_CACHE_SECONDS" in caplog.text


def test_revocation_by_another_process_takes_effect_at_once(api) -> None:
    accounts.add_user(api.engine, "mover", "analyst", password="mover-password-1234")
    issued = accounts.create_api_token(api.engine, "mover", days=1)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert api.client.get(f"{V1}/me", headers=headers).status_code == 200  # now cached
    accounts.revoke_token(api.engine, issued.id)  # as `kpidash tokens revoke` in another process
    assert api.client.get(f"{V1}/me", headers=headers).status_code == 401


def test_a_role_change_ends_the_old_scopes_tokens_at_once(api) -> None:
    """A security audit found a cached token kept its old role's scope for the cache's seconds after
    `PUT /users/{name}/role`: the change revoked the tokens without announcing it."""
    accounts.add_user(api.engine, "promoted", "executive", password="promoted-password-12")
    issued = accounts.create_api_token(api.engine, "promoted", days=1)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert api.client.get(f"{V1}/me", headers=headers).json()["role"] == "executive"  # now cached
    accounts.set_role(api.engine, "promoted", "board")  # as the admin route or `kpidash users role` does
    assert api.client.get(f"{V1}/me", headers=headers).status_code == 401


def test_revocation_by_another_process_takes_effect_within_the_cache_seconds(api, monkeypatch) -> None:
    """Where the sign-out stamp is not shared (a process on another machine), the cache's seconds bound it."""
    monkeypatch.setattr(revocations, "announce", lambda path=None: None)
    accounts.add_user(api.engine, "leaver", "analyst", password="leaver-password-123")
    issued = accounts.create_api_token(api.engine, "leaver", days=1)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert api.client.get(f"{V1}/me", headers=headers).status_code == 200
    accounts.set_active(api.engine, "leaver", active=False)  # as `kpidash users disable` in another process
    disabled = time.monotonic()
    assert api.client.get(f"{V1}/me", headers=headers).status_code == 200  # still trusted for a while
    while api.client.get(f"{V1}/me", headers=headers).status_code == 200:
        assert time.monotonic() - disabled < float(api.env["KPIDASH_TOKEN_CACHE_SECONDS"]) + 0.5
        time.sleep(0.05)
    assert api.client.get(f"{V1}/me", headers=headers).status_code == 401


def test_signing_out_ends_the_session_at_once_despite_the_cache(api) -> None:
    session = api.client.post(f"{V1}/auth/login", json={"username": "test_analyst",
                                                        "password": "analyst-password-123"}).json()["token"]
    headers = {"Authorization": f"Bearer {session}"}
    try:
        assert api.client.get(f"{V1}/me", headers=headers).status_code == 200  # now cached
        assert api.client.post(f"{V1}/auth/logout", headers=headers).status_code == 200
        assert api.client.get(f"{V1}/me", headers=headers).status_code == 401
    finally:
        api.client.cookies.clear()
