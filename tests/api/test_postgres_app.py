"""The whole app on a PostgreSQL app database (where KPIDASH_TEST_PG names one): sign-in, scoped
records, the audit trail, lock-outs."""

from __future__ import annotations

import pytest

from api import audit

pytestmark = pytest.mark.postgres
V1 = "/api/v1"


def test_the_app_runs_on_postgresql(pg_api) -> None:
    assert pg_api.engine.dialect.name == "postgresql"
    login = pg_api.client.post(f"{V1}/auth/login", json={"username": "test_team_manager",
                                                         "password": "team_manager-password-123"})
    assert login.status_code == 200
    session = {"Authorization": f"Bearer {login.json()['token']}"}
    own = pg_api.client.get(f"{V1}/kpis/referrals/records?unit={pg_api.team}", headers=session)
    other = pg_api.client.get(f"{V1}/kpis/referrals/records?unit={pg_api.other_team}", headers=session)
    assert (own.status_code, other.status_code) == (200, 403)
    trail = audit.entries(pg_api.engine, limit=2, event="records")
    assert [(e.username, e.unit, e.outcome) for e in trail] == [
        ("test_team_manager", pg_api.other_team, "forbidden"), ("test_team_manager", pg_api.team, "ok")]
    assert pg_api.client.post(f"{V1}/auth/logout", headers=session).status_code == 200
    assert pg_api.client.get(f"{V1}/me", headers=session).status_code == 401


def test_lock_out_on_postgresql(pg_api) -> None:
    for _ in range(5):
        bad = pg_api.client.post(f"{V1}/auth/login", json={"username": "test_analyst", "password": "wrong wrong"})
        assert bad.status_code == 401
    locked = pg_api.client.post(f"{V1}/auth/login", json={"username": "test_analyst",
                                                          "password": "analyst-password-123"})
    assert locked.status_code == 401  # locked, and answered as a wrong password: no name is revealed
    assert audit.entries(pg_api.engine, limit=1, event="login_failed")[0].outcome == "locked"
