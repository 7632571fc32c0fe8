"""Fixtures for the operations tests: a drop folder holding the small hand-made extract."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core import appdb
from core.settings import get_settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "etl"))  # the shared extract builder

from extract_builder import build_extract  # noqa: E402


@pytest.fixture
def drop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A drop folder holding the minimal extract (one team T1), watched with no settling wait."""
    folder = build_extract(tmp_path / "drop")
    monkeypatch.setenv("KPIDASH_DROP_DIR", str(folder))
    monkeypatch.setenv("KPIDASH_STABLE_SECONDS", "0")
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()
    return folder
