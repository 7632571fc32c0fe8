"""Users, their sign-ins and their tokens: the rules, shared by the HTTP API and the CLI.

Every refusal is an AccountError whose message says what to do next, and whose status is the HTTP
status the API answers with.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import audit, revocations
from api.models import ROLES, Token, User, utcnow
from api.security import (
    API_PREFIX,
    SESSION_PREFIX,
    hash_password,
    needs_rehash,
    new_password,
    new_token,
    token_digest,
    verify_password,
)
from core.settings import Settings

ALL_SCOPE_ROLES = frozenset({"executive", "analyst", "admin"})
RUN_LOG_ROLES = frozenset({"analyst", "admin"})
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
MAX_TOKEN_DAYS = 366
BAD_CREDENTIALS = "Wrong username or password."


class AccountError(ValueError):
    """A refusal with a message for the person, an HTTP status and (for lock-outs) a wait in seconds."""

    def __init__(self, message: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    """Who is asking, as the routes need it: identity, role and scope, and the token used."""

    user_id: int
    username: str
    role: str
    team: str | None
    service: str | None
    token_id: int
    token_kind: str
    expires_at: dt.datetime

    @property
    def sees_all_records(self) -> bool:
        return self.role in ALL_SCOPE_ROLES

    @property
    def scope(self) -> str:
        """Whose child-level records the user may see, in words: `all`, `team T` or `service S`."""
        if self.role == "team_manager":
            return f"team {self.team}"
        if self.role == "head_of_service":
            return f"service {self.service}"
        return "all"


@dataclass(frozen=True)
class IssuedToken:
    """A token as it is handed out: the only time its plain text exists."""

    id: int
    username: str
    kind: str
    token: str
    expires_at: dt.datetime


def check_new_user(username: str, role: str, team: str | None, service: str | None) -> None:
    """Refuse a user whose name, role or scope does not make sense, saying what to change."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(
            f"Username {username!r} is not allowed: use 1 to 64 letters, digits, '.', '_', '-' or '@', "
            "starting with a letter or digit."
        )
    if role not in ROLES:
        raise AccountError(f"Role {role!r} is not a role: use one of {', '.join(ROLES)}.")
    if role == "team_manager" and (not team or service):
        raise AccountError("A team_manager needs --team (the team_id of their team) and no --service.")
    if role == "head_of_service" and (not service or team):
        raise AccountError("A head_of_service needs --service (the name of their service) and no --team.")
    if role not in ("team_manager", "head_of_service") and (team or service):
        raise AccountError(f"A {role} sees every team: give no --team or --service.")


def add_user(
    engine: Engine,
    username: str,
    role: str,
    team: str | None = None,
    service: str | None = None,
    password: str | None = None,
) -> tuple[User, str]:
    """Create a user; without a password one is generated. Returns the user and the password."""
    check_new_user(username, role, team, service)
    password = password or new_password()
    if len(password) < 12:
        raise AccountError("A password needs at least 12 characters.")
    user = User(username=username, role=role, team=team, service=service, password_hash=hash_password(password))
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            session.add(user)
    except IntegrityError:
        raise AccountError(f"There is already a user called {username!r}.", status=409) from None
    return user, password


def list_users(engine: Engine) -> list[User]:
    """Every user, by name."""
    with Session(engine) as session:
        return list(session.scalars(select(User).order_by(User.username)))


def set_active(engine: Engine, username: str, active: bool) -> User:
    """Disable (and revoke every token of) or re-enable a user; users are never deleted (audit)."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise AccountError(f"There is no user called {username!r} (see `kpidash users list`).", status=404)
        user.active = active
        if not active:
            session.execute(
                update(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None)).values(revoked_at=now)
            )
        else:
            user.failed_logins, user.locked_until = 0, None
    if not active:
        revocations.announce()  # every API worker stops trusting the user's tokens at once
    return user


def set_role(engine: Engine, username: str, role: str, team: str | None = None, service: str | None = None) -> User:
    """Give a user another role (and the team or service it needs); their sessions and tokens are revoked, so
    the new scope applies from their next sign-in and never alongside the old one."""
    check_new_user(username, role, team, service)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise AccountError(f"There is no user called {username!r} (see `kpidash users list`).", status=404)
        user.role, user.team, user.service = role, team, service
        session.execute(update(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
    revocations.announce()  # every API worker stops trusting the old scope's tokens at once
    return user


def set_password(engine: Engine, username: str, password: str | None = None) -> str:
    """Give a user a new password (generated when none is given) and unlock the account."""
    password = password or new_password()
    if len(password) < 12:
        raise AccountError("A password needs at least 12 characters.")
    with Session(engine) as session, session.begin():
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise AccountError(f"There is no user called {username!r} (see `kpidash users list`).", status=404)
        user.password_hash = hash_password(password)
        user.failed_logins, user.locked_until = 0, None
    return password


def _issue(session: Session, user: User, kind: str, lifetime: dt.timedelta, name: str | None) -> IssuedToken:
    token = new_token(SESSION_PREFIX if kind == "session" else API_PREFIX)
    row = Token(user=user, kind=kind, token_hash=token_digest(token), name=name, expires_at=utcnow() + lifetime)
    session.add(row)
    session.flush()
    return IssuedToken(row.id, user.username, kind, token, row.expires_at)


def create_api_token(engine: Engine, username: str, days: int, name: str | None = None) -> IssuedToken:
    """A bearer token for an API client, valid for `days` days."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise AccountError(f"--days must be between 1 and {MAX_TOKEN_DAYS}; {days} is not.")
    with Session(engine) as session, session.begin():
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise AccountError(f"There is no user called {username!r} (see `kpidash users list`).", status=404)
        if not user.active:
            raise AccountError(f"User {username!r} is disabled; enable them before giving them a token.")
        return _issue(session, user, "api", dt.timedelta(days=days), name)


def revoke_token(engine: Engine, token_id: int) -> Token:
    """Stop a token working now (sessions and API tokens alike)."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        token = session.get(Token, token_id)
        if token is None:
            raise AccountError(f"There is no token {token_id} (see `kpidash tokens list`).", status=404)
        if token.revoked_at is None:
            token.revoked_at = utcnow()
    revocations.announce()  # every API worker stops trusting the token at once
    return token


def list_tokens(engine: Engine, username: str | None = None, include_sessions: bool = False) -> list[tuple[Token, str]]:
    """Tokens with their owner's name, newest first (never their plain text: it is not kept)."""
    query = select(Token, User.username).join(User).order_by(Token.created_at.desc(), Token.id.desc())
    if username is not None:
        query = query.where(User.username == username)
    if not include_sessions:
        query = query.where(Token.kind == "api")
    with Session(engine) as session:
        return [(t, name) for t, name in session.execute(query)]


# Built once: this runs on every request, and building a statement costs more than running it.
_TOKEN_LOOKUP = (
    select(Token.id, Token.kind, Token.expires_at, Token.revoked_at, User.id, User.username, User.role,
           User.team, User.service, User.active)
    .join(User)
    .where(Token.token_hash == bindparam("digest"))
)


def authenticate(engine: Engine, token: str) -> Principal:
    """The principal a bearer token stands for, or a 401 saying why not (one indexed lookup)."""
    with engine.connect() as conn:
        row = conn.execute(_TOKEN_LOOKUP, {"digest": token_digest(token)}).first()
    if row is None:
        raise AccountError("This token is not valid: sign in again, or ask an admin for a new API token.", 401)
    token_id, kind, expires_at, revoked_at, user_id, username, role, team, service, active = row
    if revoked_at is not None:
        raise AccountError("This token has been revoked: sign in again, or ask an admin for a new API token.", 401)
    if expires_at <= utcnow():
        raise AccountError(
            f"This token expired at {expires_at:%Y-%m-%d %H:%M} UTC: sign in again, or ask an admin for a new "
            "API token.",
            401,
        )
    if not active:
        raise AccountError("This account is disabled: ask an admin.", 401)
    return Principal(user_id, username, role, team, service, token_id, kind, expires_at)


def sign_in(
    engine: Engine, settings: Settings, username: str, password: str, address: str | None, channel: str | None = None
) -> IssuedToken:
    """Check a password and open a session, with lock-outs for repeated failures.

    `address` is the client's real address (the browser's, also when the dashboard passes the sign-in
    on: api.deps.client_address). An address with too many recent failures is refused (429) before any
    password is checked, and an account locks after `login_max_failures` failures in a row; a locked
    account answers as an unknown name does (401), so neither reveals which names exist. Every failure
    is audited.
    """
    with Session(engine) as session, session.begin():
        result = _sign_in(session, settings, username, password, address)
    if isinstance(result, IssuedToken):
        return result
    outcome, error = result
    audit.record(engine, "login_failed", outcome, username=username, client_address=address, channel=channel)
    raise error


def _sign_in(
    session: Session, settings: Settings, username: str, password: str, address: str | None
) -> IssuedToken | tuple[str, AccountError]:
    now = utcnow()
    window = dt.timedelta(minutes=settings.login_lockout_minutes)
    if address and audit.failed_sign_ins_from(session, address, now - window) >= settings.login_max_failures_per_address:
        message = "Too many failed sign-ins from your address: wait a while and try again."
        return "address_throttled", AccountError(message, 429, int(window.total_seconds()))
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(None, password)  # the same cost as a wrong password: no clue the name is unknown
        return "unknown_user", AccountError(BAD_CREDENTIALS, 401)
    if user.locked_until is not None and user.locked_until > now:
        # Answered exactly as an unknown name (status, words, the cost of a password check): a lock-out
        # must not tell a guesser that the name exists. `kpidash users list` shows who is locked.
        verify_password(None, password)
        return "locked", AccountError(BAD_CREDENTIALS, 401)
    if not verify_password(user.password_hash, password):
        # Counted in SQL, not in Python: parallel guesses must not overwrite each other's count.
        this_user = User.id == user.id
        session.execute(update(User).where(this_user).values(failed_logins=User.failed_logins + 1))
        if session.scalar(select(User.failed_logins).where(this_user)) >= settings.login_max_failures:
            session.execute(update(User).where(this_user).values(locked_until=now + window, failed_logins=0))
        return "wrong_password", AccountError(BAD_CREDENTIALS, 401)
    if not user.active:
        return "disabled", AccountError("This account is disabled: ask an admin.", 403)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return _issue(session, user, "session", dt.timedelta(hours=settings.session_hours), None)


def sign_out(engine: Engine, principal: Principal) -> None:
    """End a sign-in session (an API token is revoked with `kpidash tokens revoke` instead)."""
    if principal.token_kind == "session":
        revoke_token(engine, principal.token_id)


def create_demo_users(engine: Engine, team: str | None, service: str | None) -> list[tuple[User, str]]:
    """On a first start (no users at all): one demo user per role, with random passwords to print once.

    The team manager gets the given team and the head of service the given service; without a
    warehouse (None) those two are left out.
    """
    with Session(engine) as session:
        if session.scalar(select(User.id).limit(1)) is not None:
            return []
    made = []
    for role in ROLES:
        scope = {"team": team} if role == "team_manager" else {"service": service} if role == "head_of_service" else {}
        if None in scope.values():
            continue
        made.append(add_user(engine, f"demo_{role}", role, **scope))
    return made
