"""The app's own database (load log, users, tokens, audit log), reached through SQLAlchemy 2.

SQLite file by default, any SQLAlchemy URL through KPIDASH_APP_DB (PostgreSQL in production).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase

from core.settings import get_settings


class Base(DeclarativeBase):
    """Declarative base shared by every table of the app database."""


def make_engine(url: str) -> Engine:
    """An engine for the URL; for SQLite, make the folder and turn on WAL so readers never block."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True)
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


def ensure_schema(engine: Engine) -> None:
    """Bring the schema up to date. (Alembic migrations replace create_all with the API issue.)"""
    import etl.runlog  # noqa: F401  registers the load-log tables

    Base.metadata.create_all(engine)
