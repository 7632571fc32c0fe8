"""The board's loop over HTTP: analysis (versions, concurrent edits), actions (agree, change, history, CSV,
children) and who may do what, role by role, including another team's action asked for by id."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import AuditEntry

V1 = "/api/v1"
KPI = "assessments_within_45wd"
ROLES = ("executive", "head_of_service", "team_manager", "analyst", "admin", "board")
WRITERS_ALL = {"executive", "analyst"}


def _analysis(api, level: str, unit: str, period: str = "2025-10") -> str:
    return f"{V1}/analysis/{KPI}/{level}/{unit}/{period}"


def _audit(api, event: str) -> list[AuditEntry]:
    with Session(api.engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.event == event).order_by(AuditEntry.id)))


def _units(api) -> dict[str, tuple[str, str]]:
    return {"trust": ("trust", "trust"), "own_team": ("team", api.team), "other_team": ("team", api.other_team),
            "own_service": ("service", api.service), "other_service": ("service", api.other_service)}


# who may write for which unit: the rules
MAY_WRITE = {
    "trust": WRITERS_ALL,
    "own_team": WRITERS_ALL | {"team_manager", "head_of_service"},
    "other_team": WRITERS_ALL,
    "own_service": WRITERS_ALL | {"head_of_service"},
    "other_service": WRITERS_ALL,
}


@pytest.mark.parametrize("role", ROLES)
def test_analysis_role_matrix(api, role: str) -> None:
    """Every role reads every unit's analysis; writes only where the rules say; refusals are 403 with a
    reason and are audited."""
    outcomes, expected = {}, {}
    for name, (level, unit) in _units(api).items():
        path = _analysis(api, level, unit, period=f"2024-{ROLES.index(role) + 1:02d}")
        assert api.client.get(path, headers=api.auth(role)).status_code == 200
        answer = api.client.put(path, json={"text": f"{role} on {name}", "base_version": 0}, headers=api.auth(role))
        outcomes[name] = answer.status_code
        expected[name] = 200 if role in MAY_WRITE[name] else 403
        if answer.status_code == 403:
            assert len(answer.json()["detail"]) > 30
    assert outcomes == expected
    refused = [e for e in _audit(api, "analysis") if e.username == f"test_{role}" and e.outcome == "forbidden"]
    assert len(refused) == list(expected.values()).count(403)


def test_analysis_keeps_every_version_and_detects_a_concurrent_edit(api) -> None:
    path = _analysis(api, "team", api.team, "2025-09")
    first = api.client.get(path, headers=api.auth("team_manager"))
    assert first.json()["version"] == 0 and first.headers["etag"] == '"v0"'
    saved = api.client.put(path, json={"text": "Timeliness fell: two long-term sickness absences."},
                           headers={**api.auth("team_manager"), "If-Match": first.headers["etag"]})
    assert saved.status_code == 200 and saved.json()["version"] == 1 and saved.headers["etag"] == '"v1"'
    # two people open version 1; the head of service saves first, the team manager's save is refused
    hos = api.client.put(path, json={"text": "Agreed: agency cover from November.", "base_version": 1},
                         headers=api.auth("head_of_service"))
    assert hos.status_code == 200 and hos.json()["version"] == 2
    late = api.client.put(path, json={"text": "My edit from version 1", "base_version": 1},
                          headers=api.auth("team_manager"))
    assert late.status_code == 409
    assert "test_head_of_service" in late.json()["detail"] and "not saved" in late.json()["detail"]
    now = api.client.get(path, headers=api.auth("board"))
    assert now.json()["text"] == "Agreed: agency cover from November." and now.json()["author"] == "test_head_of_service"
    assert api.client.get(path, headers={**api.auth("board"), "If-None-Match": '"v2"'}).status_code == 304
    history = api.client.get(path + "/history", headers=api.auth("board")).json()
    assert [(h["version"], h["author"]) for h in history] == [(2, "test_head_of_service"), (1, "test_team_manager")]
    assert history[1]["text"] == "Timeliness fell: two long-term sickness absences."
    assert [e.outcome for e in _audit(api, "analysis") if e.unit == api.team and e.detail and "2025-09" in e.detail] \
        == ["ok", "ok", "conflict"]


def test_analysis_without_a_base_version_is_refused_and_bad_targets_say_why(api) -> None:
    path = _analysis(api, "trust", "trust", "2025-08")
    missing = api.client.put(path, json={"text": "x"}, headers=api.auth("analyst"))
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"]
    assert api.client.put(path, json={"text": "x"}, headers={**api.auth("analyst"), "If-Match": "nonsense"}).status_code == 422
    week = api.client.get(_analysis(api, "service", api.service, "2025-W40"), headers=api.auth("analyst"))
    assert week.status_code == 422 and "teams" in week.json()["detail"]
    assert api.client.get(_analysis(api, "team", api.team, "2025-W40"), headers=api.auth("analyst")).status_code == 200
    # an unknown KPI in the path is a 404, as everywhere in the API (docs/api.md); an audit found a 422 here
    assert api.client.get(f"{V1}/analysis/no_such_kpi/trust/trust/2025-10", headers=api.auth("analyst")).status_code == 404
    assert api.client.get(_analysis(api, "team", "NO-SUCH-TEAM"), headers=api.auth("analyst")).status_code == 422
    assert api.client.get(_analysis(api, "trust", "trust", "2025-13"), headers=api.auth("analyst")).status_code == 422


CASES = "open_cases"  # every team holds cases: the KPI of the actions about children


def _children(api, level: str, unit: str, n: int) -> list[str]:
    """n children behind CASES's figure for the unit in _new_action's period (its records, as the analyst sees them)."""
    records = api.client.get(f"{V1}/kpis/{CASES}/records", params={"level": level, "unit": unit, "from": "2025-10-01",
                                                                 "to": "2025-10-31", "page_size": 500},
                             headers=api.auth("analyst")).json()["records"]
    children = sorted({r["child_id"] for r in records})
    assert len(children) >= n, (level, unit, children)
    return children[:n]


def _new_action(api, role: str, level: str, unit: str, **extra) -> dict:
    body = {"kpi": KPI, "level": level, "unit": unit, "period": "2025-10", "what": f"Review allocations ({role})",
            "owner_name": "Dr A. Example", "due_date": "2025-12-01", "origin": "figure", **extra}
    return api.client.post(f"{V1}/actions", json=body, headers=api.auth(role))


@pytest.mark.parametrize("role", ROLES)
def test_actions_role_matrix_including_another_teams_action_by_id(api, role: str) -> None:
    """Agree an action for each unit; change an action of each unit by its id (the IDOR attempt: a team
    manager or head of service naming another team's action id is refused with 403, and it is unchanged)."""
    made = {name: _new_action(api, "analyst", level, unit).json() for name, (level, unit) in _units(api).items()}
    created, changed, expected_create, expected_change = {}, {}, {}, {}
    for name, (level, unit) in _units(api).items():
        created[name] = _new_action(api, role, level, unit).status_code
        expected_create[name] = 201 if role in MAY_WRITE[name] else 403
        action = made[name]
        answer = api.client.patch(f"{V1}/actions/{action['id']}", json={"due_date": "2026-01-15"},
                                  headers={**api.auth(role), "If-Match": f'"v{action["version"]}"'})
        changed[name] = answer.status_code
        expected_change[name] = 200 if role in MAY_WRITE[name] | {"admin"} else 403
        if answer.status_code == 403:
            assert api.client.get(f"{V1}/actions/{action['id']}", headers=api.auth(role)).json()["due_date"] == "2025-12-01"
            assert str(action["id"]) in answer.json()["detail"] or role == "board"
    assert created == expected_create
    assert changed == expected_change
    assert api.client.get(f"{V1}/actions", headers=api.auth(role)).status_code == 200  # everyone reads


def test_an_action_is_changed_with_history_conflicts_and_its_owner_may_close_it(api) -> None:
    made = _new_action(api, "head_of_service", "team", api.team, owner_user="test_team_manager",
                       owner_name=None, kpi=CASES, child_ids=_children(api, "team", api.team, 2))
    assert made.status_code == 201, made.text
    action = made.json()
    assert action["owner"] == "test_team_manager" and action["child_count"] == 2 and action["status"] == "open"
    assert made.headers["location"] == f"/api/v1/actions/{action['id']}"
    url = f"{V1}/actions/{action['id']}"
    # the owner (a team manager of that team) closes it; a stale second change is refused
    done = api.client.patch(url, json={"status": "done", "status_note": "Allocations reviewed", "base_version": 1},
                            headers=api.auth("team_manager"))
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["closed_at"]
    stale = api.client.patch(url, json={"what": "Something else", "base_version": 1}, headers=api.auth("analyst"))
    assert stale.status_code == 409 and "test_team_manager" in stale.json()["detail"]
    assert api.client.patch(url, json={"status": "dropped"}, headers=api.auth("analyst")).status_code == 428
    dropped = api.client.patch(url, json={"status": "dropped", "status_note": "", "base_version": 2},
                               headers=api.auth("analyst"))
    assert dropped.status_code == 422 and "why" in dropped.json()["detail"]
    history = api.client.get(url + "/history", headers=api.auth("board")).json()
    assert [h["version"] for h in history] == [2, 1]
    assert history[0]["change"] == "status open -> done; status note changed"
    assert history[1]["state"]["status"] == "open" and "child_ids" not in history[1]["state"]
    # unknown owner and two owners are refused
    assert _new_action(api, "analyst", "trust", "trust", owner_user="nobody_here").status_code == 422
    assert _new_action(api, "analyst", "trust", "trust", owner_user="test_admin").status_code == 422  # and a name
    assert api.client.get(f"{V1}/actions/999999", headers=api.auth("analyst")).status_code == 404


def test_the_children_behind_an_action_are_scoped_and_audited(api) -> None:
    child = _children(api, "team", api.other_team, 1)
    action = _new_action(api, "analyst", "team", api.other_team, kpi=CASES, child_ids=child).json()
    url = f"{V1}/actions/{action['id']}/children"
    assert api.client.get(url, headers=api.auth("analyst")).json() == child
    for role in ("team_manager", "head_of_service", "board"):
        refused = api.client.get(url, headers=api.auth(role))
        assert refused.status_code == 403, role
    outcomes = [(e.username, e.outcome) for e in _audit(api, "records")
                if e.detail and e.detail.startswith(f"children of action {action['id']}")]
    assert outcomes == [("test_analyst", "ok"), ("test_team_manager", "forbidden"),
                        ("test_head_of_service", "forbidden"), ("test_board", "forbidden")]
    # children may be attached only by someone who may see them
    assert _new_action(api, "head_of_service", "service", api.service, kpi=CASES,
                       child_ids=_children(api, "service", api.service, 1)).status_code == 201


def test_the_children_of_an_action_must_be_behind_its_figure(api) -> None:
    """Otherwise another unit's children would reach whoever may read this unit's records: a head of service
    names another service's child (and an id no record has) on an action of their own team."""
    other = _children(api, "team", api.other_team, 1)
    own = _children(api, "team", api.team, 1)
    refused = _new_action(api, "head_of_service", "team", api.team, kpi=CASES, child_ids=[*own, *other, "C-NOBODY"])
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == (
        f"2 of the children given are not among the records behind Open cases (team {api.team}, at the end of "
        f"2025-10-31): {', '.join(sorted([*other, 'C-NOBODY']))}. Give children from the figure's own list (its "
        "drill-down).")
    assert not [a for a in api.client.get(f"{V1}/actions", headers=api.auth("analyst")).json()
                if a["what"] == "Review allocations (head_of_service)" and a["child_count"] == 3]
    assert _new_action(api, "head_of_service", "team", api.team, kpi=CASES, child_ids=own).status_code == 201


def test_overdue_and_mine_filters_and_the_csv_is_spreadsheet_safe(api) -> None:
    past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    overdue = _new_action(api, "team_manager", "team", api.team, due_date=past, what="=HYPERLINK(\"x\")").json()
    elsewhere = _new_action(api, "analyst", "team", api.other_team, due_date=past).json()
    mine = api.client.get(f"{V1}/actions?overdue=true&mine=true", headers=api.auth("team_manager")).json()
    ids = {a["id"] for a in mine}
    assert overdue["id"] in ids and elsewhere["id"] not in ids and all(a["overdue"] for a in mine)
    assert elsewhere["id"] in {a["id"] for a in
                              api.client.get(f"{V1}/actions?overdue=true&mine=true", headers=api.auth("executive")).json()}
    answer = api.client.get(f"{V1}/actions.csv?overdue=true", headers=api.auth("board"))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    row = next(r for r in rows if r["id"] == str(overdue["id"]))
    assert row["what"] == "'=HYPERLINK(\"x\")" and row["overdue"] == "True" and row["owner"] == "Dr A. Example"


def test_writes_are_audited_with_who_and_what(api) -> None:
    action = _new_action(api, "executive", "trust", "trust").json()
    entry = [e for e in _audit(api, "action") if e.detail == f"agreed action {action['id']}"]
    assert len(entry) == 1 and entry[0].username == "test_executive" and entry[0].outcome == "ok"
    assert entry[0].kpi == KPI and entry[0].level == "trust" and entry[0].channel == "api"


def test_blank_text_two_owners_and_dates_outside_kpidashs_range_are_refused(api) -> None:
    """A board audit: whitespace-only text, a change giving two owners, and dates far outside the data were
    accepted (and printed as blank cells, or silently dropped an owner)."""
    def refused(got, says: str) -> bool:
        return got.status_code == 422 and says in got.json()["detail"]

    assert refused(_new_action(api, "analyst", "trust", "trust", what="   "), "what is empty")
    assert refused(_new_action(api, "analyst", "trust", "trust", owner_name="  "), "one owner")
    assert refused(_new_action(api, "analyst", "trust", "trust", due_date="1989-12-31"), "outside the dates")
    assert refused(_new_action(api, "analyst", "trust", "trust", due_date="2100-01-01"), "outside the dates")
    assert refused(_new_action(api, "analyst", "trust", "trust", period="1989-12"), "outside the dates")
    assert refused(api.client.get(_analysis(api, "trust", "trust", "2100-01"), headers=api.auth("analyst")),
                   "outside the dates")
    action = _new_action(api, "analyst", "trust", "trust", owner_user="test_executive", owner_name=None).json()
    url, v = f"{V1}/actions/{action['id']}", {"base_version": action["version"]}
    analyst = api.auth("analyst")
    assert refused(api.client.patch(url, json={"owner_user": "test_executive", "owner_name": "X", **v},
                                    headers=analyst), "not both")
    assert refused(api.client.patch(url, json={"what": " \n ", **v}, headers=analyst), "what is empty")
    assert refused(api.client.patch(url, json={"status": "dropped", "status_note": "  ", **v}, headers=analyst),
                   "why")
    assert refused(api.client.patch(url, json={"due_date": "2100-01-01", **v}, headers=analyst), "outside the dates")
    assert refused(api.client.patch(url, json={"status_note": "a\x00b", **v}, headers=analyst), "NUL")
    now = api.client.get(url, headers=analyst).json()
    assert (now["owner"], now["version"], now["status"]) == ("test_executive", 1, "open")  # nothing changed
    # a NUL, which PostgreSQL's text cannot keep, is refused on every database alike
    assert refused(_new_action(api, "analyst", "trust", "trust", what="Review\x00"), "NUL")
    assert refused(api.client.put(_analysis(api, "trust", "trust", "2025-09"), json={"text": "x\x00", "base_version": 0},
                                  headers=analyst), "NUL")


def test_the_audit_list_filters_the_boards_events(api) -> None:
    made = _new_action(api, "executive", "trust", "trust").json()
    got = api.client.get(f"{V1}/audit", params={"event": "action"}, headers=api.auth("admin"))
    assert got.status_code == 200, got.text  # was 422: the filter knew no board event
    assert f"agreed action {made['id']}" in [e["detail"] for e in got.json()]
    assert {e["event"] for e in got.json()} == {"action"}
    for event in ("analysis", "pack"):
        assert api.client.get(f"{V1}/audit", params={"event": event}, headers=api.auth("admin")).status_code == 200


def test_a_write_refused_before_its_route_runs_is_audited_too(api) -> None:
    """A board audit: a body the API could not read (too long, not JSON, fields missing) was refused with 422
    but left no audit entry, though every write, allowed or refused, is one (docs/board.md)."""
    too_long = api.client.put(_analysis(api, "trust", "trust"), json={"text": "x" * 200_001, "base_version": 0},
                              headers=api.auth("analyst"))
    not_json = api.client.post(f"{V1}/actions", content=b"{not json", headers={**api.auth("team_manager"),
                                                                                 "Content-Type": "application/json"})
    no_fields = api.client.post(f"{V1}/packs", json={"month": "2025-10"}, headers=api.auth("head_of_service"))
    assert (too_long.status_code, not_json.status_code, no_fields.status_code) == (422, 422, 422)
    anonymous = api.client.post(f"{V1}/actions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert anonymous.status_code in (401, 422)  # refused; nobody to name on the trail
    got = {(e.event, e.username, e.outcome, e.detail.split(":")[0]) for e in
           [*_audit(api, "analysis"), *_audit(api, "action"), *_audit(api, "pack")] if e.outcome == "invalid"}
    assert ("analysis", "test_analyst", "invalid", f"PUT {V1}/analysis/{KPI}/trust/trust/2025-10") in got
    assert ("action", "test_team_manager", "invalid", f"POST {V1}/actions") in got
    assert ("pack", "test_head_of_service", "invalid", f"POST {V1}/packs") in got
    assert not [e for e in _audit(api, "action") if e.username is None]


def test_a_pack_month_that_is_no_month_says_so(api) -> None:
    """An operations audit: month 2026-13 was refused as 'has characters that are not allowed'."""
    got = api.client.post(f"{V1}/packs", json={"month": "2026-13"}, headers=api.auth("head_of_service"))
    assert got.status_code == 422
    assert "month ('2026-13') is not a month: write it YYYY-MM, a month being 01 to 12" in got.json()["detail"]
