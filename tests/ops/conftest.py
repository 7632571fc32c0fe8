"""Fixtures for the operations tests: a drop folder holding the small hand-made extract."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "etl"))  # the shared extract builder

from extract_builder import build_extract  # noqa: E402


@pytest.fixture
def drop(tmp_path: Path, watch_drop: Callable[[Path], Path]) -> Path:
    """A drop folder holding the minimal extract (one team T1), watched with no settling wait."""
    return watch_drop(build_extract(tmp_path / "drop"))
