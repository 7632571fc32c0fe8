"""Fixtures for the SSD source's tests: loads into one warehouse per module, read back as the KPIs read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from core import appdb
from core.settings import get_settings
from etl import Issue, LoadResult, load_extract, run_issues


@dataclass
class Loaded:
    """One load of an SSD folder: its result, its issues, and the published warehouse to query."""

    result: LoadResult
    issues: list[Issue]
    db: Path

    def rows(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql).fetchall()

    def messages(self, severity: str | None = None) -> list[str]:
        return [i.message for i in self.issues if severity is None or i.severity == severity]


@pytest.fixture(scope="module")
def module_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ssd_data")


@pytest.fixture
def load_ssd(module_data: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Loaded]:
    """Load a folder (publishing however many rows are rejected, unless told a reject limit) into the
    module's warehouse; the app database's schema is made once per module."""
    monkeypatch.setenv("KPIDASH_DB", str(module_data / "warehouse.duckdb"))
    monkeypatch.setenv("KPIDASH_ARCHIVE_DIR", str(module_data / "archive"))
    monkeypatch.setenv("KPIDASH_APP_DB", f"sqlite:///{module_data / 'app.db'}")
    monkeypatch.setenv("KPIDASH_SHRINK_MIN_FRACTION", "0")  # the module's small loads replace each other

    def load(folder: Path, max_reject_pct: float = 100, config: Path | None = None, publish: bool = True) -> Loaded:
        monkeypatch.setenv("KPIDASH_MAX_REJECT_PCT", str(max_reject_pct))
        if config is None:
            monkeypatch.delenv("KPIDASH_SSD_CONFIG", raising=False)
        else:
            monkeypatch.setenv("KPIDASH_SSD_CONFIG", str(config))
        get_settings.cache_clear()
        appdb.get_engine.cache_clear()
        result = load_extract(folder, publish=publish)
        return Loaded(result, run_issues(result.run_id), module_data / "warehouse.duckdb")

    return load
