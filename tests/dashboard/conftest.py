"""Dashboard fixtures: the whole service (API + dashboard) under a real uvicorn on a free loopback
port, over a copy of the sample trust, with one user per role made through the API's account functions."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.live_server import copy_data, free_port, wait_until_healthy
from tests.role_users import add_role_users

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LiveService:
    url: str
    env: dict[str, str]
    team: str
    other_team: str
    service: str
    users: dict[str, str] = field(default_factory=dict)  # role -> username
    tokens: dict[str, str] = field(default_factory=dict)  # role -> API token

    def get(self, path: str, role: str = "executive", **params: object) -> httpx.Response:
        return httpx.get(self.url + path, params=params, headers={"Authorization": f"Bearer {self.tokens[role]}"},
                         timeout=30)


@pytest.fixture(scope="session")
def live_service(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    yield from serve_sample(sample_warehouse, tmp_path_factory.mktemp("dash") / "data")


def serve_sample(sample_warehouse: Path, data: Path) -> Iterator[LiveService]:
    """The whole service under uvicorn over a copy of the sample trust in `data`, one user per role."""
    from core import appdb

    copy_data(sample_warehouse, data)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"KPIDASH_DB": str(data / "warehouse.duckdb"), "KPIDASH_ARCHIVE_DIR": str(data / "archive"),
           "KPIDASH_APP_DB": f"sqlite:///{data / 'app.db'}", "KPIDASH_API_URL": url}
    engine = appdb.make_engine(env["KPIDASH_APP_DB"])
    appdb.ensure_schema(engine)
    import duckdb

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        teams = con.execute("SELECT team_id, service FROM teams ORDER BY team_id").fetchall()
    team, service = teams[0]
    other_team = next(t for t, s in teams if s != service)
    users, tokens = add_role_users(engine, "dash_", team, service)
    live = LiveService(url=url, env=env, team=team, other_team=other_team, service=service, users=users, tokens=tokens)
    engine.dispose()
    log = open(data / "server.log", "wb")  # noqa: SIM115  closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--log-level", "warning", "--no-proxy-headers"],  # as `kpidash serve` runs it
        cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        if not wait_until_healthy(url, proc, seconds=60, interval=0.1):
            raise RuntimeError("the service did not start: " + (data / "server.log").read_text()[-2000:])
        yield live
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
