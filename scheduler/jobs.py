"""The scheduler's jobs, as plain functions: the scheduler calls them on time, tests call them directly.

Each job logs one structured line with what it did; an exception in a job is logged by APScheduler
and the next run goes ahead as planned.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.appdb import get_engine
from core.settings import get_settings
from etl.refresh import RefreshOutcome, refresh
from scheduler.history import Snapshot, store_snapshot, today_local
from core.audit import record
from scheduler.retention import PruneReport, prune
from scheduler.packs import (
    ACTOR,
    email_attachments,
    email_packs,
    listed_count,
    weekly_packs,
    weekly_subject,
    write_team_packs,
)

log = logging.getLogger("kpidash.scheduler")


def refresh_job() -> RefreshOutcome:
    """Load the live source if it changed."""
    outcome = refresh()
    level = logging.WARNING if outcome.action in ("failed", "unreachable") else logging.INFO
    log.log(level, outcome.message, extra={"job": "refresh", "action": outcome.action, "run_id": outcome.run_id})
    return outcome


def history_job() -> Snapshot:
    """Store today's published figures in the KPI history."""
    snapshot = store_snapshot(get_engine(), Path(get_settings().db))
    log.info(
        f"stored {snapshot.figures} figures as reported on {snapshot.reported_on}",
        extra={"job": "history", "run_id": snapshot.run_id},
    )
    return snapshot


def packs_job() -> list[Path]:
    """Write every team's weekly pack, and email them where SMTP is configured (child-level lists
    only with KPIDASH_PACK_EMAIL_RECORDS)."""
    settings = get_settings()
    engine = get_engine()
    weeks = weekly_packs(Path(settings.db))
    packs = write_team_packs(weeks, Path(settings.pack_dir), engine)
    attachments = email_attachments(weeks, packs, settings.pack_email_records)
    sent = email_packs(settings, attachments, weekly_subject(today_local()))
    if sent and settings.pack_email_records:
        record(engine, "export", "ok", username=ACTOR, role=ACTOR, kpi="team_pack", level="team",
               record_count=sum(listed_count(w) for w in weeks.values()), channel="scheduler",
               detail=f"{len(packs)} weekly team packs with their action lists emailed to {settings.smtp_to}")
    log.info(
        f"wrote {len(packs)} team packs to {settings.pack_dir}" + (f", emailed to {settings.smtp_to}" if sent else ""),
        extra={"job": "packs"},
    )
    return packs


def prune_job() -> PruneReport:
    """Remove child-level raw data older than KPIDASH_RETENTION_DAYS (audited when anything goes)."""
    report = prune(get_settings(), get_engine(), actor=ACTOR)
    log.info(f"removed {report.summary()}", extra={"job": "prune"})
    return report
