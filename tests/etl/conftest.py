"""Fixtures for the loader's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import appdb
from core.settings import get_settings


@pytest.fixture(scope="module")
def module_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("etl_data")


@pytest.fixture
def shared_data(module_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One warehouse, archive and load log for all the tests of a module that only look at their own run
    (the app database's schema is then made once per module, not once per test)."""
    monkeypatch.setenv("KPIDASH_DB", str(module_data / "warehouse.duckdb"))
    monkeypatch.setenv("KPIDASH_ARCHIVE_DIR", str(module_data / "archive"))
    monkeypatch.setenv("KPIDASH_APP_DB", f"sqlite:///{module_data / 'app.db'}")
    # Each test loads its own small extract over the previous test's: not a shrinking source (the shrink
    # guard has its own tests, test_shrink_and_dates.py).
    monkeypatch.setenv("KPIDASH_SHRINK_MIN_FRACTION", "0")
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()
    return module_data
