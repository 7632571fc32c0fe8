"""Faults an operator meets: the app database down during a refresh, a corrupt warehouse at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core import appdb
from core.settings import get_settings
from etl.refresh import last_fingerprint, refresh

UNREACHABLE_PG = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"


def test_an_unreachable_app_database_fails_the_refresh_and_it_is_retried(drop: Path, monkeypatch) -> None:
    monkeypatch.setenv("KPIDASH_APP_DB", UNREACHABLE_PG)
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()
    outcome = refresh()
    assert outcome.action == "failed" and "KPIDASH_APP_DB" in outcome.message and "cannot be reached" in outcome.message
    assert last_fingerprint(get_settings().db) is None and not get_settings().db.exists()
    monkeypatch.undo()  # the database is back (and the drop folder still set)
    monkeypatch.setenv("KPIDASH_DROP_DIR", str(drop))
    monkeypatch.setenv("KPIDASH_STABLE_SECONDS", "0")
    monkeypatch.setenv("KPIDASH_DB", str(drop.parent / "data" / "warehouse.duckdb"))
    monkeypatch.setenv("KPIDASH_ARCHIVE_DIR", str(drop.parent / "data" / "archive"))
    monkeypatch.setenv("KPIDASH_APP_DB", f"sqlite:///{drop.parent / 'data' / 'app.db'}")
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()
    assert refresh().action == "loaded"


@pytest.mark.parametrize("content", [b"", b"not a duckdb file at all" * 200])
def test_a_corrupt_warehouse_at_start_up_is_a_clear_503_not_a_crash(isolated_settings, content: bytes) -> None:
    from api.app import create_app

    isolated_settings.db.parent.mkdir(parents=True, exist_ok=True)
    isolated_settings.db.write_bytes(content)
    with TestClient(create_app(check_interval=0)) as client:
        ready = client.get("/api/v1/ready")
    assert ready.status_code == 503
    body = ready.json()
    assert body["ready"] is False and body["app_db"] == "ok"
    assert body["warehouse"].startswith(f"The warehouse at {isolated_settings.db} cannot be read")
