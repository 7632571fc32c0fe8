"""API fixtures: the app database on each backend, and one app over a copy of the sample trust
per module, with a signed-in token for every role."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import Engine, MetaData, text

from core import appdb
from core.settings import get_settings
from tests.live_server import copy_data
from tests.role_users import add_role_users

PG_URL = os.environ.get("KPIDASH_TEST_PG")


def _reset_postgres(url: str) -> Engine:
    """An empty PostgreSQL database: drop every table the tests (or a previous run) made."""
    engine = appdb.make_engine(url)
    with engine.begin() as conn:
        meta = MetaData()
        meta.reflect(conn)
        meta.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    return engine


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(PG_URL is None, reason="KPIDASH_TEST_PG does not name a PostgreSQL server"),
            ],
        ),
    ]
)
def app_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated app database: a SQLite file, and PostgreSQL where KPIDASH_TEST_PG names one."""
    if request.param == "sqlite":
        engine = appdb.make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    else:
        engine = _reset_postgres(PG_URL)  # type: ignore[arg-type]
    appdb.ensure_schema(engine)
    yield engine
    engine.dispose()


@dataclass
class ApiHarness:
    """A running app (TestClient, lifespan on) over its own copy of the sample trust."""

    client: object
    env: dict[str, str]
    folder: Path
    tokens: dict[str, str] = field(default_factory=dict)
    team: str = ""  # the team manager's team (in the head of service's service)
    other_team: str = ""  # a team in another service
    service: str = ""
    other_service: str = ""
    worker: str = ""  # a case-holding worker of `team`
    other_worker: str = ""  # a case-holding worker of `other_team`

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    @property
    def engine(self) -> Engine:
        return self.client.app.state.kpidash.engine  # type: ignore[attr-defined]


def tiny_warehouse(path: Path, run_id: str, teams: list[tuple[str, str, str]], extracted_at: str = "2025-11-24T06:30:00") -> Path:
    """A published-shape warehouse with only teams (enough to open, list teams and count nothing)."""
    from etl.contract import META_DDL, TABLES, warehouse_ddl

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".building")
    with duckdb.connect(str(tmp)) as con:
        for table in TABLES:
            con.execute(warehouse_ddl(table))
        con.executemany("INSERT INTO teams VALUES (?, ?, ?)", teams)
        con.execute(META_DDL)
        con.execute("INSERT INTO extract_meta VALUES (?, ?, 'test', 'tests', ?)", [run_id, extracted_at, extracted_at])
    os.replace(tmp, path)  # as the loader publishes: atomically, a new inode
    return path


def make_harness(
    folder: Path, sample_warehouse: Path, app_db: str | None = None, **env_extra: str
) -> Iterator[ApiHarness]:
    """Copy the sample trust's warehouse and load log into `folder`, start an app on them, and make
    one user (with an API token) per role. app_db: another (empty) app database, e.g. PostgreSQL."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from kpis import open_warehouse

    data = folder / "data"
    copy_data(sample_warehouse, data, app_db=app_db is None)
    if app_db is None:
        app_db = f"sqlite:///{data / 'app.db'}"
    else:
        _reset_postgres(app_db).dispose()
    env = {
        "KPIDASH_DB": str(data / "warehouse.duckdb"),
        "KPIDASH_ARCHIVE_DIR": str(data / "archive"),
        "KPIDASH_APP_DB": app_db,
        "KPIDASH_TOKEN_CACHE_SECONDS": "1",  # revocation by another process within a second (token_cache.py)
        **env_extra,
    }
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        get_settings.cache_clear()
        appdb.get_engine.cache_clear()
        with open_warehouse(data / "warehouse.duckdb") as wh:
            teams = wh.teams()
            with wh.cursor() as cur:
                holders = cur.execute(
                    "SELECT team_id, min(worker_id) FROM wh.workers WHERE role IN ('social_worker', "
                    "'senior_social_worker', 'personal_advisor') AND end_date IS NULL GROUP BY team_id"
                ).fetchall()
        worker_of = dict(holders)
        services = sorted({t["service"] for t in teams})
        team = teams[0]
        other_team = next(t for t in teams if t["service"] != team["service"])
        harness = ApiHarness(client=None, env=env, folder=folder, team=team["team_id"],
                             other_team=other_team["team_id"], service=team["service"],
                             other_service=next(s for s in services if s != team["service"]),
                             worker=worker_of[team["team_id"]], other_worker=worker_of[other_team["team_id"]])
        app = create_app(check_interval=0)
        engine = app.state.kpidash.engine
        _, harness.tokens = add_role_users(engine, "test_", harness.team, harness.service, password="{role}-password-123")
        with TestClient(app) as client:
            harness.client = client
            yield harness
        engine.dispose()
        get_settings.cache_clear()
        appdb.get_engine.cache_clear()


@pytest.fixture(scope="module")
def api(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiHarness]:
    """One app per test module over a private copy of the sample trust."""
    yield from make_harness(tmp_path_factory.mktemp("api"), sample_warehouse)


@pytest.fixture(autouse=True)
def _api_settings(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, isolated_settings: object) -> None:
    """Tests that use the module's app see its settings too (the load log the API reads, KPIDASH_DB)."""
    if "api" not in request.fixturenames:
        return
    for k, v in request.getfixturevalue("api").env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()


@pytest.fixture
def publish_tiny() -> object:
    """tiny_warehouse(path, run_id, teams): publish a small hand-made warehouse."""
    return tiny_warehouse


@pytest.fixture(scope="module")
def api_without_cache(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiHarness]:
    """The same app with KPIDASH_API_CACHE=false."""
    yield from make_harness(tmp_path_factory.mktemp("api_nocache"), sample_warehouse, KPIDASH_API_CACHE="false")


@pytest.fixture(scope="module")
def pg_api(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiHarness]:
    """The app over the sample trust with its app database on PostgreSQL (KPIDASH_TEST_PG)."""
    if PG_URL is None:
        pytest.skip("KPIDASH_TEST_PG does not name a PostgreSQL server")
    yield from make_harness(tmp_path_factory.mktemp("api_pg"), sample_warehouse, app_db=PG_URL)
