"""Every `kpidash` command, given a bad argument, a bad path or a state it cannot work in, ends with one
`error: ...` line and exit status 1 (refused) or 2 (a wrong command line), never a traceback (issue 16,
item 10; cli/errors.py). Run in-process through cli.errors.run, as the console script runs them, and a few
through the installed console script itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.errors import FAILED, USAGE, run
from cli.main import app
from core.settings import get_settings
from tests.etl.extract_builder import build_extract


SCRIPT = Path(sys.executable).with_name("kpidash")


def _kpidash(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(app, list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed `kpidash` console script, run as a person at a shell runs it."""
    if not SCRIPT.exists():
        pytest.skip(f"{SCRIPT} is not installed (make install)")
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120, env={**os.environ})


def _assert_one_error(code: int, expected: int, out: str, err: str, words: str) -> None:
    assert code == expected, (code, out, err)
    text = out + err
    assert "Traceback" not in text and "╭" not in text, text  # no rich panel either
    assert not any(line.startswith(("Error:", "ERROR")) for line in text.splitlines()), text  # one prefix
    assert err.startswith("error: "), err
    assert words.lower() in err.lower(), err


@pytest.fixture
def not_a_folder(tmp_path: Path) -> Path:
    """A path whose parent is a file: no command can write under it, whoever runs the tests (root too)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    return blocker / "inside"


# (arguments, exit status, words the error must contain); "{bad}" is a path under a file, "{tmp}" a folder
CASES = [
    (["nope"], USAGE, "no such command"),
    (["sample", "--out", "{bad}"], FAILED, "cannot write the sample"),
    (["sample", "--out", "{tmp}/s", "--scale", "0"], USAGE, "out of range"),
    (["sample", "--out", "{tmp}/s", "--end-date", "23/11/2025"], USAGE, "write it YYYY-MM-DD"),
    (["load", "{tmp}/nowhere"], FAILED, "does not exist"),
    (["check", "{bad}"], FAILED, "does not exist"),
    (["load"], USAGE, "missing argument"),
    (["runs", "--limit", "-1"], USAGE, "--limit"),
    (["rejects", "20990101T000000-0000"], FAILED, "no run"),
    (["kpis"], FAILED, "kpidash load"),
    (["kpis", "--to", "2025-02-30"], USAGE, "is not a date: there is no such day in the calendar"),
    (["kpis", "--to", "2100-01-01"], USAGE, "outside the dates kpidash handles"),
    (["kpis", "--level", "everything"], USAGE, "--level"),
    (["records", "open_cases"], USAGE, "--unit"),
    (["records", "open_cases", "--unit", "trust", "--level", "all"], USAGE, "--level"),
    (["trend", "open_cases", "--level", "all"], USAGE, "--level"),
    (["trend", "open_cases"], FAILED, "kpidash load"),
    (["spc", "open_cases", "--to", "1989-12-31"], USAGE, "outside the dates kpidash handles"),
    (["spc", "open_cases"], FAILED, "kpidash load"),
    (["serve", "--port", "0"], USAGE, "--port"),
    (["audit", "--event", "nope"], FAILED, "--event must be one of"),
    (["book", "--month", "2025-10", "--out", "{tmp}/b.html", "--token", "t", "--api-url", "http://127.0.0.1:9"],
     FAILED, ""),
    (["qa-page", "--month", "2025-10", "--out", "{tmp}/qa.docx"], USAGE, ".html or .pdf"),
    (["qa-page", "--month", "2025-13", "--out", "{tmp}/qa.html"], USAGE, "is not a month: write it YYYY-MM, a month being 01 to 12"),
    (["book", "--month", "10/2025", "--out", "{tmp}/b.html", "--token", "t"], USAGE, "is not a month"),
    (["qa-page", "--month", "2025-10", "--out", "{tmp}/qa.html"], FAILED, "kpidash load"),
    (["refresh"], FAILED, "no live source is configured"),
    (["scheduler", "--nope"], USAGE, "no such option"),
    (["doctor", "--nope"], USAGE, "no such option"),
    (["prune", "--nope"], USAGE, "no such option"),
    (["backup", "{bad}/k.tar"], FAILED, ""),
    (["restore", "{tmp}/missing.tar"], USAGE, "does not exist"),
    (["users", "add", "ann", "--role", "wizard"], FAILED, "role"),
    (["users", "disable", "nobody"], FAILED, "nobody"),
    (["users", "frobnicate"], USAGE, "no such command"),
    (["tokens", "revoke", "abc"], USAGE, "valid integer"),
    (["tokens", "revoke", "999"], FAILED, "999"),
    (["tokens", "create", "nobody"], FAILED, "nobody"),
    (["export", "annex-a", "--to", "2025-11-23", "--out", "/nonexistent/x.xlsx"], FAILED, "no folder /nonexistent"),
    (["export", "annex-a", "--to", "2025-11-23", "--out", "{tmp}/x.csv"], USAGE, "must end in .xlsx"),
    (["export", "annex-a", "--to", "23/11/2025", "--out", "{tmp}/x.xlsx"], USAGE, "write it YYYY-MM-DD"),
    (["export", "annex-a", "--to", "2025-11-23", "--out", "{tmp}/x.xlsx"], FAILED, "no published warehouse"),
]


@pytest.mark.parametrize(("args", "code", "words"), CASES, ids=[" ".join(c[0][:3]) for c in CASES])
def test_every_command_refuses_with_one_error_line(capsys, tmp_path: Path, not_a_folder: Path, args: list[str],
                                                   code: int, words: str) -> None:
    args = [a.replace("{bad}", str(not_a_folder)).replace("{tmp}", str(tmp_path)) for a in args]
    status, out, err = _kpidash(capsys, *args)
    _assert_one_error(status, code, out, err, words)


def test_a_usage_error_says_where_the_help_is(capsys) -> None:
    status, out, err = _kpidash(capsys, "records", "open_cases", "--unit", "trust", "--level", "all")
    _assert_one_error(status, USAGE, out, err, "invalid value for '--level'")
    assert err.endswith("(`kpidash records --help` says how to use it)\n")


def test_a_scheduler_setting_that_cannot_be_used_is_exit_1(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    monkeypatch.setenv("KPIDASH_REFRESH_MINUTES", "0")
    get_settings.cache_clear()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # the scheduler logs JSON to this test's captured stderr
    try:
        status, out, err = _kpidash(capsys, "scheduler")
    finally:
        root.handlers[:], root.level = handlers, level
    _assert_one_error(status, FAILED, out, err, "KPIDASH_REFRESH_MINUTES")


@pytest.mark.parametrize("command", ["runs", "prune", "backup"])
@pytest.mark.parametrize("value", ["abc", "0"])
def test_a_setting_that_cannot_be_used_is_named_not_reported_as_a_bug(capsys, monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path, command: str, value: str) -> None:
    """An operations audit: a bad KPIDASH_RETENTION_DAYS made every command but doctor say "kpidash stopped on a
    problem it did not expect ... report it", naming no setting."""
    monkeypatch.setenv("KPIDASH_RETENTION_DAYS", value)
    get_settings.cache_clear()
    args = [command, str(tmp_path / "b.tar")] if command == "backup" else [command]
    status, out, err = _kpidash(capsys, *args)
    _assert_one_error(status, FAILED, out, err, f"KPIDASH_RETENTION_DAYS ('{value}'): ")
    assert "report it" not in err and "doctor" in err


def test_a_group_without_its_command_shows_its_help_and_exits_2() -> None:
    done = _script("users")  # help is rendered by the console script (rich output is not for capsys)
    assert done.returncode == USAGE and "Traceback" not in done.stdout + done.stderr
    assert "add" in done.stdout + done.stderr and "disable" in done.stdout + done.stderr


def test_help_and_success_exit_0(capsys, tmp_path: Path) -> None:
    assert _script("--help").returncode == 0
    status, out, err = _kpidash(capsys, "load", str(build_extract(tmp_path / "x")))
    assert status == 0 and out.startswith("run ") and err == ""


def test_the_annex_a_export_into_a_path_it_cannot_create_is_one_error(capsys, tmp_path: Path) -> None:
    """The issue's own case, with a published warehouse: xlsxwriter's own exception on close is an OSError."""
    assert _kpidash(capsys, "load", str(build_extract(tmp_path / "x")))[0] == 0
    folder = tmp_path / "taken.xlsx"
    folder.mkdir()  # a folder where the workbook should go: the file cannot be created
    status, out, err = _kpidash(capsys, "export", "annex-a", "--to", "2025-11-23", "--out", str(folder))
    _assert_one_error(status, FAILED, out, err, f"{folder} cannot be written")


def test_an_unexpected_failure_is_one_line_not_a_traceback(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import etl.runlog

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr("etl.list_runs", broken)  # the command imports it when it runs
    assert etl.runlog  # the command's own import is what is broken, not the module
    status, out, err = _kpidash(capsys, "runs")
    _assert_one_error(status, FAILED, out, err, "did not expect (RuntimeError: disk on fire)")
    assert "second line" not in err and err.count("\n") == 1


def test_a_period_past_the_extract_date_warns_that_stock_figures_are_projections(capsys, tmp_path: Path) -> None:
    """Item 14: the extract is dated 2025-11-24; a later --to still answers, with a warning on stderr."""
    assert _kpidash(capsys, "load", str(build_extract(tmp_path / "x")))[0] == 0
    status, out, err = _kpidash(capsys, "kpis", "--to", "2025-12-31", "--kpi", "open_cases")
    assert status == 0 and "open_cases" in out
    assert err.startswith("warning: 2025-12-31 is after the extract date (2025-11-24): stock figures on it are "
                          "projections")
    status, out, err = _kpidash(capsys, "kpis", "--to", "2025-11-24", "--kpi", "open_cases")
    assert status == 0 and err == ""
    status, _, err = _kpidash(capsys, "trend", "open_cases", "--to", "2026-01-10", "--periods", "2")
    assert status == 0 and err.startswith("warning: 2026-01-10 is after the extract date")


# Through the installed console script: what a person at a shell sees, exit status included.

@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["export", "annex-a", "--to", "2025-11-23", "--out", "/nonexistent/x.xlsx"], FAILED, "cannot be written"),
        (["kpis", "--to", "2025-02-30"], USAGE, "is not a date: there is no such day in the calendar"),
        (["load", "/nonexistent/extract"], FAILED, "does not exist"),
        (["nope"], USAGE, "no such command"),
        (["records", "open_cases", "--unit", "trust", "--level", "all"], USAGE, "--level"),
    ],
    ids=["export-nonexistent", "bad-date", "load-missing", "unknown-command", "records-level-all"],
)
def test_the_console_script_exits_with_one_error_line(args: list[str], code: int, words: str) -> None:
    done = _script(*args)
    _assert_one_error(done.returncode, code, done.stdout, done.stderr, words)


@pytest.mark.parametrize(
    ("command", "says", "never"),
    [
        (["load"], ["an Ofsted Annex A workbook (.xlsx)", "Standard Safeguarding Dataset"], []),
        (["check"], ["an Ofsted Annex A workbook (.xlsx)"], []),
        (["records"], ["trust|service|team|worker"], ["worker|all"]),
        (["trend"], ["trust|service|team|worker", "The series ends with the month or week holding this date",
                     "the last period runs only to --to"], ["worker|all", "Last day of the period"]),
        (["kpis"], ["trust|service|team|worker|all"], []),
    ],
    ids=["load", "check", "records", "trend", "kpis"],
)
def test_help_says_what_the_command_accepts(command: list[str], says: list[str], never: list[str]) -> None:
    """Item 13: `--help` matches behaviour (the refusals above are the behaviour)."""
    done = subprocess.run([str(SCRIPT), *command, "--help"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "300"}) if SCRIPT.exists() else pytest.skip("no script")
    assert done.returncode == 0
    text = " ".join(done.stdout.replace("│", " ").split())
    for words in says:
        assert words in text, words
    for words in never:
        assert words not in text, words


@pytest.mark.parametrize("args", [["load"], ["load", "--help"], ["kpis", "--level", "nope"],
                                  ["trend", "--by", "day", "x"], ["runs", "--limit", "-1"], ["load", "x", "--bogus"]])
def test_a_command_is_built_alone_with_the_same_usage_help_and_errors(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    """cli.errors builds only the command named (Typer works out every command's parameters otherwise): what
    a person sees is what the whole app says."""
    import typer

    built, real = [], typer.main.get_command_from_info

    def counted(command_info, **kwargs):  # noqa: ANN001, ANN003, ANN202
        built.append(command_info.name or typer.main.get_command_name(command_info.callback.__name__))
        return real(command_info, **kwargs)

    monkeypatch.setattr(typer.main, "get_command_from_info", counted)
    alone = _kpidash(capsys, *args)
    assert built == [args[0]]
    built.clear()
    monkeypatch.setattr("cli.errors._only_the_command_named", lambda app, args: typer.main.get_command(app))
    assert _kpidash(capsys, *args) == alone  # exit status, output and errors as the whole app's
    assert len(built) > 20


def test_a_name_that_is_no_command_or_a_group_is_run_by_the_whole_app(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _kpidash(capsys, "loadd")
    assert code == USAGE and "no such command 'loadd'. Did you mean 'load'?" in err
    code, out, _ = _kpidash(capsys, "users", "--help")
    assert code == 0 and "add" in out
