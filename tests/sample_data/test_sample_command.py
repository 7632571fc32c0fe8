"""`kpidash sample`: help, a run, and plain messages (no traceback) for bad options."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.sample_commands import register


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def kpidash() -> None:
        """Stands in for cli.main's app, so `sample` is a subcommand as it is there."""

    register(app)
    return app


def run(app: typer.Typer, *args: str):  # noqa: ANN201
    return CliRunner().invoke(app, list(args))


def test_help_describes_the_command_and_every_option(app: typer.Typer) -> None:
    result = run(app, "sample", "--help")
    assert result.exit_code == 0
    for text in ("Sandwell", "--out", "--seed", "--scale", "--end-date", "byte-identical", "Default: yesterday"):
        assert text in result.output, text


def test_writes_the_extract_and_prints_the_rows_per_file(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "sample"
    result = run(app, "sample", "--out", str(out), "--seed", "3", "--scale", "0.05", "--end-date", "2025-11-23")
    assert result.exit_code == 0, result.output
    assert "seed 3, scale 0.05, history ending 2025-11-23" in result.output
    for line in result.output.splitlines()[1:-1]:
        name, count = line.split()
        with open(out / name, encoding="utf-8") as f:
            assert int(count.replace(",", "")) == sum(1 for _ in f) - 1
    assert (out / "manifest.json").read_text(encoding="utf-8").count("2025-11-24T06:30:00") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--end-date", "23/11/2025"), '"23/11/2025" is not a date: write it YYYY-MM-DD'),
        (("--end-date", "2025-02-30"), '"2025-02-30" is not a date'),
        (("--scale", "0"), "0 is out of range: use a number from 0.01 to 100"),
        (("--scale", "lots"), "--scale"),
        (("--seed", "-4"), "--seed"),
    ],
)
def test_bad_option_values_get_a_plain_message_and_exit_2(app: typer.Typer, tmp_path: Path, args: tuple, message: str) -> None:
    result = run(app, "sample", "--out", str(tmp_path / "x"), *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_a_file_where_the_folder_should_be_is_refused(app: typer.Typer, tmp_path: Path) -> None:
    (tmp_path / "taken.csv").write_text("x")
    result = run(app, "sample", "--out", str(tmp_path / "taken.csv"), "--scale", "0.02")
    assert result.exit_code == 2
    assert "is a file; the sample needs a folder" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_folder_that_cannot_be_made_exits_1_without_a_traceback(app: typer.Typer, tmp_path: Path) -> None:
    (tmp_path / "taken.csv").write_text("x")
    result = run(app, "sample", "--out", str(tmp_path / "taken.csv" / "inside"), "--scale", "0.02")
    assert result.exit_code == 1
    assert "error: cannot write the sample into" in result.output
    assert "Traceback" not in result.output
