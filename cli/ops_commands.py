"""`kpidash refresh`, `scheduler` and `doctor`: keeping a deployment live and healthy.

Exit status (cli/errors.py, as every command): 0 when all is well, 1 when a refresh failed, a scheduler
already runs, a check failed or the configuration must be fixed; 2 only for a wrong command line.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.errors import fail


def _fail(message: str) -> None:
    raise fail(message)


def refresh_command(
    force: Annotated[bool, typer.Option("--force", help="Load even if the source has not changed.")] = False,
    allow_shrink: Annotated[bool, typer.Option(
        "--allow-shrink", help="Load even when a file has far fewer rows than the published warehouse holds for it "
        "(KPIDASH_SHRINK_MIN_FRACTION): only when the source really did shrink.")] = False,
) -> None:
    """Load the live source (drop folder or SQL source) if it changed since the last refresh."""
    from etl.refresh import refresh
    from etl.sources import SourceError

    try:
        outcome = refresh(force=force, allow_shrink=allow_shrink)
    except SourceError as err:
        _fail(str(err))
        return
    if outcome.action in ("failed", "unreachable"):  # one error line on stderr, as `kpidash load` says it
        _fail(f"{outcome.action}: {outcome.message}")
    typer.echo(f"{outcome.action}: {outcome.message}")


def scheduler_command() -> None:
    """Run the deployment's scheduler: refresh every KPIDASH_REFRESH_MINUTES, nightly history, weekly packs."""
    from scheduler.leader import NotLeader
    from scheduler.runner import ScheduleError, run_scheduler

    try:
        run_scheduler()
    except NotLeader as err:
        _fail(str(err))
    except ScheduleError as err:
        _fail(str(err))
    except KeyboardInterrupt:
        typer.echo("scheduler stopped", err=True)


def doctor_command() -> None:
    """Check configuration, the live source, disk space, the warehouse and the app database."""
    from scheduler.doctor import run_checks

    checks = run_checks()
    width = max(len(c.name) for c in checks)
    for c in checks:
        typer.echo(f"{c.result.upper():4}  {c.name:<{width}}  {c.detail}")
    if any(c.result == "fail" for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the operations commands to the kpidash app."""
    app.command("refresh")(refresh_command)
    app.command("scheduler")(scheduler_command)
    app.command("doctor")(doctor_command)
