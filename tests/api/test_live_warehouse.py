"""The API's hold on the published warehouse: new versions swapped in, old ones closed only when no
request still uses them, and a clear reason when there is nothing to serve."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from api.live_warehouse import LiveWarehouse, WarehouseUnavailable
from kpis import open_warehouse

TEAMS_V1 = [("T1", "Duckpond Assessment", "Front Door")]
TEAMS_V2 = [("T1", "Duckpond Assessment", "Front Door"), ("T2", "Moonbeam Care", "Care Management")]


def _live(path: Path, swaps: list) -> LiveWarehouse:
    return LiveWarehouse(path, open_warehouse, on_swap=swaps.append, check_interval=0)


def test_nothing_published_is_unavailable_with_what_to_do(tmp_path: Path) -> None:
    live = _live(tmp_path / "warehouse.duckdb", [])
    with pytest.raises(WarehouseUnavailable, match="No warehouse has been published .*kpidash load"):
        live.acquire()
    assert "kpidash load" in live.problem


def test_an_unreadable_file_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(b"this is not a duckdb file" * 100)
    with pytest.raises(WarehouseUnavailable, match="cannot be read"):
        _live(path, []).acquire()


def test_a_new_version_is_swapped_in_and_the_old_one_closes_after_its_last_request(
    tmp_path: Path, publish_tiny
) -> None:
    path = tmp_path / "warehouse.duckdb"
    publish_tiny(path, "run-1", TEAMS_V1)
    swaps: list = []
    live = _live(path, swaps)
    held = live.acquire()  # a request in flight on version 1
    assert held.warehouse.run_id == "run-1"

    publish_tiny(path, "run-2", TEAMS_V2)
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


def test_the_same_file_is_not_reopened(tmp_path: Path, publish_tiny) -> None:
    path = tmp_path / "warehouse.duckdb"
    publish_tiny(path, "run-1", TEAMS_V1)
    swaps: list = []
    live = _live(path, swaps)
    with live.use() as first:
        pass
    with live.use() as second:
        assert second is first
    assert swaps == ["run-1"]
    live.close()


def test_a_removed_warehouse_becomes_unavailable(tmp_path: Path, publish_tiny) -> None:
    path = tmp_path / "warehouse.duckdb"
    publish_tiny(path, "run-1", TEAMS_V1)
    swaps: list = []
    live = _live(path, swaps)
    with live.use():
        pass
    path.unlink()
    with pytest.raises(WarehouseUnavailable, match="No warehouse has been published"):
        live.acquire()
    assert swaps == ["run-1", None]


def test_the_file_is_looked_at_at_most_once_per_interval(tmp_path: Path, publish_tiny) -> None:
    path = tmp_path / "warehouse.duckdb"
    publish_tiny(path, "run-1", TEAMS_V1)
    live = LiveWarehouse(path, open_warehouse, check_interval=3600)
    with live.use():
        pass
    publish_tiny(path, "run-2", TEAMS_V1)
    with live.use() as version:  # within the interval: still the version in hand, no stat, no reopen
        assert version.warehouse.run_id == "run-1"
    live.close()
