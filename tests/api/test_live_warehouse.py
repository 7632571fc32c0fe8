"""The API's hold on the published warehouse: new versions swapped in, old ones closed only when no
request still uses them, and a clear reason when there is nothing to serve."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from api.live_warehouse import LiveWarehouse, WarehouseUnavailable
from kpis import open_warehouse

TEAMS_V1 = [("T1", "Duckpond Assessment", "Front Door")]
TEAMS_V2 = [("T1", "Duckpond Assessment", "Front Door"), ("T2", "Moonbeam Care", "Care Management")]


def _live(path: Path) -> tuple[LiveWarehouse, list]:
    """A live warehouse over `path` that looks at every request, and the run ids it swaps in (None: gone)."""
    swaps: list = []
    return LiveWarehouse(path, open_warehouse, on_swap=swaps.append, check_interval=0), swaps


@pytest.fixture
def warehouse(tmp_path: Path, publish_tiny) -> Path:
    """tmp_path/warehouse.duckdb, published by run-1 with one team (TEAMS_V1)."""
    path = tmp_path / "warehouse.duckdb"
    publish_tiny(path, "run-1", TEAMS_V1)
    return path


def test_nothing_published_is_unavailable_with_what_to_do(tmp_path: Path) -> None:
    live, _ = _live(tmp_path / "warehouse.duckdb")
    with pytest.raises(WarehouseUnavailable, match="No warehouse has been published .*kpidash load"):
        live.acquire()
    assert "kpidash load" in live.problem


def test_an_unreadable_file_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(b"this is not a duckdb file" * 100)
    with pytest.raises(WarehouseUnavailable, match="cannot be read"):
        _live(path)[0].acquire()


def test_a_new_version_is_swapped_in_and_the_old_one_closes_after_its_last_request(
    warehouse: Path, publish_tiny
) -> None:
    live, swaps = _live(warehouse)
    held = live.acquire()  # a request in flight on version 1
    assert held.warehouse.run_id == "run-1"

    publish_tiny(warehouse, "run-2", TEAMS_V2)
    with live.use() as new:
        assert new.warehouse.run_id == "run-2"
        assert [t["team_id"] for t in new.warehouse.teams()] == ["T1", "T2"]
    assert swaps == ["run-1", "run-2"]

    # the request on version 1 still reads version 1 (the old inode), undisturbed
    with held.warehouse.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM wh.teams").fetchone() == (1,)
    live.release(held)  # its last user lets go: now it is closed
    with pytest.raises(duckdb.Error):
        held.warehouse.cursor()
    live.close()


def test_the_same_file_is_not_reopened(warehouse: Path) -> None:
    live, swaps = _live(warehouse)
    with live.use() as first:
        pass
    with live.use() as second:
        assert second is first
    assert swaps == ["run-1"]
    live.close()


def test_a_removed_warehouse_becomes_unavailable(warehouse: Path) -> None:
    live, swaps = _live(warehouse)
    with live.use():
        pass
    warehouse.unlink()
    with pytest.raises(WarehouseUnavailable, match="No warehouse has been published"):
        live.acquire()
    assert swaps == ["run-1", None]


def test_the_file_is_looked_at_at_most_once_per_interval(warehouse: Path, publish_tiny) -> None:
    live = LiveWarehouse(warehouse, open_warehouse, check_interval=3600)
    with live.use():
        pass
    publish_tiny(warehouse, "run-2", TEAMS_V1)
    with live.use() as version:  # within the interval: still the version in hand, no stat, no reopen
        assert version.warehouse.run_id == "run-1"
    live.close()


def test_a_request_on_the_event_loop_hands_over_to_a_thread_only_to_open_a_version(
    warehouse: Path, publish_tiny
) -> None:
    """must_open() is the async routes' question: the look itself (one stat) is done in place, and only an
    open (nothing in hand, or the file changed) needs a worker thread (refresh_if_due)."""
    live, swaps = _live(warehouse)
    assert live.must_open()  # nothing in hand yet
    live.refresh_if_due()
    assert swaps == ["run-1"]
    assert not live.must_open()  # due (interval 0), looked at, unchanged: no hand-over
    assert not live.must_open()
    publish_tiny(warehouse, "run-2", TEAMS_V2)
    assert live.must_open()  # changed: the thread opens it
    assert live.must_open()  # and says so until it has
    live.refresh_if_due()
    assert swaps == ["run-1", "run-2"]
    assert not live.must_open()
    warehouse.unlink()
    assert live.must_open()  # gone: the thread finds out and says why
    live.refresh_if_due()
    assert swaps[-1] is None and live.must_open()  # nothing in hand again
    live.close()


def test_with_nothing_in_hand_a_publish_is_served_at_once_not_after_the_interval(tmp_path: Path, publish_tiny) -> None:
    """The watcher looks every interval; a request just after a publish (before the next look) heard
    "nothing published" (the container test: load, add a user, sign in, ask, all inside a second)."""
    path = tmp_path / "warehouse.duckdb"
    live = LiveWarehouse(path, open_warehouse, check_interval=3600)
    with pytest.raises(WarehouseUnavailable, match="No warehouse has been published"):
        live.acquire()
    assert not live.must_open(), "the same missing file is not looked at again within the interval"
    publish_tiny(path, "run-1", TEAMS_V1)
    assert live.must_open()
    with live.use() as version:
        assert version.warehouse.run_id == "run-1"
    live.close()


def test_a_request_while_the_first_version_opens_waits_for_it_rather_than_hear_nothing_is_published(
    warehouse: Path,
) -> None:
    """The watcher (or another request) marks the file as looked at, then opens it: a request in that
    window used to get 503 "No warehouse has been published" with the file right there."""
    opening, may_finish = threading.Event(), threading.Event()

    def slow_open(path: Path):  # noqa: ANN202
        opening.set()
        assert may_finish.wait(10)
        return open_warehouse(path)

    live = LiveWarehouse(warehouse, slow_open, check_interval=3600)
    watcher = threading.Thread(target=live.refresh_if_due)
    watcher.start()
    assert opening.wait(10)
    assert live.must_open(), "an async request is sent to a thread to wait, not answered from the event loop"
    got: list = []
    request = threading.Thread(target=lambda: got.append(live.acquire()))
    request.start()
    request.join(0.3)
    assert request.is_alive(), "the request waits for the open under way"
    may_finish.set()
    request.join(10)
    watcher.join(10)
    assert [v.warehouse.run_id for v in got] == ["run-1"]
    live.release(got[0])
    live.close()


def test_within_the_interval_a_request_does_not_even_look(warehouse: Path, publish_tiny) -> None:
    live = LiveWarehouse(warehouse, open_warehouse, check_interval=3600)
    live.refresh_if_due()
    publish_tiny(warehouse, "run-2", TEAMS_V1)
    assert not live.must_open()  # not due: the change is seen at the next interval
    live.close()


# A published file that cannot be read never replaces a good version (etl.publish keeps <db>.last-good).

GARBAGE = b"this is not a duckdb file" * 400


def _sample_copy(sample_warehouse: Path, tmp_path: Path) -> Path:
    import shutil

    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(sample_warehouse, path)
    return path


def _write_in_place(path: Path, data: bytes) -> None:
    """Overwrite the file's own bytes (the same inode), as `cp garbage warehouse.duckdb` does."""
    inode = path.stat().st_ino
    with open(path, "r+b") as f:
        f.write(data * (path.stat().st_size // len(data) + 1))
    assert path.stat().st_ino == inode


def test_duckdb_reads_damaged_bytes_through_an_open_handle_when_the_file_is_written_over_in_place(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    """What the live warehouse is built on: an open version does NOT keep the old data when its own
    inode is written over; blocks it has not cached fail DuckDB's checksum."""
    path = _sample_copy(sample_warehouse, tmp_path)
    with open_warehouse(path) as wh:
        _write_in_place(path, GARBAGE)
        with pytest.raises(duckdb.Error, match="checksum"), wh.cursor() as cur:
            for table in ("children", "referrals", "episodes", "allocations"):
                cur.execute(f"SELECT count(COLUMNS(*)) FROM wh.{table}").fetchall()


def test_a_replaced_unreadable_file_keeps_the_version_in_hand_and_says_so(
    warehouse: Path, tmp_path: Path, publish_tiny, caplog: pytest.LogCaptureFixture
) -> None:
    live, swaps = _live(warehouse)
    with live.use():
        pass
    assert live.warning is None
    bad = tmp_path / "bad"
    bad.write_bytes(GARBAGE)
    bad.replace(warehouse)  # a new inode: the version in hand still reads its own
    with caplog.at_level("WARNING", logger="kpidash.api"), live.use() as version:
        assert version.warehouse.run_id == "run-1" and not version.kept_copy
        assert [t["team_id"] for t in version.warehouse.teams()] == ["T1"]
    expected = (f"The published warehouse file {warehouse} cannot be read (")
    assert live.warning.startswith(expected)
    assert live.warning.endswith("; still serving the version from run run-1 loaded at 2025-11-24 06:30 UTC.")
    assert live.problem is None and swaps == ["run-1"]
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [live.warning]

    publish_tiny(warehouse, "run-2", TEAMS_V2)  # a good file again: picked up, and the problem clears
    with live.use() as version:
        assert version.warehouse.run_id == "run-2"
    assert live.warning is None and swaps == ["run-1", "run-2"]
    live.close()


def test_a_file_written_over_in_place_switches_to_the_kept_copy(warehouse: Path, tmp_path: Path, publish_tiny) -> None:
    publish_tiny(tmp_path / "warehouse.duckdb.last-good", "run-1", TEAMS_V1)
    live, swaps = _live(warehouse)
    with live.use() as first:
        assert not first.kept_copy
    _write_in_place(warehouse, GARBAGE)
    with live.use() as version:
        assert version.kept_copy and version.warehouse.path == tmp_path / "warehouse.duckdb.last-good"
        assert version.warehouse.run_id == "run-1"
    assert live.warning.endswith(
        f"; serving the last good copy {tmp_path / 'warehouse.duckdb.last-good'} (run run-1 loaded at "
        "2025-11-24 06:30 UTC) read-only until a load publishes a good one.")
    assert swaps == ["run-1"]  # the same run: its cached answers stay
    live.close()


def test_a_damaged_version_in_hand_with_no_kept_copy_is_unavailable(sample_warehouse: Path, tmp_path: Path) -> None:
    path = _sample_copy(sample_warehouse, tmp_path)
    live, swaps = _live(path)
    with live.use():
        pass
    _write_in_place(path, GARBAGE)
    with pytest.raises(WarehouseUnavailable, match="cannot be read"):
        live.acquire()
    assert live.warning is None and swaps[-1] is None
    live.close()


def test_at_start_up_an_unreadable_file_serves_the_kept_copy_until_a_good_one_is_published(
    tmp_path: Path, publish_tiny
) -> None:
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(b"")  # truncated
    publish_tiny(tmp_path / "warehouse.duckdb.last-good", "run-1", TEAMS_V1)
    live, swaps = _live(path)
    with live.use() as version:
        assert version.kept_copy and version.warehouse.run_id == "run-1"
    assert "serving the last good copy" in live.warning
    publish_tiny(path, "run-2", TEAMS_V2)
    with live.use() as version:
        assert not version.kept_copy and version.warehouse.run_id == "run-2"
    assert live.warning is None and swaps == ["run-1", "run-2"]
    live.close()


def test_an_unreadable_kept_copy_too_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(GARBAGE)
    (tmp_path / "warehouse.duckdb.last-good").write_bytes(GARBAGE)
    live, _ = _live(path)
    with pytest.raises(WarehouseUnavailable, match=f"The warehouse at {path} cannot be read"):
        live.acquire()
    assert live.warning is None
