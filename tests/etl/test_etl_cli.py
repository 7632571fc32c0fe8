"""`kpidash load / check / runs / rejects`: what an analyst sees, and the exit status scripts rely on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from extract_builder import build_extract
from typer.testing import CliRunner

from cli import etl_commands
from etl import list_runs

app = typer.Typer()
etl_commands.register(app)
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


BAD_DATE = {"assessments": [{"assessment_id": "A2", "authorised_date": "31/05/2025"}]}


def test_load_prints_each_file_and_exits_0(tmp_path: Path) -> None:
    result = run("load", str(build_extract(tmp_path / "x")))
    assert result.exit_code == 0, result.output
    run_id = list_runs()[0].run_id
    lines = result.stdout.splitlines()
    assert lines[0] == f"run {run_id}: published, extract of 2025-11-24 06:30"
    assert lines[1].split() == ["file", "sha256", "read", "loaded", "rejected", "warnings"]
    assert lines[3].split()[0] == "teams.csv" and lines[3].split()[2:] == ["1", "1", "0", "0"]
    assert lines[-1] == "published: 9 rows loaded from 9 files, 0 rejected, 0 warnings"
    assert result.stderr == ""


def test_a_failed_load_says_why_on_stderr_and_exits_1(tmp_path: Path) -> None:
    result = run("load", str(build_extract(tmp_path / "x", drop=["referrals.csv"])))
    assert result.exit_code == 1
    assert result.stderr == "error: the extract cannot be loaded: referrals.csv is missing\n"
    assert "Traceback" not in result.output


def test_a_load_with_rejects_points_to_the_list(tmp_path: Path, permissive) -> None:
    result = run("load", str(build_extract(tmp_path / "x", add=BAD_DATE)))
    assert result.exit_code == 0
    run_id = list_runs()[0].run_id
    assert result.stdout.splitlines()[-1] == f"to list the 1 rejected rows and 0 warnings: kpidash rejects {run_id}"


def test_check_exits_0_and_publishes_nothing(tmp_path: Path) -> None:
    from core.settings import get_settings

    result = run("check", str(build_extract(tmp_path / "x")))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "checked, nothing published: 9 rows loaded from 9 files, 0 rejected, 0 warnings"
    assert not get_settings().db.exists()


def test_check_of_a_bad_extract_exits_1(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path / 'nowhere'} does not exist\n"


def test_runs_lists_the_load_log_newest_first(tmp_path: Path) -> None:
    assert run("runs").stdout == "no loads yet\n"
    run("load", str(build_extract(tmp_path / "x")))
    run("load", str(tmp_path / "nowhere"))
    result = run("runs")
    assert result.exit_code == 0
    newest, oldest = list_runs()
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["run", "started", "(UTC)", "status", "extract"]
    assert lines[2].startswith(newest.run_id) and " failed " in lines[2]
    message = f"{tmp_path / 'nowhere'} does not exist"
    assert lines[2].endswith(message if len(message) <= 70 else message[:67] + "...")
    assert lines[3].startswith(oldest.run_id) and " published " in lines[3]
    assert lines[3].split()[4:8] == ["2025-11-24", "06:30", "9", "9"]
    assert len(run("runs", "--limit", "1").stdout.splitlines()) == 3


def test_rejects_lists_the_newest_runs_issues(tmp_path: Path, permissive) -> None:
    run("load", str(build_extract(tmp_path / "x", add=BAD_DATE | {"referrals": [{"referral_id": "R2", "child_id": "C9"}]})))
    run_id = list_runs()[0].run_id
    result = run("rejects")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"run {run_id} (published): 1 rejected rows, 1 warnings",
        "severity  problem",
        "--------  " + "-" * 90,
        'warning   referrals.csv line 3: child_id "C9" is not in children.csv (or its row there was rejected)',
        'reject    assessments.csv line 3: authorised_date "31/05/2025" is not a date (expected YYYY-MM-DD)',
    ]
    assert run("rejects", run_id, "--severity", "reject").stdout.splitlines()[-1].startswith("reject    assessments.csv")
    assert run("rejects", "--severity", "warning", "-n", "1").stdout.splitlines()[-1].startswith("warning   referrals.csv")


def test_rejects_of_a_failed_run_and_as_csv(tmp_path: Path) -> None:
    run("load", str(build_extract(tmp_path / "x", add=BAD_DATE)))
    failed = list_runs()[0]
    assert failed.status == "failed"
    run("load", str(build_extract(tmp_path / "y")))
    result = run("rejects", failed.run_id, "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout == (
        "run_id,file,line,column,value,reason,severity\n"
        f"{failed.run_id},assessments.csv,3,authorised_date,31/05/2025,is not a date (expected YYYY-MM-DD),reject\n"
    )


def test_rejects_says_when_there_is_more(tmp_path: Path, permissive) -> None:
    bad = [{"referral_id": f"R{i}", "nfa": "?"} for i in range(2, 6)]
    run("load", str(build_extract(tmp_path / "x", add={"referrals": bad})))
    lines = run("rejects", "--limit", "3").stdout.splitlines()
    assert len(lines) == 3 + 3 + 1
    assert lines[-1] == "... and 1 more (--limit 0 shows all, --format csv for a spreadsheet)"
    assert len(run("rejects", "--limit", "0").stdout.splitlines()) == 3 + 4


def test_rejects_of_an_unknown_run_exits_1(tmp_path: Path) -> None:
    assert run("rejects").stderr == "error: no loads yet\n"
    result = run("rejects", "20990101T000000-0000")
    assert result.exit_code == 1
    assert result.stderr == "error: no run 20990101T000000-0000 in the load log (kpidash runs lists them)\n"


@pytest.mark.parametrize(
    ("command", "options"),
    [("load", ["EXTRACT"]), ("check", ["EXTRACT"]), ("runs", ["--limit"]), ("rejects", ["RUN_ID", "--severity", "--limit", "--format"])],
)
def test_every_command_and_option_has_help(command: str, options: list[str]) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    doc = getattr(etl_commands, command).__doc__.splitlines()[0]
    assert doc in result.stdout
    helps = {
        "EXTRACT": "The extract: a folder of the contract's CSV files (and, optionally, manifest.json), a folder of "
        "Standard Safeguarding Dataset tables (docs/ssd.md), or an Ofsted Annex A workbook (.xlsx).",
        "RUN_ID": "The run to list (see `kpidash runs`); default: the newest run.",
        "--severity": "Which issues: rejected rows, warnings, or all.",
        "--limit": "(0: all).",
        "--format": "text for reading, csv for a spreadsheet (all columns).",
    }
    for option in options:
        line = next(line for line in result.stdout.splitlines() if helps[option] in line)
        assert option.lower() in line.lower()


def test_the_installed_command_fails_without_a_traceback(tmp_path: Path) -> None:
    kpidash = Path(sys.executable).with_name("kpidash")
    folder = build_extract(tmp_path / "x", raw={"episodes.csv": b"\x00\x01garbage"})
    done = subprocess.run([str(kpidash), "load", str(folder)], capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    assert done.returncode == 1
    assert done.stderr == (
        "error: the extract cannot be loaded: episodes.csv is not a text file (line 1 holds binary data: a NUL byte); "
        "export it again as CSV\n"
    )
    assert "Traceback" not in done.stdout + done.stderr


def test_a_failed_check_says_the_check_failed(tmp_path: Path) -> None:
    result = run("check", str(build_extract(tmp_path / "x", add=BAD_DATE)))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "error: the check failed: assessments.csv: 1 of 2 rows rejected (50.0%), more than the 2% allowed "
        "(KPIDASH_MAX_REJECT_PCT)"
    )
    assert list_runs()[0].status == "failed"


def test_an_unusable_load_log_is_an_error_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core import appdb
    from core.settings import get_settings

    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("KPIDASH_APP_DB", f"sqlite:///{tmp_path / 'file' / 'app.db'}")
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()
    for args in (["runs"], ["rejects"], ["load", str(build_extract(tmp_path / "x"))]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        assert result.stderr.startswith("error: the load log (the app database, KPIDASH_APP_DB) cannot be used: "), args
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_rejects_of_a_run_refused_for_a_whole_file_counts_that_refusal(tmp_path: Path) -> None:
    """An audit: a run refused for a missing file listed the refusal under "0 rejected rows, 0 warnings"."""
    run("load", str(build_extract(tmp_path / "x", drop=["referrals.csv"])))
    failed = list_runs()[0]
    lines = run("rejects", failed.run_id).stdout.splitlines()
    assert lines[0] == f"run {failed.run_id} (failed): 0 rejected rows, 1 refusal of a whole file, 0 warnings"
    assert "referrals.csv" in lines[-1] and "is missing" in lines[-1]
