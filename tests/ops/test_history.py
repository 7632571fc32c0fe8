"""The nightly KPI history: figures as reported on a day survive later loads and corrections, and the
API shows them next to the same figures recalculated now."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from extract_builder import build_extract
from fastapi.testclient import TestClient

from core.appdb import get_engine
from core.settings import get_settings
from etl import load_extract
from scheduler.history import reported, reported_days, store_snapshot
from scheduler.jobs import history_job

DAY = dt.date(2025, 11, 24)
# A correction: a second child (C2) with an open CIN episode that nobody holds.
CORRECTION = {
    "children": [{"child_id": "C2", "date_of_birth": "2016-07-08"}],
    "episodes": [{"episode_id": "E2", "child_id": "C2", "start_date": "2025-11-03"}],
}


def _load(folder: Path, **changes) -> None:  # noqa: ANN003
    result = load_extract(build_extract(folder, **changes))
    assert result.status == "published", result.message


def _figures(rows: list, kpi: str) -> list[tuple]:
    return [(r.unit, r.numerator, r.value) for r in rows if r.kpi == kpi]


def test_a_snapshot_keeps_the_day_s_figures_through_a_correction(tmp_path: Path) -> None:
    _load(tmp_path / "x")
    snap = store_snapshot(get_engine(), get_settings().db, reported_on=DAY)
    assert (snap.date_from, snap.date_to) == (dt.date(2025, 11, 1), dt.date(2025, 11, 24))
    # One child, one open CIN episode, held by W1: 1 open case, none unallocated.
    assert _figures(reported(get_engine(), DAY, "trust"), "open_cases") == [("trust", 1, 1)]
    assert _figures(reported(get_engine(), DAY, "team"), "unallocated_cases") == [("T1", 0, 0)]
    assert _figures(reported(get_engine(), DAY, "worker", "W1"), "average_caseload") == [("W1", 1, 1.0)]
    _load(tmp_path / "corrected", add=CORRECTION)
    assert _figures(reported(get_engine(), DAY, "trust"), "open_cases") == [("trust", 1, 1)]
    next_day = store_snapshot(get_engine(), get_settings().db, reported_on=DAY + dt.timedelta(days=1))
    assert next_day.figures == snap.figures
    assert _figures(reported(get_engine(), DAY + dt.timedelta(days=1), "trust"), "open_cases") == [("trust", 2, 2)]
    assert reported_days(get_engine()) == [DAY + dt.timedelta(days=1), DAY]


def test_a_second_snapshot_on_the_same_day_replaces_the_first(tmp_path: Path) -> None:
    _load(tmp_path / "x")
    first = history_job()  # the job as the scheduler runs it: today's (London) date
    _load(tmp_path / "corrected", add=CORRECTION)
    second = history_job()
    assert second.reported_on == first.reported_on and second.run_id != first.run_id
    rows = reported(get_engine(), second.reported_on, "trust")
    assert _figures(rows, "open_cases") == [("trust", 2, 2)]
    assert len(rows) == len({r.kpi for r in rows})  # one figure per KPI, not two


@pytest.fixture
def client_and_auth(tmp_path: Path):  # noqa: ANN201
    from api import accounts
    from api.app import create_app

    _load(tmp_path / "x")
    store_snapshot(get_engine(), get_settings().db, reported_on=DAY)
    _load(tmp_path / "corrected", add=CORRECTION)
    app = create_app(check_interval=0)
    accounts.add_user(app.state.kpidash.engine, "tm", "team_manager", password="a long enough password", team="T1")
    token = accounts.create_api_token(app.state.kpidash.engine, "tm", days=1).token
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def test_the_api_gives_as_reported_next_to_as_recalculated(client_and_auth) -> None:
    client, auth = client_and_auth
    response = client.get("/api/v1/history/kpis?on=2025-11-24&level=team&unit=T1", headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["reported_on"], body["date_from"], body["date_to"]) == ("2025-11-24", "2025-11-01", "2025-11-24")
    assert body["reported_run_id"] != body["current_run_id"]
    rows = {r["kpi"]: r for r in body["figures"]}
    assert rows["open_cases"]["as_reported"] == {"numerator": 1, "denominator": None, "value": 1}
    assert rows["open_cases"]["as_recalculated"] == {"numerator": 2, "denominator": None, "value": 2}
    assert rows["unallocated_cases"]["as_recalculated"]["numerator"] == 1
    assert rows["open_cases"]["changed"] is True and rows["referrals"]["changed"] is False


def test_a_day_without_figures_is_a_404_naming_the_days_there_are(client_and_auth) -> None:
    client, auth = client_and_auth
    response = client.get("/api/v1/history/kpis?on=2025-11-20", headers=auth)
    assert response.status_code == 404
    assert "2025-11-20" in response.json()["detail"] and "2025-11-24" in response.json()["detail"]
    assert client.get("/api/v1/history/kpis?on=yesterday", headers=auth).status_code == 422
    assert client.get("/api/v1/history/kpis?on=2025-11-24").status_code == 401


def test_status_gives_the_scheduler_s_next_run(client_and_auth) -> None:
    from scheduler.state import write_next_runs

    client, auth = client_and_auth
    assert client.get("/api/v1/status", headers=auth).json()["next_scheduled_run"] is None  # no scheduler yet
    write_next_runs(get_settings().db, {"refresh": dt.datetime(2025, 11, 24, 9, 15, tzinfo=dt.UTC)})
    assert client.get("/api/v1/status", headers=auth).json()["next_scheduled_run"] == "2025-11-24T09:15:00Z"


AUDITS_CSV = ("audit_id,child_id,audit_type,team_id,worker_id,auditor_id,assigned_date,due_date,completed_date,grade,"
              "moderated_date,moderated_grade\nAU1,C1,learning,T1,W1,M1,2025-11-03,2025-11-20,2025-11-10,good,,\n")
DOMAINS_CSV = "audit_id,domain,grade\nAU1,assessment,good\nAU1,planning,inadequate\n"


def test_domain_figures_are_kept_as_reported_and_read_back_with_their_domain(tmp_path: Path) -> None:
    """kpi_history has no domain column: domain_good_or_better is stored as kpi:domain and read back apart,
    and a moderation after the day changes the recalculated figure, never the reported one."""
    from api import accounts
    from api.app import create_app

    folder = build_extract(tmp_path / "x")
    (folder / "audits.csv").write_text(AUDITS_CSV, encoding="utf-8")
    (folder / "audit_domains.csv").write_text(DOMAINS_CSV, encoding="utf-8")
    assert load_extract(folder).status == "published"
    store_snapshot(get_engine(), get_settings().db, reported_on=DAY)
    stored = {r.kpi: (r.numerator, r.denominator) for r in reported(get_engine(), DAY, "trust")}
    assert stored["domain_good_or_better:assessment"] == (1, 1)
    assert stored["domain_good_or_better:planning"] == (0, 1)
    assert stored["audits_good_or_better"] == (1, 1)
    moderated = AUDITS_CSV.replace(",good,,", ",good,2025-11-21,inadequate")
    corrected = build_extract(tmp_path / "y")
    (corrected / "audits.csv").write_text(moderated, encoding="utf-8")
    (corrected / "audit_domains.csv").write_text(DOMAINS_CSV, encoding="utf-8")
    assert load_extract(corrected).status == "published"
    app = create_app(check_interval=0)
    accounts.add_user(app.state.kpidash.engine, "an", "analyst", password="a long enough password")
    token = accounts.create_api_token(app.state.kpidash.engine, "an", days=1).token
    with TestClient(app) as client:
        body = client.get("/api/v1/history/kpis?on=2025-11-24", headers={"Authorization": f"Bearer {token}"}).json()
    rows = {(r["kpi"], r["domain"]): r for r in body["figures"]}
    assert rows[("domain_good_or_better", "planning")]["as_reported"]["numerator"] == 0
    assert rows[("domain_good_or_better", "planning")]["changed"] is False
    good = rows[("audits_good_or_better", None)]
    assert (good["as_reported"]["numerator"], good["as_recalculated"]["numerator"], good["changed"]) == (1, 0, True)
