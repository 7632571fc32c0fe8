"""`kpidash serve --workers 2`: two processes share one port, the app database and the warehouse.

Which worker answers a connection is the kernel's choice, so the test finds out rather than assumes:
the server's end of each of its connections is a socket that only the accepting worker holds, found
through /proc (the socket's inode in /proc/net/tcp, and which worker has a file descriptor on it).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api import accounts
from core import appdb
from tests.etl.load_support import own_settings
from tests.live_server import free_port

PASSWORD = "Two-workers-pass-1!"


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _hex_address(host: str, port: int) -> str:
    return "".join(f"{int(part):02X}" for part in reversed(host.split("."))) + f":{port:04X}"


def _worker_holding(conn: http.client.HTTPConnection, server_port: int, workers: list[int]) -> int | None:
    """The worker process holding the server's end of this client connection."""
    client_host, client_port = conn.sock.getsockname()
    local, remote = _hex_address("127.0.0.1", server_port), _hex_address(client_host, client_port)
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1] == local and parts[2] == remote:
            inode = parts[9]
    if inode is None:
        return None
    for pid in workers:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


class Worker:
    """A keep-alive connection known to be served by one worker; every request checks it still is."""

    def __init__(self, conn: http.client.HTTPConnection, pid: int, port: int, workers: list[int]) -> None:
        self.conn, self.pid, self.port, self.workers = conn, pid, port, workers

    def request(self, method: str, path: str, token: str | None = None, body: dict | None = None
                ) -> tuple[int, dict[str, str], Any]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            answer, data = self._send(method, path, body, headers)
        except (http.client.RemoteDisconnected, ConnectionError):
            # the worker closed the idle keep-alive connection (after 5 s): a new one to the same worker
            self._reconnect()
            answer, data = self._send(method, path, body, headers)
        return answer.status, dict(answer.getheaders()), json.loads(data) if data else None

    def _send(self, method: str, path: str, body: dict | None, headers: dict[str, str]
              ) -> tuple[http.client.HTTPResponse, bytes]:
        sock = self.conn.sock
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        answer = self.conn.getresponse()
        data = answer.read()
        # http.client reconnects silently if the server closed the connection: it must still be the same one
        assert self.conn.sock is sock and _worker_holding(self.conn, self.port, self.workers) == self.pid
        return answer, data

    def _reconnect(self) -> None:
        self.conn.close()
        for _ in range(100):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request("GET", "/api/v1/health")
            conn.getresponse().read()
            if _worker_holding(conn, self.port, self.workers) == self.pid:
                self.conn = conn
                return
            conn.close()
        raise AssertionError(f"100 new connections, none to worker {self.pid}")


@pytest.fixture(scope="module")
def two_workers(sample_extract: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("two_workers")
    from etl import load_extract

    with own_settings(data) as db:
        assert load_extract(sample_extract).status == "published"
        accounts.add_user(appdb.get_engine(), "two.workers", "analyst", None, None, PASSWORD)
        appdb.get_engine().dispose()
        env = dict(os.environ)
    port = free_port()
    log = (data / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workers", "2"],
                              env=env, cwd=Path(__file__).resolve().parents[2], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while (data / "serve.log").read_text().count("Application startup complete") < 2:
            assert server.poll() is None and time.monotonic() < deadline, (data / "serve.log").read_text()
            time.sleep(0.3)
        # one connection on each of two different workers
        by_worker: dict[int, Worker] = {}
        spare: list[http.client.HTTPConnection] = []
        for _ in range(60):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/api/v1/health")
            conn.getresponse().read()
            pid = _worker_holding(conn, port, _children(server.pid))
            if pid is not None and pid not in by_worker:
                by_worker[pid] = Worker(conn, pid, port, _children(server.pid))
            else:
                spare.append(conn)
            if len(by_worker) == 2:
                break
        for conn in spare:
            conn.close()
        assert len(by_worker) == 2, f"60 connections all went to {list(by_worker)}: {(data / 'serve.log').read_text()}"
        yield {"a": by_worker[min(by_worker)], "b": by_worker[max(by_worker)], "db": db, "data": data,
               "extract": sample_extract, "port": port}
        for worker in by_worker.values():
            worker.conn.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_a_session_made_on_one_worker_is_valid_on_the_other_and_ends_on_both(two_workers: dict[str, Any]):
    a, b = two_workers["a"], two_workers["b"]
    assert a.pid != b.pid
    status, _, body = a.request("POST", "/api/v1/auth/login", body={"username": "two.workers", "password": PASSWORD})
    assert status == 200
    token = body["token"]
    status, _, figures = b.request("GET", "/api/v1/kpis?level=trust", token)
    assert status == 200 and figures and {"kpi", "value"} <= set(figures[0])
    assert b.request("GET", "/api/v1/me", token)[2]["username"] == "two.workers"
    assert a.request("GET", "/api/v1/me", token)[0] == 200  # trusted by both workers' token caches now
    # signing out on one worker ends the session on the other at once (the sign-out stamp), not after
    # KPIDASH_TOKEN_CACHE_SECONDS
    assert b.request("POST", "/api/v1/auth/logout", token)[0] == 200
    assert a.request("GET", "/api/v1/me", token)[0] == 401


def test_failed_sign_ins_on_both_workers_add_up_to_one_lock_out(two_workers: dict[str, Any]):
    a, b = two_workers["a"], two_workers["b"]
    with own_settings(two_workers["data"]):
        accounts.add_user(appdb.get_engine(), "locked.out", "analyst", None, None, PASSWORD)
        appdb.get_engine().dispose()
    wrong = {"username": "locked.out", "password": "not the password"}
    outcomes = [(a if i % 2 else b).request("POST", "/api/v1/auth/login", body=wrong)[0] for i in range(5)]
    assert outcomes == [401] * 5  # the default limit is 5 failures in a row, counted in the app database
    # locked on both: even the right password is refused, and exactly as an unknown name is (401), so a
    # lock-out does not tell anyone that the name exists (docs/security.md)
    right = {"username": "locked.out", "password": PASSWORD}
    assert a.request("POST", "/api/v1/auth/login", body=right)[0] == 401
    assert b.request("POST", "/api/v1/auth/login", body=right)[0] == 401


def test_each_worker_moves_to_a_new_load_and_caches_by_version(two_workers: dict[str, Any]):
    a, b = two_workers["a"], two_workers["b"]
    token = a.request("POST", "/api/v1/auth/login", body={"username": "two.workers", "password": PASSWORD})[2]["token"]
    path = "/api/v1/kpis?level=team&fields=all"
    before = {w.pid: w.request("GET", path, token)[1]["x-kpidash-run-id"] for w in (a, b)}
    assert len(set(before.values())) == 1
    from etl import load_extract

    with own_settings(two_workers["data"]):
        new_run = load_extract(two_workers["extract"]).run_id
    deadline = time.monotonic() + 300  # each worker warms the new version before serving it (api.warm)
    seen: dict[int, str] = {}
    while time.monotonic() < deadline:
        seen = {w.pid: w.request("GET", path, token)[1]["x-kpidash-run-id"] for w in (a, b)}
        if set(seen.values()) == {new_run}:
            break
        time.sleep(0.2)
    assert seen == {a.pid: new_run, b.pid: new_run}
    # each worker made the new version's answer itself, byte for byte the same: a browser's cached copy
    # revalidates (304) on whichever worker its next request reaches
    etags = {w.pid: w.request("GET", path, token)[1]["etag"] for w in (a, b)}
    assert len(set(etags.values())) == 1
    for w in (a, b):
        w.conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "If-None-Match": etags[a.pid]})
        answer = w.conn.getresponse()
        answer.read()
        assert answer.status == 304
def _engine(two_workers: dict[str, Any]):  # noqa: ANN202
    from sqlalchemy import create_engine

    return create_engine(f"sqlite:///{two_workers['data'] / 'app.db'}")
