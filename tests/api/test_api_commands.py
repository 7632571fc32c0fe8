"""`kpidash users`, `tokens`, `audit` and `serve` (cli/api_commands.py): clear output, non-zero exits
with a message for bad input, secrets shown once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from api import accounts
from cli import api_commands
from core.appdb import get_engine
from core.settings import get_settings
from tests.live_server import free_port

app = typer.Typer(pretty_exceptions_enable=False)
api_commands.register(app)
runner = CliRunner()


def run(*args: str, input: str | None = None):  # noqa: ANN201
    return runner.invoke(app, list(args), input=input)


def test_users_add_makes_up_a_password_and_shows_it_once() -> None:
    result = run("users", "add", "alice", "--role", "executive")
    assert result.exit_code == 0, result.output
    password = re.search(r"Password \(shown once, kept only hashed\): (\S+)", result.output).group(1)
    assert accounts.sign_in(get_engine(), get_settings(), "alice", password, "127.0.0.1").username == "alice"
    listing = run("users", "list")
    assert re.search(r"^alice\s+executive\s+-\s+-\s+yes\s+", listing.output, flags=re.M), listing.output
    assert password not in listing.output


def test_user_changes_from_the_command_line_are_on_the_audit_trail() -> None:
    """As the admin page's are (user_change), with the operating-system account and channel cli."""
    from sqlalchemy import text

    for args in (["users", "add", "trail_cli", "--role", "analyst", "--password-stdin"],
                 ["users", "disable", "trail_cli"], ["users", "enable", "trail_cli"],
                 ["users", "reset-password", "trail_cli", "--password-stdin"]):
        result = run(*args, input="a-long-enough-password-1\n")
        assert result.exit_code == 0, result.output
    with get_engine().connect() as con:
        rows = con.execute(text("SELECT detail, channel, outcome FROM audit_log WHERE event = 'user_change' "
                                "AND unit = 'trail_cli' ORDER BY id")).all()
    assert [r.detail for r in rows] == ["add as analyst: trail_cli", "disable trail_cli", "enable trail_cli",
                                        "reset the password of trail_cli"]
    assert {(r.channel, r.outcome) for r in rows} == {("cli", "ok")}


def test_users_add_reads_a_password_from_stdin_without_echoing_it() -> None:
    result = run("users", "add", "bob", "--role", "analyst", "--password-stdin", input="a very long password\n")
    assert result.exit_code == 0 and "a very long password" not in result.output
    assert accounts.sign_in(get_engine(), get_settings(), "bob", "a very long password", "127.0.0.1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "carol", "--role", "boss"], "error: Role 'boss' is not a role"),
        (["users", "add", "carol", "--role", "team_manager"], "error: A team_manager needs --team"),
        (["users", "disable", "nobody"], "error: There is no user called 'nobody'"),
        (["tokens", "create", "nobody"], "error: There is no user called 'nobody'"),
        (["tokens", "revoke", "999"], "error: There is no token 999"),
        (["audit", "--event", "everything"], "error: --event must be one of records, export, rejects, login_failed, prune, backup, restore, "
                                                "analysis, action, pack, user_change."),
    ],
)
def test_bad_input_exits_non_zero_with_a_message_not_a_traceback(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert result.output.strip().startswith(message)
    assert "Traceback" not in result.output


def test_a_team_the_published_extract_does_not_know_is_refused(publish_tiny, isolated_settings) -> None:
    publish_tiny(isolated_settings.db, "run-1", [("T1", "Duckpond Assessment", "Front Door")])
    result = run("users", "add", "tm", "--role", "team_manager", "--team", "T9")
    assert result.exit_code == 1 and "team 'T9' is not in the published extract; teams are: T1." in result.output
    assert run("users", "add", "tm", "--role", "team_manager", "--team", "T1").exit_code == 0


def test_tokens_are_shown_once_listed_without_their_secret_and_revoked() -> None:
    run("users", "add", "alice", "--role", "analyst")
    created = run("tokens", "create", "alice", "--days", "7", "--name", "report server")
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    token_id = int(re.search(r"Token (\d+) for alice", created.output).group(1))
    assert accounts.authenticate(get_engine(), token).username == "alice"
    listing = run("tokens", "list")
    assert "report server" in listing.output and token not in listing.output
    assert run("tokens", "revoke", str(token_id)).exit_code == 0
    with pytest.raises(accounts.AccountError, match="revoked"):
        accounts.authenticate(get_engine(), token)


def test_disable_then_enable() -> None:
    run("users", "add", "alice", "--role", "analyst")
    assert "Disabled alice" in run("users", "disable", "alice").output
    assert re.search(r"^alice\s+analyst\s+-\s+-\s+no", run("users", "list").output, flags=re.M)
    assert run("users", "enable", "alice").exit_code == 0


def test_audit_lists_failed_sign_ins() -> None:
    run("users", "add", "alice", "--role", "analyst")
    with pytest.raises(accounts.AccountError):
        accounts.sign_in(get_engine(), get_settings(), "alice", "not the password", "198.51.100.4")
    result = run("audit", "--limit", "5")
    assert result.exit_code == 0
    assert re.search(r"login_failed\s+alice\s+wrong_password\s+.*198\.51\.100\.4", result.output), result.output


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        lines.append(line)
        if marker in line or not line:
            break
    return "".join(lines)


def test_serve_makes_demo_users_and_answers_over_real_http(sample_warehouse: Path, tmp_path: Path) -> None:
    """A live uvicorn in its own process, as `make run` starts it."""
    port = free_port()
    env = {**os.environ, "KPIDASH_DB": str(sample_warehouse), "KPIDASH_APP_DB": f"sqlite:///{tmp_path / 'app.db'}"}
    code = "import typer; from cli import api_commands; app = typer.Typer(); api_commands.register(app); app()"
    with subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            output = _read_until(proc, "kpidash is running at", timeout=30)
            assert f"kpidash is running at http://127.0.0.1:{port} (API docs at /api/docs)" in output, output
            demo = dict(re.findall(r"^(demo_\w+)\s+\w+\s+\S.*?\s(\S+)$", output, flags=re.M))
            assert sorted(demo) == ["demo_admin", "demo_analyst", "demo_board", "demo_executive",
                                    "demo_head_of_service", "demo_team_manager"]
            base = f"http://127.0.0.1:{port}/api/v1"
            assert httpx.get(f"{base}/health").json() == {"status": "ok"}
            assert httpx.get(f"{base}/ready").json()["ready"] is True
            login = httpx.post(f"{base}/auth/login", json={"username": "demo_analyst", "password": demo["demo_analyst"]})
            assert login.status_code == 200
            kpis = httpx.get(f"{base}/kpis?level=team", headers={"Authorization": f"Bearer {login.json()['token']}"})
            assert kpis.status_code == 200 and len(kpis.json()) > 0, kpis.text
            assert httpx.get(f"http://127.0.0.1:{port}/api/docs").status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    # the passwords were printed, never stored: the database holds argon2 hashes of them only
    from core.appdb import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    users = accounts.list_users(engine)
    engine.dispose()
    assert sorted(u.username for u in users) == sorted(demo)
    assert all(u.password_hash.startswith("$argon2id$") and demo[u.username] not in u.password_hash for u in users)


def test_an_unreachable_app_database_is_a_message_not_a_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KPIDASH_APP_DB", f"sqlite:///{tmp_path / 'not-a-db.db'}")
    (tmp_path / "not-a-db.db").write_bytes(b"this is not a database" * 100)
    get_settings.cache_clear()
    get_engine.cache_clear()
    result = run("users", "list")
    assert result.exit_code == 1
    assert result.output.startswith("error: the app database (KPIDASH_APP_DB) cannot be used: file is not a database")


def test_serve_refuses_a_corrupt_warehouse_and_says_how_to_get_the_last_good_data_back(tmp_path: Path) -> None:
    from etl import load_extract
    from tests.etl.extract_builder import build_extract

    good = load_extract(build_extract(tmp_path / "extract"))
    assert good.status == "published", good.message
    db = get_settings().db
    db.write_bytes(b"this is not a DuckDB file" * 100)
    Path(f"{db}.last-good").unlink()  # no kept copy to serve instead (tests/ops/test_corrupt_warehouse_serve.py)
    result = run("serve", "--port", "1")
    assert result.exit_code == 1
    assert "not starting" in result.output and "Traceback" not in result.output
    archived = get_settings().archive_dir / good.run_id
    assert f"kpidash load {archived}" in result.output
    # the archived input really is the last good data: loading it publishes a readable warehouse again
    again = load_extract(archived)
    assert again.status == "published", again.message
