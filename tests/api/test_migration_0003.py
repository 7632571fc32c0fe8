"""Migration 0003 (the audit trail's `channel`, the service key), on SQLite and PostgreSQL: an app database
at 0002 with audit entries upgrades keeping them, and downgrades back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from core import appdb
from core.client_address import service_key, vouch, vouched_address


def test_an_audit_trail_at_0002_upgrades_with_its_entries_and_back(app_engine: Engine) -> None:
    with app_engine.begin() as conn:
        command.downgrade(appdb.alembic_config(conn), "0002")
    assert "channel" not in {c["name"] for c in inspect(app_engine).get_columns("audit_log")}
    assert not inspect(app_engine).has_table("service_keys")
    with app_engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (at, event, username, outcome, client_address) "
                          "VALUES (CURRENT_TIMESTAMP, 'records', 'alice', 'ok', '192.0.2.1')"))
    appdb.ensure_schema(app_engine)
    with app_engine.connect() as conn:
        assert appdb.current_revision(conn) == appdb.head_revision()
        rows = conn.execute(text("SELECT username, client_address, channel FROM audit_log")).fetchall()
    assert [tuple(r) for r in rows] == [("alice", "192.0.2.1", None)]
    key = service_key(app_engine)
    assert len(key) == 64 and vouched_address(app_engine, vouch(app_engine, "198.51.100.9")) == "198.51.100.9"
    with app_engine.begin() as conn:
        command.downgrade(appdb.alembic_config(conn), "0002")
    assert not inspect(app_engine).has_table("service_keys")
    with app_engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text("SELECT username, client_address FROM audit_log"))] == [
            ("alice", "192.0.2.1")]
