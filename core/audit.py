"""The audit trail's writer, shared by the API (records requests, sign-ins) and the scheduler (team packs
written to disk): every access to child-level records leaves one entry, whoever made it.

Written in its own transaction, so the entry stays even when the request or job then fails.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from core.appdb import load_models

AUDIT_TABLE = "audit_log"


def record(engine: Engine, event: str, outcome: str, **fields: Any) -> None:
    """Append one entry (fields: the audit_log columns: username, role, kpi, level, unit, date_from, ...)."""
    table = load_models().tables[AUDIT_TABLE]  # the table is declared with the API's models
    with engine.begin() as conn:
        conn.execute(table.insert().values(event=event, outcome=outcome, **fields))
