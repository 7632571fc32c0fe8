"""How long kpidash keeps what it holds about children: `kpidash prune`, run nightly by the scheduler.

Child-level raw data is kept only as long as it is needed (KPIDASH_RETENTION_DAYS, default 30):
- each load's archive folder (`<archive>/<run_id>/`: the input files exactly as received, their
  checksums, the rejected rows), failed and checked runs included, by the run's start time;
- the weekly pack folders (`<pack dir>/<extract date>/`, full child-level action lists), by when they
  were written;
- sign-in sessions that expired that long ago (the tokens table only ever holds hashes).

Never removed, whatever their age: the input of the last good load (what `kpidash load` needs to
publish the served figures again) and of every run the warehouse or its kept copy holds. The load
log, the audit trail and the KPI history hold no child-level records and are kept (docs/operations.md
gives the retention of every kind of data). Each prune that removes anything is one audit entry.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, delete, func, select

from core.appdb import load_models
from core.audit import record
from core.settings import Settings
from etl import last_good_run
from etl.publish import published_runs

RUN_ID = re.compile(r"(\d{8}T\d{6})-[0-9a-f]+")


@dataclass
class PruneReport:
    """What a prune removed (or, dry, would remove) and what it kept on purpose."""

    cutoff: dt.datetime
    runs: list[str] = field(default_factory=list)
    packs: list[str] = field(default_factory=list)
    sessions: int = 0
    bytes: int = 0
    kept: list[str] = field(default_factory=list)  # run folders older than the cutoff kept on purpose

    def summary(self) -> str:
        parts = [f"{len(self.runs)} archived run folders", f"{len(self.packs)} weekly pack folders",
                 f"{self.sessions} expired sign-in sessions"]
        kept = f"; kept the input of {', '.join(self.kept)} (the last good load)" if self.kept else ""
        return (f"{', '.join(parts)} older than {self.cutoff:%Y-%m-%d %H:%M} UTC "
                f"({self.bytes / 2**20:.1f} MB){kept}")


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def _started(folder: Path) -> dt.datetime:
    """A run's start (UTC) from its id; for anything else in the archive, when it was last written."""
    found = RUN_ID.fullmatch(folder.name)
    if found:
        return dt.datetime.strptime(found.group(1), "%Y%m%dT%H%M%S")
    return _written(folder)


def _written(folder: Path) -> dt.datetime:
    newest = max((p.stat().st_mtime for p in folder.rglob("*")), default=folder.stat().st_mtime)
    return dt.datetime.fromtimestamp(max(newest, folder.stat().st_mtime), dt.UTC).replace(tzinfo=None)


def prune(settings: Settings, engine: Engine, *, actor: str, now: dt.datetime | None = None,
          dry_run: bool = False) -> PruneReport:
    """Remove what is older than the retention period (see the module's docstring); audited."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report = PruneReport(cutoff=now - dt.timedelta(days=settings.retention_days))
    last = last_good_run()
    keep = set(published_runs(Path(settings.db).absolute())) | ({last.run_id} if last else set())

    archive = Path(settings.archive_dir)
    for folder in sorted(archive.iterdir()) if archive.is_dir() else []:
        if not folder.is_dir() or _started(folder) >= report.cutoff:
            continue
        if folder.name in keep:
            report.kept.append(folder.name)
            continue
        report.runs.append(folder.name)
        report.bytes += _size(folder)
        if not dry_run:
            shutil.rmtree(folder)

    packs = Path(settings.pack_dir)
    for folder in sorted(packs.iterdir()) if packs.is_dir() else []:
        if folder.is_dir() and _written(folder) < report.cutoff:
            report.packs.append(folder.name)
            report.bytes += _size(folder)
            if not dry_run:
                shutil.rmtree(folder)

    tokens = load_models().tables["tokens"]
    expired = (tokens.c.kind == "session") & (tokens.c.expires_at < report.cutoff)
    with engine.begin() as conn:
        if dry_run:
            report.sessions = conn.execute(select(func.count()).select_from(tokens).where(expired)).scalar_one()
        else:
            report.sessions = conn.execute(delete(tokens).where(expired)).rowcount
    if not dry_run and (report.runs or report.packs or report.sessions):
        record(engine, "prune", "ok", username=actor[:64], role=actor[:32],
               detail=f"removed {report.summary()}"[:500])
    return report
