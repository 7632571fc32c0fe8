"""A corrupt published warehouse while a kept copy of the last publish is good: the service says so
and serves the kept copy (in /status, the banner and the log), and `kpidash serve` starts on it."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from api import accounts
from core.settings import get_settings
from etl import load_extract, runlog
from extract_builder import build_extract

GARBAGE = b"this is not a DuckDB file" * 400


def _published_then_corrupted(tmp_path: Path) -> str:
    good = load_extract(build_extract(tmp_path / "extract"))
    assert good.status == "published", good.message
    get_settings().db.write_bytes(GARBAGE)  # written over in place, as `cp` would
    return good.run_id


def test_status_and_the_banner_say_the_kept_copy_is_served(tmp_path: Path) -> None:
    from api.app import create_app
    from dashboard.components.banner import freshness_banner

    run_id = _published_then_corrupted(tmp_path)
    app = create_app(check_interval=0)
    engine = app.state.kpidash.engine
    accounts.add_user(engine, "viewer", "executive", password="viewer-password-123")
    token = accounts.create_api_token(engine, "viewer", days=1).token
    with TestClient(app) as client:
        status = client.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"}).json()
        assert client.get("/api/v1/ready").json()["ready"] is True
    db = get_settings().db
    assert status["warehouse"]["run_id"] == run_id and status["extract_date"] == "2025-11-24"
    problem = status["warehouse_problem"]
    assert problem.startswith(f"The published warehouse file {db} cannot be read (")
    served = (rf"; serving the last good copy {re.escape(str(db))}\.last-good \(run {run_id} loaded at "
              r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\) read-only until a load publishes a good one\.$")
    assert re.search(served, problem), problem

    finished = dt.datetime.fromisoformat(status["last_good_load"]["finished_at"].replace("Z", "+00:00"))
    fresh = {**status, "last_good_load": {**status["last_good_load"], "extracted_at": None}}  # as if taken just now:
    banner = freshness_banner(fresh, now=finished + dt.timedelta(minutes=5))  # the banner judges the extract's age too
    assert banner.className == "banner banner-amber"  # recent, but not "Up to date"
    assert "an earlier copy is shown" in banner.children[1]  # said plainly; the loader's words one click away:
    assert banner.children[-1].children[1].children.endswith(problem)


def test_serve_starts_on_the_kept_copy_and_finishes_the_run_left_running(tmp_path: Path) -> None:
    run_id = _published_then_corrupted(tmp_path)
    settings = get_settings()
    # the app database failed after a publish: the publishing run was left running (ids from the warehouse)
    runlog.start_run(run_id + "x", "x", dt.datetime(2025, 1, 1), host="elsewhere", pid=1,
                     warehouse=str(settings.db.absolute()))
    with runlog.Session(runlog.get_engine()) as session, session.begin():
        session.get_one(runlog.LoadRun, run_id).status = "running"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = "import typer; from cli import api_commands; app = typer.Typer(); api_commands.register(app); app()"
    with subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port)], env=dict(os.environ),
                          cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            output, deadline = "", time.monotonic() + 30
            while "kpidash is running at" not in output and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                output += line
            assert "kpidash is running at" in output, output
            assert f"warning: cannot read the warehouse {settings.db}" in output
            assert (f"Serving the last good copy {settings.db}.last-good instead (run {run_id}, extract of "
                    "2025-11-24), read-only") in output
            assert f"Finished 1 load-log entries left running: {run_id} (see kpidash runs)." in output
            ready = httpx.get(f"http://127.0.0.1:{port}/api/v1/ready").json()
            assert ready == {"ready": True, "warehouse": "ok", "app_db": "ok"}
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert (runlog.get_run(run_id).status, runlog.get_run(run_id).message) == ("published", runlog.FINISHED_LATE)
    assert runlog.get_run(run_id + "x").status == "running"  # another machine's, not published: left alone
