"""All or nothing: a new warehouse appears in one step, readers of the old one carry on, a killed load
changes nothing, and loading the same extract twice gives the same tables."""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from extract_builder import build_extract
from load_support import query

from core.settings import get_settings
from etl import list_runs, load_extract
from etl.contract import TABLES
from etl.runlog import INTERRUPTED, start_run, utcnow


def _tables(db: Path) -> dict[str, list[tuple]]:
    return {t.name: query(db, f"SELECT * FROM {t.name} ORDER BY {t.key}") for t in TABLES}


def test_a_reader_of_the_old_warehouse_keeps_reading_it(tmp_path: Path) -> None:
    first = load_extract(build_extract(tmp_path / "one"))
    db = get_settings().db
    import duckdb

    with duckdb.connect(str(db), read_only=True) as old:
        second = load_extract(build_extract(tmp_path / "two", add={"referrals": [{"referral_id": "R2"}]}))
        assert second.status == "published"
        assert old.execute("SELECT run_id FROM extract_meta").fetchall() == [(first.run_id,)]
        assert old.execute("SELECT referral_id FROM referrals").fetchall() == [("R1",)]
    assert query(db, "SELECT run_id FROM extract_meta") == [(second.run_id,)]
    assert query(db, "SELECT referral_id FROM referrals ORDER BY 1") == [("R1",), ("R2",)]


def test_loading_the_same_extract_twice_gives_the_same_tables(tmp_path: Path) -> None:
    folder = build_extract(
        tmp_path / "x",
        add={"referrals": [{"referral_id": "R0", "referral_date": "2024-12-01"}, {"referral_id": "R9", "nfa": ""}]},
    )
    db = get_settings().db
    first = load_extract(folder)
    before, issues_before = _tables(db), query(db, "SELECT * EXCLUDE (run_id) FROM load_issues")
    second = load_extract(folder)
    assert first.run_id != second.run_id
    assert _tables(db) == before
    assert query(db, "SELECT * EXCLUDE (run_id) FROM load_issues") == issues_before
    # and in the file's order, not just as sets
    assert query(db, "SELECT referral_id FROM referrals") == [("R1",), ("R0",), ("R9",)]
    assert [f.sha256 for f in first.files] == [f.sha256 for f in second.files]


def test_check_publishes_nothing(tmp_path: Path) -> None:
    db = get_settings().db
    result = load_extract(build_extract(tmp_path / "x"), publish=False)
    assert (result.status, result.message) == (
        "checked", "checked, nothing published: 9 rows loaded from 9 files, 0 rejected, 0 warnings"
    )
    assert not db.exists()
    assert (get_settings().archive_dir / result.run_id / "SHA256SUMS").exists()

    published = load_extract(build_extract(tmp_path / "y"))
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    checked = load_extract(build_extract(tmp_path / "z", add={"teams": [{"team_id": "T2"}]}), publish=False)
    assert checked.status == "checked"
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert query(db, "SELECT run_id FROM extract_meta") == [(published.run_id,)]
    assert [r.status for r in list_runs()] == ["checked", "published", "checked"]


def test_leftovers_of_killed_loads_are_removed(tmp_path: Path) -> None:
    db = get_settings().db
    db.parent.mkdir(parents=True)
    stale = [db.with_name(f"{db.name}.20250101T000000-dead.tmp"), db.with_name(f"{db.name}.20250101T000000-dead.tmp.wal")]
    for path in stale:
        path.write_bytes(b"half a warehouse")
    other = db.with_name("notes.tmp")
    other.write_bytes(b"not ours")
    assert load_extract(build_extract(tmp_path / "x")).status == "published"
    assert [p.exists() for p in stale] == [False, False]
    assert other.exists()


def test_a_second_load_while_one_runs_is_refused(tmp_path: Path) -> None:
    db = get_settings().db
    db.parent.mkdir(parents=True)
    with open(db.with_name(db.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running load holds it
        result = load_extract(build_extract(tmp_path / "x"))
    assert (result.status, result.message) == (
        "failed", f"another load into {db} is running; try again when it has finished"
    )
    assert not db.exists()
    assert load_extract(build_extract(tmp_path / "x")).status == "published"


def test_a_running_run_of_another_warehouse_is_left_alone(tmp_path: Path) -> None:
    start_run("20250101T000000-beef", "elsewhere", utcnow(), host=os.uname().nodename, pid=1, warehouse="/srv/other.duckdb")
    load_extract(build_extract(tmp_path / "x"))
    assert {r.run_id: r.status for r in list_runs()}["20250101T000000-beef"] == "running"


# The child process pauses at a known point of the build (by wrapping one function of etl.publish)
# and says so through a flag file; the test then kills it with SIGKILL.
KILLED_LOAD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import etl.publish as publish

    flag, point = Path(sys.argv[2]), sys.argv[3]

    def pause():
        flag.write_text("paused")
        time.sleep(120)

    if point == "mid-build":  # some tables written into the new file, not yet checkpointed
        real_ddl = publish.warehouse_ddl
        def ddl(table):
            if table.name == "episodes":
                pause()
            return real_ddl(table)
        publish.warehouse_ddl = ddl
    else:  # the new file complete, about to replace the published one
        publish.replace_published = lambda tmp, db: pause()

    from etl import load_extract
    load_extract(Path(sys.argv[1]))
    """
)


@pytest.mark.parametrize("point", ["mid-build", "before-replace"])
def test_a_load_killed_midway_leaves_the_published_warehouse_untouched(tmp_path: Path, point: str) -> None:
    first = load_extract(build_extract(tmp_path / "one"))
    db = get_settings().db
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    flag = tmp_path / "paused"
    two = build_extract(tmp_path / "two", add={"referrals": [{"referral_id": "R2"}]})

    child = subprocess.Popen([sys.executable, "-c", KILLED_LOAD, str(two), str(flag), point], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert child.poll() is None, "the load ended before it reached the pause"
            assert time.monotonic() < deadline, "the load never reached the pause"
            time.sleep(0.02)
        tmp_files = [p for p in db.parent.iterdir() if p.name.startswith(db.name + ".") and ".tmp" in p.name]
        assert tmp_files, "the new warehouse should be under construction"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()

    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert query(db, "SELECT run_id FROM extract_meta") == [(first.run_id,)]
    killed = list_runs()[0]
    assert killed.status == "running"

    after = load_extract(two)
    assert after.status == "published"
    statuses = {r.run_id: (r.status, r.message) for r in list_runs()}
    assert statuses[killed.run_id] == ("failed", INTERRUPTED)
    assert query(db, "SELECT referral_id FROM referrals ORDER BY 1") == [("R1",), ("R2",)]
    assert [p.name for p in db.parent.iterdir() if ".tmp" in p.name] == []


def test_each_publish_keeps_an_independent_copy_of_what_it_published(tmp_path: Path) -> None:
    db = get_settings().db
    kept = db.with_name(db.name + ".last-good")
    first = load_extract(build_extract(tmp_path / "one"))
    assert query(kept, "SELECT run_id FROM extract_meta") == [(first.run_id,)]
    second = load_extract(build_extract(tmp_path / "two", add={"referrals": [{"referral_id": "R2"}]}))
    assert second.status == "published"
    assert query(kept, "SELECT run_id FROM extract_meta") == [(second.run_id,)]
    assert _tables(kept) == _tables(db)
    assert kept.stat().st_ino != db.stat().st_ino and kept.stat().st_nlink == 1  # a copy, not a link
    assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name)) == [
        "warehouse.duckdb", "warehouse.duckdb.last-good", "warehouse.duckdb.lock"]

    # bytes written over the published file in place do not reach the kept copy
    with open(db, "r+b") as f:
        f.write(b"\0" * db.stat().st_size)
    assert query(kept, "SELECT referral_id FROM referrals ORDER BY 1") == [("R1",), ("R2",)]


def test_a_failed_load_leaves_the_kept_copy_as_it_was(tmp_path: Path) -> None:
    db = get_settings().db
    kept = db.with_name(db.name + ".last-good")
    good = load_extract(build_extract(tmp_path / "one"))
    digest = hashlib.sha256(kept.read_bytes()).hexdigest()
    bad = load_extract(build_extract(tmp_path / "two", drop=["teams.csv"]))
    assert bad.status == "failed"
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == digest
    assert query(kept, "SELECT run_id FROM extract_meta") == [(good.run_id,)]
