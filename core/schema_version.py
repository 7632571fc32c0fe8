"""The newest migration of the app database shipped with this code, read from the migration files' own
`revision` and `down_revision` lines: without Alembic or SQLAlchemy, so that a load can see that the app
database is up to date before it writes the load log (etl/runlog_sqlite.py)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.M)


@lru_cache
def shipped_head() -> str | None:
    """The newest migration; None when that is not plain (a merge, an unusual file): Alembic then decides."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text_ = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text_), _DOWN.search(text_)
        if revision is None and down is None:
            continue  # not a migration (__init__.py)
        if revision is None or down is None:
            return None
        parent = down.group(1).strip()
        if parent != "None":
            plain = re.fullmatch(r"['\"]([^'\"]+)['\"]", parent)
            if plain is None:
                return None
            parents.add(plain.group(1))
        revisions.add(revision.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None
