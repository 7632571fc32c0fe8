"""`kpidash --help` lists each command with its docstring's first paragraph, as one line of words."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app


def test_the_command_list_joins_each_summary_into_one_line() -> None:
    """Typer's command list kept the docstring's line breaks: "far below what is" and "published, publish
    it" were shown on two lines, "is" and "published" far apart."""
    shown = CliRunner().invoke(app, ["--help"], terminal_width=400, env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.output
    line = next(row for row in shown.stdout.splitlines() if " load " in row)
    assert "has shrunk far below what is published, publish it as the new warehouse." in line, line
    for group in (app, *(g.typer_instance for g in app.registered_groups)):
        for info in group.registered_commands:
            assert info.short_help and "\n" not in info.short_help, info.name
