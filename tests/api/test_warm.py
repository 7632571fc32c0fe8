"""Warm after every load: a new version is warmed before it serves, the old one serving meanwhile,
and what the dashboard's pages ask for first after a load is all in the cache already."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from api import accounts
from api.app import create_app
from api.live_warehouse import LiveWarehouse
from core.appdb import get_engine
from core.settings import get_settings
from dashboard.api_client import ApiClient, close_all
from dashboard.pages import team, today
from etl import load_extract
from kpis import open_warehouse

PASSWORD = "Warm-test-pass-1!"


def test_a_new_version_serves_only_once_warmed_and_the_old_one_serves_meanwhile(tmp_path: Path,
                                                                                 publish_tiny) -> None:
    path = tmp_path / "warehouse.duckdb"
    publish_tiny(path, "run-1", [("T1", "Duckpond Assessment", "Front Door")])
    warming, release, warmed = threading.Event(), threading.Event(), []

    def warm(version) -> None:  # noqa: ANN001
        if version.warehouse.run_id == "run-2":
            warming.set()
            assert release.wait(30)
        warmed.append(version.warehouse.run_id)

    live = LiveWarehouse(path, open_warehouse, check_interval=0, warm=warm)
    live.refresh_if_due()  # start-up
    assert live.current_run_id() == "run-1", "the first version serves at once"
    publish_tiny(path, "run-2", [("T1", "Duckpond Assessment", "Front Door")])
    live.refresh_if_due()  # returns at once: the new version is opened and warmed in the background
    assert warming.wait(30)
    with live.use() as version:
        assert version.warehouse.run_id == "run-1", "requests keep the old version while the new one warms"
    release.set()
    deadline = time.monotonic() + 30
    while live.current_run_id() != "run-2" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert live.current_run_id() == "run-2"
    assert sorted(warmed) == ["run-1", "run-2"]  # the first version is warmed too, in the background
    live.close()


def _serve(app) -> tuple[uvicorn.Server, threading.Thread, str]:  # noqa: ANN001
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def test_after_a_load_the_dashboards_first_requests_are_all_answered_from_the_cache(sample_extract: Path) -> None:
    assert load_extract(sample_extract).status == "published"
    accounts.add_user(get_engine(), "ann.exec", "executive", None, None, PASSWORD)
    app = create_app(check_interval=0.05, warm=True)
    cache = app.state.kpidash.cache
    server, thread, base = _serve(app)
    try:
        api = ApiClient(base)
        api.token = api.login("ann.exec", PASSWORD).token
        first = api.status()["warehouse"]["run_id"]
        new_run = load_extract(sample_extract).run_id
        deadline = time.monotonic() + 300  # the new version serves once warmed: slow on a busy machine
        while api.status()["warehouse"]["run_id"] != new_run and time.monotonic() < deadline:
            time.sleep(0.1)
        assert api.status()["warehouse"]["run_id"] == new_run != first
        warmed = {key for key in cache._entries if key[0] == new_run}
        assert len(warmed) > 100

        # what the pages ask for, through the dashboard's own code: Today for the trust, a service and a
        # team, a team's week, the trends
        with open_warehouse(get_settings().db) as wh:
            as_at, teams = wh.extract_date, wh.teams()
        for level, unit in (("trust", None), ("service", teams[0]["service"]), ("team", teams[-1]["team_id"])):
            assert today.tile_data(api, level, unit, as_at)
        monday, last_monday, last_sunday = team.week_bounds(as_at)
        for level, unit, date_from, date_to in (("team", teams[0]["team_id"], monday, as_at),
                                                ("team", teams[0]["team_id"], last_monday, last_sunday),
                                                ("trust", None, monday, as_at)):
            assert api.figures(level, unit, (), date_from, date_to)
        assert api.team_workers(teams[0]["team_id"], as_at) is not None
        for definition in api.definitions():
            assert api.trend(definition["id"], "month", 24, "trust", None, as_at)
        asked = {key for key in cache._entries if key[0] == new_run}
        assert asked == warmed, f"made on request, not warmed: {sorted(map(str, asked - warmed))[:5]}"
    finally:
        close_all()  # the dashboard's shared connection pool, else its sockets are left open until exit
        server.should_exit = True
        thread.join(30)


def test_a_quiet_service_opens_and_warms_a_new_publish_before_anyone_asks(publish_tiny) -> None:
    """An operations audit: an idle API answered the first request 72 s after a publish from the old run (a
    request found the new file, then warmed it in the background while it served the old one). The service
    now looks at the file every check_interval on its own, so the new run is warmed and in hand first."""
    from fastapi.testclient import TestClient

    path = get_settings().db
    publish_tiny(path, "run-1", [("T1", "Duckpond Assessment", "Front Door")])
    app = create_app(check_interval=0.1, warm=True)
    live = app.state.kpidash.live
    with TestClient(app):
        assert live.current_run_id() == "run-1"
        publish_tiny(path, "run-2", [("T1", "Duckpond Assessment", "Front Door")])
        deadline = time.monotonic() + 30
        while live.current_run_id() != "run-2" and time.monotonic() < deadline:
            time.sleep(0.05)  # no request is made meanwhile
        assert live.current_run_id() == "run-2"
