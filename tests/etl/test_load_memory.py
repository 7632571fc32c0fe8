"""Finding 8: the loader works within KPIDASH_LOAD_MEMORY_LIMIT and KPIDASH_LOAD_THREADS, spilling beside
the warehouse; what it costs on a 100 MB file is measured in `make bench` (benchmarks/loader_memory_bench.py),
not here. These tests check the settings reach DuckDB and every way they can go wrong is said plainly."""

from __future__ import annotations

from pathlib import Path

import pytest
from extract_builder import build_extract

from core.settings import get_settings
from etl import load_extract
from etl.publish import remove_leftovers, spill_path


def test_a_memory_limit_that_is_not_a_size_is_refused_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIDASH_LOAD_MEMORY_LIMIT", "lots")
    get_settings.cache_clear()
    result = load_extract(build_extract(tmp_path / "x"))
    assert result.status == "failed"
    assert result.message.startswith("KPIDASH_LOAD_MEMORY_LIMIT 'lots' is not a memory size (e.g. 512MB or 2GB)")


def test_the_limit_reaches_duckdb_and_running_out_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIDASH_LOAD_MEMORY_LIMIT", "1MB")  # far too little for even the smallest extract
    get_settings.cache_clear()
    result = load_extract(build_extract(tmp_path / "x"))
    assert result.status == "failed"
    assert result.message.startswith("the extract needs more memory than KPIDASH_LOAD_MEMORY_LIMIT (1MB) allows")
    assert not get_settings().db.exists()


def test_the_spill_folder_is_removed_after_a_load_and_after_a_killed_one(tmp_path: Path) -> None:
    db = get_settings().db.absolute()
    result = load_extract(build_extract(tmp_path / "x"))
    assert result.status == "published"
    assert not spill_path(db, result.run_id).exists()
    left = spill_path(db, "20250101T000000-dead")  # a load killed while it spilled
    (left / "duckdb_temp").mkdir(parents=True)
    assert left in remove_leftovers(db) and not left.exists()


def test_a_small_extract_is_read_with_one_thread_a_large_one_with_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB's second thread costs a small extract more than it gains (docs/benchmarks.md, issue 18)."""
    import etl.loader as loader

    seen, real = [], loader.stage_file

    def staging(con, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append(con.execute("SELECT current_setting('threads')").fetchone()[0])
        return real(con, *args, **kwargs)

    monkeypatch.setattr(loader, "stage_file", staging)
    monkeypatch.setenv("KPIDASH_LOAD_THREADS", "3")
    get_settings.cache_clear()
    assert load_extract(build_extract(tmp_path / "small")).status == "published"
    assert set(seen) == {1}
    seen.clear()
    monkeypatch.setattr(loader, "SMALL_EXTRACT_BYTES", 100)  # every extract is "large" now
    assert load_extract(build_extract(tmp_path / "large")).status == "published"
    assert set(seen) == {3}
