"""Users, sign-in, lock-outs and tokens against a real app database (SQLite, and PostgreSQL where
KPIDASH_TEST_PG names one)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from api import accounts, audit
from api.models import Token, User, utcnow
from core.settings import Settings

SETTINGS = Settings(login_max_failures=3, login_max_failures_per_address=5, login_lockout_minutes=10)
PASSWORD = "correct horse battery"


def _user(engine: Engine, name: str = "alice", role: str = "analyst", **scope: str) -> User:
    return accounts.add_user(engine, name, role, password=PASSWORD, **scope)[0]


def test_a_user_is_stored_with_an_argon2_hash_never_the_password(app_engine: Engine) -> None:
    _user(app_engine)
    with Session(app_engine) as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "alice"))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_a_generated_password_is_returned_once_and_works(app_engine: Engine) -> None:
    _, password = accounts.add_user(app_engine, "bob", "executive")
    assert len(password) >= 16
    issued = accounts.sign_in(app_engine, SETTINGS, "bob", password, "10.0.0.1")
    assert accounts.authenticate(app_engine, issued.token).username == "bob"


@pytest.mark.parametrize(
    ("name", "role", "scope", "message"),
    [
        ("carol", "boss", {}, "is not a role"),
        ("carol", "team_manager", {}, "needs --team"),
        ("carol", "team_manager", {"service": "Care Leavers"}, "needs --team"),
        ("carol", "head_of_service", {"team": "T01"}, "needs --service"),
        ("carol", "analyst", {"team": "T01"}, "sees every team"),
        ("", "analyst", {}, "is not allowed"),
        ("has space", "analyst", {}, "is not allowed"),
        ("trailing\n", "analyst", {}, "is not allowed"),
    ],
)
def test_users_that_make_no_sense_are_refused_with_the_fix(
    app_engine: Engine, name: str, role: str, scope: dict[str, str], message: str
) -> None:
    with pytest.raises(accounts.AccountError, match=message):
        accounts.add_user(app_engine, name, role, password=PASSWORD, **scope)
    assert accounts.list_users(app_engine) == []


def test_a_second_user_with_the_same_name_is_a_409(app_engine: Engine) -> None:
    _user(app_engine)
    with pytest.raises(accounts.AccountError, match="already a user called 'alice'") as caught:
        _user(app_engine, role="executive")
    assert caught.value.status == 409


def test_a_short_password_is_refused(app_engine: Engine) -> None:
    with pytest.raises(accounts.AccountError, match="at least 12 characters"):
        accounts.add_user(app_engine, "dave", "analyst", password="short")


def test_sign_in_gives_a_session_token_that_names_the_user_and_scope(app_engine: Engine) -> None:
    _user(app_engine, "tm", "team_manager", team="T02")
    issued = accounts.sign_in(app_engine, SETTINGS, "tm", PASSWORD, "10.0.0.1")
    assert issued.token.startswith("kps_") and issued.kind == "session"
    me = accounts.authenticate(app_engine, issued.token)
    assert (me.username, me.role, me.team, me.service, me.scope) == ("tm", "team_manager", "T02", None, "team T02")
    # about session_hours (12 h) from now
    assert abs((issued.expires_at - utcnow()) - dt.timedelta(hours=12)) < dt.timedelta(minutes=1)
    with Session(app_engine) as session:  # only the SHA-256 is kept
        assert session.scalar(select(Token.token_hash)) != issued.token


def test_failed_sign_ins_are_audited_with_who_and_from_where(app_engine: Engine) -> None:
    _user(app_engine)
    for name, password in (("alice", "wrong password!"), ("nobody", PASSWORD)):
        with pytest.raises(accounts.AccountError, match="Wrong username or password") as caught:
            accounts.sign_in(app_engine, SETTINGS, name, password, "192.0.2.7")
        assert caught.value.status == 401
    trail = audit.entries(app_engine)
    assert [(e.event, e.username, e.outcome, e.client_address) for e in trail] == [
        ("login_failed", "nobody", "unknown_user", "192.0.2.7"),
        ("login_failed", "alice", "wrong_password", "192.0.2.7"),
    ]


def test_an_account_locks_after_repeated_failures_even_for_the_right_password(app_engine: Engine) -> None:
    _user(app_engine)
    for _ in range(SETTINGS.login_max_failures):  # 3 wrong in a row
        with pytest.raises(accounts.AccountError) as caught:
            accounts.sign_in(app_engine, SETTINGS, "alice", "wrong password!", "10.0.0.1")
        assert caught.value.status == 401
    with pytest.raises(accounts.AccountError) as caught:
        accounts.sign_in(app_engine, SETTINGS, "alice", PASSWORD, "10.0.0.2")
    with pytest.raises(accounts.AccountError) as unknown:
        accounts.sign_in(app_engine, SETTINGS, "nobody-of-that-name", PASSWORD, "10.0.0.2")
    # locked, even for the right password, and answered exactly as an unknown name: no name is revealed
    assert (caught.value.status, str(caught.value), caught.value.retry_after) == (
        unknown.value.status, str(unknown.value), unknown.value.retry_after) == (401, "Wrong username or password.", None)
    assert [e.outcome for e in audit.entries(app_engine, limit=2)] == ["unknown_user", "locked"]
    assert 9 * 60 <= (accounts.list_users(app_engine)[0].locked_until - utcnow()).total_seconds() <= 10 * 60
    # Ten minutes later (moved back in the database rather than waited for) the right password works.
    with Session(app_engine) as session, session.begin():
        session.execute(update(User).values(locked_until=utcnow() - dt.timedelta(seconds=1)))
    assert accounts.sign_in(app_engine, SETTINGS, "alice", PASSWORD, "10.0.0.2").username == "alice"


def test_a_success_resets_the_count_of_failures(app_engine: Engine) -> None:
    _user(app_engine)
    for _ in range(2):
        with pytest.raises(accounts.AccountError):
            accounts.sign_in(app_engine, SETTINGS, "alice", "wrong password!", "10.0.0.1")
    accounts.sign_in(app_engine, SETTINGS, "alice", PASSWORD, "10.0.0.1")
    for _ in range(2):  # two more: 2 in a row, not 4, so no lock
        with pytest.raises(accounts.AccountError):
            accounts.sign_in(app_engine, SETTINGS, "alice", "wrong password!", "10.0.0.1")
    assert accounts.sign_in(app_engine, SETTINGS, "alice", PASSWORD, "10.0.0.1")


def test_an_address_with_many_failures_is_refused_before_any_password_check(app_engine: Engine) -> None:
    _user(app_engine)
    for i in range(SETTINGS.login_max_failures_per_address):  # 5 failures, spread over names: no account locks
        with pytest.raises(accounts.AccountError):
            accounts.sign_in(app_engine, SETTINGS, f"guess{i}", PASSWORD, "203.0.113.9")
    with pytest.raises(accounts.AccountError, match="Too many failed sign-ins from your address") as caught:
        accounts.sign_in(app_engine, SETTINGS, "alice", PASSWORD, "203.0.113.9")
    assert caught.value.status == 429 and caught.value.retry_after == 600
    # the same user from elsewhere is fine
    assert accounts.sign_in(app_engine, SETTINGS, "alice", PASSWORD, "198.51.100.1").username == "alice"


def test_api_tokens_expire(app_engine: Engine) -> None:
    _user(app_engine)
    issued = accounts.create_api_token(app_engine, "alice", days=7, name="report server")
    assert issued.token.startswith("kpa_")
    assert accounts.authenticate(app_engine, issued.token).token_kind == "api"
    with Session(app_engine) as session, session.begin():
        session.execute(update(Token).values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    with pytest.raises(accounts.AccountError, match="expired") as caught:
        accounts.authenticate(app_engine, issued.token)
    assert caught.value.status == 401


def test_a_revoked_token_stops_working_at_once(app_engine: Engine) -> None:
    _user(app_engine)
    issued = accounts.create_api_token(app_engine, "alice", days=7)
    accounts.revoke_token(app_engine, issued.id)
    with pytest.raises(accounts.AccountError, match="revoked"):
        accounts.authenticate(app_engine, issued.token)


def test_an_unknown_token_is_refused(app_engine: Engine) -> None:
    with pytest.raises(accounts.AccountError, match="not valid"):
        accounts.authenticate(app_engine, "kpa_made-up")


@pytest.mark.parametrize("days", [0, -1, 367])
def test_token_lifetimes_are_bounded(app_engine: Engine, days: int) -> None:
    _user(app_engine)
    with pytest.raises(accounts.AccountError, match="--days must be between 1 and 366"):
        accounts.create_api_token(app_engine, "alice", days=days)


def test_disabling_a_user_revokes_their_tokens_and_stops_sign_in(app_engine: Engine) -> None:
    _user(app_engine)
    session_token = accounts.sign_in(app_engine, SETTINGS, "alice", PASSWORD, "10.0.0.1").token
    api_token = accounts.create_api_token(app_engine, "alice", days=7).token
    accounts.set_active(app_engine, "alice", active=False)
    for token in (session_token, api_token):
        with pytest.raises(accounts.AccountError, match="revoked"):
            accounts.authenticate(app_engine, token)
    with pytest.raises(accounts.AccountError, match="disabled") as caught:
        accounts.sign_in(app_engine, SETTINGS, "alice", PASSWORD, "10.0.0.1")
    assert caught.value.status == 403
    with pytest.raises(accounts.AccountError, match="disabled"):
        accounts.create_api_token(app_engine, "alice", days=7)
    accounts.set_active(app_engine, "alice", active=True)
    assert accounts.sign_in(app_engine, SETTINGS, "alice", PASSWORD, "10.0.0.1").username == "alice"


def test_a_password_reset_unlocks_and_the_old_password_stops_working(app_engine: Engine) -> None:
    _user(app_engine)
    with Session(app_engine) as session, session.begin():
        session.execute(update(User).values(locked_until=utcnow() + dt.timedelta(hours=1)))
    new = accounts.set_password(app_engine, "alice")
    assert accounts.sign_in(app_engine, SETTINGS, "alice", new, "10.0.0.1").username == "alice"
    with pytest.raises(accounts.AccountError, match="Wrong username or password"):
        accounts.sign_in(app_engine, SETTINGS, "alice", PASSWORD, "10.0.0.1")


def test_sign_out_ends_the_session(app_engine: Engine) -> None:
    _user(app_engine)
    token = accounts.sign_in(app_engine, SETTINGS, "alice", PASSWORD, "10.0.0.1").token
    accounts.sign_out(app_engine, accounts.authenticate(app_engine, token))
    with pytest.raises(accounts.AccountError, match="revoked"):
        accounts.authenticate(app_engine, token)


def test_demo_users_are_made_once_one_per_role_with_random_passwords(app_engine: Engine) -> None:
    made = accounts.create_demo_users(app_engine, team="T01", service="Care Leavers")
    assert [(u.username, u.role, u.team, u.service) for u, _ in made] == [
        ("demo_executive", "executive", None, None),
        ("demo_head_of_service", "head_of_service", None, "Care Leavers"),
        ("demo_team_manager", "team_manager", "T01", None),
        ("demo_analyst", "analyst", None, None),
        ("demo_admin", "admin", None, None),
        ("demo_board", "board", None, None),
    ]
    passwords = [pw for _, pw in made]
    assert len(set(passwords)) == 6
    assert accounts.sign_in(app_engine, SETTINGS, "demo_admin", passwords[4], "10.0.0.1")
    assert accounts.create_demo_users(app_engine, team="T01", service="Care Leavers") == []


def test_demo_users_without_a_warehouse_leave_out_the_scoped_roles(app_engine: Engine) -> None:
    made = accounts.create_demo_users(app_engine, team=None, service=None)
    assert [u.role for u, _ in made] == ["executive", "analyst", "admin", "board"]
