"""How every `kpidash` command ends when it cannot do what was asked, the same way for all of them.

- One line on standard error starting `error: `, saying what is wrong and what to do; warnings start
  `warning: ` and leave the exit status alone.
- Exit status 0 when the command did what was asked; 1 when the input, the data or the state refused it
  (a bad file, no warehouse, a failed load, a refused change); 2 when the command line itself is wrong
  (an unknown option, a missing argument, an option value of the wrong form: Typer's usage errors).
- Never a traceback: `run` turns anything unexpected into one `error:` line too.

The `kpidash` console script calls `main()` (cli/main.py): `run` on the `KpidashApp`, whose `__call__`
is the same. Tests call `run(app, args)` to see exactly what a person sees.
"""

from __future__ import annotations

import atexit
import copy
import datetime as dt
import errno
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

import typer
from typer._click import exceptions as usage  # Typer vendors click: its usage errors are these classes
from typer._click.core import Command as click_command
from typer._click.utils import PacifyFlushWrapper

USAGE, FAILED = 2, 1


def fail(message: str, code: int = FAILED) -> typer.Exit:
    """Say what went wrong (`error: ...` on stderr) and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def warn(message: str) -> None:
    """A warning on stderr; the command goes on."""
    typer.echo(f"warning: {message}", err=True)


def date_option(text: str) -> dt.date:
    """Typer's parser for a date option: core.dates' rule (the API's too), a usage error otherwise."""
    from core.dates import DateProblem, parse_date

    try:
        return parse_date(text, "the date")
    except DateProblem as exc:
        raise typer.BadParameter(str(exc).removeprefix("the date ")) from None


def month_option(text: str) -> str:
    """Typer's parser for a YYYY-MM month option (core.dates)."""
    from core.dates import DateProblem, parse_month

    try:
        return parse_month(text, "the month")
    except DateProblem as exc:
        raise typer.BadParameter(str(exc).removeprefix("the month ")) from None


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _only_the_command_named(app: typer.Typer, args: Sequence[str]) -> click_command:
    """The click command that runs `args`: when they start with the name of one of the app's own commands
    (`kpidash load ...`), a group holding that command alone, as Typer would build it in the whole app (its
    usage, help and errors are the same); otherwise the whole app. Typer works out every command's
    parameters when it builds a group, a thirtieth of a second at each start for the 28 commands."""
    name = args[0] if args else ""
    chosen = [c for c in app.registered_commands  # (a command's name: Typer's own rule)
              if name and (c.name or typer.main.get_command_name(c.callback.__name__)) == name]  # type: ignore
    if len(chosen) != 1 or any(g.name == name for g in app.registered_groups):
        return typer.main.get_command(app)
    alone = copy.copy(app)
    alone.registered_commands, alone.registered_groups = chosen, []
    return typer.main.get_group(alone)


def run(app: typer.Typer, args: Sequence[str] | None = None) -> int:
    """Run the command line `args` (default: sys.argv[1:]) and return its exit status, every failure
    reported as one `error:` line."""
    args = list(args) if args is not None else sys.argv[1:]
    command = _only_the_command_named(app, args)
    try:
        result = command.main(args=args, prog_name="kpidash", standalone_mode=False)
    except usage.NoArgsIsHelpError:  # `kpidash users`: Typer has shown the group's help
        return USAGE
    except usage.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "kpidash"
        typer.echo(f"error: {_first_lower(exc.format_message())}\n(`{where} --help` says how to use it)", err=True)
        return USAGE
    except usage.ClickException as exc:
        typer.echo(f"error: {_first_lower(exc.format_message())}", err=True)
        return exc.exit_code or FAILED
    except typer.Abort:
        typer.echo("error: stopped before it finished", err=True)
        return FAILED
    except KeyboardInterrupt:
        typer.echo("error: stopped (Ctrl-C) before it finished", err=True)
        return 130
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # `kpidash rejects | head`: the reader stopped; nothing is wrong
            sys.stdout = PacifyFlushWrapper(sys.stdout)  # type: ignore[assignment]
            return 0
        typer.echo(f"error: {exc.strerror or exc}{f' ({exc.filename})' if exc.filename else ''}", err=True)
        return FAILED
    except Exception as exc:  # noqa: BLE001  the last resort: one line, never a traceback
        if type(exc).__name__ == "ValidationError" and getattr(exc, "title", "") == "Settings":
            from core.settings import settings_problems  # (pydantic's error: not imported to recognise it)

            typer.echo(f"error: {settings_problems(exc)}. Fix it where the service's environment is set; "
                       "`kpidash doctor` checks every setting", err=True)
            return FAILED
        detail = str(exc).splitlines()[0] if str(exc) else ""
        typer.echo(f"error: kpidash stopped on a problem it did not expect ({type(exc).__name__}"
                   f"{': ' + detail if detail else ''}); nothing more was done. Please report it to the kpidash team.",
                   err=True)
        return FAILED
    return result if isinstance(result, int) else 0


_teardown = {"needed": True}


def skip_teardown() -> None:
    """Said by a command whose work is finished and durable once it returns (`load` and `check` close their
    DuckDB connections and commit the load log): the console script then exits without the interpreter's
    teardown of every imported module, a tenth of a second after a load (SQLAlchemy, pydantic, DuckDB,
    numpy), once the exit handlers have run and the output is flushed (`exit_now`)."""
    _teardown["needed"] = False


def exit_now(code: int) -> NoReturn:
    """Exit with `code` as Python's own exit would, without its teardown of modules: exit handlers
    (atexit, logging's) run and standard output and error are flushed first. Only when no other
    non-daemon thread is alive (Python's exit would wait for it); otherwise the usual exit."""
    if any(t is not threading.current_thread() and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is not None:
        run_exit_handlers()
    else:  # pragma: no cover  (CPython has it)
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`kpidash load | head`) or stream: nothing left to say
            pass
    os._exit(code)


def main(app: typer.Typer) -> NoReturn:
    """The console script: run the command line and exit with its status; without the interpreter's
    teardown when the command said so (`skip_teardown`)."""
    code = run(app)
    if _teardown["needed"]:
        sys.exit(code)
    exit_now(code)


class KpidashApp(typer.Typer):
    """The kpidash Typer app: called as the console script, it runs through `run` and exits with its status."""

    def __call__(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        sys.exit(run(self))
