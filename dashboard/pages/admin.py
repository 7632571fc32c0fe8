"""Admin: the daily work of a trust's performance team without a shell. The load log and a run's rejected
rows and warnings; the users (add, disable, enable, reset a password, change a role); the audit trail.
Admins only: the API refuses everyone else and writes every look at rejected rows and every change to a
user on the audit trail, as `kpidash rejects` and `kpidash users ...` do."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
from dash import Input, Output, State, ctx, dcc, html, no_update

from dashboard.api_client import ApiClient, ApiProblem, problem_words
from dashboard.auth import request_token
from dashboard.components.formatting import london_time
from dashboard.components.records_drawer import GRID_OPTIONS

ROLES = ("executive", "head_of_service", "team_manager", "analyst", "admin")
EVENTS = ("records", "export", "rejects", "login_failed", "prune", "backup", "restore", "user_change")
ISSUE_HEADERS = {"file": "File", "line": "Line", "column": "Column", "value": "Value", "reason": "Reason",
                 "severity": "Rejected or warning"}
AUDIT_HEADERS = {"at": "When", "event": "What", "username": "Who", "role": "Role", "kpi": "KPI", "unit": "Unit",
                 "record_count": "Records", "outcome": "Outcome", "detail": "Detail", "channel": "Through",
                 "client_address": "From"}


def _grid(grid_id: str, rows: list[dict[str, Any]], headers: dict[str, str]) -> dag.AgGrid:
    return dag.AgGrid(id=grid_id, rowData=rows, columnDefs=[{"field": k, "headerName": h} for k, h in headers.items()],
                      defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 110},
                      dashGridOptions=GRID_OPTIONS | {"domLayout": "autoHeight", "pagination": True,
                                                      "paginationPageSize": 15},
                      style={"width": "100%"})


def _control(label: str, component: Any, for_id: str) -> html.Div:
    return html.Div(className="control", children=[html.Label(label, htmlFor=for_id), component])


def layout(api: ApiClient, user: dict[str, Any], status: dict[str, Any], _search: str) -> html.Div:
    if user.get("role") != "admin":
        return html.Div([html.H1("Admin"), html.P("This page is for administrators: ask one if you need a user "
                                                  "added or changed.", className="state state-refused", role="note")])
    try:
        runs, users, teams = api.runs(), api.users(), api.teams()
    except ApiProblem as exc:
        return html.Div([html.H1("Admin"), html.P(problem_words("The admin page could not be shown", exc),
                                                  className="state state-error", role="alert")])
    services = sorted({t["service"] for t in teams})
    team_opts = [{"label": f"{t['team_name']} ({t['team_id']})", "value": t["team_id"]} for t in teams]
    run_opts = [{"label": f"{r['run_id']}: {r['status']}, {london_time(r['started_at'])}", "value": r["run_id"]}
                for r in runs]
    return html.Div([
        html.H1("Admin"),
        html.Section(className="card admin-section", children=[
            html.H2("Loads"),
            runs_table(runs),
            html.Div(className="page-head", children=[
                _control("Show the rejected rows and warnings of", dcc.Dropdown(
                    id="admin-run", options=run_opts, value=None, placeholder="Choose a load", className="dropdown"),
                    "admin-run"),
            ]),
            dcc.Loading(html.Div(id="admin-issues", **{"aria-live": "polite"}), type="dot", delay_show=150),
        ]),
        html.Section(className="card admin-section", children=[
            html.H2("Users"),
            html.Div(id="admin-users", children=users_table(users)),
            html.H3("Add a user"),
            html.Div(className="page-head", children=[
                _control("Username", dcc.Input(id="admin-new-name", type="text", className="input", maxLength=64),
                         "admin-new-name"),
                _control("Role", dcc.Dropdown(id="admin-new-role", options=list(ROLES), value="analyst",
                                              clearable=False, className="dropdown"), "admin-new-role"),
                _control("Team (team managers)", dcc.Dropdown(id="admin-new-team", options=team_opts,
                                                              className="dropdown"), "admin-new-team"),
                _control("Service (heads of service)", dcc.Dropdown(id="admin-new-service", options=services,
                                                                    className="dropdown"), "admin-new-service"),
                html.Button("Add the user", id="admin-add", className="btn btn-primary", n_clicks=0),
            ]),
            html.H3("Change a user"),
            html.Div(className="page-head", children=[
                _control("User", dcc.Dropdown(id="admin-user", options=[u["username"] for u in users],
                                              className="dropdown"), "admin-user"),
                html.Button("Disable", id="admin-disable", className="btn", n_clicks=0),
                html.Button("Enable", id="admin-enable", className="btn", n_clicks=0),
                html.Button("Reset the password", id="admin-reset", className="btn", n_clicks=0),
            ]),
            html.Div(className="page-head", children=[
                _control("New role", dcc.Dropdown(id="admin-role", options=list(ROLES), className="dropdown"),
                         "admin-role"),
                _control("Their team", dcc.Dropdown(id="admin-role-team", options=team_opts, className="dropdown"),
                         "admin-role-team"),
                _control("Their service", dcc.Dropdown(id="admin-role-service", options=services,
                                                       className="dropdown"), "admin-role-service"),
                html.Button("Change the role", id="admin-change-role", className="btn", n_clicks=0),
            ]),
            html.P(id="admin-message", role="status", className="admin-message"),
        ]),
        html.Section(className="card admin-section", children=[
            html.H2("Audit trail"),
            html.Div(className="page-head", children=[
                _control("Only", dcc.Dropdown(id="admin-audit-event", options=[{"label": e.replace("_", " "), "value": e}
                                                                               for e in EVENTS],
                                              placeholder="Every kind", className="dropdown"), "admin-audit-event"),
                _control("Who", dcc.Input(id="admin-audit-user", type="text", className="input", debounce=True,
                                          maxLength=64), "admin-audit-user"),
            ]),
            dcc.Loading(html.Div(id="admin-audit", **{"aria-live": "polite"}), type="dot", delay_show=150),
        ]),
    ])


def runs_table(runs: list[dict[str, Any]]) -> Any:
    if not runs:
        return html.P("No loads yet.", className="state")
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in
                               ("Load", "Status", "Started", "Extract taken", "Rows read", "Loaded", "Rejected",
                                "Warnings", "Message")]))
    body = html.Tbody([html.Tr([
        html.Th(r["run_id"], scope="row"), html.Td(r["status"]), html.Td(london_time(r["started_at"])),
        html.Td(london_time(r["extracted_at"]) if r.get("extracted_at") else "not recorded"),
        html.Td(f"{r['rows_read']:,}", className="num"), html.Td(f"{r['rows_loaded']:,}", className="num"),
        html.Td(f"{r['rows_rejected']:,}", className="num"), html.Td(f"{r['warnings']:,}", className="num"),
        html.Td(r["message"], className="small"),
    ]) for r in runs])
    return html.Table([html.Caption("The load log, newest first"), head, body], className="table", id="admin-runs")


def users_table(users: list[dict[str, Any]]) -> html.Table:
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in
                               ("User", "Role", "Team or service", "Active", "Last sign-in", "Locked until")]))
    body = html.Tbody([html.Tr([
        html.Th(u["username"], scope="row"), html.Td(u["role"].replace("_", " ")),
        html.Td(u.get("team") or u.get("service") or "every team"), html.Td("yes" if u["active"] else "disabled"),
        html.Td(london_time(u["last_login_at"]) if u.get("last_login_at") else "never"),
        html.Td(london_time(u["locked_until"]) if u.get("locked_until") else ""),
    ]) for u in users])
    return html.Table([html.Caption("Users"), head, body], className="table", id="admin-users-table")


def register(app: Any, api_url: str) -> None:
    @app.callback(Output("admin-issues", "children"), Input("admin-run", "value"), prevent_initial_call=True)
    def show_issues(run_id: str | None) -> Any:
        if not run_id:
            return None
        try:
            page = ApiClient(api_url, request_token()).run_issues(run_id)
        except ApiProblem as exc:
            return html.P(problem_words("The load's rejected rows could not be shown", exc), className="state state-error",
                          role="alert")
        issues = page["issues"]
        rejected = sum(i["severity"] == "reject" for i in issues)
        note = (f"Load {run_id}: {rejected:,} rows rejected and {len(issues) - rejected:,} warnings"
                + (f" (the first {len(issues):,} of {page['total']:,})" if page["total"] > len(issues) else "") + ".")
        if not issues:
            return html.P(f"Load {run_id}: no rejected rows and no warnings.", className="state", id="admin-issues-note")
        rows = [{**i, "severity": "rejected" if i["severity"] == "reject" else "warning"} for i in issues]
        return [html.P(note, className="as-at", id="admin-issues-note"),
                _grid("admin-issues-grid", rows, ISSUE_HEADERS)]

    @app.callback(Output("admin-message", "children"), Output("admin-users", "children"),
                  Output("admin-user", "options"),
                  Input("admin-add", "n_clicks"), Input("admin-disable", "n_clicks"), Input("admin-enable", "n_clicks"),
                  Input("admin-reset", "n_clicks"), Input("admin-change-role", "n_clicks"),
                  State("admin-new-name", "value"), State("admin-new-role", "value"), State("admin-new-team", "value"),
                  State("admin-new-service", "value"), State("admin-user", "value"), State("admin-role", "value"),
                  State("admin-role-team", "value"), State("admin-role-service", "value"), prevent_initial_call=True)
    def change_users(*args: Any) -> tuple:
        name, role, team, service, user, new_role, new_team, new_service = args[5:]
        api = ApiClient(api_url, request_token())
        action = ctx.triggered_id
        if action != "admin-add" and not user:
            return "Choose a user first.", no_update, no_update
        try:
            if action == "admin-add":
                if not name:
                    return "Type the new user's username.", no_update, no_update
                done = api.add_user(name.strip(), role, team if role == "team_manager" else None,
                                    service if role == "head_of_service" else None)
            elif action == "admin-change-role":
                if not new_role:
                    return "Choose the new role.", no_update, no_update
                done = api.change_role(user, new_role, new_team if new_role == "team_manager" else None,
                                       new_service if new_role == "head_of_service" else None)
            else:
                done = api.change_user(user, {"admin-disable": "disable", "admin-enable": "enable",
                                              "admin-reset": "password"}[action])
            users = api.users()
        except ApiProblem as exc:
            return problem_words("Not done", exc), no_update, no_update
        message: list[Any] = [done["message"]]
        if done.get("password"):
            message += [" Their password, shown only now (hand it over safely): ",
                        html.Code(done["password"], id="admin-password")]
        return message, users_table(users), [u["username"] for u in users]

    @app.callback(Output("admin-audit", "children"), Input("admin-audit-event", "value"),
                  Input("admin-audit-user", "value"), Input("admin-users", "children"))
    def show_audit(event: str | None, username: str | None, _users: Any) -> Any:
        try:
            entries = ApiClient(api_url, request_token()).audit(200, (username or "").strip() or None, event)
        except ApiProblem as exc:
            return html.P(problem_words("The audit trail could not be shown", exc), className="state state-error",
                          role="alert")
        if not entries:
            return html.P("No entries.", className="state")
        rows = [{**e, "at": london_time(e["at"])} for e in entries]
        return _grid("admin-audit-grid", rows, AUDIT_HEADERS)
