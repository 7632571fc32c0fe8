"""Finding 6: a worker's records can belong to another team than the worker's (or to a team teams.csv does
not know). A team manager sees only children whose records belong to their team, a head of service their
service's: worker-level records are filtered by the record's own team too.

The hand-made trust: W1 works in T1 (service A), W2 in T2 (service B). W1 holds three referrals: R1 in
T1, R2 in T2 and R3 in TX, a team teams.csv does not know (UNKNOWN); W2 holds R4 in T2."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl import load_extract
from tests.api.conftest import ApiHarness, make_harness
from tests.etl.extract_builder import build_extract
from tests.etl.load_support import own_settings

V1 = "/api/v1"
PERIOD = "from=2025-01-01&to=2025-11-24"


@pytest.fixture(scope="module")
def crossed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiHarness]:
    folder = tmp_path_factory.mktemp("crossed")
    extract = build_extract(folder / "extract", rows={
        "teams": [{"team_id": "T1", "service": "Service A"}, {"team_id": "T2", "team_name": "Team Two", "service": "Service B"}],
        "workers": [{"worker_id": "W1", "team_id": "T1"}, {"worker_id": "W2", "worker_name": "Rowan Ashgrove", "team_id": "T2"}],
        "children": [{"child_id": c} for c in ("C1", "C2", "C3", "C4")],
        "referrals": [{"referral_id": "R1", "child_id": "C1", "team_id": "T1", "worker_id": "W1"},
                      {"referral_id": "R2", "child_id": "C2", "team_id": "T2", "worker_id": "W1"},
                      {"referral_id": "R3", "child_id": "C3", "team_id": "TX", "worker_id": "W1"},
                      {"referral_id": "R4", "child_id": "C4", "team_id": "T2", "worker_id": "W2"}],
    })
    with own_settings(folder / "wh") as db:
        assert load_extract(extract).status == "published"
    yield from make_harness(folder / "api", db)


def _records(api: ApiHarness, role: str, unit: str, extra: str = "") -> tuple[int, dict]:
    response = api.client.get(f"{V1}/kpis/referrals/records?unit={unit}&level=worker&{PERIOD}{extra}",
                              headers=api.auth(role))
    return response.status_code, response.json() if response.headers["content-type"].startswith("application/json") else response


def test_the_harness_is_the_hand_made_trust(crossed: ApiHarness) -> None:
    assert (crossed.team, crossed.other_team, crossed.service, crossed.worker) == ("T1", "T2", "Service A", "W1")


def test_a_team_manager_sees_only_their_teams_children_of_their_worker(crossed: ApiHarness) -> None:
    status, page = _records(crossed, "team_manager", "W1")
    assert status == 200
    assert [(r["record_id"], r["team_unit"]) for r in page["records"]] == [("R1", "T1")]
    assert (page["total"], page["withheld"]) == (1, 2)


def test_a_head_of_service_sees_only_their_services_children_of_their_worker(crossed: ApiHarness) -> None:
    status, page = _records(crossed, "head_of_service", "W1")
    assert status == 200
    assert [r["record_id"] for r in page["records"]] == ["R1"] and page["withheld"] == 2


@pytest.mark.parametrize("role", ["executive", "analyst", "admin"])
def test_the_all_scope_roles_see_every_record_of_the_worker(crossed: ApiHarness, role: str) -> None:
    status, page = _records(crossed, role, "W1")
    assert status == 200
    assert sorted((r["record_id"], r["team_unit"]) for r in page["records"]) == [
        ("R1", "T1"), ("R2", "T2"), ("R3", "UNKNOWN")]
    assert page["withheld"] == 0


def test_the_downloads_are_filtered_the_same_way(crossed: ApiHarness) -> None:
    response = crossed.client.get(f"{V1}/kpis/referrals/records?unit=W1&level=worker&{PERIOD}&format=csv",
                                  headers=crossed.auth("team_manager"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["record_id"] for r in rows] == ["R1"]


def test_another_teams_worker_is_still_refused(crossed: ApiHarness) -> None:
    status, body = _records(crossed, "team_manager", "W2")
    assert status == 403 and body["detail"].startswith("As team manager of T1")


def test_the_teams_own_records_are_unchanged(crossed: ApiHarness) -> None:
    response = crossed.client.get(f"{V1}/kpis/referrals/records?unit=T1&{PERIOD}", headers=crossed.auth("team_manager"))
    assert [r["record_id"] for r in response.json()["records"]] == ["R1"]


def test_the_audit_counts_what_was_disclosed(crossed: ApiHarness) -> None:
    from api import audit

    _records(crossed, "team_manager", "W1")
    entry = audit.entries(crossed.engine, limit=1, event="records")[0]
    assert (entry.username, entry.unit, entry.level, entry.record_count) == ("test_team_manager", "W1", "worker", 1)


def test_the_kpi_layer_filters_by_the_records_own_team(crossed: ApiHarness) -> None:
    from kpis import KpiError, kpi_records, open_warehouse

    period = (dt.date(2025, 1, 1), dt.date(2025, 11, 24))
    with open_warehouse(Path(crossed.env["KPIDASH_DB"])) as wh:
        mine = kpi_records(wh, "referrals", "W1", *period, "worker", within=("team", "T1"))
        unknown = kpi_records(wh, "referrals", "W1", *period, "worker", within=("team", "UNKNOWN"))
        service_b = kpi_records(wh, "referrals", "W1", *period, "worker", within=("service", "Service B"))
        with pytest.raises(KpiError):
            kpi_records(wh, "referrals", "W1", *period, "worker", within=("worker", "W1"))
    assert ([r["record_id"] for r in mine], [r["record_id"] for r in unknown], [r["record_id"] for r in service_b]) == (
        ["R1"], ["R3"], ["R2"])
