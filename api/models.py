"""The API's tables in the app database: who may sign in, their tokens, and the audit trail.

Times are stored as naive UTC (SQLite has no time zones); `utcnow()` is the one clock.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.appdb import Base

ROLES = ("executive", "head_of_service", "team_manager", "analyst", "admin", "board")
TOKEN_KINDS = ("session", "api")


def utcnow() -> dt.datetime:
    """Now, as the naive UTC the app database stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(Base):
    """A person (or service account) who may sign in; role and team/service decide what they see."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint(
            "(role = 'team_manager' AND team IS NOT NULL AND service IS NULL)"
            " OR (role = 'head_of_service' AND service IS NOT NULL AND team IS NULL)"
            " OR (role NOT IN ('team_manager', 'head_of_service') AND team IS NULL AND service IS NULL)",
            name="scope",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    team: Mapped[str | None] = mapped_column(String(100))
    service: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]

    tokens: Mapped[list[Token]] = relationship(back_populates="user", cascade="all, delete-orphan")


class Token(Base):
    """A bearer credential: a sign-in session or an API client's token. Only its SHA-256 is kept."""

    __tablename__ = "tokens"
    __table_args__ = (CheckConstraint(_in("kind", TOKEN_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class AuditEntry(Base):
    """One access to child-level records (allowed or refused: a view, an export, a run's rejected rows),
    or one failed sign-in.

    Usernames are copied, not foreign keys: the trail must outlive changes to the users table.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_event_address_at", "event", "client_address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(32))  # one of core.audit.EVENTS
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    role: Mapped[str | None] = mapped_column(String(32))
    kpi: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str | None] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(200))
    date_from: Mapped[dt.date | None] = mapped_column(Date)
    date_to: Mapped[dt.date | None] = mapped_column(Date)
    record_count: Mapped[int | None]
    client_address: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))  # ok | forbidden | invalid | unknown_user | ...
    detail: Mapped[str | None] = mapped_column(String(500))
    channel: Mapped[str | None] = mapped_column(String(16))  # core.audit.CHANNELS: api | dashboard | cli | scheduler
