"""Retention: `kpidash prune` removes child-level raw data older than KPIDASH_RETENTION_DAYS, keeps the
last good load's input whatever its age, and leaves an audit entry."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import typer
from extract_builder import build_extract
from typer.testing import CliRunner

from api import accounts, audit
from cli import api_commands, data_commands, etl_commands
from core.appdb import get_engine
from core.settings import get_settings
from etl import list_runs, load_extract
from scheduler import jobs
from scheduler.retention import prune

app = typer.Typer()
data_commands.register(app)
etl_commands.register(app)
api_commands.register(app)
runner = CliRunner()
BAD_DATE = {"assessments": [{"assessment_id": "A2", "authorised_date": "31/05/2025"}]}
LATER = dt.timedelta(days=31)  # "now" for the prune: every run made by this test is 31 days old


def _age(path: Path, days: int) -> None:
    when = (dt.datetime.now() - dt.timedelta(days=days)).timestamp()
    for p in [path, *path.rglob("*")]:
        os.utime(p, (when, when))


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A good load, a failed one, then another good one (the last good), a pack folder, sessions."""
    monkeypatch.setenv("KPIDASH_PACK_DIR", str(tmp_path / "packs"))
    get_settings.cache_clear()
    good = load_extract(build_extract(tmp_path / "a")).run_id
    failed = load_extract(build_extract(tmp_path / "b", add=BAD_DATE)).run_id
    last = load_extract(build_extract(tmp_path / "c")).run_id
    packs = Path(get_settings().pack_dir)
    (packs / "2025-10-06").mkdir(parents=True)
    (packs / "2025-10-06" / "T1.xlsx").write_bytes(b"pack")
    engine = get_engine()
    accounts.add_user(engine, "ana.lyst", "analyst", None, None, "A-long-enough-pass-1")
    accounts.sign_in(engine, get_settings(), "ana.lyst", "A-long-enough-pass-1", "127.0.0.1")
    return {"good": good, "failed": failed, "last": last}


def test_prune_removes_old_runs_failed_ones_too_and_keeps_the_last_good_load(history: dict[str, str]) -> None:
    settings, archive = get_settings(), Path(get_settings().archive_dir)
    assert {p.name for p in archive.iterdir()} == set(history.values())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    early = prune(settings, get_engine(), actor="test", now=now + dt.timedelta(days=29))
    assert (early.runs, early.sessions) == ([], 0), "nothing is 30 days old yet"
    assert audit.entries(get_engine(), event="prune") == [], "a prune that removes nothing leaves no entry"

    _age(Path(settings.pack_dir) / "2025-10-06", days=31)
    report = prune(settings, get_engine(), actor="test", now=now + LATER)
    assert sorted(report.runs) == sorted([history["good"], history["failed"]])
    assert report.kept == [history["last"]]
    assert report.packs == ["2025-10-06"] and report.sessions == 1 and report.bytes > 0
    assert {p.name for p in archive.iterdir()} == {history["last"]}
    assert (archive / history["last"] / "referrals.csv").is_file(), "the last good load can be loaded again"
    assert not (Path(settings.pack_dir) / "2025-10-06").exists()
    [entry] = audit.entries(get_engine(), event="prune")
    assert entry.username == "test" and entry.outcome == "ok"
    assert entry.detail.startswith("removed 2 archived run folders, 1 weekly pack folders, 1 expired sign-in sessions")
    assert f"kept the input of {history['last']}" in entry.detail
    # the load log keeps its entries (no child-level data): only the raw files went
    assert {r.run_id for r in list_runs()} == set(history.values())


def test_the_retention_period_is_a_setting_and_a_dry_run_removes_nothing(history: dict[str, str],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIDASH_RETENTION_DAYS", "90")
    get_settings.cache_clear()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert prune(get_settings(), get_engine(), actor="test", now=now + LATER).runs == []
    monkeypatch.setenv("KPIDASH_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    dry = prune(get_settings(), get_engine(), actor="test", now=now + LATER, dry_run=True)
    assert sorted(dry.runs) == sorted([history["good"], history["failed"]]) and dry.sessions == 1
    assert len(list(Path(get_settings().archive_dir).iterdir())) == 3
    assert audit.entries(get_engine(), event="prune") == []


def test_kpidash_prune_and_the_nightly_job_and_rejects_of_a_pruned_run(history: dict[str, str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["prune", "--dry-run"], catch_exceptions=False)
    assert result.exit_code == 0 and result.stdout.startswith("Would remove 0 archived run folders")
    # two runs made two days old: with a one-day retention the nightly job removes them
    for name in (history["good"], history["failed"]):
        folder = Path(get_settings().archive_dir) / name
        os.rename(folder, folder.with_name(_a_day_earlier(name)))
    monkeypatch.setenv("KPIDASH_RETENTION_DAYS", "1")
    get_settings.cache_clear()
    report = jobs.prune_job()
    assert len(report.runs) == 2 and report.kept == []
    [pruned] = audit.entries(get_engine(), event="prune")
    assert pruned.username == "scheduler" and "2" in pruned.detail
    shown = runner.invoke(app, ["audit", "--event", "prune"], catch_exceptions=False).stdout
    assert "prune" in shown and pruned.detail in shown, "what was removed is shown (an audit: no detail column)"
    gone = runner.invoke(app, ["rejects", history["failed"]])
    assert gone.exit_code == 1
    assert "no longer kept" in gone.stderr and "KPIDASH_RETENTION_DAYS" in gone.stderr


def _a_day_earlier(run_id: str) -> str:
    stamp, _, suffix = run_id.partition("-")
    earlier = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S") - dt.timedelta(days=2)
    return f"{earlier:%Y%m%dT%H%M%S}-{suffix}"
