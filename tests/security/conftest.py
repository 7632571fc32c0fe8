"""The security review's findings, proved against the service as it runs: `kpidash serve` (or uvicorn
with several workers) in its own process on loopback, over a copy of the sample trust, with requests from
distinct loopback addresses (127.0.0.x: each a different "browser") and the dashboard driven through its
own HTTP callbacks, as a browser drives it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import copy_data, free_port, wait_until_healthy
from tests.role_users import PASSWORD, add_role_users

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("executive", "head_of_service", "team_manager", "analyst", "admin")
TRUSTED_PROXY = "127.0.0.2"  # the one address the services below believe X-Forwarded-For from


@dataclass
class Service:
    """A running kpidash, its data folder and environment, and its users (one per role)."""

    url: str
    env: dict[str, str]
    data: Path
    team: str
    other_team: str
    service: str
    users: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    extract_date: str = ""

    def client(self, address: str = "127.0.0.1", **kwargs: Any) -> httpx.Client:
        """An HTTP client whose requests come from `address` (any 127.0.0.x reaches the loopback server)."""
        return httpx.Client(base_url=self.url, transport=httpx.HTTPTransport(local_address=address), timeout=60,
                            **kwargs)

    def audit(self, **where: str) -> list[dict[str, Any]]:
        """The audit trail, oldest first (read straight from the app database)."""
        with sqlite3.connect(self.data / "app.db") as con:
            con.row_factory = sqlite3.Row
            rows = [dict(r) for r in con.execute("SELECT * FROM audit_log ORDER BY id")]
        con.close()
        return [r for r in rows if all(r[k] == v for k, v in where.items())]


def start(command: Sequence[str], env: dict[str, str], url: str, log: Path) -> subprocess.Popen:
    out = open(log, "wb")  # noqa: SIM115  (closed with the process)
    proc = subprocess.Popen(list(command), cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    proc.log = out  # type: ignore[attr-defined]
    if not wait_until_healthy(url, proc, seconds=90):
        stop(proc)
        raise RuntimeError("the service did not start: " + log.read_text()[-3000:])
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    proc.log.close()  # type: ignore[attr-defined]


def prepare(folder: Path, warehouse: Path, **env_extra: str) -> Service:
    """A data folder holding a copy of `warehouse` (and its app database and archive when beside it),
    with one user per role; the service is not started."""
    from core import appdb

    data = folder / "data"
    copy_data(warehouse, data)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"KPIDASH_DB": str(data / "warehouse.duckdb"), "KPIDASH_ARCHIVE_DIR": str(data / "archive"),
           "KPIDASH_APP_DB": f"sqlite:///{data / 'app.db'}", "KPIDASH_API_URL": url,
           "KPIDASH_PACK_DIR": str(data / "packs"), "KPIDASH_DEMO_USERS": "false", **env_extra}
    engine = appdb.make_engine(env["KPIDASH_APP_DB"])
    appdb.ensure_schema(engine)
    import duckdb

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        teams = con.execute("SELECT team_id, service FROM teams ORDER BY team_id").fetchall()
        extract_date = str(con.execute("SELECT CAST(extracted_at AS DATE) FROM extract_meta").fetchone()[0])
    team, service = teams[0]
    other_team = next((t for t, s in teams if s != service), teams[-1][0])
    users, tokens = add_role_users(engine, "sec_", team, service, roles=ROLES)
    svc = Service(url=url, env=env, data=data, team=team, other_team=other_team, service=service, users=users,
                  tokens=tokens, extract_date=extract_date)
    engine.dispose()
    return svc


def serve(svc: Service, workers: int = 1) -> subprocess.Popen:
    """Start the service as a deployment runs it: `kpidash serve`, or uvicorn with several workers."""
    port = svc.url.rsplit(":", 1)[1]
    if workers == 1:
        command = [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", port]
    else:
        command = [sys.executable, "-m", "uvicorn", "api.app:create_server_app", "--factory", "--host", "127.0.0.1",
                   "--port", port, "--workers", str(workers), "--no-proxy-headers", "--log-level", "warning"]
    return start(command, svc.env, svc.url, svc.data / f"server-{workers}.log")


@pytest.fixture(scope="module")
def secure_service(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The sample trust behind `kpidash serve`, trusting X-Forwarded-For from TRUSTED_PROXY only."""
    svc = prepare(tmp_path_factory.mktemp("secure"), sample_warehouse, KPIDASH_TRUSTED_PROXIES=TRUSTED_PROXY)
    proc = serve(svc)
    try:
        yield svc
    finally:
        stop(proc)


# --- the dashboard's callbacks, called as the browser calls them -------------------------------------------------

class Dashboard:
    """One browser's view of the dashboard: its address, its cookie, the callbacks it can call."""

    def __init__(self, svc: Service, address: str, headers: dict[str, str] | None = None) -> None:
        self.svc = svc
        self.http = svc.client(address, headers=headers or {})
        deps = self.http.get("/_dash-dependencies")
        deps.raise_for_status()
        self.callbacks = deps.json()

    def close(self) -> None:
        self.http.close()

    def sign_in_as(self, role: str) -> None:
        """Sign in through the API and keep its session cookie, as the browser's dashboard would."""
        token = self.http.post("/api/v1/auth/login", json={"username": self.svc.users[role], "password": PASSWORD})
        token.raise_for_status()

    def call(self, first_output: str, inputs: list[Any], state: list[Any] = (), changed: Sequence[str] = ()) -> httpx.Response:
        """Run the callback whose first output is `first_output` ("id.property"); inputs and state as
        (id, property, value), or lists of them for a pattern-matching input."""
        entry = next(c for c in self.callbacks if c["output"].lstrip(".").startswith(first_output))

        def spec(item: Any) -> Any:
            if isinstance(item, list):
                return [spec(i) for i in item]
            cid, prop, value = item
            return {"id": cid, "property": prop, "value": value}

        outputs = [{"id": _parse_id(o.rsplit(".", 1)[0]), "property": o.rsplit(".", 1)[1].split("@")[0]}
                   for o in entry["output"].strip(".").split("...")]
        body = {"output": entry["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
                "inputs": [spec(i) for i in inputs], "state": [spec(s) for s in state],
                "changedPropIds": list(changed)}
        return self.http.post("/_dash-update-component", json=body)

    def sign_in_form(self, username: str, password: str) -> httpx.Response:
        """The sign-in page's button: the dashboard signs in through the API."""
        return self.call("redirect.href", [("signin-button", "n_clicks", 1), ("signin-password", "n_submit", None)],
                         [("signin-username", "value", username), ("signin-password", "value", password)],
                         ["signin-button.n_clicks"])


def _parse_id(text: str) -> Any:
    return json.loads(text) if text.startswith("{") else text


def open_records_id(kpi: str, level: str, unit: str) -> dict[str, str]:
    return {"type": "open-records", "kpi": kpi, "level": level, "unit": unit}


def changed_id(cid: dict[str, str], prop: str) -> str:
    return json.dumps(cid, sort_keys=True, separators=(",", ":")) + "." + prop
