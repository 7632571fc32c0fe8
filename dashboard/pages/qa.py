"""Quality assurance: case-file audits beside the figures. The QA page (a month and a unit: audits due and
done, on time, overdue, grade mix before and after moderation, moderation agreement, domains, open and
overdue actions, by service and team, and QA on a Page as HTML or PDF), and the small QA sections that
Team (the team's audits and actions) and Today (overdue audits and actions for the scope) add.

Everything through the API: aggregates from /qa/*, the audits and actions themselves as records (scoped
and audited), so a refusal is shown as the API words it; lists outside the role's scope are not asked for
(formatting.OUTSIDE_SCOPE).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlencode

import dash_ag_grid as dag
from dash import Input, Output, State, dcc, html

from dashboard.api_client import ApiClient, ApiProblem
from dashboard.auth import current_user, request_token, session_ended
from dashboard.components.address import address_outputs, in_address, not_shown, scope_words
from dashboard.components import qa_panels
from dashboard.components.formatting import (OUTSIDE_SCOPE, default_scope, long_date, may_see_records, month_end,
                                             month_label, months_back, parse_scope, scope_from_query, scope_query)
from dashboard.components.records_drawer import GRID_OPTIONS, open_button
from dashboard.pages import scope as scope_picker

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kpidash-qa")


def layout(api: ApiClient, user: dict[str, Any], status: dict[str, Any], search: str) -> html.Div:
    opts, _ = scope_picker.options(api)
    extract = dt.date.fromisoformat(status["extract_date"]) if status.get("extract_date") else dt.date.today()
    months = months_back(extract)
    asked = parse_qs(search.lstrip("?"))  # a reloaded or shared view
    wanted = scope_from_query(asked)
    scope = wanted if wanted in {o["value"] for o in opts} else default_scope(user)
    month = asked["month"][0] if asked.get("month", [""])[0] in months else months[0]
    missing = ([scope_words(wanted)] if wanted is not None and wanted != scope else []) + (
        [f"month {asked['month'][0]!r}"] if asked.get("month") and asked["month"][0] != month else [])
    return html.Div([
        not_shown(missing, {**scope_query(scope), "month": month}),
        html.Div(className="page-head", children=[
            html.H1("Quality assurance"),
            html.Div(className="control", children=[
                html.Label("Show audits for", htmlFor="qa-scope"),
                dcc.Dropdown(id="qa-scope", options=opts, value=scope, clearable=False, searchable=True,
                             className="dropdown"),
            ]),
            html.Div(className="control", children=[
                html.Label("Month", htmlFor="qa-month"),
                dcc.Dropdown(id="qa-month", options=[{"label": month_label(m), "value": m} for m in months],
                             value=month, clearable=False, className="dropdown"),
            ]),
            html.Div(className="qa-downloads", children=[
                html.A("QA on a Page (HTML)", id="qa-page-html", href="/qa-page", target="_blank", className="btn"),
                html.A("QA on a Page (PDF)", id="qa-page-pdf", href="/qa-page", className="btn btn-primary"),
            ]),
        ]),
        dcc.Loading(html.Div(id="qa-body", **{"aria-live": "polite"}), type="dot", delay_show=150),
    ])


def page_link(month: str, level: str, unit: str | None, fmt: str) -> str:
    """The dashboard's QA on a Page download for a month and unit."""
    query = {"month": month, "level": level, **({"unit": unit} if unit else {}), "format": fmt}
    return "/qa-page?" + urlencode(query)


def qa_body(summary: dict[str, Any], records_allowed: bool, teams: list[dict[str, Any]]) -> list[Any]:
    """The page below its controls, from GET /qa/summary."""
    level, unit = summary["level"], summary["unit"]
    shown = scope_picker.unit_name(level, None if level == "trust" else unit, teams)
    head = html.P(f"Audits from {long_date(dt.date.fromisoformat(summary['from']))} to "
                  f"{long_date(dt.date.fromisoformat(summary['to']))}, {shown}. Final grades are the moderator's "
                  "where an audit was moderated.", className="as-at")
    if summary.get("note") and "figures" not in summary:
        return [head, qa_panels.not_loaded(summary["note"])]
    due = summary["due"]
    due_tile = html.Article(className="tile tile-none", id="qa-tile-due", children=[
        html.H2("Audits due in the period"),
        html.P(html.Span(str(due["due"]), className="value"), className="tile-value"),
        html.P(f"Of these: {due['done']} done by the period's end, {due['done_on_time']} on time (counted by due "
               "date; the tiles beside count by completion date)", className="tile-meta")])
    period = (dt.date.fromisoformat(summary["from"]), dt.date.fromisoformat(summary["to"]))
    tiles = [due_tile, *qa_panels.figure_tiles(summary["figures"], records_allowed, level, unit, period)]
    names = {t["team_id"]: t["team_name"] for t in teams}
    by_unit = qa_panels.by_unit_table(summary.get("by_unit") or [], names)
    return [
        head,
        html.Div(tiles, className="tiles", id="qa-tiles"),
        html.Div(className="two-col", children=[
            html.Section(className="card", children=[qa_panels.grade_mix(summary["grades"])]),
            html.Section(className="card", children=[html.H2("Audit actions"), qa_panels.owners_table(summary["actions"])]),
        ]),
        html.Section(className="card", children=[qa_panels.domains_table(summary["domains"], summary.get("note"))]),
        html.Section(className="card", children=[by_unit]) if by_unit is not None else None,
    ]


def _records_grid(grid_id: str, heading: str, data: dict[str, Any]) -> html.Section:
    if data.get("note"):
        content: Any = html.P(data["note"], className="state state-refused", role="note")
    elif not data["records"]:
        content = html.P("None.", className="state")
    else:
        keep = ("record_id", "child_id", "worker_id", "audit_id", "description", "owner_id", "due_date",
                "completed_date", "grade", "moderated_grade", "final_grade")
        keys = [k for k in keep if k in data["records"][0]]
        content = dag.AgGrid(id=grid_id, rowData=data["records"],
                             columnDefs=[{"field": k, "headerName": k.replace("_", " ").capitalize()} for k in keys],
                             defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 110},
                             dashGridOptions=GRID_OPTIONS | {"domLayout": "autoHeight",
                                                             "pagination": len(data["records"]) > 10,
                                                             "paginationPageSize": 10}, style={"width": "100%"})
    count = "" if data.get("note") else f" {len(data['records'])}"
    return html.Section(className="card action", children=[html.H3([heading, html.Span(count, className="count")]),
                                                           content])


def _records(api: ApiClient, kpi: str, team_id: str, date_from: dt.date | None, as_at: dt.date) -> dict[str, Any]:
    try:
        page = api.records(kpi, unit=team_id, level="team", date_from=date_from, date_to=as_at)
    except ApiProblem as exc:
        return {"note": exc.message, "records": []}
    return {"note": None, "records": page["records"]}


def team_section(api: ApiClient, team_id: str, as_at: dt.date, records: bool = True) -> list[Any]:
    """Team's audits and audit actions: this month's QA figures, the audits completed this month, the
    overdue audits and the overdue actions (records False: not asked for, OUTSIDE_SCOPE said instead)."""
    first = as_at.replace(day=1)
    summary = api.qa_summary("team", team_id, first, as_at)
    heading = html.H2("Audits and audit actions")
    if summary.get("note") and "figures" not in summary:
        return [heading, qa_panels.not_loaded(summary["note"])]
    jobs = {kpi: _pool.submit(_records, api, kpi, team_id, first if kpi == "audits_completed" else None, as_at)
            for kpi in ("audits_completed", "audits_overdue", "audit_actions_overdue")} if records else {}

    def listed(kpi: str) -> dict[str, Any]:
        return jobs[kpi].result() if records else {"note": OUTSIDE_SCOPE, "records": []}

    lists = [_records_grid("team-qa-completed", "Audits completed this month", listed("audits_completed")),
             _records_grid("team-qa-overdue", "Audits overdue", listed("audits_overdue"))]
    if summary.get("actions") is not None:
        lists.append(_records_grid("team-qa-actions", "Audit actions overdue", listed("audit_actions_overdue")))
    else:
        lists.append(qa_panels.not_loaded("no audit actions loaded"))
    return [heading,
            html.P(f"This month to {long_date(as_at)}.", className="as-at"),
            html.Div(qa_panels.figure_tiles(summary["figures"], False, "team", team_id), className="tiles"),
            html.Div(lists, className="actions")]


def today_section(api: ApiClient, user: dict[str, Any], level: str, unit: str | None, as_at: dt.date,
                  team_service: dict[str, str]) -> list[Any]:
    """Today: the overdue audits and audit actions of the scope, to its managers (records where allowed)."""
    summary = api.qa_summary(level, unit, as_at.replace(day=1), as_at)
    heading = html.H2("Overdue audits and audit actions")
    if summary.get("note") and "figures" not in summary:
        return [heading, qa_panels.not_loaded(summary["note"])]
    figures = {r["kpi"]: r for r in summary["figures"]}
    allowed = may_see_records(user, level, unit, team_service)
    items = []
    for kpi, words in (("audits_overdue", "audits overdue"), ("audit_actions_overdue", "audit actions overdue")):
        row = figures.get(kpi)
        if row is None:
            items.append(html.Li("No audit actions loaded.", id=f"today-{kpi}"))
            continue
        button = open_button(kpi, level, unit or "trust", "Show them", about=words) if allowed and row["value"] else None
        items.append(html.Li([html.Strong(str(row["value"]), **{"data-kpi": kpi}), f" {words} ", button],
                             id=f"today-{kpi}"))
    return [heading, html.Ul(items, className="qa-today"), dcc.Link("Open quality assurance", href="/qa")]


def _problem(exc: Exception) -> html.Div:
    message = exc.message if isinstance(exc, ApiProblem) else "No extract has been loaded yet."
    return html.Div(className="state state-error", role="alert",
                    children=[html.H2("The audits could not be shown"), html.P(message)])


def register(app: Any, api_url: str) -> None:
    @app.callback(*address_outputs(), Input("qa-scope", "value"), Input("qa-month", "value"), prevent_initial_call=True)
    def view_in_address(scope: str, month: str) -> tuple[str, str]:
        return in_address({**scope_query(scope), "month": month})

    @app.callback(Output("qa-body", "children"), Output("qa-page-html", "href"), Output("qa-page-pdf", "href"),
                  Input("qa-scope", "value"), Input("qa-month", "value"), State("today-date", "data"))
    def show_qa(scope: str, month: str, extract_date: str | None) -> tuple:
        level, unit = parse_scope(scope)
        links = (page_link(month, level, unit, "html"), page_link(month, level, unit, "pdf"))
        user = current_user(api_url)
        if user is None:
            return session_ended(), *links
        api = ApiClient(api_url, request_token())
        try:
            as_at = month_end(month, dt.date.fromisoformat(extract_date))
            summary = api.qa_summary(level, unit, as_at.replace(day=1), as_at)
            teams = api.teams()
        except (ApiProblem, TypeError, ValueError) as exc:
            return _problem(exc), *links
        # a tile's records are those of the month shown (its first day to its end, or to the extract date):
        # a past month's figures open onto their audits too (a dashboard audit found none did)
        allowed = may_see_records(user, level, unit, {t["team_id"]: t["service"] for t in teams})
        return qa_body(summary, allowed, teams), *links

    @app.callback(Output("team-qa", "children"), Input("team-picker", "value"), State("today-date", "data"))
    def show_team_qa(team_id: str | None, extract_date: str | None) -> Any:
        if not team_id or not extract_date:
            return None
        as_at = dt.date.fromisoformat(extract_date)  # first: a crafted value is the dashboard's 400, signed in or not
        user = current_user(api_url)
        if user is None:
            return session_ended()
        api = ApiClient(api_url, request_token())
        try:
            allowed = may_see_records(user, "team", team_id, {t["team_id"]: t["service"] for t in api.teams()})
            return team_section(api, team_id, as_at, records=allowed)
        except ApiProblem as exc:
            return _problem(exc)

    @app.callback(Output("today-qa", "children"), Input("today-scope", "value"), State("today-date", "data"))
    def show_today_qa(scope: str, extract_date: str | None) -> Any:
        user = current_user(api_url)
        if user is None or not extract_date:
            return None
        level, unit = parse_scope(scope)
        api = ApiClient(api_url, request_token())
        try:
            team_service = {t["team_id"]: t["service"] for t in api.teams()}
            return today_section(api, user, level, unit, dt.date.fromisoformat(extract_date), team_service)
        except ApiProblem as exc:
            return _problem(exc)
