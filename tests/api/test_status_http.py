"""Freshness for everyone (/status), the load log for analysts (/runs), and clear 503s when there is
no warehouse to read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import etl

V1 = "/api/v1"


def test_status_names_the_extract_and_the_last_good_load(api) -> None:
    status = api.client.get(f"{V1}/status", headers=api.auth("team_manager")).json()
    run = etl.last_good_run()
    assert status["warehouse"]["available"] is True
    assert status["warehouse"]["run_id"] == status["last_good_load"]["run_id"] == run.run_id
    assert status["extract_date"] == run.extracted_at.date().isoformat()
    good = status["last_good_load"]
    assert (good["rows_read"], good["rows_rejected"], good["warnings"]) == (run.rows_read, run.rows_rejected, run.warnings)
    assert {f["file"] for f in good["files"]} >= {"teams.csv", "referrals.csv"}
    assert good["finished_at"].endswith("Z") and good["extracted_at"].endswith(("Z", "+01:00"))  # London time: GMT or BST
    assert status["last_failed_load"] is None and status["failed_since_last_good"] is False


def test_a_failed_load_shows_in_status_and_the_figures_stay(api, sample_extract: Path, tmp_path: Path) -> None:
    before = api.client.get(f"{V1}/kpis", headers=api.auth("executive")).json()
    broken = tmp_path / "broken"
    shutil.copytree(sample_extract, broken)
    (broken / "referrals.csv").unlink()
    result = etl.load_extract(broken)
    assert result.status == "failed"
    status = api.client.get(f"{V1}/status", headers=api.auth("executive")).json()
    assert status["last_failed_load"]["run_id"] == result.run_id
    assert status["last_failed_load"]["message"] == result.message
    assert status["failed_since_last_good"] is True
    assert api.client.get(f"{V1}/kpis", headers=api.auth("executive")).json() == before


def test_runs_and_their_issues_for_analysts(api) -> None:
    runs = api.client.get(f"{V1}/runs?limit=5", headers=api.auth("analyst")).json()
    assert [r["run_id"] for r in runs] == [r.run_id for r in etl.list_runs(5)]
    run_id = etl.last_good_run().run_id
    issues = etl.run_issues(run_id)
    page = api.client.get(f"{V1}/runs/{run_id}/rejects?page_size=1000", headers=api.auth("analyst")).json()
    assert page["total"] == len(issues) and len(page["issues"]) == min(len(issues), 1000)
    rejects = api.client.get(f"{V1}/runs/{run_id}/rejects?severity=reject", headers=api.auth("analyst")).json()
    assert rejects["total"] == sum(i.severity == "reject" for i in issues)
    assert all(i["severity"] == "reject" for i in rejects["issues"])


@pytest.fixture
def app_without_warehouse(isolated_settings):  # noqa: ANN001, ANN201
    """An app whose KPIDASH_DB names a file nobody has published (isolated_settings: a fresh folder)."""
    from fastapi.testclient import TestClient

    from api import accounts
    from api.app import create_app

    app = create_app(check_interval=0)
    accounts.add_user(app.state.kpidash.engine, "exec", "executive", password="a long enough password")
    token = accounts.create_api_token(app.state.kpidash.engine, "exec", days=1).token
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def test_no_warehouse_is_a_503_with_what_to_do_and_not_ready(app_without_warehouse) -> None:
    client, auth = app_without_warehouse
    ready = client.get(f"{V1}/ready")
    assert ready.status_code == 503
    assert ready.json()["ready"] is False and "kpidash load" in ready.json()["warehouse"]
    for path in ("/kpis", "/teams", "/kpis/open_cases/records", "/workers/W1/caseload"):
        response = client.get(V1 + path, headers=auth)
        assert response.status_code == 503, path
        assert response.json()["detail"].startswith("No warehouse has been published at")
    status = client.get(f"{V1}/status", headers=auth).json()
    assert status["warehouse"]["available"] is False and status["last_good_load"] is None


def test_a_warehouse_published_later_is_picked_up(app_without_warehouse, publish_tiny, isolated_settings) -> None:
    client, auth = app_without_warehouse
    assert client.get(f"{V1}/teams", headers=auth).status_code == 503
    publish_tiny(isolated_settings.db, "run-1", [("T1", "Duckpond Assessment", "Front Door")])
    teams = client.get(f"{V1}/teams", headers=auth)
    assert teams.status_code == 200
    assert teams.json() == [{"team_id": "T1", "team_name": "Duckpond Assessment", "service": "Front Door"}]
    assert client.get(f"{V1}/ready").json() == {"ready": True, "warehouse": "ok", "app_db": "ok"}


def test_an_unusable_app_database_is_a_503_not_a_crash(app_without_warehouse, isolated_settings) -> None:
    client, auth = app_without_warehouse
    client.app.state.kpidash.engine.dispose()
    path = isolated_settings.app_db.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm"):
        with open(path + suffix, "wb") as f:
            f.write(b"this is not a database" * 200)
    response = client.get(f"{V1}/me", headers=auth)
    assert response.status_code == 503
    assert response.json() == {"detail": "The app database cannot be reached just now; try again shortly."}
    ready = client.get(f"{V1}/ready")
    assert ready.status_code == 503 and ready.json()["app_db"].startswith("The app database cannot be reached")
