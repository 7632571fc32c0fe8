"""One scheduler per deployment: a lock file beside the warehouse, held for the scheduler's lifetime.

Every process that could run a scheduler shares the warehouse folder (a volume in the container
set-up), so the lock there is the deployment's. The OS drops it when the process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class NotLeader(Exception):
    """Another scheduler holds the lock: this one must not run jobs."""

    def __init__(self, message: str, holder: str) -> None:
        super().__init__(message)
        self.holder = holder  # "pid 1234"


def lock_path(db: Path) -> Path:
    """The leader lock of the deployment that publishes `db`."""
    return db.with_name(db.name + ".scheduler.lock")


@contextlib.contextmanager
def leader_lock(db: Path) -> Iterator[None]:
    """Hold the scheduler lock, or raise NotLeader naming the process that holds it."""
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise NotLeader(f"a scheduler is already running for {db} ({holder}); only one may run", holder) from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
