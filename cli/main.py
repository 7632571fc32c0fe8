"""The `kpidash` command: one Typer app, each layer registering its own commands; every failure ends
the same way (cli/errors.py: `error: ...`, exit 1 or 2, never a traceback)."""

from __future__ import annotations

import inspect

import typer

from cli import (
    annex_commands,
    api_commands,
    dashboard_commands,
    data_commands,
    etl_commands,
    kpi_commands,
    ops_commands,
    sample_commands,
)
from cli.errors import KpidashApp
from cli.errors import main as _main

app = KpidashApp(
    help="kpidash: live KPI dashboards for children's social care.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sample_commands.register(app)
etl_commands.register(app)
kpi_commands.register(app)
api_commands.register(app)
dashboard_commands.register(app)
ops_commands.register(app)
annex_commands.register(app)
data_commands.register(app)


def _one_line_summaries(typer_app: typer.Typer) -> None:
    """Typer's command list keeps the line breaks of a docstring's first paragraph (`kpidash --help` showed
    "far below what is" and "published" on two lines): give each command its first paragraph as one line."""
    for info in typer_app.registered_commands:
        text = info.help or inspect.getdoc(info.callback) or ""
        if info.short_help is None and text:
            info.short_help = " ".join(text.split("\n\n")[0].split())
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _one_line_summaries(group.typer_instance)


_one_line_summaries(app)


def main() -> None:
    """The `kpidash` console script (pyproject.toml): `app()`, exiting without the interpreter's teardown
    after the commands that allow it (cli.errors.skip_teardown)."""
    _main(app)


if __name__ == "__main__":
    main()
