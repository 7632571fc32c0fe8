"""Helpers for the loader's tests: a load in its own data folder (for module-scoped fixtures), and
reading the published warehouse the way the KPI layer does."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core import appdb
from core.settings import get_settings


@contextmanager
def own_settings(data: Path, **extra: str) -> Iterator[Path]:
    """KPIDASH_* pointed at `data` for the block (for module-scoped loads); yields the warehouse path."""
    env = {
        "KPIDASH_DB": str(data / "warehouse.duckdb"),
        "KPIDASH_ARCHIVE_DIR": str(data / "archive"),
        "KPIDASH_APP_DB": f"sqlite:///{data / 'app.db'}",
        **{f"KPIDASH_{k.upper()}": v for k, v in extra.items()},
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()
    try:
        yield data / "warehouse.duckdb"
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
        appdb.get_engine.cache_clear()


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows from the published warehouse, opened read-only as the KPI layer opens it."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()
