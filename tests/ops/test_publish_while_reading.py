"""Readers during loads: concurrent HTTP requests to a real server while extracts are published again
and again get no errors, and every answer is one warehouse version's (its figures match its run id)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from extract_builder import build_extract

from etl import load_extract

LOADS = 4
READERS = 3
# Extract A: one child with an open episode; extract B adds a second: open cases 1 or 2 by version.
SECOND_CHILD = {
    "children": [{"child_id": "C2", "date_of_birth": "2016-07-08"}],
    "episodes": [{"episode_id": "E2", "child_id": "C2", "start_date": "2025-11-03"}],
}


def test_concurrent_reads_during_repeated_loads(tmp_path: Path) -> None:
    from api import accounts
    from api.app import create_app

    extracts = {1: build_extract(tmp_path / "a"), 2: build_extract(tmp_path / "b", add=SECOND_CHILD)}
    expected: dict[str, int] = {}  # run id -> open cases
    first = load_extract(extracts[1])
    expected[first.run_id] = 1
    app = create_app(check_interval=0)
    accounts.add_user(app.state.kpidash.engine, "exec", "executive", password="a long enough password")
    token = accounts.create_api_token(app.state.kpidash.engine, "exec", days=1).token

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    serving.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started

    loading_done = threading.Event()
    answers: list[tuple[int, str | None, int | None]] = []
    errors: list[str] = []

    def read() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                          timeout=10) as client:
            while not loading_done.is_set():
                try:
                    r = client.get("/api/v1/kpis", params={"kpi": "open_cases"})
                except httpx.HTTPError as err:
                    errors.append(repr(err))
                    continue
                value = r.json()[0]["numerator"] if r.status_code == 200 else None
                answers.append((r.status_code, r.headers.get("X-Kpidash-Run-Id"), value))

    readers = [threading.Thread(target=read) for _ in range(READERS)]
    for t in readers:
        t.start()
    try:
        for i in range(LOADS):
            children = 2 if i % 2 == 0 else 1
            result = load_extract(extracts[children])
            assert result.status == "published", result.message
            expected[result.run_id] = children
    finally:
        time.sleep(0.05)  # let the readers see the last version
        loading_done.set()
        for t in readers:
            t.join(timeout=30)
        server.should_exit = True
        serving.join(timeout=10)
        sock.close()

    assert errors == []
    assert answers and all(status == 200 for status, _, _ in answers), {a[0] for a in answers}
    assert all(expected[run_id] == value for _, run_id, value in answers)  # figures match their version
    assert len({run_id for _, run_id, _ in answers}) >= 2  # the readers did live through switches
