"""What a run did with each input file, and the clock the load log keeps: plain Python, so the loader
can read and check an extract while the load log (SQLAlchemy, the app database) is still being opened."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


def utcnow() -> dt.datetime:
    """Now, as the naive UTC the app database stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class FileResult:
    """What a run did with one input file (sha256 is None when the file was missing)."""

    file: str
    sha256: str | None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    warnings: int = 0
