"""The sample trust through the SSD: sample -> SSD -> load gives the figures of sample -> contract -> load.

The trust is the sample as the SSD can hold it (`kpidash sample --format ssd`, and in the contract's
format `generate_sample(..., ssd_compatible=True)`; sample_data/ssd_shape.py says how it is shaped).
Compared for one period (the extract's month) and a 24-month trend, at trust, service, team and worker
level, for every KPI but rhi_offered_within_72h, which the SSD cannot give.

Every worker of the SSD counts as in post (it has no dates in post), so the SSD-shaped trust keeps its
workers in post too and ends a leaver's allocations on the day after their last day: average_caseload
then agrees as well, its denominator counting every case-holding worker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from ssd_database_support import fill_database

from etl import load_extract
from etl.refresh import refresh
from kpis import compute_kpis, kpi_trend, open_warehouse
from sample_data import generate_sample
from tests.conftest import SAMPLE_END_DATE
from tests.etl.load_support import own_settings

pytestmark = pytest.mark.slow
CANNOT_GIVE = "rhi_offered_within_72h"


def _figures(db: Path) -> dict[str, dict]:
    with open_warehouse(db) as wh:
        return {"period": compute_kpis(wh, level="all"), "trend": kpi_trend(wh, None, "month", 24, "all")}


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("ssd_round_trip")
    generate_sample(root / "contract", end_date=SAMPLE_END_DATE, ssd_compatible=True)
    generate_sample(root / "ssd", end_date=SAMPLE_END_DATE, fmt="ssd")
    out = {"ssd_folder": root / "ssd"}
    for name in ("contract", "ssd"):
        with own_settings(root / f"data_{name}") as db:
            result = load_extract(root / name)
            assert result.status == "published", result.message
            out[name] = _figures(db)
            out[f"{name}_db"] = db
    yield out


def _key(row: dict) -> tuple:
    return row["kpi"], row["level"], row["unit"], row.get("period_start")


def _by_key(rows: list[dict]) -> dict[tuple, tuple]:
    return {_key(r): (r["numerator"], r["denominator"], r["value"]) for r in rows}


@pytest.mark.parametrize("kind", ["period", "trend"])
def test_every_kpi_the_ssd_supports_agrees_at_every_level(trust: dict, kind: str) -> None:
    contract, ssd = _by_key(trust["contract"][kind]), _by_key(trust["ssd"][kind])
    compared = {k for k in contract if k[0] != CANNOT_GIVE}
    assert compared == {k for k in ssd if k[0] != CANNOT_GIVE}
    assert {k[1] for k in compared} == {"trust", "service", "team", "worker"}
    if kind == "trend":
        assert len({k[3] for k in compared}) == 24
    different = {k: (contract[k], ssd[k]) for k in compared if contract[k] != ssd[k]}
    assert not different, f"{len(different)} figures differ, e.g. {list(different.items())[:5]}"
    # the comparison is not empty: every period has referrals, open cases and missing children
    for kpi in ("referrals", "open_cases", "missing_episodes_started", "icpcs_held", "average_caseload"):
        assert all(v[0] > 0 for k, v in contract.items() if k[:3] == (kpi, "trust", "trust")), kpi


def test_the_figure_the_ssd_cannot_give_is_not_available(trust: dict) -> None:
    rows = [r for r in trust["ssd"]["period"] if r["kpi"] == CANNOT_GIVE]
    assert rows and all(r["value"] is None and r["numerator"] is None and r["available"] is False
                        and r["note"] == "not available from this source" for r in rows)
    assert any(r["value"] is not None for r in trust["contract"]["period"] if r["kpi"] == CANNOT_GIVE)


def _extract_date(trust: dict) -> dt.date:
    with open_warehouse(trust["ssd_db"]) as wh:
        return wh.extract_date


def test_the_sample_ssd_loads_through_a_database_with_the_same_figures(
    trust: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'ssd.db'}"
    fill_database(url, None, trust["ssd_folder"])
    monkeypatch.setenv("KPIDASH_SSD_URL", url)
    with own_settings(tmp_path / "data", ssd_url=url) as db:
        outcome = refresh()
        assert outcome.action == "loaded", outcome.message
        # a database read is dated at the read: compare as at the folder's extract date
        with open_warehouse(db) as wh:
            day = _extract_date(trust)
            figures = {"period": compute_kpis(wh, day.replace(day=1), day, level="all"),
                       "trend": kpi_trend(wh, None, "month", 24, "all", date_to=day)}
    for kind in ("period", "trend"):
        assert _by_key(figures[kind]) == _by_key(trust["ssd"][kind])
