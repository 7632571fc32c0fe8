"""The board's loop in the app database: analysis written about a figure (every version kept), the
actions agreed from it (every change kept) and the board packs as published (frozen).

Ordinary tables of the one metadata (core.appdb.Base), so the migrations, the backups and a restore
cover them like the users and the audit trail. Usernames are copied, not foreign keys: what was
written, and by whom, must outlive changes to the users table. Times are naive UTC (api.models.utcnow).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.models import utcnow
from core.appdb import Base

BOARD_LEVELS = ("trust", "service", "team")  # analysis and actions are about a unit's figure, never a worker
ACTION_STATUSES = ("open", "done", "dropped")
ACTION_ORIGINS = ("figure", "trend", "attention", "team", "board", "api")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class AnalysisVersion(Base):
    """One version of the analysis of a KPI for a unit and period. Versions are only ever added: the
    newest is the analysis, the others its history. (kpi, level, unit, period, version) is unique, so
    two writers who both start from version n cannot both write n + 1: the second is told."""

    __tablename__ = "analysis_versions"
    __table_args__ = (
        UniqueConstraint("kpi", "level", "unit", "period", "version"),
        CheckConstraint(_in("level", BOARD_LEVELS), name="level"),
        CheckConstraint("version >= 1", name="version"),
        Index("ix_analysis_versions_period_level_unit", "period", "level", "unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(8))  # YYYY-MM, or YYYY-Www (an ISO week, for teams)
    version: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    author_role: Mapped[str] = mapped_column(String(32))
    written_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Action(Base):
    """An action agreed from a figure: the current state. Each change adds an ActionVersion and bumps
    `version` in the same transaction, by a compare-and-set on the version the writer started from."""

    __tablename__ = "actions"
    __table_args__ = (
        CheckConstraint(_in("level", BOARD_LEVELS), name="level"),
        CheckConstraint(_in("status", ACTION_STATUSES), name="status"),
        CheckConstraint("(owner_user IS NULL) <> (owner_name IS NULL)", name="one_owner"),
        Index("ix_actions_kpi_level_unit", "kpi", "level", "unit"),
        Index("ix_actions_status_due_date", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(200))
    period: Mapped[str | None] = mapped_column(String(8))  # the month or week whose figure it was agreed from
    what: Mapped[str] = mapped_column(Text)
    owner_user: Mapped[str | None] = mapped_column(String(64), index=True)  # a kpidash username
    owner_name: Mapped[str | None] = mapped_column(String(200))  # or a named person without an account
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    status_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None]
    origin: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ActionChild(Base):
    """A child (children.csv's child_id) an action is about: child-level data, read only through the
    scoped, audited GET /actions/{id}/children."""

    __tablename__ = "action_children"

    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), primary_key=True)
    child_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class ActionVersion(Base):
    """One state of an action, as it was after a change: the whole action as JSON text, the child ids
    included, and what changed in words."""

    __tablename__ = "action_versions"
    __table_args__ = (UniqueConstraint("action_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    version: Mapped[int]
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_by_role: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    change: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(Text)


class BoardPack(Base):
    """A board pack as published for a board date: the data it was drawn from (JSON), the HTML and the
    PDF exactly as rendered then. Never updated: a later load or edit cannot change what the board saw."""

    __tablename__ = "board_packs"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_date: Mapped[dt.date] = mapped_column(Date, unique=True)
    month: Mapped[str] = mapped_column(String(7))
    run_id: Mapped[str] = mapped_column(String(40))
    extract_date: Mapped[dt.date] = mapped_column(Date)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(64))
    html_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    html_bytes: Mapped[int]
    pdf_bytes: Mapped[int | None]
    # the big columns are loaded only when asked for: listing packs reads none of them
    snapshot: Mapped[str] = mapped_column(Text, deferred=True)
    html: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
