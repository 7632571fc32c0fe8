"""The load log: every run recorded with its files, kept across loads, readable by the API's /status."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
from pathlib import Path

import pytest
from extract_builder import build_extract
from sqlalchemy import inspect

from core.appdb import get_engine
from etl import UnknownRun, last_failed_run, last_good_run, list_runs, load_extract, run_issues


def test_no_runs_yet() -> None:
    assert list_runs() == []
    assert last_good_run() is None
    assert last_failed_run() is None
    with pytest.raises(UnknownRun, match="no loads yet"):
        run_issues()


def test_every_run_is_kept_newest_first_with_its_files(tmp_path: Path) -> None:
    good = load_extract(build_extract(tmp_path / "x", add={"referrals": [{"referral_id": "R2", "child_id": "C9"}]}))
    bad = load_extract(build_extract(tmp_path / "y", drop=["teams.csv"]))
    checked = load_extract(build_extract(tmp_path / "z"), publish=False)
    runs = list_runs()
    assert [r.run_id for r in runs] == [checked.run_id, bad.run_id, good.run_id]
    assert [r.status for r in runs] == ["checked", "failed", "published"]
    assert [r.run_id for r in list_runs(limit=2)] == [checked.run_id, bad.run_id]
    assert last_good_run().run_id == good.run_id
    assert last_failed_run().run_id == bad.run_id

    info = runs[2]
    assert info.source == str((tmp_path / "x").absolute())
    assert info.extracted_at == dt.datetime(2025, 11, 24, 6, 30)
    assert info.source_system == "test-fixture"
    assert info.started_at <= info.finished_at
    assert info.files == good.files
    assert (info.rows_read, info.rows_loaded, info.rows_rejected, info.warnings) == (10, 10, 0, 1)
    assert [f.file for f in info.files][:2] == ["teams.csv", "workers.csv"]
    assert all(len(f.sha256) == 64 for f in info.files)


def test_a_run_id_is_its_utc_start_time_and_a_random_suffix(tmp_path: Path) -> None:
    ids = [load_extract(build_extract(tmp_path / "x"), publish=False).run_id for _ in range(3)]
    assert len(set(ids)) == 3
    for run in list_runs():
        stamp, suffix = run.run_id.split("-")
        assert stamp == f"{run.started_at:%Y%m%dT%H%M%S}"
        assert len(suffix) == 4 and int(suffix, 16) >= 0


def test_issues_of_the_newest_run_or_a_named_one(tmp_path: Path, permissive) -> None:
    first = load_extract(build_extract(tmp_path / "x", add={"teams": [{"team_id": "T2", "service": ""}]}))
    second = load_extract(build_extract(tmp_path / "y"))
    assert run_issues() == []
    assert [i.message for i in run_issues(first.run_id)] == ["teams.csv line 3: service is empty (a value is required)"]
    assert run_issues(first.run_id)[0].run_id == first.run_id
    assert second.run_id != first.run_id
    with pytest.raises(UnknownRun, match="no run nope in the load log"):
        run_issues("nope")


def test_the_load_log_tables_are_plain_tables_of_the_app_database(tmp_path: Path) -> None:
    load_extract(build_extract(tmp_path / "x"))
    inspector = inspect(get_engine())
    assert {"load_runs", "load_files"} <= set(inspector.get_table_names())
    columns = {c["name"] for c in inspector.get_columns("load_files")}
    assert {"run_id", "file", "sha256", "rows_read", "rows_loaded", "rows_rejected", "warnings"} <= columns


def test_a_publish_whose_load_log_entry_cannot_be_finished_is_finished_as_published_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app database (a real SQLite file) becomes unreachable right after the warehouse is published."""
    from typer.testing import CliRunner

    from cli.main import app
    from core.settings import get_settings
    from etl import publish, runlog
    from load_support import query

    settings = get_settings()
    app_db = Path(settings.app_db.removeprefix("sqlite:///"))
    away = app_db.with_name("app.db.away")
    earlier = load_extract(build_extract(tmp_path / "one"))
    # a run of this machine left running by a load that was killed: not published, so failed later
    runlog.start_run("20250101T000000-dead", "x", dt.datetime(2025, 1, 1), host=socket.gethostname(),
                     pid=1, warehouse=str(settings.db.absolute()))
    real_replace = publish.replace_published

    def publish_then_lose_the_app_database(tmp: Path, db: Path) -> None:
        real_replace(tmp, db)
        get_engine().dispose()  # no pooled connection keeps the old file open
        app_db.rename(away)
        app_db.mkdir()  # the URL now names a folder: "unable to open database file"

    monkeypatch.setattr(publish, "replace_published", publish_then_lose_the_app_database)
    result = CliRunner().invoke(app, ["load", str(build_extract(tmp_path / "two", add={"teams": [{"team_id": "T2"}]}))])
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    assert "published the new warehouse (published: 10 rows loaded from 9 files" in result.output
    assert "it is finished as published by the next load or `kpidash serve`" in result.output
    assert "Traceback" not in result.output
    (published_id,) = query(settings.db, "SELECT run_id FROM extract_meta")[0]
    assert published_id != earlier.run_id

    app_db.rmdir()  # the app database comes back
    away.rename(app_db)
    get_engine().dispose()
    assert runlog.get_run(published_id).status == "running"
    assert last_good_run().run_id == earlier.run_id  # inconsistent with the figures, until ...

    later = load_extract(build_extract(tmp_path / "three", drop=["teams.csv"]))  # ... the next load
    assert later.status == "failed"
    fixed = runlog.get_run(published_id)
    assert (fixed.status, fixed.message) == ("published", runlog.FINISHED_LATE)
    assert (fixed.extracted_at, fixed.source_system) == (dt.datetime(2025, 11, 24, 6, 30), "test-fixture")
    assert fixed.finished_at is not None
    assert last_good_run().run_id == published_id
    dead = runlog.get_run("20250101T000000-dead")
    assert (dead.status, dead.message) == ("failed", runlog.INTERRUPTED)


def test_a_load_reads_the_published_runs_only_when_a_run_is_still_marked_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the warehouse's own metadata costs a load about 50 ms: only a run left running needs it."""
    from core.settings import get_settings
    from etl import publish, runlog

    real, reads = publish.published_runs, []

    def counted(db: Path) -> dict:
        reads.append(db)
        return real(db)

    monkeypatch.setattr(publish, "published_runs", counted)
    assert load_extract(build_extract(tmp_path / "one")).status == "published"
    assert load_extract(build_extract(tmp_path / "two")).status == "published"
    assert reads == []  # nothing left running: the published file was not opened for its runs
    runlog.start_run("20250101T000000-dead", "x", dt.datetime(2025, 1, 1), host=socket.gethostname(), pid=1,
                     warehouse=str(get_settings().db.absolute()))
    assert load_extract(build_extract(tmp_path / "three")).status == "published"
    assert len(reads) == 1
    dead = runlog.get_run("20250101T000000-dead")
    assert (dead.status, dead.message) == ("failed", runlog.INTERRUPTED)


def test_the_run_is_in_the_load_log_before_anything_is_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The load log is opened in a thread while the files are read (etl.loader._LogEntry); the publish waits."""
    import time

    from etl import publish, runlog

    from etl import runlog_sqlite

    writer = runlog_sqlite  # the load log of a SQLite file is written without SQLAlchemy (etl.loader.load_log_writer)
    real_start, real_build, seen = writer.start_run, publish.build_warehouse, []

    def slow_start(run_id: str, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        time.sleep(0.5)  # the files are read and checked meanwhile
        real_start(run_id, *args, **kwargs)

    def build(con, tmp, *, run_id: str, **kwargs) -> str | None:  # noqa: ANN001, ANN003
        run = runlog.get_run(run_id)
        seen.append(run.status if run else None)
        return real_build(con, tmp, run_id=run_id, **kwargs)

    monkeypatch.setattr(writer, "start_run", slow_start)
    monkeypatch.setattr(publish, "build_warehouse", build)
    result = load_extract(build_extract(tmp_path / "x"))
    assert result.status == "published"
    assert seen == ["running"]
    assert runlog.get_run(result.run_id).status == "published"


@pytest.mark.parametrize("broken", ["a file where its folder should be", "not a database"])
def test_a_load_log_that_cannot_be_opened_stops_the_run_and_keeps_nothing_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    from core import appdb
    from core.settings import get_settings
    from etl.loader import LoadLogUnusable

    if broken == "not a database":
        (tmp_path / "app.db").write_text("this is not SQLite", encoding="utf-8")
        url, words = f"sqlite:///{tmp_path / 'app.db'}", "file is not a database"
    else:
        (tmp_path / "file").write_text("not a folder", encoding="utf-8")
        url, words = f"sqlite:///{tmp_path / 'file' / 'app.db'}", "File exists"
    monkeypatch.setenv("KPIDASH_APP_DB", url)
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()
    extract = build_extract(tmp_path / "x")
    with pytest.raises(LoadLogUnusable, match=words):
        load_extract(extract)
    settings = get_settings()
    assert not settings.db.exists()  # nothing published
    assert not settings.archive_dir.exists() or list(settings.archive_dir.iterdir()) == []  # nothing kept of it
    appdb.get_engine.cache_clear()


def _rows(url: str) -> tuple[list[tuple], list[tuple]]:
    """load_runs and load_files as stored (SQLite's own text of every value), run by run, file by file."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as con:
        runs = con.execute("SELECT * FROM load_runs ORDER BY id").fetchall()
        files = con.execute("SELECT run_id, file, sha256, rows_read, rows_loaded, rows_rejected, warnings "
                            "FROM load_files ORDER BY run_id, id").fetchall()
    return runs, files


def test_the_sqlite_writer_stores_what_the_orm_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """etl.runlog_sqlite (a load's writes to a SQLite app database, without SQLAlchemy) and etl.runlog (the
    ORM) make the same rows from the same calls, byte for byte: runs started and finished with their files, runs
    left running marked interrupted or finished as published, another machine's left alone."""
    from core import appdb
    from core.settings import get_settings
    from etl import runlog, runlog_sqlite
    from etl.outcome import FileResult

    monkeypatch.setattr(runlog, "utcnow", lambda: dt.datetime(2025, 11, 24, 7, 0, 0, 123456))
    monkeypatch.setattr(runlog_sqlite, "utcnow", lambda: dt.datetime(2025, 11, 24, 7, 0, 0, 123456))
    files = [FileResult("teams.csv", "ab" * 32, 3, 2, 1, 4), FileResult("children.csv", None)]
    stored = []
    for writer in (runlog, runlog_sqlite):
        url = f"sqlite:///{tmp_path / writer.__name__ / 'app.db'}"
        monkeypatch.setenv("KPIDASH_APP_DB", url)
        get_settings.cache_clear()
        appdb.get_engine.cache_clear()
        appdb.get_engine()  # migrated, as by the first load
        for run_id, host in (("r1", "here"), ("r2", "here"), ("r3", "here"), ("r4", "elsewhere"), ("r5", "here")):
            writer.start_run(run_id, "/in/extract's folder", dt.datetime(2025, 11, 24, 6, 30, 1, 5), host=host,
                             pid=42, warehouse="/wh.duckdb")
        writer.finish_run("r1", "published", "published: 5 rows", extracted_at=dt.datetime(2025, 11, 24, 6, 30),
                          source_system="LCS", files=files)
        writer.finish_run("r2", "failed", "it's refused", extracted_at=None, source_system=None, files=files[:1])
        writer.start_run("r6", "x", dt.datetime(2025, 1, 1), host="here", pid=7, warehouse="/other.duckdb")
        done = writer.mark_interrupted(host="here", warehouse="/wh.duckdb",
                                       published=lambda: {"r3": (dt.datetime(2025, 11, 23, 6, 0), "LCS"),
                                                          "r4": (None, None)})
        assert sorted(done) == ["r3", "r4", "r5"]
        assert runlog.get_run("r4").status == "published"  # the warehouse says another machine's run published
        assert runlog.get_run("r1").files == files and runlog.get_run("r2").files == files[:1]  # read by the ORM
        appdb.get_engine().dispose()
        stored.append(_rows(url))
    assert stored[0] == stored[1]
    assert [r[4] for r in stored[0][0]] == ["published", "failed", "published", "published", "failed", "running"]


def test_a_load_into_a_sqlite_app_database_writes_the_load_log_without_sqlalchemy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from etl import runlog
    from etl.loader import load_log_writer

    for name in ("start_run", "finish_run", "mark_interrupted"):  # the ORM's writers must not be used
        monkeypatch.setattr(runlog, name, lambda *a, **k: pytest.fail("etl.runlog wrote a SQLite load log"))
    assert load_log_writer().__name__ == "etl.runlog_sqlite"
    result = load_extract(build_extract(tmp_path / "x"))
    assert result.status == "published"
    assert list_runs()[0].files == result.files and list_runs()[0].message == result.message


@pytest.mark.postgres
@pytest.mark.skipif(not __import__("os").environ.get("KPIDASH_TEST_PG"), reason="KPIDASH_TEST_PG names no server")
def test_a_load_writes_its_load_log_to_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Production's app database goes through SQLAlchemy (etl.runlog): an empty database migrated on first
    use, then a failed and a published run."""
    import os

    from sqlalchemy import MetaData, text

    from core import appdb
    from core.settings import get_settings
    from etl.loader import load_log_writer

    url = os.environ["KPIDASH_TEST_PG"]
    engine = appdb.make_engine(url)
    with engine.begin() as conn:  # empty, as a new deployment's
        meta = MetaData()
        meta.reflect(conn)
        meta.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    monkeypatch.setenv("KPIDASH_APP_DB", url)
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()
    try:
        assert load_log_writer().__name__ == "etl.runlog"
        bad = load_extract(build_extract(tmp_path / "bad", drop=["teams.csv"]))
        good = load_extract(build_extract(tmp_path / "good"))
        assert (bad.status, good.status) == ("failed", "published")
        with engine.connect() as conn:
            runs = conn.execute(text("SELECT id, status, message FROM load_runs ORDER BY started_at, id")).fetchall()
            files = conn.execute(text("SELECT count(*) FROM load_files WHERE run_id = :r"), {"r": good.run_id}).scalar()
        assert [tuple(r) for r in runs] == [(bad.run_id, "failed", bad.message),
                                            (good.run_id, "published", good.message)]
        assert files == len(good.files) == 9
        assert list_runs()[0].files == good.files
    finally:
        appdb.get_engine().dispose()
        engine.dispose()
