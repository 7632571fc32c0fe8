"""What a run did with each input file, and the clock the load log keeps: plain Python, so the loader
can read and check an extract while the load log (SQLAlchemy, the app database) is still being opened."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

RUN_STATUSES = ("running", "published", "checked", "failed")
INTERRUPTED = (
    "interrupted: the load stopped before its load-log entry was finished (killed, crashed, or the app "
    "database could not be reached); nothing was published"
)
FINISHED_LATE = (
    "published; this load-log entry was finished after the app database came back (the warehouse holds this "
    "run's data; the per-file counts were not recorded)"
)


class LoadLogUnusable(OSError):
    """The app database (KPIDASH_APP_DB) holding the load log could not be opened or written for an OS
    reason (its folder cannot be made) or, for a SQLite file, by SQLite (etl.runlog_sqlite); the run stopped
    before publishing anything. (SQLAlchemy's errors, for other databases, are raised as they are.)"""


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
