"""The scheduler: one per deployment, jobs that never overlap themselves, next run times for /status."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

import etl
from core.settings import get_settings
from scheduler.leader import NotLeader, leader_lock
from scheduler.runner import ScheduleError, build_scheduler
from scheduler.state import next_refresh, read_next_runs, write_next_runs

HOLD_LOCK = """
import sys
from pathlib import Path
from scheduler.leader import leader_lock
with leader_lock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_only_one_scheduler_holds_the_lock_and_a_dead_one_lets_go(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    other = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert other.stdout.readline().strip() == "held"
        with pytest.raises(NotLeader, match=rf"already running .*pid {other.pid}"):
            with leader_lock(db):
                pass
    finally:
        other.kill()
        other.wait(timeout=10)
        other.stdout.close()
        other.stdin.close()
    with leader_lock(db):  # the killed scheduler's lock went with it
        pass


def test_the_jobs_never_overlap_coalesce_and_run_on_the_configured_interval(drop: Path, monkeypatch) -> None:
    monkeypatch.setenv("KPIDASH_REFRESH_MINUTES", "20")
    get_settings.cache_clear()
    sched = build_scheduler(get_settings(), BackgroundScheduler())
    sched.start(paused=True)
    try:
        jobs = {job.id: job for job in sched.get_jobs()}
        assert set(jobs) == {"refresh", "history", "packs", "prune"}
        assert all(j.max_instances == 1 and j.coalesce is True and j.misfire_grace_time == 3600 for j in jobs.values())
        assert jobs["refresh"].trigger.interval == dt.timedelta(minutes=20)
        assert str(jobs["history"].trigger.fields[5]) == "23" and str(jobs["history"].trigger.fields[6]) == "30"
        assert str(jobs["prune"].trigger.fields[5]) == "2" and str(jobs["prune"].trigger.fields[6]) == "30"  # nightly
        written = read_next_runs(get_settings().db)  # on start, before any job ran
        assert written["refresh"] == jobs["refresh"].next_run_time
        assert next_refresh(get_settings().db) == jobs["refresh"].next_run_time
    finally:
        sched.shutdown(wait=False)


def test_no_refresh_job_without_a_source_and_bad_schedule_settings_are_named(monkeypatch) -> None:
    sched = build_scheduler(get_settings(), BackgroundScheduler())
    assert {j.id for j in sched.get_jobs()} == {"history", "packs", "prune"}
    for name, value, words in (("KPIDASH_HISTORY_TIME", "half past eleven", "KPIDASH_HISTORY_TIME"),
                               ("KPIDASH_PACK_DAY", "someday", "KPIDASH_PACK_DAY"),
                               ("KPIDASH_REFRESH_MINUTES", "0", "KPIDASH_REFRESH_MINUTES")):
        monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        with pytest.raises(ScheduleError, match=words):
            build_scheduler(get_settings(), BackgroundScheduler())
        monkeypatch.delenv(name)


def test_a_refresh_still_running_is_not_started_again(drop: Path, monkeypatch) -> None:
    """A refresh that outlasts its interval (here: the settle wait) is skipped, not run twice at once."""
    monkeypatch.setenv("KPIDASH_REFRESH_MINUTES", str(0.05 / 60))  # every 50 ms
    monkeypatch.setenv("KPIDASH_STABLE_SECONDS", "0.4")
    get_settings.cache_clear()
    sched = build_scheduler(get_settings(), BackgroundScheduler())
    skipped, done = [], threading.Event()
    sched.add_listener(lambda e: skipped.append(e), EVENT_JOB_MAX_INSTANCES)
    sched.add_listener(lambda e: done.set() if e.job_id == "refresh" else None, EVENT_JOB_EXECUTED)
    sched.start()
    try:
        assert done.wait(timeout=10)
    finally:
        sched.shutdown(wait=True)
    assert skipped, "a second refresh should have been refused while the first was running"
    runs = etl.list_runs(10)
    assert len(runs) == 1 and runs[0].status == "published"


def test_status_gives_the_next_scheduled_run(tmp_path: Path) -> None:
    """The file the scheduler writes is what /api/v1/status reads (an unreadable one reads as none)."""
    db = tmp_path / "w.duckdb"
    assert next_refresh(db) is None
    when = dt.datetime(2025, 11, 24, 9, 15, tzinfo=dt.UTC)
    write_next_runs(db, {"refresh": when, "history": None})
    assert read_next_runs(db) == {"refresh": when, "history": None}
    (tmp_path / "w.duckdb.schedule.json").write_text("{not json", encoding="utf-8")
    assert next_refresh(db) is None


def test_the_scheduler_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """`docker stop` sends SIGTERM: the scheduler stops at once (exit 0), not when the engine kills it."""
    import os
    import signal
    import time

    env = {**os.environ, "KPIDASH_DB": str(tmp_path / "warehouse.duckdb"),
           "KPIDASH_APP_DB": f"sqlite:///{tmp_path / 'app.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "scheduler"], env=env, stderr=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.monotonic() + 60
        while "scheduler started" not in proc.stderr.readline():
            assert time.monotonic() < deadline and proc.poll() is None
        while "history" not in read_next_runs(tmp_path / "warehouse.duckdb"):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert "scheduler stopped" in proc.stderr.read()
        assert read_next_runs(tmp_path / "warehouse.duckdb") == {}, "a stopped scheduler has no next run (/status)"
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()


def test_stopping_while_a_job_finishes_does_not_hang() -> None:
    """APScheduler's shutdown(wait=True) holds its job-store lock while it waits for running jobs; the
    next-runs listener, called on the job's thread as it finishes, must not wait for that lock (it did:
    a whole-suite run hung here at load 12, and `docker stop` would have hung the same way)."""
    sched = build_scheduler(get_settings(), BackgroundScheduler())
    started, release = threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        release.wait(10)

    # due at once, then hourly (a one-off job would be removed after it is submitted, and APScheduler cannot
    # remove a job once shutdown has begun: a JobLookupError of its own)
    sched.add_job(slow, "interval", hours=1, next_run_time=dt.datetime.now(dt.UTC), id="slow")
    sched.start()
    assert started.wait(10)
    stopper = threading.Thread(target=sched.shutdown, kwargs={"wait": True}, daemon=True)
    stopper.start()
    while sched.state != STATE_STOPPED:  # shutdown has begun: it now waits for `slow`, holding the lock
        time.sleep(0.01)
    time.sleep(0.1)
    release.set()
    stopper.join(timeout=10)
    assert not stopper.is_alive(), "shutdown hung: the listener waited for the lock shutdown holds"
