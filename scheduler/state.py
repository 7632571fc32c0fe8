"""The scheduler's next run times, in a small JSON file beside the warehouse, for /api/v1/status.

Kept out of the app database on purpose: status must still say when the next run is when the app
database is the thing that is down.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path


def schedule_path(db: Path) -> Path:
    """Where the scheduler of the deployment that publishes `db` writes its next run times."""
    return db.with_name(db.name + ".schedule.json")


def write_next_runs(db: Path, next_runs: dict[str, dt.datetime | None]) -> None:
    """Replace the file atomically, so a reader never sees half of it."""
    path = schedule_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)  # the scheduler may start before the first load
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    data = {job: (when.astimezone(dt.UTC).isoformat() if when else None) for job, when in next_runs.items()}
    tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def clear_next_runs(db: Path) -> None:
    """A scheduler that stops says nothing is due: /status must not show a next run that will not come."""
    schedule_path(db).unlink(missing_ok=True)


def read_next_runs(db: Path) -> dict[str, dt.datetime | None]:
    """Each job's next run (aware UTC); empty when no scheduler has written the file (or it is unreadable)."""
    try:
        data = json.loads(schedule_path(db).read_text(encoding="utf-8"))
        return {str(job): dt.datetime.fromisoformat(when) if when else None for job, when in data.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def next_refresh(db: Path) -> dt.datetime | None:
    """When the scheduler next looks at the source (None: no scheduler has said)."""
    return read_next_runs(db).get("refresh")
