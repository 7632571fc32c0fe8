"""Refresh from a drop folder: load a new or changed extract once, never a half-written one."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from extract_builder import build_extract
from typer.testing import CliRunner

import etl
from core.settings import get_settings
from etl.refresh import last_fingerprint, refresh
from etl.sources import SourceError


def teams(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT team_id FROM teams ORDER BY team_id").fetchall()]


def test_a_new_extract_is_loaded_once_and_a_changed_one_again(drop: Path) -> None:
    db = get_settings().db
    first = refresh()
    assert first.action == "loaded", first.message
    assert teams(db) == ["T1"]
    assert refresh().action == "unchanged"
    assert len(etl.list_runs(10)) == 1
    build_extract(drop, add={"teams": [{"team_id": "T2", "team_name": "Team Fernhollow"}]})
    second = refresh()
    assert second.action == "loaded" and second.run_id != first.run_id
    assert teams(db) == ["T1", "T2"]
    assert len(etl.list_runs(10)) == 2


def test_a_file_still_being_written_is_not_picked_up(drop: Path) -> None:
    def still_writing(_seconds: float) -> None:  # between the two looks, the export appends a row
        with (drop / "teams.csv").open("a", encoding="utf-8") as fh:
            fh.write("T9,Team Half,Ser")

    outcome = refresh(sleep=still_writing)
    assert outcome.action == "waiting"
    assert etl.list_runs(10) == [] and not get_settings().db.exists()
    build_extract(drop)  # the export finishes
    assert refresh().action == "loaded"


def test_the_settle_wait_is_the_configured_one(drop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIDASH_STABLE_SECONDS", "7.5")
    get_settings.cache_clear()
    waits: list[float] = []
    assert refresh(sleep=waits.append).action == "loaded"
    assert waits == [7.5]


def test_an_incomplete_drop_folder_waits(drop: Path) -> None:
    (drop / "episodes.csv").unlink()
    assert refresh().action == "waiting"
    assert etl.list_runs(10) == []


def test_a_refused_extract_is_not_retried_until_it_changes(drop: Path) -> None:
    build_extract(drop, raw={"teams.csv": "team_id,team_name,service\n,,\n"})  # every team row rejected
    first = refresh()
    assert first.action == "failed"
    assert "teams.csv" in first.message
    again = refresh()
    assert again.action == "unchanged"
    # it says the unchanged extract was refused, not merely "unchanged since the last load" (an audit's finding)
    assert f"run {first.run_id}, which was refused" in again.message and "--force" in again.message
    assert len(etl.list_runs(10)) == 1
    assert refresh(force=True).action == "failed"
    assert len(etl.list_runs(10)) == 2


def test_a_missing_drop_folder_is_unreachable_and_nothing_is_remembered(drop: Path, monkeypatch) -> None:
    monkeypatch.setenv("KPIDASH_DROP_DIR", str(drop.parent / "nowhere"))
    get_settings.cache_clear()
    outcome = refresh()
    assert outcome.action == "unreachable" and "nowhere" in outcome.message and "KPIDASH_DROP_DIR" in outcome.message
    assert last_fingerprint(get_settings().db) is None


def test_no_source_configured_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="KPIDASH_DROP_DIR or KPIDASH_SQL_SOURCE_CONFIG"):
        refresh()


@pytest.fixture
def cli():  # noqa: ANN201
    import typer

    from cli import ops_commands

    app = typer.Typer(pretty_exceptions_enable=False)
    ops_commands.register(app)
    return app


def test_kpidash_refresh_command(drop: Path, cli) -> None:
    runner = CliRunner()
    loaded = runner.invoke(cli, ["refresh"])
    assert loaded.exit_code == 0 and loaded.output.startswith("loaded: published")
    unchanged = runner.invoke(cli, ["refresh"])
    assert unchanged.exit_code == 0 and unchanged.output.startswith("unchanged:")
    forced = runner.invoke(cli, ["refresh", "--force"])
    assert forced.exit_code == 0 and forced.output.startswith("loaded:")


def test_kpidash_refresh_without_a_source_or_with_a_broken_one(cli, drop: Path, monkeypatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("KPIDASH_DROP_DIR", str(drop / "missing"))
    get_settings.cache_clear()
    broken = runner.invoke(cli, ["refresh"])
    assert broken.exit_code == 1 and "does not exist" in broken.output and "Traceback" not in broken.output
    assert broken.stderr.startswith("error: unreachable: ") and not broken.stdout  # as `kpidash load` says a failure
    monkeypatch.delenv("KPIDASH_DROP_DIR")
    get_settings.cache_clear()
    none = runner.invoke(cli, ["refresh"])
    assert none.exit_code == 1 and "no live source is configured" in none.output


def test_an_annex_a_workbook_dropped_instead_of_csv_files_is_loaded(drop: Path, permissive) -> None:
    from tests.annex_a.conftest import write_workbook
    from tests.annex_a.test_annex_reader import LIST3

    for csv_file in drop.glob("*.csv"):
        csv_file.unlink()
    (drop / "manifest.json").unlink(missing_ok=True)
    (drop / "~$annex.xlsx").write_bytes(b"Excel's lock file, not a workbook")
    write_workbook(drop / "annex.xlsx", {"List 3": LIST3})
    first = refresh()
    assert first.action == "loaded", first.message
    with duckdb.connect(str(get_settings().db), read_only=True) as con:
        assert con.execute("SELECT source_system FROM extract_meta").fetchall() == [("annex_a",)]
        assert con.execute("SELECT count(*) FROM referrals").fetchall() == [(3,)]
    assert refresh().action == "unchanged"
    write_workbook(drop / "second.xlsx", {"List 3": LIST3})
    two = refresh()
    assert two.action == "unreachable" and "holds 2 Annex A workbooks" in two.message
