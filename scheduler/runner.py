"""`kpidash scheduler`: the deployment's one scheduler process (APScheduler 3, BlockingScheduler).

Jobs never overlap themselves (max_instances=1), a run missed while the process was down or busy is
run once, not once per missed slot (coalesce), and only within a grace period.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    EVENT_SCHEDULER_STARTED,
)
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.settings import Settings, get_settings
from scheduler import jobs
from scheduler.history import LONDON
from scheduler.leader import leader_lock
from scheduler.logs import configure_json_logging
from scheduler.state import clear_next_runs, write_next_runs

log = logging.getLogger("kpidash.scheduler")
MISFIRE_GRACE_SECONDS = 3600
PRUNE_TIME = (2, 30)  # nightly, London time: after the history snapshot, before the working day


class ScheduleError(Exception):
    """A schedule setting cannot be used: the message names it."""


def _history_trigger(settings: Settings) -> CronTrigger:
    try:
        hour, minute = (int(part) for part in settings.history_time.split(":"))
        return CronTrigger(hour=hour, minute=minute, timezone=LONDON)
    except ValueError:
        raise ScheduleError(f"KPIDASH_HISTORY_TIME is {settings.history_time!r}, not a time like 23:30") from None


def _pack_trigger(settings: Settings) -> CronTrigger:
    try:
        return CronTrigger(day_of_week=settings.pack_day, hour=7, minute=0, timezone=LONDON)
    except ValueError:
        raise ScheduleError(f"KPIDASH_PACK_DAY is {settings.pack_day!r}, not a day like mon, tue ... sun") from None


def build_scheduler(settings: Settings, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """The deployment's jobs on a (not yet started) scheduler; next run times go beside the warehouse."""
    if settings.refresh_minutes <= 0:
        raise ScheduleError(f"KPIDASH_REFRESH_MINUTES is {settings.refresh_minutes:g}; it must be more than 0")
    scheduler = scheduler or BlockingScheduler(timezone=LONDON)
    defaults = {"max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS}
    if settings.drop_dir is not None or settings.sql_source_config is not None or settings.ssd_url is not None:
        scheduler.add_job(jobs.refresh_job, IntervalTrigger(minutes=settings.refresh_minutes, timezone=LONDON),
                          id="refresh", name="refresh from the live source", **defaults)
    scheduler.add_job(jobs.history_job, _history_trigger(settings), id="history", name="nightly KPI history",
                      **defaults)
    scheduler.add_job(jobs.packs_job, _pack_trigger(settings), id="packs", name="weekly team packs", **defaults)
    scheduler.add_job(jobs.prune_job, CronTrigger(hour=PRUNE_TIME[0], minute=PRUNE_TIME[1], timezone=LONDON),
                      id="prune", name="nightly retention (kpidash prune)", **defaults)
    db = Path(settings.db)

    def publish_next_runs(_event: object = None) -> None:
        # A job finishing while the scheduler shuts down calls this on the job's thread, and shutdown
        # holds the job-store lock that get_jobs needs until that thread ends: skip once it is stopping
        # (shutdown says so before it takes the lock). Nothing is due after a stop anyway.
        if scheduler.state == STATE_STOPPED:
            return
        write_next_runs(db, {job.id: job.next_run_time for job in scheduler.get_jobs()})

    scheduler.add_listener(
        publish_next_runs,
        EVENT_SCHEDULER_STARTED | EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED,
    )
    return scheduler


def run_scheduler() -> None:
    """Hold the leader lock and run the jobs until stopped (NotLeader if another scheduler runs)."""
    configure_json_logging()
    settings = get_settings()
    # `docker stop` sends SIGTERM, and a container's first process gets no default handler for it:
    # stop as on Ctrl-C (a job still running finishes first), not after the engine's kill timeout.
    signal.signal(signal.SIGTERM, _interrupt)
    with leader_lock(Path(settings.db).absolute()):
        scheduler = build_scheduler(settings)
        log.info("scheduler started", extra={"detail": [j.id for j in scheduler.get_jobs()]})
        try:
            scheduler.start()
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=True)
            clear_next_runs(Path(settings.db))  # before the lock goes: a new leader writes its own


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
