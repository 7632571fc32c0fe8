"""Shared fixtures: every test gets its own data folder; the sample trust is built once a session."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from core.settings import get_settings

# A fixed end date keeps the sample trust (and so every figure the tests compare) the same every day.
SAMPLE_END_DATE = dt.date(2025, 11, 23)


@pytest.fixture(scope="session", autouse=True)
def _dashboard_pools_closed():
    """The dashboard's client keeps one connection pool per API address for the process; the tests start
    and stop many servers, so the pools are closed at the end rather than left for the collector to find."""
    yield
    client = sys.modules.get("dashboard.api_client")
    if client is not None:
        client.close_all()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point every KPIDASH_ path at a fresh temporary folder, so no test touches ./data."""
    data = tmp_path / "data"
    monkeypatch.setenv("KPIDASH_DB", str(data / "warehouse.duckdb"))
    monkeypatch.setenv("KPIDASH_ARCHIVE_DIR", str(data / "archive"))
    monkeypatch.setenv("KPIDASH_APP_DB", f"sqlite:///{data / 'app.db'}")
    # Warming a new load's views is real work in a background thread of every app a test makes: only
    # the tests of warming ask for it (tests/api/test_warm.py passes warm=True).
    monkeypatch.setenv("KPIDASH_WARM_AFTER_LOAD", "false")
    get_settings.cache_clear()
    from core import appdb

    appdb.get_engine.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()


@pytest.fixture
def watch_drop(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], Path]:
    """watch_drop(folder): `folder` becomes the drop folder, watched with no settling wait; returns it."""

    def watch(folder: Path) -> Path:
        monkeypatch.setenv("KPIDASH_DROP_DIR", str(folder))
        monkeypatch.setenv("KPIDASH_STABLE_SECONDS", "0")
        get_settings.cache_clear()
        from core import appdb

        appdb.get_engine.cache_clear()
        return folder

    return watch


@pytest.fixture(scope="session")
def sample_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample trust at scale 1, seed 1, ending on SAMPLE_END_DATE (built once per session)."""
    from sample_data import generate_sample

    out = tmp_path_factory.mktemp("sample") / "extract"
    generate_sample(out, seed=1, scale=1.0, end_date=SAMPLE_END_DATE)
    return out


@pytest.fixture(scope="session")
def sample_warehouse(sample_extract: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published warehouse of the sample trust, read-only for the tests that share it."""
    from etl import load_extract
    from tests.etl.load_support import own_settings

    data = tmp_path_factory.mktemp("sample_wh")
    with own_settings(data) as db:
        result = load_extract(sample_extract)
        assert result.status == "published", result.message
    return db


@pytest.fixture
def permissive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Publish however many rows are rejected, so a test can look at the rejects and the tables."""
    monkeypatch.setenv("KPIDASH_MAX_REJECT_PCT", "100")
    get_settings.cache_clear()
