"""Fixtures of the KPI tests: small hand-made warehouses, built from rows written in the tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from warehouse_builder import TEAMS, build_warehouse

from kpis import KpiConfig, Warehouse, open_warehouse
from kpis.cube_builder import build_cube


# Every hand-made case is counted twice: from the daily cube (built as a load builds it, under the
# configuration the warehouse is opened with) and from the facts alone.
ENGINES = ("cube", "facts")


def _opened(path: Path, config: KpiConfig | None, engine: str) -> Warehouse:
    config = config if config is not None else KpiConfig()
    if engine == "cube":
        build_cube(path, config)
    wh = open_warehouse(path, config, cube=engine == "cube")
    assert (wh.cube is not None) == (engine == "cube")
    return wh


@pytest.fixture(params=ENGINES)
def make_wh(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Warehouse]]:
    """Build a warehouse from hand-made rows and open it (closed after the test)."""
    opened: list[Warehouse] = []

    def make(rows: dict[str, list[dict[str, Any]]], *, config: KpiConfig | None = None,
             extracted_at: str = "2025-11-24T06:30:00", teams: list[dict[str, Any]] | None = None) -> Warehouse:
        path = build_warehouse(tmp_path / f"wh{len(opened)}.duckdb", rows, extracted_at, teams)
        wh = _opened(path, config, request.param)
        opened.append(wh)
        return wh

    yield make
    for wh in opened:
        wh.close()


@pytest.fixture(scope="session", params=ENGINES)
def shared_wh(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
              ) -> Iterator[Callable[..., Warehouse]]:
    """Build each named hand-made warehouse once a session; the tests that share one only read it."""
    cache: dict[str, Warehouse] = {}

    def get(name: str, rows: dict[str, list[dict[str, Any]]], teams: list[dict[str, Any]] | None = None) -> Warehouse:
        if name not in cache:
            path = build_warehouse(tmp_path_factory.mktemp(name) / "warehouse.duckdb", rows, teams=teams)
            cache[name] = _opened(path, None, request.param)
        return cache[name]

    yield get
    for wh in cache.values():
        wh.close()


@pytest.fixture(scope="module")
def everything(shared_wh: Callable[..., Warehouse]) -> Warehouse:
    """Every family's hand-made records (from the tests/kpis/test_kpi_<family>.py modules) in one
    warehouse, plus team T4 of "Quiet Service" with no records at all."""
    import test_kpi_assessments as assessments
    import test_kpi_caseload as caseload
    import test_kpi_missing as missing
    import test_kpi_referrals as referrals
    import test_kpi_s47 as s47

    rows = {
        "assessments": assessments.ASSESSMENTS,
        "s47_enquiries": s47.ENQUIRIES,
        "missing_episodes": missing.EPISODES,
        "referrals": referrals.REFERRALS,
        "workers": caseload.WORKERS,
        "episodes": caseload.EPISODES,
        "allocations": caseload.ALLOCATIONS,
    }
    return shared_wh("everything", rows, teams=[*TEAMS, caseload.QUIET])
