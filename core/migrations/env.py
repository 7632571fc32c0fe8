"""Alembic environment: the app database's migrations, run from code (core.appdb.ensure_schema) or
by a developer with `alembic` and the repository's alembic.ini (`alembic revision --autogenerate`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from core.appdb import load_models, make_engine
from core.settings import get_settings

config = context.config
target_metadata = load_models()


def run_migrations(connection: Connection) -> None:
    """Batch mode on SQLite: it cannot ALTER most things, so Alembic copies the table instead."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """`alembic upgrade --sql`: print the SQL for a DBA instead of running it."""
    context.configure(url=get_settings().app_db, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (conn := config.attributes.get("connection")) is not None:
    run_migrations(conn)
else:
    engine = make_engine(get_settings().app_db)
    with engine.begin() as conn:
        run_migrations(conn)
    engine.dispose()
