"""Migration 0004 (the board's loop: analysis versions, actions, board packs; the `board` role), on SQLite
and PostgreSQL: a database at 0003 with users upgrades keeping them, takes board members and the new
tables, and downgrades back (refused, saying why, while a board member exists)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from api import accounts
from core import appdb

BOARD_TABLES = {"analysis_versions", "actions", "action_children", "action_versions", "board_packs"}


def _at(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.downgrade(appdb.alembic_config(conn), revision)


def test_a_database_at_0003_upgrades_with_its_users_and_back(app_engine: Engine) -> None:
    _at(app_engine, "0003")
    assert not BOARD_TABLES & set(inspect(app_engine).get_table_names())
    accounts.add_user(app_engine, "alice", "analyst", password="a long enough password")
    with pytest.raises(IntegrityError):  # the old role check refuses a board member
        with app_engine.begin() as conn:
            conn.execute(text("INSERT INTO users (username, password_hash, role, active, created_at, failed_logins) "
                              "VALUES ('bob', 'x', 'board', true, CURRENT_TIMESTAMP, 0)"))
    appdb.ensure_schema(app_engine)
    with app_engine.connect() as conn:
        assert appdb.current_revision(conn) == "0004"
    assert BOARD_TABLES <= set(inspect(app_engine).get_table_names())
    accounts.add_user(app_engine, "bob", "board", password="a long enough password")
    assert [(u.username, u.role) for u in accounts.list_users(app_engine)] == [("alice", "analyst"), ("bob", "board")]
    with app_engine.begin() as conn:
        conn.execute(text("INSERT INTO actions (kpi, level, unit, what, owner_name, due_date, status, version, "
                          "created_by, created_at, updated_by, updated_at) VALUES ('k', 'trust', 'trust', 'w', 'n', "
                          "'2025-12-01', 'open', 1, 'alice', CURRENT_TIMESTAMP, 'alice', CURRENT_TIMESTAMP)"))
    with pytest.raises(RuntimeError, match="board role"):
        _at(app_engine, "0003")
    with app_engine.begin() as conn:
        conn.execute(text("UPDATE users SET role = 'analyst' WHERE username = 'bob'"))
    _at(app_engine, "0003")
    assert not BOARD_TABLES & set(inspect(app_engine).get_table_names())
    assert [u.username for u in accounts.list_users(app_engine)] == ["alice", "bob"]
    appdb.ensure_schema(app_engine)  # and up again
    assert BOARD_TABLES <= set(inspect(app_engine).get_table_names())


def test_the_board_tables_refuse_what_makes_no_sense(app_engine: Engine) -> None:
    row = ("INSERT INTO actions (kpi, level, unit, what, owner_user, owner_name, due_date, status, version, "
           "created_by, created_at, updated_by, updated_at) VALUES ('k', {level}, 'u', 'w', {user}, {name}, "
           "'2025-12-01', {status}, 1, 'a', CURRENT_TIMESTAMP, 'a', CURRENT_TIMESTAMP)")
    for bad in ({"level": "'worker'", "user": "NULL", "name": "'n'", "status": "'open'"},
                {"level": "'team'", "user": "'u'", "name": "'n'", "status": "'open'"},  # two owners
                {"level": "'team'", "user": "NULL", "name": "NULL", "status": "'open'"},  # none
                {"level": "'team'", "user": "NULL", "name": "'n'", "status": "'closed'"}):
        with pytest.raises(IntegrityError), app_engine.begin() as conn:
            conn.execute(text(row.format(**bad)))
