"""The SSD read from a database (KPIDASH_SSD_URL, KPIDASH_SSD_SCHEMA) by the refresh, as the scheduler does:
SQLite and DuckDB files always, PostgreSQL where KPIDASH_TEST_PG names one."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import create_engine, text
from ssd_builder import build_ssd
from ssd_database_support import fill_database

from core.settings import get_settings
from etl import run_issues
from etl.refresh import refresh, source_description

PG_URL = os.environ.get("KPIDASH_TEST_PG")
PG_SCHEMA = "kpidash_ssd_test"


@pytest.fixture(params=["sqlite", "duckdb", pytest.param("postgresql", marks=pytest.mark.skipif(
    PG_URL is None, reason="KPIDASH_TEST_PG does not name a PostgreSQL server"))])
def ssd_database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str | None]]:
    """An SSD database and its schema (SQLite: none; DuckDB: ssd; PostgreSQL: a schema of its own), named
    by KPIDASH_SSD_URL and KPIDASH_SSD_SCHEMA."""
    url, schema = {
        "sqlite": (f"sqlite:///{tmp_path / 'ssd.db'}", None),
        "duckdb": (f"duckdb:///{tmp_path / 'reporting.duckdb'}", "ssd"),
        "postgresql": (PG_URL, PG_SCHEMA),
    }[request.param]
    monkeypatch.setenv("KPIDASH_SSD_URL", url)  # type: ignore[arg-type]
    if schema:
        monkeypatch.setenv("KPIDASH_SSD_SCHEMA", schema)
    monkeypatch.setenv("KPIDASH_MAX_REJECT_PCT", "100")
    get_settings.cache_clear()
    yield url, schema  # type: ignore[misc]
    if request.param == "postgresql":
        engine = create_engine(url)  # type: ignore[arg-type]
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        engine.dispose()


def _query(sql: str) -> list[tuple]:
    with duckdb.connect(str(get_settings().db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_ssd_is_read_from_the_database_and_reloaded_only_when_it_changes(ssd_database, tmp_path: Path) -> None:
    url, schema = ssd_database
    folder = build_ssd(tmp_path / "ssd", manifest=False, rows={
        "ssd_cin_episodes": [{"cine_referral_date": "2025-01-06 09:30:00"}],
        "ssd_professionals": [{"prof_full_time_equivalency": "0.5"}],
    })
    fill_database(url, schema, folder, typed=True)
    assert source_description(get_settings()).startswith("SSD database ")
    before = dt.datetime.now().replace(microsecond=0) - dt.timedelta(seconds=5)
    first = refresh()
    assert first.action == "loaded", first.message
    assert _query("SELECT referral_id, referral_date, team_id FROM referrals") == [("R1", dt.date(2025, 1, 6), "T1")]
    assert _query("SELECT fte, qualified FROM workers") == [(0.5, True)]
    assert _query("SELECT start_time FROM missing_episodes") == [(dt.datetime(2025, 2, 1, 10, 0),)]
    source_system, extracted_at = _query("SELECT source_system, extracted_at FROM extract_meta")[0]
    assert source_system == "ssd" and extracted_at >= before  # a database's extract is dated at the read
    assert refresh().action == "unchanged"
    fill_database(url, schema, build_ssd(tmp_path / "ssd2", manifest=False, rows={
        "ssd_department": [{"dept_team_name": "Team Mossbank"}]}), typed=True)
    second = refresh()
    assert second.action == "loaded", second.message
    assert _query("SELECT team_name FROM teams") == [("Team Mossbank",)]


def test_rejects_name_the_table_and_the_source_row_number(ssd_database, tmp_path: Path) -> None:
    url, schema = ssd_database
    folder = build_ssd(tmp_path / "ssd", manifest=False, add={"ssd_cin_episodes": [
        {"cine_referral_id": "R0", "cine_referral_date": "2025-03-01", "cine_close_date": "2025-02-01"},
        {"cine_referral_id": "R3", "cine_referral_nfa": "NA"},
    ]})
    fill_database(url, schema, folder)
    outcome = refresh()
    assert outcome.action == "loaded", outcome.message
    messages = [i.message for i in run_issues(outcome.run_id)]
    # rows are numbered in id order as read (R0, R1, R3): R0 is row 1, R3 row 3
    assert ('ssd_cin_episodes line 1: cine_close_date "2025-02-01" is before cine_referral_date "2025-03-01": '
            "the CIN episode is not loaded") in messages
    assert ('ssd_cin_episodes: cine_referral_nfa "NA" is not a flag (Y/N, 1/0, Yes/No or True/False, in any case) '
            "in 1 row (first on row 3): taken as empty") in messages


def test_a_table_the_database_lacks_fails_the_load_naming_it(ssd_database, tmp_path: Path) -> None:
    url, schema = ssd_database
    fill_database(url, schema, build_ssd(tmp_path / "ssd", manifest=False), skip=("ssd_missing",))
    outcome = refresh()
    assert outcome.action == "failed"
    assert outcome.message == "the SSD cannot be loaded: ssd_missing.csv is missing"
    assert not get_settings().db.exists()


def test_an_unreachable_database_is_reported_not_remembered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KPIDASH_SSD_URL", f"duckdb:///{tmp_path / 'nowhere.duckdb'}")
    get_settings.cache_clear()
    outcome = refresh()
    assert outcome.action == "unreachable"
    assert "does not exist" in outcome.message
    monkeypatch.setenv("KPIDASH_SSD_URL", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    get_settings.cache_clear()
    outcome = refresh()
    assert outcome.action == "unreachable" and "secret" not in outcome.message


def test_the_scheduler_refreshes_and_the_doctor_checks_an_ssd_database(ssd_database, tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from scheduler.doctor import check_source
    from scheduler.runner import build_scheduler

    url, schema = ssd_database
    assert "refresh" in {job.id for job in build_scheduler(get_settings(), BackgroundScheduler()).get_jobs()}
    fill_database(url, schema, build_ssd(tmp_path / "ssd", manifest=False), skip=("ssd_missing", "ssd_disability"))
    lacking = check_source(get_settings())
    assert (lacking.result, lacking.detail.endswith("lacks ssd_missing")) == ("warn", True), lacking
    fill_database(url, schema, build_ssd(tmp_path / "ssd", manifest=False))
    ok = check_source(get_settings())
    assert ok.result == "ok" and "holds every SSD table kpidash needs" in ok.detail and "PASSWORD" not in ok.detail
