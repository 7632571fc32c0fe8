"""The SSD from the command line and the drop folder: `kpidash sample --format ssd`, `kpidash load` and
`kpidash check` of a folder of ssd_*.csv files, and a drop folder holding one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from ssd_builder import build_ssd
from typer.testing import CliRunner

from cli.main import app
from core.settings import get_settings
from etl.refresh import refresh
from etl.sources import look_at_drop_folder
from etl.ssd import REQUIRED_TABLES


def _run(*args: str):  # noqa: ANN202
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def small_ssd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small_ssd") / "ssd"
    result = _run("sample", "--format", "ssd", "--out", str(out), "--scale", "0.05", "--end-date", "2025-11-23")
    assert result.exit_code == 0, result.output
    return out


def test_sample_format_ssd_writes_the_ssd_tables(small_ssd: Path) -> None:
    names = sorted(p.name for p in small_ssd.glob("*.csv"))
    assert names == sorted(f"{t}.csv" for t in (*REQUIRED_TABLES, "ssd_initial_cp_conference", "ssd_disability"))
    assert json.loads((small_ssd / "manifest.json").read_text(encoding="utf-8"))["extracted_at"] == "2025-11-24T06:30:00"
    header = (small_ssd / "ssd_involvements.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == ("invo_involvements_id,invo_professional_id,invo_professional_role_id,invo_professional_team,"
                      "invo_involvement_start_date,invo_involvement_end_date,invo_person_id,invo_referral_id")


def test_kpidash_load_and_check_recognise_an_ssd_folder(small_ssd: Path) -> None:
    checked = _run("check", str(small_ssd))
    assert checked.exit_code == 0, checked.output
    assert "checked, nothing published" in checked.output and "0 rejected, 0 warnings" in checked.output
    assert not get_settings().db.exists()
    loaded = _run("load", str(small_ssd))
    assert loaded.exit_code == 0, loaded.output
    with duckdb.connect(str(get_settings().db), read_only=True) as con:
        assert con.execute("SELECT source_system FROM extract_meta").fetchone() == ("ssd",)
        assert con.execute("SELECT count(*) > 0 FROM episodes").fetchone() == (True,)
    figures = _run("kpis", "--level", "trust", "--format", "json")
    rhi = next(r for r in json.loads(figures.output) if r["kpi"] == "rhi_offered_within_72h")
    assert rhi["value"] is None and rhi["numerator"] is None


def test_a_broken_ssd_fails_with_one_plain_message(tmp_path: Path) -> None:
    folder = build_ssd(tmp_path / "ssd", drop_tables=("ssd_person",))
    result = _run("load", str(folder))
    assert result.exit_code == 1
    assert "error: the SSD cannot be loaded: ssd_person.csv is missing" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def drop(tmp_path: Path, watch_drop: Callable[[Path], Path]) -> Path:
    """A drop folder holding the minimal SSD, watched with no settling wait."""
    return watch_drop(build_ssd(tmp_path / "drop"))


def test_a_drop_folder_holding_an_ssd_is_loaded_when_complete_and_changed(drop: Path) -> None:
    (drop / "ssd_missing.csv").rename(drop / "later.tmp")
    assert look_at_drop_folder(drop).missing == ("ssd_missing.csv",)
    assert refresh().action == "waiting"
    (drop / "later.tmp").rename(drop / "ssd_missing.csv")
    first = refresh()
    assert first.action == "loaded", first.message
    with duckdb.connect(str(get_settings().db), read_only=True) as con:
        assert con.execute("SELECT source_system FROM extract_meta").fetchone() == ("ssd",)
    assert refresh().action == "unchanged"
    build_ssd(drop, rows={"ssd_department": [{"dept_team_name": "Team Fernhollow"}]})
    assert refresh().action == "loaded"
    with duckdb.connect(str(get_settings().db), read_only=True) as con:
        assert con.execute("SELECT team_name FROM teams").fetchall() == [("Team Fernhollow",)]
