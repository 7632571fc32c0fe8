"""Board: the loop behind a figure. Pick a KPI, a unit and a month (or arrive from a figure's "Analysis
and actions" link); read and write its analysis (every version kept, a concurrent save is refused with
the other person's text shown, yours left in the box); agree actions and change their status; list and
publish the board packs. Everything goes through the API, which decides again who may write."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs

from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from dashboard.api_client import ApiClient, ApiProblem
from dashboard.auth import current_user, request_token
from dashboard.components.formatting import (default_scope, format_value, may_see_records, month_end, month_label,
                                             months_back, parse_scope, rag_word)
from dashboard.pages import scope as scope_picker

WRITE_ALL = {"executive", "analyst"}
PUBLISHERS = {"executive", "analyst", "admin"}


def may_write(user: dict[str, Any], level: str, unit: str | None, team_service: dict[str, str]) -> bool:
    """Whether to offer the editor (the API decides again on every save)."""
    role = user.get("role")
    if role in WRITE_ALL:
        return True
    if role == "team_manager":
        return level == "team" and unit == user.get("team")
    if role == "head_of_service":
        return (level == "service" and unit == user.get("service")) or (
            level == "team" and team_service.get(unit or "") == user.get("service"))
    return False


def layout(api: ApiClient, user: dict[str, Any], status: dict[str, Any], search: str) -> html.Div:
    asked = {k: v[0] for k, v in parse_qs(search.lstrip("?")).items()}
    definitions = [d for d in api.definitions() if not d.get("keyed_by")]
    scopes, _ = scope_picker.options(api)
    months = months_back(dt.date.fromisoformat(status["extract_date"]), 24) if status.get("extract_date") else []
    kpi = asked.get("kpi") if asked.get("kpi") in {d["id"] for d in definitions} else definitions[0]["id"]
    scope = asked.get("scope") if asked.get("scope") in {o["value"] for o in scopes} else default_scope(user)
    period = asked.get("period") if asked.get("period") in months else (months[1] if len(months) > 1 else None)
    return html.Div([
        html.Div(className="page-head", children=[
            html.H1("Board: analysis and actions"),
            html.Div(className="control", children=[
                html.Label("KPI", htmlFor="board-kpi"),
                dcc.Dropdown(id="board-kpi", options=[{"label": d["title"], "value": d["id"]} for d in definitions],
                             value=kpi, clearable=False, className="dropdown")]),
            html.Div(className="control", children=[
                html.Label("For", htmlFor="board-scope"),
                dcc.Dropdown(id="board-scope", options=scopes, value=scope, clearable=False, className="dropdown")]),
            html.Div(className="control", children=[
                html.Label("Month", htmlFor="board-period"),
                dcc.Dropdown(id="board-period", options=[{"label": month_label(m), "value": m} for m in months],
                             value=period, clearable=False, className="dropdown")]),
        ]),
        dcc.Store(id="board-version"),
        dcc.Loading(html.Div(id="board-body", **{"aria-live": "polite"}), type="dot", delay_show=150),
        html.Section(className="card board-section", children=[
            html.H2("Actions"),
            html.Div(id="board-actions", **{"aria-live": "polite"}),
            html.Div(id="board-children-shown", **{"aria-live": "polite"}),
            html.Div(id="board-action-forms"),
            html.P(id="board-action-message", className="form-message", role="status"),
        ]),
        html.Section(className="card board-section", children=[html.H2("Board packs"), *packs_section(api, user, months)]),
    ])


def _figure_line(api: ApiClient, kpi: str, level: str, unit: str | None, period: str, extract: dt.date) -> html.P:
    as_at = month_end(period, extract)
    rows = api.figures(level, unit, [kpi], as_at.replace(day=1), as_at)
    row = next((r for r in rows if r.get("domain") is None), None)
    if row is None:
        return html.P("No figure for this month.", className="muted")
    uom = row.get("unit_of_measure")
    word, icon = rag_word(row.get("rag"), row.get("target"))  # "Not rated" beside a target, never "No target"
    target = f", target {format_value(row['target'], uom)}" if row.get("target") is not None else ", no target"
    return html.P([html.Strong(f"{row.get('title', kpi)}, {month_label(period)}: {format_value(row['value'], uom)}"),
                   f"{target} ({icon} {word})."], id="board-figure")


def analysis_body(api: ApiClient, user: dict[str, Any], kpi: str, scope: str, period: str,
                  extract: dt.date) -> tuple[list[Any], int]:
    level, unit = parse_scope(scope)
    unit_path = unit or "trust"
    _, team_service = scope_picker.options(api)
    found = api.analysis(kpi, level, unit_path, period)
    history = api.analysis_history(kpi, level, unit_path, period)
    writer = may_write(user, level, unit, team_service)
    by = (f"Version {found['version']}, written by {found['author']} ({(found['author_role'] or '').replace('_', ' ')}) "
          f"at {(found['written_at'] or '')[:16].replace('T', ' ')} UTC." if found["version"] else "No analysis yet.")
    editor: list[Any] = [
        html.Label("Analysis", htmlFor="board-analysis-text", className="field-label"),
        dcc.Textarea(id="board-analysis-text", value=found["text"], className="textarea",
                     style={"width": "100%", "minHeight": "9rem"}),
        html.P("Plain text: a blank line starts a paragraph, a line starting '- ' is a bullet, **bold**.",
               className="muted small"),
        html.Button("Save the analysis", id="board-analysis-save", className="btn btn-primary", n_clicks=0),
    ] if writer else [dcc.Markdown(found["text"] or "No analysis written for this month.", id="board-analysis-read",
                                   className="analysis-text"),
                      html.P("You may read this analysis; it is written by the unit's managers, executives and "
                             "analysts.", className="muted small")]
    body = [
        _figure_line(api, kpi, level, unit, period, extract),
        html.Section(className="card board-section", children=[
            html.H2("Analysis"), html.P(by, id="board-analysis-by", className="muted"), *editor,
            html.P(id="board-analysis-message", className="form-message", role="status"),
            html.Details([html.Summary(_versions_heading(history), id="board-analysis-count"),
                          html.Ol(_versions(history), id="board-analysis-history")]),
        ]),
    ]
    return body, found["version"]


def actions_table(actions: list[dict[str, Any]], may_open: bool = False) -> Any:
    """The figure's actions; with may_open (the role may see the unit's children), an action agreed about
    children offers to list them (a dashboard audit: they were stored, but no one could see them)."""
    if not actions:
        return html.P("No actions agreed for this figure yet.", className="muted", id="board-actions-table")
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in ("No.", "Action", "Owner", "Due", "Status", "Note",
                                                                 "Changed", "Children")]))
    rows = [html.Tr([html.Td(str(a["id"])), html.Td(a["what"]), html.Td(a["owner"]), html.Td(a["due_date"]),
                     html.Td(html.Strong("Open, OVERDUE") if a["overdue"] else a["status"].capitalize(),
                             className="overdue" if a["overdue"] else None),
                     html.Td(a.get("status_note") or ""), html.Td(f"{a['updated_by']}, v{a['version']}"),
                     html.Td(_children_cell(a, may_open))],
                    id=f"board-action-{a['id']}") for a in actions]
    return html.Table([head, html.Tbody(rows)], className="table", id="board-actions-table")


def _children_cell(action: dict[str, Any], may_open: bool) -> Any:
    count = action.get("child_count") or 0
    if not count:
        return "–"
    words = "1 child" if count == 1 else f"{count} children"
    if not may_open:
        return words
    return html.Button([f"Show the {words}", html.Span(f" of action {action['id']}", className="visually-hidden")],
                       id={"type": "action-children", "id": action["id"]}, className="btn btn-link", n_clicks=0)


def action_forms(user: dict[str, Any], actions: list[dict[str, Any]], writer: bool) -> list[Any]:
    """Agree an action (for those who may write for the unit); change one (also its owner, for status)."""
    forms: list[Any] = []
    if writer:
        forms.append(html.Fieldset(className="board-form", children=[
            html.Legend("Agree an action"),
            html.Label("What", htmlFor="board-action-what"),
            dcc.Input(id="board-action-what", type="text", className="input", debounce=False),
            html.Label("Owner", htmlFor="board-action-owner"),
            dcc.Input(id="board-action-owner", type="text", className="input", value=user.get("username")),
            dcc.RadioItems(id="board-action-owner-kind", value="user", inline=True,
                           options=[{"label": " a kpidash user", "value": "user"},
                                    {"label": " a named person without an account", "value": "name"}]),
            html.Label("Children it is about (optional: ids of children behind this figure, separated by commas)",
                       htmlFor="board-action-children"),
            dcc.Input(id="board-action-children", type="text", className="input"),
            html.Label("Due (YYYY-MM-DD)", htmlFor="board-action-due"),
            dcc.Input(id="board-action-due", type="text", className="input",
                      value=(dt.date.today() + dt.timedelta(days=28)).isoformat()),
            html.Button("Agree the action", id="board-action-agree", className="btn btn-primary", n_clicks=0),
        ]))
    changeable = [a for a in actions if writer or user.get("role") == "admin" or a.get("owner_user") == user.get("username")]
    if changeable:
        forms.append(html.Fieldset(className="board-form", children=[
            html.Legend("Change an action's status"),
            html.Label("Action", htmlFor="board-change-id"),
            dcc.Dropdown(id="board-change-id", options=[{"label": f"{a['id']}: {a['what'][:60]}", "value": a["id"]}
                                                        for a in changeable], value=changeable[0]["id"],
                         clearable=False, className="dropdown"),
            html.Label("Status", htmlFor="board-change-status"),
            dcc.Dropdown(id="board-change-status", options=[{"label": s.capitalize(), "value": s}
                                                            for s in ("open", "done", "dropped")],
                         value="done", clearable=False, className="dropdown"),
            html.Label("Note", htmlFor="board-change-note"),
            dcc.Input(id="board-change-note", type="text", className="input"),
            html.Button("Save the status", id="board-change-save", className="btn btn-primary", n_clicks=0),
        ]))
    return forms


def _versions_heading(history: list[dict[str, Any]]) -> str:
    return f"Every version ({len(history)})"


def _versions(history: list[dict[str, Any]]) -> list[html.Li]:
    """An analysis's versions, newest first (shown on opening, and again after a save)."""
    return [html.Li([html.Strong(f"Version {h['version']}, {h['author']}, {h['written_at'][:16].replace('T', ' ')}: "),
                     html.Pre(h["text"], className="history-text")]) for h in history]


def _packs_list(packs: list[dict[str, Any]]) -> Any:
    """The published packs (shown on opening, and again after a publish)."""
    items = [html.Li([f"Board of {p['board_date']} ({month_label(p['month'])}), published by {p['published_by']}: ",
                      html.A("PDF", href=f"/api/v1/packs/{p['id']}/pack.pdf") if p.get("pdf_bytes") else "",
                      " ", html.A("HTML", href=f"/api/v1/packs/{p['id']}/pack.html")]) for p in packs]
    return html.Ul(items) if items else html.P("No pack published yet.", className="muted")


def packs_section(api: ApiClient, user: dict[str, Any], months: list[str]) -> list[Any]:
    try:
        packs = api.packs()
    except ApiProblem as exc:
        return [html.P(exc.message, className="state state-error")]
    out: list[Any] = [html.Div(_packs_list(packs), id="board-packs")]
    if user.get("role") in PUBLISHERS and months:
        out.append(html.Fieldset(className="board-form", children=[
            html.Legend("Publish the board pack (frozen: later loads and edits do not change it)"),
            html.Label("Board date (YYYY-MM-DD)", htmlFor="board-pack-date"),
            dcc.Input(id="board-pack-date", type="text", className="input", value=dt.date.today().isoformat()),
            html.Label("Month", htmlFor="board-pack-month"),
            dcc.Dropdown(id="board-pack-month", options=[{"label": month_label(m), "value": m} for m in months],
                         value=months[1] if len(months) > 1 else months[0], clearable=False, className="dropdown"),
            html.Button("Publish", id="board-pack-publish", className="btn btn-primary", n_clicks=0),
            dcc.Loading(html.P(id="board-pack-message", className="form-message", role="status"), type="dot"),
        ]))
    return out


def _actions_view(api: ApiClient, user: dict[str, Any], kpi: str, scope: str) -> tuple[Any, list[Any]]:
    level, unit = parse_scope(scope)
    _, team_service = scope_picker.options(api)
    actions = api.actions(kpi=kpi, level=level, unit=unit or "trust")
    return (actions_table(actions, may_see_records(user, level, unit, team_service)),
            action_forms(user, actions, may_write(user, level, unit, team_service)))


def register(app: Any, api_url: str) -> None:
    def client() -> ApiClient:
        return ApiClient(api_url, request_token())

    @app.callback(Output("board-body", "children"), Output("board-version", "data"),
                  Output("board-actions", "children"), Output("board-action-forms", "children"),
                  Input("board-kpi", "value"), Input("board-scope", "value"), Input("board-period", "value"),
                  State("today-date", "data"))
    def show(kpi: str, scope: str, period: str | None, extract_date: str | None) -> tuple:
        user = current_user(api_url)
        if user is None or not period or not extract_date:
            return html.P("Choose a KPI, a unit and a month.", className="state"), None, [], []
        api = client()
        try:
            body, version = analysis_body(api, user, kpi, scope, period, dt.date.fromisoformat(extract_date))
            table, forms = _actions_view(api, user, kpi, scope)
        except ApiProblem as exc:
            return html.P(exc.message, className="state state-error", role="alert"), None, [], []
        return body, version, table, forms

    @app.callback(Output("board-analysis-message", "children"), Output("board-version", "data", allow_duplicate=True),
                  Output("board-analysis-by", "children"), Output("board-analysis-history", "children"),
                  Output("board-analysis-count", "children"),
                  Input("board-analysis-save", "n_clicks"), State("board-analysis-text", "value"),
                  State("board-version", "data"), State("board-kpi", "value"), State("board-scope", "value"),
                  State("board-period", "value"), prevent_initial_call=True)
    def save(n: int, text: str | None, version: int | None, kpi: str, scope: str, period: str) -> tuple:
        if not n:
            return no_update, no_update, no_update, no_update, no_update
        level, unit = parse_scope(scope)
        api = client()
        try:
            saved = api.save_analysis(kpi, level, unit or "trust", period, text or "", version or 0)
        except ApiProblem as exc:
            if exc.status != 409:
                return exc.message, no_update, no_update, no_update, no_update
            theirs = api.analysis(kpi, level, unit or "trust", period)
            return ([html.Strong("Not saved. "), exc.message, " Their text is below; yours is still in the box.",
                     html.Pre(theirs["text"], id="board-analysis-theirs", className="history-text")],
                    theirs["version"], no_update, no_update, no_update)
        history = api.analysis_history(kpi, level, unit or "trust", period)
        return (f"Saved as version {saved['version']}.", saved["version"],
                f"Version {saved['version']}, written by {saved['author']} just now.", _versions(history),
                _versions_heading(history))

    @app.callback(Output("board-action-message", "children"), Output("board-actions", "children", allow_duplicate=True),
                  Output("board-action-forms", "children", allow_duplicate=True),
                  Input("board-action-agree", "n_clicks"), State("board-action-what", "value"),
                  State("board-action-owner", "value"), State("board-action-owner-kind", "value"),
                  State("board-action-due", "value"), State("board-action-children", "value"),
                  State("board-kpi", "value"), State("board-scope", "value"), State("board-period", "value"),
                  prevent_initial_call=True)
    def agree(n: int, what: str | None, owner: str | None, kind: str, due: str | None, children: str | None,
              kpi: str, scope: str, period: str | None) -> tuple:
        if not n:
            return no_update, no_update, no_update
        if not (what or "").strip() or not (owner or "").strip():
            return "Say what the action is and who owns it.", no_update, no_update
        try:
            due_date = dt.date.fromisoformat((due or "").strip())
        except ValueError:
            return "Write the due date as YYYY-MM-DD, e.g. 2026-01-31.", no_update, no_update
        level, unit = parse_scope(scope)
        api = client()
        owner_field = "owner_user" if kind == "user" else "owner_name"
        try:
            made = api.agree_action(kpi=kpi, level=level, unit=unit or "trust", period=period, what=what.strip(),
                                    due_date=due_date, origin="figure", **{owner_field: owner.strip()},
                                    child_ids=[c.strip() for c in (children or "").split(",") if c.strip()])
            table, forms = _actions_view(api, current_user(api_url) or {}, kpi, scope)
        except ApiProblem as exc:
            return exc.message, no_update, no_update
        return f"Action {made['id']} agreed.", table, forms

    @app.callback(Output("board-action-message", "children", allow_duplicate=True),
                  Output("board-actions", "children", allow_duplicate=True),
                  Input("board-change-save", "n_clicks"), State("board-change-id", "value"),
                  State("board-change-status", "value"), State("board-change-note", "value"),
                  State("board-kpi", "value"), State("board-scope", "value"), prevent_initial_call=True)
    def change(n: int, action_id: int | None, status: str, note: str | None, kpi: str, scope: str) -> tuple:
        if not n or not action_id:
            return no_update, no_update
        api = client()
        try:
            current = next(a for a in api.actions(kpi=kpi) if a["id"] == action_id)
            changed = api.change_action(action_id, current["version"], status=status,
                                        **({"status_note": note.strip()} if note and note.strip() else {}))
            table, _ = _actions_view(api, current_user(api_url) or {}, kpi, scope)
        except (ApiProblem, StopIteration) as exc:
            return (exc.message if isinstance(exc, ApiProblem) else "That action is no longer listed."), no_update
        return f"Action {action_id} is now {changed['status']}.", table

    @app.callback(Output("board-children-shown", "children"),
                  Input({"type": "action-children", "id": ALL}, "n_clicks"), prevent_initial_call=True)
    def show_children(clicks: list[int]) -> Any:
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(clicks or []):
            return no_update
        action_id = trigger["id"]
        try:
            ids = client().action_children(action_id)
        except ApiProblem as exc:
            return html.P(exc.message, className="state state-refused", role="note")
        return html.Section(className="card action", id="board-children-list", children=[
            html.H3(f"The children of action {action_id} ({len(ids)})"),
            html.P("Child ids as the case-management system holds them; this view is on the audit trail.",
                   className="muted small"),
            html.Ul([html.Li(i) for i in ids], className="child-ids")])

    @app.callback(Output("board-pack-message", "children"), Output("board-packs", "children"),
                  Input("board-pack-publish", "n_clicks"), State("board-pack-date", "value"),
                  State("board-pack-month", "value"), prevent_initial_call=True)
    def publish(n: int, board_date: str | None, month: str | None) -> tuple:
        from dashboard.book import publish_pack
        from dashboard.print_pdf import PdfUnavailable

        if not n or not month:
            return no_update, no_update
        try:
            day = dt.date.fromisoformat((board_date or "").strip())
        except ValueError:
            return "Write the board date as YYYY-MM-DD.", no_update
        api = client()
        try:
            made = publish_pack(api, month, day)
        except PdfUnavailable as exc:
            return str(exc), no_update
        except ApiProblem as exc:
            return exc.message, no_update
        try:  # the list above shows the new pack too (it said "No pack published yet" beside "Published")
            listed = _packs_list(api.packs())
        except ApiProblem:
            listed = no_update
        return [f"Published the pack for the board of {made['board_date']}: ",
                html.A("PDF", href=f"/api/v1/packs/{made['id']}/pack.pdf"), "."], listed
