"""`kpidash serve`, `users`, `tokens` and `audit`: running the service and deciding who may use it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from cli.errors import fail

# As api.models.ROLES, api.accounts.MAX_TOKEN_DAYS and core.audit.EVENTS (tests/test_cli_startup.py
# checks): named here so that building the command line does not import the app database's models.
ROLES = ("executive", "head_of_service", "team_manager", "analyst", "admin", "board")
MAX_TOKEN_DAYS = 366
EVENTS = ("records", "export", "rejects", "login_failed", "prune", "backup", "restore", "analysis", "action", "pack",
          "user_change")
WORKER_HEALTHCHECK_SECONDS = 60
users_app = typer.Typer(help="Who may sign in, with which role.", no_args_is_help=True)
tokens_app = typer.Typer(help="Bearer tokens for API clients (shown once, kept only hashed).", no_args_is_help=True)


def _audit_change(what: str, name: str) -> None:
    """A change to a user on the audit trail (`user_change`, channel cli), as the admin page writes it."""
    from core.appdb import get_engine
    from core.audit import record_command

    with _refusals():
        record_command(get_engine(), "user_change", unit=name, detail=f"{what} {name}")


@contextmanager
def _refusals() -> Iterator[None]:
    """A refusal, or an app database that cannot be reached, becomes a message on stderr and exit
    code 1 (never a traceback)."""
    from sqlalchemy.exc import SQLAlchemyError

    from api import accounts

    try:
        yield
    except accounts.AccountError as exc:
        raise fail(str(exc)) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise fail(f"the app database (KPIDASH_APP_DB) cannot be used: {reason}") from None


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value is not None else "-"


def _table(header: list[str], rows: list[list[object]]) -> None:
    """Aligned columns, one line per row whatever the cells hold (control characters shown escaped)."""
    from core.audit import one_line

    cells = [[str(c) for c in header]] + [["-" if c is None else one_line(str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for row in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _first_team_and_service() -> tuple[str | None, str | None, str | None]:
    """The published warehouse's first team and its service, and why not when there is none yet.

    A warehouse file that exists but cannot be read (corrupt, truncated) means the kept copy of the
    last publish is served (with a warning); with no good kept copy either, the start stops, saying
    how to get the last good version back. No file yet is fine (the service says "load an extract").
    """
    from core.settings import get_settings
    from etl.publish import last_good_path
    from kpis import KpiError, open_warehouse

    db = get_settings().db
    try:
        with open_warehouse() as wh:
            teams = wh.teams()
    except KpiError as exc:
        if not db.exists():
            return None, None, str(exc)
        kept = last_good_path(db)
        try:
            with open_warehouse(kept) as wh:
                teams = wh.teams()
                run_id, extract_date = wh.run_id, wh.extract_date
        except KpiError:
            _refuse_to_start(exc)
        typer.echo(f"warning: {exc}\nServing the last good copy {kept} instead (run {run_id}, extract of "
                   f"{extract_date:%Y-%m-%d}), read-only, until a load publishes a good warehouse; "
                   "/api/v1/status says so too.", err=True)
    if not teams:
        return None, None, "the published warehouse has no teams"
    return teams[0]["team_id"], teams[0]["service"], None  # the head of service oversees the team manager


def _finish_unfinished_runs() -> None:
    """Finish the load-log entries left "running" by a load whose app database failed (or that was
    killed): only when no load is running (the load lock is free), else the next load does it."""
    import socket

    from core.settings import get_settings
    from etl import publish, runlog

    db = get_settings().db.absolute()
    try:
        with publish.load_lock(db):
            finished = runlog.mark_interrupted(host=socket.gethostname(), warehouse=str(db),
                                               published=publish.published_runs(db))
    except publish.LoadBusy:
        return
    if finished:
        typer.echo(f"Finished {len(finished)} load-log entries left running: {', '.join(finished)} "
                   "(see kpidash runs).")


def _refuse_to_start(exc: Exception) -> None:
    """Stop `serve` on an unreadable warehouse, naming the archived input of the last good load."""
    from core.settings import get_settings
    from etl import last_good_run

    last = last_good_run()
    again = (f"kpidash load {get_settings().archive_dir / last.run_id} (the archived input of the last good "
             f"load, {last.run_id})" if last else "kpidash load FOLDER")
    typer.echo(f"error: not starting: {exc}\nTo serve the last good data again, run {again}.", err=True)
    raise typer.Exit(1)


def _check_scope_exists(team: str | None, service: str | None) -> None:
    """Refuse a team or service the published extract does not know (a typo would lock a manager out)."""
    if team is None and service is None:
        return
    from kpis import KpiError, open_warehouse

    try:
        with open_warehouse() as wh:
            teams = wh.teams()
    except KpiError as exc:
        typer.echo(f"warning: cannot check the team or service against the extract ({exc}).", err=True)
        return
    if team is not None and team not in {t["team_id"] for t in teams}:
        raise fail(f"team {team!r} is not in the published extract; teams are: "
                    f"{', '.join(t['team_id'] for t in teams)}.")
    if service is not None and service not in {t["service"] for t in teams}:
        raise fail(f"service {service!r} is not in the published extract; services are: "
                    f"{', '.join(sorted({t['service'] for t in teams}))}.")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The username they sign in with.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    team: Annotated[str | None, typer.Option(help="team_manager only: the team_id of their team.")] = None,
    service: Annotated[str | None, typer.Option(help="head_of_service only: the name of their service.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (else one is made up).")
    ] = False,
) -> None:
    """Add a user. Without --password-stdin a random password is made and printed once."""
    from api import accounts
    from core.appdb import get_engine

    with _refusals():
        accounts.check_new_user(name, role, team, service)
    _check_scope_exists(team, service)
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with _refusals():
        user, password = accounts.add_user(get_engine(), name, role, team, service, password)
    scope = f" for team {team}" if team else f" for service {service}" if service else ""
    _audit_change(f"add as {role}{scope.replace(' for ', ' of ')}:", name)
    typer.echo(f"Added {user.username} ({role}{scope}).")
    if not password_stdin:
        typer.echo(f"Password (shown once, kept only hashed): {password}")


@users_app.command("list")
def users_list() -> None:
    """Every user: role, scope, whether active, last sign-in."""
    from api import accounts
    from core.appdb import get_engine

    with _refusals():
        users = accounts.list_users(get_engine())
    _table(
        ["username", "role", "team", "service", "active", "last sign-in", "locked until"],
        [[u.username, u.role, u.team, u.service, "yes" if u.active else "no", _when(u.last_login_at),
          _when(u.locked_until) if u.locked_until else None] for u in users],
    )


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="The username.")]) -> None:
    """Stop a user signing in and revoke all their tokens (users are kept, for the audit trail)."""
    from api import accounts
    from core.appdb import get_engine

    with _refusals():
        accounts.set_active(get_engine(), name, active=False)
    _audit_change("disable", name)
    typer.echo(f"Disabled {name}; their sessions and API tokens no longer work.")


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="The username.")]) -> None:
    """Let a disabled (or locked-out) user sign in again."""
    from api import accounts
    from core.appdb import get_engine

    with _refusals():
        accounts.set_active(get_engine(), name, active=True)
    _audit_change("enable", name)
    typer.echo(f"Enabled {name}.")


@users_app.command("reset-password")
def users_reset_password(
    name: Annotated[str, typer.Argument(help="The username.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (else one is made up).")
    ] = False,
) -> None:
    """Give a user a new password and lift any lock-out."""
    from api import accounts
    from core.appdb import get_engine

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with _refusals():
        password = accounts.set_password(get_engine(), name, password)
    _audit_change("reset the password of", name)
    typer.echo(f"New password for {name} set.")
    if not password_stdin:
        typer.echo(f"Password (shown once, kept only hashed): {password}")


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Argument(help="The user the token acts as (their role and scope apply).")],
    days: Annotated[int, typer.Option(help=f"Days until it expires (1 to {MAX_TOKEN_DAYS}).")] = 30,
    name: Annotated[str | None, typer.Option(help="A label, e.g. the client's name.")] = None,
) -> None:
    """Make an API token; it is printed once and only its hash is kept."""
    from api import accounts
    from core.appdb import get_engine

    with _refusals():
        issued = accounts.create_api_token(get_engine(), user, days, name)
    typer.echo(f"Token {issued.id} for {issued.username}, expires {_when(issued.expires_at)}.")
    typer.echo("Send it as 'Authorization: Bearer <token>'. It is shown once:")
    typer.echo(issued.token)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="The token's id (see `kpidash tokens list`).")]) -> None:
    """Stop a token working at once."""
    from api import accounts
    from core.appdb import get_engine

    with _refusals():
        accounts.revoke_token(get_engine(), token_id)
    typer.echo(f"Revoked token {token_id}.")


@tokens_app.command("list")
def tokens_list(
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
    sessions: Annotated[bool, typer.Option("--sessions", help="Include sign-in sessions, not only API tokens.")] = False,
) -> None:
    """Tokens (never their secret, which is not kept): who, what, when they expire, whether revoked."""
    from api import accounts
    from core.appdb import get_engine

    with _refusals():
        tokens = accounts.list_tokens(get_engine(), user, include_sessions=sessions)
    _table(
        ["id", "user", "kind", "name", "created", "expires", "revoked"],
        [[t.id, username, t.kind, t.name, _when(t.created_at), _when(t.expires_at),
          _when(t.revoked_at) if t.revoked_at else None]
         for t, username in tokens],
    )


def audit_command(
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="How many entries, newest first.")] = 50,
    user: Annotated[str | None, typer.Option(help="Only this user's entries.")] = None,
    event: Annotated[str | None, typer.Option(help=f"Only one kind: {', '.join(EVENTS)}.")] = None,
) -> None:
    """The audit trail: who looked at or downloaded which child-level records, when, from where and
    through which door (api, dashboard, cli, scheduler); failed sign-ins; data removed (prune), backed up
    and restored. One line per entry: control characters in what people typed (a username) are shown
    escaped."""
    from api import audit
    from core.appdb import get_engine

    if event not in (None, *EVENTS):
        raise fail(f"--event must be one of {', '.join(EVENTS)}.")
    with _refusals():
        trail = audit.entries(get_engine(), limit, user, event)
    _table(
        ["when", "event", "user", "outcome", "kpi", "level", "unit", "from", "to", "records", "address", "via",
         "detail"],
        [[_when(e.at), e.event, e.username, e.outcome, e.kpi, e.level, e.unit, e.date_from, e.date_to, e.record_count,
          e.client_address, e.channel, e.detail] for e in trail],
    )


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="Worker processes sharing the port (default KPIDASH_WORKERS, 1). They share the app "
        "database (sessions, lock-outs) and the warehouse; each keeps its own response cache.",
        show_default=False)] = None,
) -> None:
    """Run the service. On the first start, make one demo user per role and print their passwords once."""
    import uvicorn

    from api import accounts
    from api.app import create_server_app
    from core.appdb import get_engine
    from core.settings import get_settings
    from scheduler.logs import configure_json_logging

    team, service, why_not = _first_team_and_service()
    with _refusals():
        _finish_unfinished_runs()
        made = accounts.create_demo_users(get_engine(), team, service) if get_settings().demo_users else []
        if not get_settings().demo_users and not accounts.list_users(get_engine()):
            typer.echo("No one can sign in yet: add the first administrator with "
                       "`kpidash users add NAME --role admin` (KPIDASH_DEMO_USERS is false).")
    if made:
        typer.echo("First start: one demo user per role. The passwords are shown this once and kept only hashed:")
        _table(["username", "role", "scope", "password"],
               [[u.username, u.role, u.team or u.service or "all", pw] for u, pw in made])
        if why_not:
            typer.echo(f"(no team manager or head of service demo user: {why_not})")
        typer.echo("")
    url = f"http://{host}:{port}"
    if "KPIDASH_API_URL" not in os.environ:
        # The dashboard reaches the API over loopback: point it at the port this server listens on.
        loopback = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        os.environ["KPIDASH_API_URL"] = f"http://{loopback}:{port}"
        get_settings.cache_clear()

    workers = workers or get_settings().workers
    if workers > 1:
        # uvicorn's supervisor starts each worker as a fresh process that builds its own app from the
        # environment (KPIDASH_API_URL included, set above); the demo users and the load log are done.
        typer.echo(f"kpidash is starting {workers} workers at {url} (API docs at /api/docs)")
        # The supervisor kills a worker that misses its health ping; uvicorn's 5 s is too short for a
        # worker starting (imports, the warehouse) on a busy small machine, which it then restarts forever.
        # proxy_headers=False in every worker too (see below): the app decides from KPIDASH_TRUSTED_PROXIES.
        # No access log (in any worker): a line per request cost a twelfth of a cached request;
        # api/request_log.py summarises requests in kpidash's own log instead.
        uvicorn.run("api.app:create_server_app", factory=True, host=host, port=port, workers=workers,
                    log_level="info", timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS, proxy_headers=False,
                    access_log=False)
        return

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:  # noqa: ANN001
            await super().startup(sockets)
            if self.started:
                typer.echo(f"kpidash is running at {url} (API docs at /api/docs)")

    configure_json_logging()  # kpidash's own lines (request summaries, warnings) as JSON on stderr
    # proxy_headers=False: uvicorn would believe X-Forwarded-For from 127.0.0.1 (anyone on this machine, or
    # a forged header through a local proxy); the app decides from KPIDASH_TRUSTED_PROXIES (api/middleware.py).
    # No access log: a line per request cost a twelfth of a cached request; api/request_log.py summarises.
    Server(uvicorn.Config(create_server_app(), host=host, port=port, workers=1, log_level="info",
                          proxy_headers=False, access_log=False)).run()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kpidash app."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
    app.command("audit")(audit_command)
