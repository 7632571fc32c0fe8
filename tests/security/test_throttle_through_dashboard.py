"""Finding 2: sign-in throttling by the browser's real address, also when the dashboard passes the sign-in
on to the API over loopback; forwarded headers believed only from the configured proxy; a locked account
indistinguishable from an unknown name.

Each "browser" is an HTTP client bound to its own loopback address (127.0.0.x); the service runs as
deployed (`kpidash serve`, KPIDASH_TRUSTED_PROXIES=127.0.0.2), with the default limits: 20 failures per
address in 15 minutes, 5 in a row per account."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.security.conftest import PASSWORD, TRUSTED_PROXY, Dashboard, Service, prepare, serve, stop

PER_ADDRESS = 20


def _api_login(svc: Service, address: str, username: str, password: str, **headers: str) -> int:
    with svc.client(address) as http:
        return http.post("/api/v1/auth/login", json={"username": username, "password": password},
                         headers=headers).status_code


def _message(response) -> str:  # noqa: ANN001  (httpx.Response of the sign-in callback)
    return response.json()["response"]["signin-message"]["children"]


def test_a_blocked_address_cannot_sign_in_through_the_dashboard(secure_service: Service) -> None:
    blocked, other = "127.0.0.5", "127.0.0.6"
    for i in range(PER_ADDRESS):
        assert _api_login(secure_service, blocked, f"nobody{i}", "wrong password") == 401
    assert _api_login(secure_service, blocked, secure_service.users["executive"], PASSWORD) == 429
    browser = Dashboard(secure_service, blocked)
    try:
        refused = browser.sign_in_form(secure_service.users["executive"], PASSWORD)
        assert refused.status_code == 200
        assert _message(refused) == "Too many failed sign-ins from your address: wait a while and try again."
        assert "kpidash_session" not in refused.headers.get("set-cookie", "")
    finally:
        browser.close()
    elsewhere = Dashboard(secure_service, other)
    try:
        signed_in = elsewhere.sign_in_form(secure_service.users["executive"], PASSWORD)
        assert signed_in.json()["response"]["redirect"]["href"] == "/today"
        assert "kpidash_session=kps_" in signed_in.headers["set-cookie"]
    finally:
        elsewhere.close()
    refusal = secure_service.audit(client_address=blocked, outcome="address_throttled")
    assert [(r["username"], r["channel"]) for r in refusal][-1] == (secure_service.users["executive"], "dashboard")


def test_failed_dashboard_sign_ins_lock_out_only_their_own_browser(secure_service: Service) -> None:
    """On today's main, 18 to 20 failures through the dashboard locked the dashboard for everyone."""
    guesser, colleague = "127.0.0.7", "127.0.0.8"
    browser = Dashboard(secure_service, guesser)
    try:
        messages = [_message(browser.sign_in_form(f"guess{i}", "not a password")) for i in range(PER_ADDRESS + 5)]
    finally:
        browser.close()
    assert messages[:PER_ADDRESS] == ["Wrong username or password."] * PER_ADDRESS
    assert set(messages[PER_ADDRESS:]) == {"Too many failed sign-ins from your address: wait a while and try again."}
    trail = secure_service.audit(event="login_failed", client_address=guesser)
    assert len(trail) == PER_ADDRESS + 5 and {r["channel"] for r in trail} == {"dashboard"}
    assert not [r for r in secure_service.audit(event="login_failed", client_address="127.0.0.1")
                if r["username"].startswith("guess")]  # none counted against the dashboard's own address
    colleague_browser = Dashboard(secure_service, colleague)
    try:
        ok = colleague_browser.sign_in_form(secure_service.users["analyst"], PASSWORD)
        assert ok.json()["response"]["redirect"]["href"] == "/today"
    finally:
        colleague_browser.close()


def test_a_forged_forwarded_for_from_loopback_is_not_believed(secure_service: Service) -> None:
    """On today's main a new X-Forwarded-For per attempt from 127.0.0.1 reset the limit (uvicorn believed it
    from there); 127.0.0.1 is not a trusted proxy here."""
    forger = "127.0.0.1"
    answers = [_api_login(secure_service, forger, f"forger{i}", "wrong", **{"X-Forwarded-For": f"203.0.113.{i}"})
               for i in range(PER_ADDRESS + 2)]
    assert answers == [401] * PER_ADDRESS + [429, 429]
    assert {r["client_address"] for r in secure_service.audit(event="login_failed") if r["username"].startswith("forger")} == {forger}


def test_forwarded_for_from_the_trusted_proxy_names_the_client(secure_service: Service) -> None:
    # the proxy appends the address it saw; what a client wrote to the left of it is not believed
    assert _api_login(secure_service, TRUSTED_PROXY, "proxied1", "wrong", **{"X-Forwarded-For": "198.51.100.7"}) == 401
    assert _api_login(secure_service, TRUSTED_PROXY, "proxied2", "wrong",
                      **{"X-Forwarded-For": "6.6.6.6, 198.51.100.8"}) == 401
    assert _api_login(secure_service, TRUSTED_PROXY, "proxied3", "wrong") == 401  # no header: the proxy itself
    got = {r["username"]: r["client_address"] for r in secure_service.audit(event="login_failed")
           if r["username"].startswith("proxied")}
    assert got == {"proxied1": "198.51.100.7", "proxied2": "198.51.100.8", "proxied3": TRUSTED_PROXY}


def test_a_forged_dashboard_voucher_is_not_believed(secure_service: Service) -> None:
    forged = f"192.0.2.99 {int(time.time())} {'0' * 64}"
    assert _api_login(secure_service, "127.0.0.10", "vouchforger", "wrong", **{"X-Kpidash-Client": forged}) == 401
    stale = f"192.0.2.98 {int(time.time()) - 3600} {'a' * 64}"
    assert _api_login(secure_service, "127.0.0.10", "vouchforger2", "wrong", **{"X-Kpidash-Client": stale}) == 401
    got = [(r["client_address"], r["channel"]) for r in secure_service.audit(event="login_failed")
           if r["username"].startswith("vouchforger")]
    assert got == [("127.0.0.10", "api"), ("127.0.0.10", "api")]


def test_a_locked_account_looks_like_an_unknown_name(secure_service: Service) -> None:
    from api import accounts
    from core import appdb

    engine = appdb.make_engine(secure_service.env["KPIDASH_APP_DB"])
    accounts.add_user(engine, "lockable", "executive", password=PASSWORD)
    engine.dispose()
    for i in range(5):  # from five addresses: the account's own lock, not an address's
        assert _api_login(secure_service, f"127.0.1.{i + 1}", "lockable", "wrong password") == 401
    browser = Dashboard(secure_service, "127.0.1.9")
    try:
        locked = browser.sign_in_form("lockable", PASSWORD)
        unknown = browser.sign_in_form("no-such-person", PASSWORD)
    finally:
        browser.close()
    assert _message(locked) == _message(unknown) == "Wrong username or password."
    with secure_service.client("127.0.1.10") as http:
        api_locked = http.post("/api/v1/auth/login", json={"username": "lockable", "password": PASSWORD})
        api_unknown = http.post("/api/v1/auth/login", json={"username": "no-such-person", "password": PASSWORD})
    assert (api_locked.status_code, api_locked.json(), api_locked.headers.get("retry-after")) == (
        api_unknown.status_code, api_unknown.json(), api_unknown.headers.get("retry-after"))
    assert [r["outcome"] for r in secure_service.audit(username="lockable")][-2:] == ["locked", "locked"]


def test_the_key_is_shared_by_every_process_on_the_app_database(tmp_path: Path) -> None:
    """Another worker process (the dashboard's loopback call may land on any) vouches with the same key."""
    from core import appdb
    from core.client_address import vouched_address

    url = f"sqlite:///{tmp_path / 'app.db'}"
    appdb.ensure_schema(appdb.make_engine(url))
    code = ("import sys; from core import appdb; from core.client_address import vouch; "
            "print(vouch(appdb.make_engine(sys.argv[1]), '198.51.100.42'))")
    other = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parents[2])
    engine = appdb.make_engine(url)
    assert vouched_address(engine, other.stdout.strip()) == "198.51.100.42"
    elsewhere = appdb.make_engine(f"sqlite:///{tmp_path / 'another.db'}")  # another deployment: another key
    appdb.ensure_schema(elsewhere)
    assert vouched_address(elsewhere, other.stdout.strip()) is None
    engine.dispose()
    elsewhere.dispose()


@pytest.fixture(scope="module")
def two_workers(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    svc = prepare(tmp_path_factory.mktemp("workers"), sample_warehouse)
    proc = serve(svc, workers=2)
    try:
        yield svc
    finally:
        stop(proc)


def test_with_two_workers_every_dashboard_sign_in_is_counted_for_the_browser(two_workers: Service) -> None:
    """`--workers N`: the dashboard in one process, the API answering in another, one key in the app database."""
    browser = Dashboard(two_workers, "127.0.0.12")
    try:
        for i in range(12):
            assert _message(browser.sign_in_form(f"w{i}", "wrong")) == "Wrong username or password."
    finally:
        browser.close()
    trail = two_workers.audit(event="login_failed")
    assert [(r["client_address"], r["channel"]) for r in trail] == [("127.0.0.12", "dashboard")] * 12
