"""Team: the weekly view for team managers. This week against last week and the trust, the workers'
caseloads, the action lists, each KPI's weekly XmR chart (the weekly performance meeting's view), and
the week's team pack as XLSX."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

import dash_ag_grid as dag
from dash import Input, Output, State, dcc, html, no_update

from dashboard.api_client import ApiClient, ApiProblem, problem_words
from dashboard.auth import current_user, request_token, session_ended
from dashboard.components.address import address_outputs, in_address, not_shown
from dashboard.components.board_panels import board_link, overdue_panel
from dashboard.components.formatting import (OUTSIDE_SCOPE, change, default_team, format_value, long_date,
                                             may_see_records, rag_word, week_bounds)
from dashboard.components.records_drawer import GRID_OPTIONS, column_defs, period_button
from dashboard.components.spc_chart import partial_bounds, xmr_card
from dashboard.pages import scope as scope_picker
from kpis.team_pack import ACTION_LISTS

_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="kpidash-team")
SPC_PERIODS = 24  # weeks of each KPI's chart


def layout(api: ApiClient, user: dict[str, Any], status: dict[str, Any], search: str) -> html.Div:
    opts, _ = scope_picker.options(api, teams_only=True)
    start = default_team(user, api.teams())  # a head of service on a team of their own service
    asked = parse_qs(search.lstrip("?")).get("team", [None])[0]  # a link from Today's attention list
    offered = asked in {o["value"] for o in opts}
    start = asked if offered else start
    return html.Div([
        not_shown([f"team {asked!r}"] if asked is not None and not offered else [], {"team": start}),
        html.Div(className="page-head", children=[
            html.H1("Team"),
            html.Div(className="control", children=[
                html.Label("Team", htmlFor="team-picker"),
                dcc.Dropdown(id="team-picker", options=opts, value=start, clearable=False, className="dropdown"),
            ]),
            html.Button("Download the team pack (XLSX)", id="team-pack", className="btn btn-primary", n_clicks=0),
            dcc.Loading(dcc.Download(id="team-pack-download"), type="dot", delay_show=150),
        ]),
        html.P(id="team-pack-message", className="form-error", role="status"),
        dcc.Loading(html.Div(id="team-body", **{"aria-live": "polite"}), type="dot", delay_show=150),
        dcc.Loading(html.Div(id="team-qa", **{"aria-live": "polite"}), type="dot", delay_show=150),  # pages/qa.py
    ])


def week_data(api: ApiClient, team_id: str, as_at: dt.date, records: bool = True) -> dict[str, Any]:
    """Every KPI for the team this week (Monday to as_at) and last week, and the trust this week; the
    workers; and the action lists (each a list of records, or the API's refusal as its note; with
    records False, not asked for: OUTSIDE_SCOPE): the on-screen view, in the shape of
    kpis.team_pack.team_week (the download is the API's pack)."""
    monday, last_monday, last_sunday = week_bounds(as_at)
    jobs = {
        "this": _pool.submit(api.figures, "team", team_id, (), monday, as_at),
        "last": _pool.submit(api.figures, "team", team_id, (), last_monday, last_sunday),
        "trust": _pool.submit(api.figures, "trust", None, (), monday, as_at),
        "workers": _pool.submit(api.team_workers, team_id, as_at),
        "spc": _pool.submit(api.spc, (), "week", SPC_PERIODS, "team", team_id, as_at),
    }
    lists = {kpi: _pool.submit(_action_list, api, kpi, team_id, as_at, period, only) if records else None
             for _, kpi, period, only in ACTION_LISTS}
    # domain_good_or_better's rows (one per audit domain) are in the team's audit section (pages/qa.py)
    this, last, trust = ([r for r in jobs[k].result() if "domain" not in r] for k in ("this", "last", "trust"))
    last_by, trust_by = {r["kpi"]: r for r in last}, {r["kpi"]: r for r in trust}
    rows = [{"kpi": r["kpi"], "title": r["title"], "unit_of_measure": r["unit_of_measure"], "this": r["value"],
             "last": last_by.get(r["kpi"], {}).get("value"), "trust": trust_by.get(r["kpi"], {}).get("value"),
             "rag": r["rag"], "target": r["target"]} for r in this]
    return {"monday": monday, "as_at": as_at, "summary": rows, "workers": jobs["workers"].result(),
            "lists": {kpi: job.result() if job is not None else {"note": OUTSIDE_SCOPE, "count": None, "records": []}
                      for kpi, job in lists.items()}, "spc": jobs["spc"].result()}


def weekly_charts(data: dict[str, Any], definitions: list[dict[str, Any]], team_id: str) -> html.Div:
    """Each KPI's weekly XmR chart for the team (this week, when not over, drawn hollow outside the limits),
    each linking to the team's analysis and actions for the month (pages/board.py)."""
    partial = partial_bounds("week", data["as_at"])
    this_week = {r["kpi"]: r["this"] for r in data["summary"]}
    by_kpi = {c["kpi"]: c for c in data["spc"] if "domain" not in c}  # domain series: the audit section's
    cards = []
    for d in definitions:
        chart = by_kpi.get(d["id"])
        if chart is None:
            continue
        point = ({"period_start": partial[0].isoformat(), "period_end": partial[1].isoformat(),
                  "value": this_week.get(d["id"])} if partial and this_week.get(d["id"]) is not None else None)
        card = xmr_card(d, chart, point, card_id=f"spc-{d['id']}", compact=True)
        card.children = [*card.children, board_link(d["id"], f"team:{team_id}", data["as_at"].strftime("%Y-%m"))]
        cards.append(card)
    return html.Div(cards, className="team-charts")


def _action_list(api: ApiClient, kpi: str, team_id: str, as_at: dt.date, period: str, only: str | None) -> dict[str, Any]:
    try:
        page = api.records(kpi, unit=team_id, level="team", date_to=as_at,
                           date_from=as_at.replace(day=1) if period == "month" else None)
    except ApiProblem as exc:
        return {"note": exc.message, "count": None, "records": []}
    records = [r for r in page["records"] if only is None or r.get("counted_in") == only]
    return {"note": None, "count": len(records), "records": records}


def summary_table(rows: list[dict[str, Any]], polarity: dict[str, str | None], team_id: str,
                  records_from: dt.date | None, as_at: dt.date) -> html.Table:
    """The week's figures; with records_from (the week's Monday: the role may see the team's children), each
    of this week's figures opens the records behind it (a dashboard audit: nothing on Team could be opened)."""
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in
                               ("KPI", "This week", "Last week", "Change", "Trust this week", "Status")]))
    body = []
    for r in rows:
        uom = r["unit_of_measure"]
        c = change(r["this"], r["last"], uom, polarity.get(r["kpi"]))
        word, icon = rag_word(r["rag"], r["target"])
        body.append(html.Tr([
            html.Th(r["title"], scope="row"),
            html.Td(period_button(r["kpi"], "team", team_id, records_from, as_at, format_value(r["this"], uom),
                                  r["title"])
                    if records_from is not None and r["this"] is not None else format_value(r["this"], uom),
                    className="num"),
            html.Td(format_value(r["last"], uom), className="num"),
            html.Td(f"{c['arrow']} {c['text']}" + {"better": " (better)", "worse": " (worse)"}.get(c["verdict"], ""),
                    className=f"delta delta-{c['verdict']}"),
            html.Td(format_value(r["trust"], uom), className="num"),
            html.Td(html.Span([html.Span(icon, **{"aria-hidden": "true"}), " ", word], className=f"rag rag-{r['rag'] or 'none'}")),
        ]))
    return html.Table([html.Caption("This week against last week and the trust (counts of events in the week; "
                                    "open cases and caseloads at the end of it)"), head, html.Tbody(body)],
                      className="table", id="team-summary")


def workers_table(workers: list[dict[str, Any]]) -> Any:
    if not workers:
        return html.P("No case-holding workers in post in this team on this date.", className="state")
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in ("Worker", "Cases", "FTE", "Cases per FTE", "Over limit")]))
    body = html.Tbody([html.Tr([
        html.Th(f"{w['worker_name']} ({w['worker_id']})", scope="row"), html.Td(w["caseload"], className="num"),
        html.Td(f"{w['fte']:g}", className="num"),
        html.Td(format_value(w["cases_per_fte"], "cases per FTE"), className="num"),
        html.Td(html.Span("✖ Over limit", className="rag rag-red") if w["over_limit"] else "No"),
    ]) for w in workers])
    return html.Table([html.Caption("Workers' caseloads"), head, body], className="table", id="team-workers")


def action_grid(heading: str, kpi: str, data: dict[str, Any]) -> html.Section:
    records = data["records"]
    if data["note"]:
        content: Any = html.P(data["note"], className="state state-refused", role="note")
    elif not records:
        content = html.P("None: nothing to act on here.", className="state")
    else:
        content = dag.AgGrid(id=f"list-{kpi}", rowData=records, columnDefs=column_defs(records),  # child first, ids last
                             defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 110},
                             dashGridOptions=GRID_OPTIONS | {"domLayout": "autoHeight", "pagination": len(records) > 10,
                                                             "paginationPageSize": 10},
                             style={"width": "100%"})
    return html.Section(className="card action", children=[
        html.H3([heading, html.Span(f" {len(records)}" if not data["note"] else "", className="count")]), content])


def week_words(monday: dt.date, as_at: dt.date) -> str:
    """The week shown, and whether it is over: a week to Wednesday is 3 days of 7, its counts not yet comparable
    with last week's whole week."""
    days = (as_at - monday).days + 1
    text = f"Week from Monday {long_date(monday)} to {long_date(as_at)}"
    if days < 7:
        return (f"{text}: a partial week ({days} of 7 days so far), so this week's counts of events are not yet "
                "comparable with last week's.")
    return text + "."


def register(app: Any, api_url: str) -> None:
    @app.callback(Output("team-body", "children"), Input("team-picker", "value"), State("today-date", "data"))
    def show_team(team_id: str | None, extract_date: str | None) -> Any:
        if not team_id or not extract_date:
            return html.P("Choose a team.", className="state")
        as_at = dt.date.fromisoformat(extract_date)  # first: a crafted value is the dashboard's 400, signed in or not
        user = current_user(api_url)
        if user is None:
            return session_ended()
        api = ApiClient(api_url, request_token())
        try:
            allowed = may_see_records(user, "team", team_id, {t["team_id"]: t["service"] for t in api.teams()})
            data = week_data(api, team_id, as_at, records=allowed)
            definitions = api.definitions()
            polarity = {d["id"]: d["polarity"] for d in definitions}
        except ApiProblem as exc:
            return html.Div(className="state state-error", role="alert",
                            children=[html.H2("The team's figures could not be shown"), html.P(exc.message)])
        return [
            html.P(week_words(data["monday"], data["as_at"]), className="as-at", id="team-week"),
            overdue_panel(api, "team-overdue", "Overdue actions for this team", level="team", unit=team_id),
            html.Div(className="two-col", children=[
                html.Section(className="card", children=[
                    summary_table(data["summary"], polarity, team_id, data["monday"] if allowed else None,
                                  data["as_at"])]),
                html.Section(className="card", children=[workers_table(data["workers"])]),
            ]),
            html.H2("Action lists"),
            html.Div(className="actions", children=[action_grid(h, kpi, data["lists"][kpi]) for h, kpi, _, _ in ACTION_LISTS]),
            html.H2("Weekly charts", id="team-weekly-charts"),
            html.P(f"Each KPI over the last {SPC_PERIODS} complete weeks (Monday to Sunday) with its average and "
                   "limits: a marked point is a signal, not noise (see the legend under each chart).", className="muted"),
            weekly_charts(data, definitions, team_id),
        ]

    @app.callback(Output("team-pack-download", "data"), Output("team-pack-message", "children"),
                  Input("team-pack", "n_clicks"), State("team-picker", "value"),
                  State("today-date", "data"), prevent_initial_call=True)
    def team_pack(_n: int, team_id: str | None, extract_date: str | None) -> Any:
        if not team_id or not extract_date:
            return no_update, "Choose a team first."
        try:
            pack = ApiClient(api_url, request_token()).team_pack(team_id, dt.date.fromisoformat(extract_date))
        except ApiProblem as exc:  # a download that fails says why
            return no_update, problem_words("The team pack could not be made", exc)
        return dcc.send_bytes(pack, f"kpidash-team-pack-{team_id}-{extract_date}.xlsx"), ""

    @app.callback(*address_outputs(), Input("team-picker", "value"), prevent_initial_call=True)
    def team_in_address(team_id: str | None) -> tuple[str, str]:
        return in_address({"team": team_id})
