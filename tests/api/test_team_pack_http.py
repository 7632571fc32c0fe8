"""GET /api/v1/teams/{team}/pack.xlsx over the sample trust: the week's figures as GET /kpis gives them,
scoped like the records routes, audited, and plain refusals for bad input."""

from __future__ import annotations

import io

from python_calamine import CalamineWorkbook

from api import audit
from kpis.team_pack import ACTION_LISTS, SHEET_NAMES

V1 = "/api/v1"
AS_AT = "2025-11-19"  # a Wednesday: the week is Monday 17 to Wednesday 19 November
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _pack(api, team: str, role: str, query: str = f"as_at={AS_AT}"):  # noqa: ANN001, ANN202
    return api.client.get(f"{V1}/teams/{team}/pack.xlsx?{query}", headers=api.auth(role))


def _cell(value: object) -> object:
    """A figure as a workbook holds it: 15 significant digits (and an empty cell for no figure)."""
    return "" if value is None else round(value, 9) if isinstance(value, float) else value


def _sheets(body: bytes) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(body))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def _title(figure: dict) -> str:
    """The pack's row title: a domain figure (domain_good_or_better) is titled with its domain."""
    return figure["title"] + (f": {figure['domain'].replace('_', ' ')}" if "domain" in figure else "")


def test_the_team_manager_gets_their_teams_pack_with_the_weeks_figures(api) -> None:
    response = _pack(api, api.team, "team_manager")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert f'filename="kpidash-team-pack-{api.team}-{AS_AT}.xlsx"' in response.headers["content-disposition"]
    sheets = _sheets(response.content)
    assert list(sheets) == ["Summary", "Workers", *(SHEET_NAMES[k] for _, k, _, _ in ACTION_LISTS), "About"]
    figures = api.client.get(f"{V1}/kpis?level=team&unit={api.team}&from=2025-11-17&to={AS_AT}&fields=all",
                             headers=api.auth("team_manager")).json()
    assert {r[0]: _cell(r[1]) for r in sheets["Summary"][1:]} == {_title(f): _cell(f["value"]) for f in figures}
    last = api.client.get(f"{V1}/kpis?level=team&unit={api.team}&from=2025-11-10&to=2025-11-16&fields=all",
                          headers=api.auth("team_manager")).json()
    last_by_title = {_title(f): _cell(f["value"]) for f in last}  # a domain graded this week only: no last week
    assert {r[0]: _cell(r[2]) for r in sheets["Summary"][1:]} == {
        r[0]: last_by_title.get(r[0], _cell(None)) for r in sheets["Summary"][1:]}
    assert {k: v for k, v in last_by_title.items() if ":" not in k} == {
        r[0]: _cell(r[2]) for r in sheets["Summary"][1:] if ":" not in r[0]}
    workers = api.client.get(f"{V1}/dashboard/teams/{api.team}/workers?to={AS_AT}",
                             headers=api.auth("team_manager")).json()
    assert [row[0] for row in sheets["Workers"][1:]] == [w["worker_id"] for w in workers]
    assert sheets["About"][1][:1] == [api.team]


def test_an_action_list_is_the_records_route_s_list(api) -> None:
    sheets = _sheets(_pack(api, api.team, "analyst").content)
    records = api.client.get(f"{V1}/kpis/unallocated_cases/records?unit={api.team}&to={AS_AT}&page_size=1000",
                             headers=api.auth("analyst")).json()["records"]
    listed = sheets["Unallocated cases"]
    if records:
        at = listed[0].index("child_id")
        assert [row[at] for row in listed[1:]] == [r["child_id"] for r in records]
    else:
        assert listed == [["Nothing to list."]]


def test_a_pack_with_child_level_records_is_audited(api) -> None:
    response = _pack(api, api.team, "head_of_service")
    assert response.status_code == 200
    entry = audit.entries(api.engine, limit=1, event="export")[0]
    listed = sum(len(rows) - 1 for name, rows in _sheets(response.content).items()
                 if name not in ("Summary", "Workers", "About") and rows != [["Nothing to list."]])
    assert (entry.username, entry.kpi, entry.level, entry.unit, str(entry.date_from), str(entry.date_to),
            entry.outcome, entry.record_count) == (
        "test_head_of_service", "team_pack", "team", api.team, "2025-11-17", AS_AT, "ok", listed)


def test_another_teams_pack_is_refused_to_a_team_manager_and_the_refusal_audited(api) -> None:
    response = _pack(api, api.other_team, "team_manager")
    assert response.status_code == 403
    assert response.json()["detail"].startswith(f"As team manager of {api.team} you may see")
    entry = audit.entries(api.engine, limit=1, event="export")[0]
    assert (entry.username, entry.unit, entry.outcome) == ("test_team_manager", api.other_team, "forbidden")
    assert _pack(api, api.other_team, "head_of_service").status_code == 403  # another service's team
    assert _pack(api, api.other_team, "executive").status_code == 200


def test_bad_input_is_refused_plainly(api) -> None:
    unknown = _pack(api, "NO_SUCH_TEAM", "analyst")
    assert unknown.status_code == 404 and "There is no team 'NO_SUCH_TEAM'" in unknown.json()["detail"]
    for query in ("as_at=19/11/2025", "as_at=2025-02-30", "as_at=1800-01-01", "to=2025-11-19"):
        bad = _pack(api, api.team, "analyst", query)
        assert bad.status_code == 422, query
        assert "Traceback" not in bad.text
    assert api.client.get(f"{V1}/teams/{api.team}/pack.xlsx").status_code == 401
