"""The audit trail: every look at child-level records (allowed or refused: views, exports, a run's
rejected rows) and every failed sign-in.

Entries are written by core.audit.record (re-exported here), in their own transaction, so the entry
stays even when the request then fails.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.models import AuditEntry
from core.audit import EVENTS, record  # noqa: F401  (the writer lives in core: every layer writes entries)


def entries(
    engine: Engine, limit: int = 100, username: str | None = None, event: str | None = None
) -> list[AuditEntry]:
    """The newest entries first."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if username is not None:
        query = query.where(AuditEntry.username == username)
    if event is not None:
        query = query.where(AuditEntry.event == event)
    with Session(engine) as session:
        return list(session.scalars(query))


def failed_sign_ins_from(session: Session, address: str, since: dt.datetime) -> int:
    """How many failed sign-ins came from one client address since a time (the throttle's input)."""
    return session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.event == "login_failed", AuditEntry.client_address == address, AuditEntry.at > since)
    ) or 0


def as_dict(entry: AuditEntry) -> dict[str, Any]:
    """One entry as JSON-ready values (times in ISO 8601 UTC)."""
    return {
        "id": entry.id,
        "at": entry.at.isoformat(timespec="seconds") + "Z",
        "event": entry.event,
        "username": entry.username,
        "role": entry.role,
        "kpi": entry.kpi,
        "level": entry.level,
        "unit": entry.unit,
        "from": entry.date_from.isoformat() if entry.date_from else None,
        "to": entry.date_to.isoformat() if entry.date_to else None,
        "record_count": entry.record_count,
        "client_address": entry.client_address,
        "outcome": entry.outcome,
        "detail": entry.detail,
        "channel": entry.channel,
    }

