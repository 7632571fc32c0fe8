"""Finding 5: every door to child-level data writes one audit entry with who, what, how many records, from
where (the browser's address, not the dashboard's 127.0.0.1) and through which door: the API's routes, the
dashboard's views and downloads, the CLI's commands. And nothing typed at the sign-in form can forge a
line of the trail."""

from __future__ import annotations

import getpass
import io
import json
import re
import zipfile
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from etl import run_issues

from kpis.team_pack import ACTION_LISTS as ACTION_LIST_KPIS
from tests.security.conftest import Dashboard, Service, changed_id, open_records_id

# Every API path, by whether its answer can hold child-level data. A new path must be put in one of
# the two sets (and, when it holds child-level data, walked below), or this test fails.
CHILD_LEVEL_PATHS = {"/api/v1/kpis/{kpi}/records", "/api/v1/teams/{team_id}/pack.xlsx", "/api/v1/runs/{run_id}/rejects",
                     "/api/v1/actions/{action_id}/children"}  # the board's loop: scoped, audited (api/test_board_http.py)
NO_CHILD_LEVEL_PATHS = {
    "/api/v1/audit", "/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/dashboard/daily",
    "/api/v1/dashboard/teams/{team_id}/workers", "/api/v1/definitions", "/api/v1/health", "/api/v1/history/kpis",
    "/api/v1/kpis", "/api/v1/kpis/{kpi}/trend", "/api/v1/me", "/api/v1/ready", "/api/v1/runs", "/api/v1/services",
    "/api/v1/status", "/api/v1/teams", "/api/v1/users", "/api/v1/workers/{worker_id}/caseload",
    # SPC charts and the QA page's aggregates: figures and counts (actions by owner), never a child
    "/api/v1/kpis/{kpi}/spc", "/api/v1/spc", "/api/v1/dashboard/last-working-day",
    "/api/v1/qa/summary", "/api/v1/qa/findings", "/api/v1/qa/page",
    # an admin's changes to users (audited as user_change: tests/api/test_admin_users_http.py)
    "/api/v1/users/{username}/disable", "/api/v1/users/{username}/enable", "/api/v1/users/{username}/password",
    "/api/v1/users/{username}/role",
    # the board's loop: analysis, actions (children as a count only) and packs (trust figures), written audited
    "/api/v1/analysis/{kpi}/{level}/{unit}/{period}", "/api/v1/analysis/{kpi}/{level}/{unit}/{period}/history",
    "/api/v1/actions", "/api/v1/actions.csv", "/api/v1/actions/{action_id}", "/api/v1/actions/{action_id}/history",
    "/api/v1/packs", "/api/v1/packs/{pack_id}", "/api/v1/packs/{pack_id}/pack.html", "/api/v1/packs/{pack_id}/pack.pdf",
    "/api/v1/packs/{pack_id}/snapshot",
}
BROWSER = "127.0.0.20"  # the dashboard user's address
API_CLIENT = "127.0.0.21"
ACTION_LISTS = len(ACTION_LIST_KPIS)  # the Team page's lists, one records request each


def test_every_api_path_is_classified(secure_service: Service) -> None:
    paths = set(httpx.get(secure_service.url + "/api/openapi.json").json()["paths"])
    assert paths == CHILD_LEVEL_PATHS | NO_CHILD_LEVEL_PATHS, (
        "classify the new API paths here (and audit and test them if they hand out child-level data): "
        f"{sorted(paths ^ (CHILD_LEVEL_PATHS | NO_CHILD_LEVEL_PATHS))}")


class Trail:
    """The audit entries written since the last look."""

    def __init__(self, svc: Service) -> None:
        self.svc = svc
        self.seen = len(svc.audit())

    def new(self) -> list[dict[str, Any]]:
        rows = self.svc.audit()
        fresh, self.seen = rows[self.seen:], len(rows)
        return fresh


def _who(row: dict[str, Any]) -> tuple:
    return (row["event"], row["username"], row["kpi"], row["unit"], row["record_count"], row["client_address"],
            row["channel"], row["outcome"])


def test_the_api_doors(secure_service: Service) -> None:
    svc, trail = secure_service, Trail(secure_service)
    auth = {"Authorization": f"Bearer {svc.tokens['team_manager']}"}
    period = {"unit": svc.team, "from": "2025-04-01", "to": "2025-11-23"}
    with svc.client(API_CLIENT, headers=auth) as http:
        page = http.get("/api/v1/kpis/referrals/records", params={**period, "page_size": 7}).json()
        as_csv = http.get("/api/v1/kpis/referrals/records", params={**period, "format": "csv"})
        as_xlsx = http.get("/api/v1/kpis/referrals/records", params={**period, "format": "xlsx"})
        pack = http.get(f"/api/v1/teams/{svc.team}/pack.xlsx")
        refused = http.get("/api/v1/kpis/referrals/records", params={**period, "unit": svc.other_team})
    assert as_csv.status_code == as_xlsx.status_code == pack.status_code == 200 and refused.status_code == 403
    total = page["total"]
    assert as_csv.content.decode("utf-8-sig").count("\r\n") == total + 1
    with svc.client(API_CLIENT, headers={"Authorization": f"Bearer {svc.tokens['analyst']}"}) as http:
        run_id = http.get("/api/v1/runs").json()[0]["run_id"]
        issues = http.get(f"/api/v1/runs/{run_id}/rejects", params={"page_size": 3}).json()
    tm = svc.users["team_manager"]
    got = [_who(r) for r in trail.new()]
    assert got[:4] == [
        ("records", tm, "referrals", svc.team, 7, API_CLIENT, "api", "ok"),
        ("export", tm, "referrals", svc.team, total, API_CLIENT, "api", "ok"),
        ("export", tm, "referrals", svc.team, total, API_CLIENT, "api", "ok"),
        ("export", tm, "team_pack", svc.team, got[3][4], API_CLIENT, "api", "ok"),
    ]
    assert got[4] == ("records", tm, "referrals", svc.other_team, None, API_CLIENT, "api", "forbidden")
    assert got[5] == ("rejects", svc.users["analyst"], None, None, len(issues["issues"]), API_CLIENT, "api", "ok")
    assert len(got) == 6
    assert {h["cache-control"] for h in (as_csv.headers, as_xlsx.headers, pack.headers)} == {"no-store"}


def test_the_dashboard_doors_log_the_browsers_address(secure_service: Service) -> None:
    svc = secure_service
    browser = Dashboard(svc, BROWSER)
    try:
        browser.sign_in_as("executive")
        trail = Trail(svc)
        who = svc.users["executive"]
        # Today: a tile's "Show the children"
        cid = open_records_id("unallocated_cases", "team", svc.team)
        opened = browser.call("drawer.style", [[(cid, "n_clicks", 1)], ("drawer-close", "n_clicks", 0), [], []],  # attention, periods
                              [("today-date", "data", svc.extract_date)], [changed_id(cid, "n_clicks")])
        rows = opened.json()["response"]["drawer-grid"]["rowData"]
        request = opened.json()["response"]["drawer-request"]["data"]
        assert opened.headers["cache-control"] == "no-store"  # the callback's answer holds the children
        # its two downloads
        files = {}
        for button in ("drawer-csv", "drawer-xlsx"):
            answer = browser.call("drawer-download.data", [("drawer-csv", "n_clicks", 1), ("drawer-xlsx", "n_clicks", 1)],
                                  [("drawer-request", "data", request)], [f"{button}.n_clicks"])
            files[button] = answer.json()["response"]["drawer-download"]["data"]
        assert files["drawer-csv"]["filename"].endswith(".csv") and files["drawer-xlsx"]["filename"].endswith(".xlsx")
        # Team: the week's action lists, and the team pack
        team = browser.call("team-body.children", [("team-picker", "value", svc.team)],
                            [("today-date", "data", svc.extract_date)], ["team-picker.value"])
        assert team.status_code == 200
        pack = browser.call("team-pack-download.data", [("team-pack", "n_clicks", 1)],
                            [("team-picker", "value", svc.team), ("today-date", "data", svc.extract_date)],
                            ["team-pack.n_clicks"])
        assert pack.json()["response"]["team-pack-download"]["data"]["filename"].endswith(".xlsx")
    finally:
        browser.close()
    got = trail.new()
    assert len(got) == 3 + ACTION_LISTS + 1
    assert [(r["event"], r["kpi"]) for r in got[:3]] == [
        ("records", "unallocated_cases"), ("export", "unallocated_cases"), ("export", "unallocated_cases")]
    # the Team page asks for its lists in parallel: one entry each, in any order
    assert sorted((r["event"], r["kpi"]) for r in got[3:-1]) == sorted(("records", kpi) for _, kpi, _, _ in ACTION_LIST_KPIS)
    assert (got[-1]["event"], got[-1]["kpi"]) == ("export", "team_pack")
    assert {(r["username"], r["client_address"], r["channel"], r["outcome"]) for r in got} == {
        (who, BROWSER, "dashboard", "ok")}
    assert [r["record_count"] for r in got[:3]] == [len(rows)] * 3
    assert {r["detail"] for r in got[1:3]} == {"format=csv", "format=xlsx"}


def test_the_cli_doors(secure_service: Service, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    from cli.main import app
    from core import appdb
    from core.settings import get_settings

    svc = secure_service
    for k, v in svc.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SSH_CLIENT", "192.0.2.33 50022 22")  # the command came in over SSH from there
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()
    trail = Trail(svc)
    runner = CliRunner()
    records = runner.invoke(app, ["records", "referrals", "--unit", svc.team, "--from", "2025-04-01", "--to",
                                  "2025-11-23", "--format", "json"])
    assert records.exit_code == 0, records.output
    out = tmp_path / "annex.xlsx"
    annex = runner.invoke(app, ["export", "annex-a", "--to", "2025-11-23", "--out", str(out)])
    assert annex.exit_code == 0, annex.output
    rejects = runner.invoke(app, ["rejects", "--limit", "4"])
    assert rejects.exit_code == 0, rejects.output
    shown_issues = min(4, len(run_issues()))
    appdb.get_engine.cache_clear()

    got = trail.new()
    assert [(r["event"], r["kpi"], r["channel"], r["client_address"], r["outcome"]) for r in got] == [
        ("records", "referrals", "cli", "192.0.2.33", "ok"), ("export", "annex_a", "cli", "192.0.2.33", "ok"),
        ("rejects", None, "cli", "192.0.2.33", "ok")]
    assert got[0]["record_count"] == len(json.loads(records.stdout))
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as z:
        assert any(n.startswith("xl/worksheets/") for n in z.namelist())
    assert got[1]["record_count"] == sum(int(n.replace(",", "")) for n in re.findall(r"List \d: ([\d,]+)", annex.stdout))
    assert got[2]["record_count"] == shown_issues
    assert got[0]["username"] == got[1]["username"] == got[2]["username"] == getpass.getuser()
    assert (got[0]["date_from"], got[0]["date_to"]) == ("2025-04-01", "2025-11-23")
    # without --from, the entry names the days shown (to's month to date), not an open start
    assert runner.invoke(app, ["records", "referrals", "--unit", svc.team, "--to", "2025-11-23"]).exit_code == 0
    appdb.get_engine.cache_clear()
    shown = [(r["event"], r["date_from"], r["date_to"]) for r in trail.new()]
    assert shown == [("records", "2025-11-01", "2025-11-23")]


def test_a_newline_in_a_username_cannot_forge_an_audit_line(secure_service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app
    from core import appdb
    from core.settings import get_settings

    forged = "mallory\n2001-01-01 00:00 UTC  records  sec_admin  ok"
    with secure_service.client("127.0.0.22") as http:
        assert http.post("/api/v1/auth/login", json={"username": forged, "password": "x"}).status_code == 401
    entry = secure_service.audit(client_address="127.0.0.22")[-1]
    assert entry["username"] == "mallory\\x0a2001-01-01 00:00 UTC  records  sec_admin  ok"
    for k, v in secure_service.env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()
    shown = CliRunner().invoke(app, ["audit", "--limit", "3"])
    appdb.get_engine.cache_clear()
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert len(lines) == 3 + 1  # a header and one line per entry, nothing more
    assert not any(line.startswith("2001-01-01 00:00 UTC") for line in lines)
