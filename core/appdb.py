"""The app's own database (load log, users, tokens, audit log), reached through SQLAlchemy 2.

SQLite file by default, any SQLAlchemy URL through KPIDASH_APP_DB (PostgreSQL in production).
The schema belongs to the Alembic migrations in core/migrations (shipped as package data), so an
installed kpidash upgrades its database the same way a checkout does.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.orm import DeclarativeBase

from core.schema_version import MIGRATIONS_DIR, shipped_head
from core.settings import get_settings


# Named constraints, so migrations can alter them on every backend (SQLite batch mode included).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every table of the app database."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str) -> Engine:
    """An engine for the URL; for SQLite, make the folder and turn on WAL so readers never block."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # A server connection can die between requests; a SQLite file cannot (and the ping costs half a lookup).
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


@lru_cache
def get_engine() -> Engine:
    """The process's engine for KPIDASH_APP_DB, schema brought up to date on first use."""
    engine = make_engine(get_settings().app_db)
    ensure_schema(engine)
    return engine


def load_models() -> MetaData:
    """Import every module that declares tables, so Base.metadata is the whole app schema."""
    import api.models  # noqa: F401  users, tokens, audit log
    import core.client_address  # noqa: F401  the service key
    import etl.runlog  # noqa: F401  load log
    import scheduler.history  # noqa: F401  KPI history
    import api.board_models  # noqa: F401  analysis, actions, published board packs

    return Base.metadata


def alembic_config(connection: Connection | None = None):  # noqa: ANN201  (alembic.config.Config)
    """Alembic's configuration, built in code so an installed package finds its migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache
def head_revision() -> str:
    """The newest migration shipped with this code."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found under core/migrations/versions"
    return head


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at (None for a database Alembic has never touched)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine) -> None:
    """`alembic upgrade head`, skipped cheaply when the database is already there (most calls)."""
    with engine.begin() as conn:
        current = current_revision(conn)
        if current is not None and current == shipped_head():
            return  # without importing Alembic: a third of a short command's start-up
    from alembic import command

    with engine.begin() as conn:
        current = current_revision(conn)
        if current == head_revision():
            return
        cfg = alembic_config(conn)
        if current is None and inspect(conn).has_table("load_runs"):
            # A database made by create_all before the migrations existed: it holds the first revision.
            command.stamp(cfg, _first_revision())
        command.upgrade(cfg, "head")


def _first_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_base()  # type: ignore[return-value]
