"""The app database's schema belongs to the Alembic migrations (core/migrations): they build it on
every backend, they match the ORM models, and they run both ways."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from api.models import User
from core import appdb

APP_TABLES = {"users", "tokens", "audit_log", "load_runs", "load_files", "alembic_version"}


def test_a_new_database_is_migrated_to_head(app_engine: Engine) -> None:
    with app_engine.connect() as conn:
        assert appdb.current_revision(conn) == appdb.head_revision()
    assert APP_TABLES <= set(inspect(app_engine).get_table_names())


def test_the_migrations_match_the_models(app_engine: Engine) -> None:
    """A model changed without a new migration fails here: run `alembic revision --autogenerate`."""
    with app_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), appdb.load_models())
    assert differences == []


def test_the_migrations_run_down_and_up_again(app_engine: Engine) -> None:
    with app_engine.begin() as conn:
        command.downgrade(appdb.alembic_config(conn), "base")
    assert set(inspect(app_engine).get_table_names()) <= {"alembic_version"}
    appdb.ensure_schema(app_engine)
    assert APP_TABLES <= set(inspect(app_engine).get_table_names())


def test_ensure_schema_twice_changes_nothing(app_engine: Engine) -> None:
    from api import accounts

    accounts.add_user(app_engine, "alice", "analyst", password="a long enough password")
    appdb.ensure_schema(app_engine)
    with Session(app_engine) as session:
        assert session.scalars(select(User.username)).all() == ["alice"]


def test_a_database_made_before_the_migrations_is_adopted(tmp_path: Path) -> None:
    """create_all made the first schema before Alembic; such a database is stamped, not rebuilt."""
    engine = appdb.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    appdb.load_models().create_all(engine)
    from api import accounts

    accounts.add_user(engine, "alice", "analyst", password="a long enough password")
    appdb.ensure_schema(engine)
    with engine.connect() as conn:
        assert appdb.current_revision(conn) == appdb.head_revision()
    assert [u.username for u in accounts.list_users(engine)] == ["alice"]
    engine.dispose()
