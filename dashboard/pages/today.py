"""Today: the daily live view. First "what needs attention" (the weekly SPC signals, ranked); then a tile
per daily KPI with value, RAG (word and icon as well as colour), target, its variation icon, the change
since the last working day and a week ago, a 30-day sparkline, and the children behind it."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

from dash import Input, Output, State, dcc, html

from dashboard.api_client import ApiClient, ApiProblem
from dashboard.auth import current_user, request_token, session_ended
from dashboard.components.address import address_outputs, in_address, not_shown, scope_words
from dashboard.components.attention import attention_items, attention_list
from dashboard.components.board_panels import board_link, overdue_panel
from dashboard.components.charts import month_to_date, sparkline_alt, sparkline_svg, svg_data_uri
from dashboard.components.formatting import (change, default_scope, format_value, fte, long_date, row_value, may_see_records,
                                             parse_scope, rag_word, scope_from_query, scope_query)
from dashboard.components.records_drawer import open_button
from dashboard.components.spc_icons import variation_badge
from dashboard.components.spc_words import headline
from dashboard.pages import scope as scope_picker

DAILY_KPIS = ("allocation_rate", "unallocated_cases", "average_caseload", "assessments_overdue",
              "assessments_due_soon", "s47_open_over_15wd", "icpc_within_15wd", "children_missing_now",
              "rhi_offered_within_72h", "re_referral_rate")
MONTH_TO_DATE = {"icpc_within_15wd", "rhi_offered_within_72h", "re_referral_rate"}
SPC_BY, SPC_PERIODS = "week", 24  # Today reads the weekly charts: they show a change within weeks
SPARK_DAYS = 30  # a tile's sparkline
CO_WORKED = "A child worked by two workers counts once in each worker's caseload."
_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="kpidash-today")
_attention_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kpidash-attention")  # the tiles never queue


def layout(api: ApiClient, user: dict[str, Any], status: dict[str, Any], search: str) -> html.Div:
    opts, _ = scope_picker.options(api)
    asked = scope_from_query(parse_qs(search.lstrip("?")))  # a reloaded or shared view: ?service=..., ?team=...
    offered = asked in {o["value"] for o in opts}
    start = asked if offered else default_scope(user)
    return html.Div([
        not_shown([scope_words(asked)] if asked is not None and not offered else [], scope_query(start)),
        overdue_panel(api, "today-overdue", "Overdue actions you own or oversee", mine=True),
        html.Div(className="page-head", children=[
            html.H1("Today"),
            html.Div(className="control", children=[
                html.Label("Show figures for", htmlFor="today-scope"),
                dcc.Dropdown(id="today-scope", options=opts, value=start, clearable=False,
                             searchable=True, className="dropdown"),
            ]),
        ]),
        dcc.Loading(html.Div(id="today-attention", **{"aria-live": "polite"}), type="dot", delay_show=150),
        dcc.Loading(html.Div(id="today-tiles", className="tiles", **{"aria-live": "polite"}), type="dot",
                    delay_show=150),
        html.Section(id="today-qa", className="card qa-today-card", **{"aria-live": "polite"}),  # pages/qa.py
    ])


def tile_data(api: ApiClient, level: str, unit: str | None, as_at: dt.date,
              charts: Future[list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """Each daily KPI at as_at, the last working day before it and a week before (month-to-date for flow
    KPIs, so each day is compared like for like), with its last 30 days and its weekly SPC chart (from
    `charts`, the scope's weekly charts being fetched, when given)."""
    charts = charts or _pool.submit(api.spc, (), SPC_BY, SPC_PERIODS, level, unit, as_at)
    last_working_day = _pool.submit(api.last_working_day, as_at)
    calls = [_pool.submit(api.figures, level, unit, DAILY_KPIS, None, d) for d in (as_at, as_at - dt.timedelta(days=7))]
    daily = _pool.submit(_daily, api, level, unit, as_at)
    before = last_working_day.result() or as_at - dt.timedelta(days=1)
    calls.insert(1, _pool.submit(api.figures, level, unit, DAILY_KPIS, None, before))
    now, yesterday, week = ({(r["kpi"]): r for r in c.result()} for c in calls)
    days = daily.result()
    spc = {c["kpi"]: c for c in charts.result() if "domain" not in c}  # a tile is one series, not a domain's
    out = []
    for kpi in DAILY_KPIS:
        row = now.get(kpi)
        if row is None:
            continue
        series = (month_to_date(days.get(kpi, [])) if kpi in MONTH_TO_DATE else days.get(kpi, []))[-SPARK_DAYS:]
        out.append({**row, "yesterday": yesterday.get(kpi, {}).get("value"), "week_ago": week.get(kpi, {}).get("value"),
                    "days": [r["period_start"] for r in series], "series": [r["value"] for r in series],
                    "month_to_date": kpi in MONTH_TO_DATE, "before": before, "as_at": as_at, "spc": spc.get(kpi)})
    return out


def daily_days(as_at: dt.date) -> int:
    """The days Today asks for: the sparkline's, and before them the rest of its first day's month, so that
    day's month-to-date point counts the month's days before the sparkline too (2025-05-06: from 1 April,
    not 7 April)."""
    return SPARK_DAYS + (as_at - dt.timedelta(days=SPARK_DAYS - 1)).day - 1


def _daily(api: ApiClient, level: str, unit: str | None, as_at: dt.date) -> dict[str, list[dict[str, Any]]]:
    rows = api.daily(list(DAILY_KPIS), daily_days(as_at), level, unit, as_at)
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["kpi"], []).append(r)
    return out


def tile(data: dict[str, Any], polarity: str | None, records_allowed: bool, level: str, unit: str) -> html.Article:
    word, icon = rag_word(data.get("rag"), data.get("target"))  # "Not rated" beside a target, never "No target"
    rag = data.get("rag") or "none"
    uom = data.get("unit_of_measure")
    changes = []
    for label, before in ((_since(data["before"], data["as_at"]), data["yesterday"]), ("a week ago", data["week_ago"])):
        c = change(data["value"], before, uom, polarity)
        verdict = {"better": " (better)", "worse": " (worse)"}.get(c["verdict"], "")
        changes.append(html.Li([html.Span(f"Since {label}: "),
                                html.Span(f"{c['arrow']} {c['text']}{verdict}", className=f"delta delta-{c['verdict']}")]))
    target = data.get("target")
    spark_alt = sparkline_alt((data.get("title") or data["kpi"]) + (", month to date" if data["month_to_date"] else ""),
                              data["series"], data["days"], uom)
    detail = (f"{data['numerator']} of {data['denominator']:g}" if uom == "%" and data.get("denominator") else
              f"{data['numerator']} children / {fte(data['denominator'])} FTE" if uom == "cases per FTE" and data.get("denominator")
              else None)
    return html.Article(className=f"tile tile-{rag}", id=f"tile-{data['kpi']}", **{"aria-labelledby": f"t-{data['kpi']}"}, children=[
        html.Div(className="tile-head", children=[
            html.H2(data.get("title") or data["kpi"], id=f"t-{data['kpi']}"),
            html.Span([html.Span(icon, **{"aria-hidden": "true"}), " ", word], className=f"rag rag-{rag}"),
        ]),
        html.P(className="tile-value", children=[
            html.Span(row_value(data, uom), className="value", **{"data-kpi": data["kpi"],
                                                                               "data-value": "" if data["value"] is None else repr(data["value"])}),
            html.Span(" cases per FTE" if uom == "cases per FTE" else "", className="uom")]),
        html.P(className="tile-meta", children=[
            f"Target {format_value(target, uom)}" if target is not None else "No target",
            f" · {detail}" if detail else "",
            " · month to date" if data["month_to_date"] else ""]),
        html.P(CO_WORKED, className="small muted caseload-note") if uom == "cases per FTE" else None,
        variation_badge(data["spc"], SPC_BY, size=28) if data.get("spc") else None,
        html.P(headline(data["spc"]).capitalize() + " (weekly chart)", className="small spc-reason")
        if data.get("spc") and headline(data["spc"]) else None,
        html.Details([html.Summary("Day to day"), html.Ul(changes, className="changes")], className="day-to-day"),
        html.Img(src=svg_data_uri(sparkline_svg(data["series"])), alt=spark_alt, className="spark", width=160, height=36),
        open_button(data["kpi"], level, unit, "Show the children", about=data.get("title")) if records_allowed else
        html.P("The children behind this figure are open to this unit's managers.", className="muted small"),
        board_link(data["kpi"], "trust" if level == "trust" else f"{level}:{unit}", data["as_at"].strftime("%Y-%m")),
    ])


def _since(before: dt.date, as_at: dt.date) -> str:
    """'yesterday', or the last working day by name when it was not yesterday (a Monday: 'Friday 21 Nov')."""
    if before == as_at - dt.timedelta(days=1):
        return "yesterday"
    return f"{before:%A} {before.day} {before:%b} (the last working day)"


def attention(own: list[dict], concerns: list[dict], definitions: list[dict[str, Any]], teams: list[dict[str, Any]],
              user: dict[str, Any], level: str, unit: str | None) -> html.Section:
    """What needs attention in the scope: its own weekly charts, then its teams' signals of concern."""
    team_service = {t["team_id"]: t["service"] for t in teams}
    in_scope = {t for t, s in team_service.items() if s == unit} if level == "service" else None
    items = attention_items(own, concerns, definitions, {t["team_id"]: t["team_name"] for t in teams}, in_scope)
    return attention_list(items, lambda lv, u: may_see_records(user, lv, u, team_service), SPC_PERIODS)


def register(app: Any, api_url: str) -> None:
    @app.callback(*address_outputs(), Input("today-scope", "value"), prevent_initial_call=True)
    def scope_in_address(scope: str) -> tuple[str, str]:
        """The scope in the address, so the view can be reloaded, bookmarked and shared (and as the view on
        screen, so the router leaves the page as it is)."""
        return in_address(scope_query(scope))

    @app.callback(Output("today-tiles", "children"), Output("today-attention", "children"), Input("today-scope", "value"),
                  State("today-date", "data"))
    def show_tiles(scope: str, extract_date: str | None) -> Any:
        api = ApiClient(api_url, request_token())
        user = current_user(api_url)
        if user is None:
            return session_ended(), None
        level, unit = parse_scope(scope)
        try:
            as_at = dt.date.fromisoformat(extract_date) if extract_date else dt.date.fromisoformat(api.status()["extract_date"])
            own = _attention_pool.submit(api.spc, (), SPC_BY, SPC_PERIODS, level, unit, as_at)
            concerns = (_attention_pool.submit(api.spc, (), SPC_BY, SPC_PERIODS, "team", None, as_at,
                                               ("special_cause_concern",)) if level != "team" else None)
            data = tile_data(api, level, unit, as_at, own)
            definitions = api.definitions()
            polarity = {d["id"]: d["polarity"] for d in definitions}
            teams = api.teams()
            team_service = {t['team_id']: t['service'] for t in teams}
        except (ApiProblem, TypeError) as exc:
            message = exc.message if isinstance(exc, ApiProblem) else "No extract has been loaded yet."
            return html.Div(className="state state-error", role="alert",
                            children=[html.H2("The figures could not be shown"), html.P(message)]), None
        try:
            needs = attention(own.result(), concerns.result() if concerns else [], definitions, teams, user, level, unit)
        except ApiProblem as exc:
            needs = html.P(f"What needs attention could not be worked out: {exc.message}", className="state",
                           role="alert")
        if not data:
            return html.P("No figures for this unit on this date.", className="state"), needs
        allowed = may_see_records(user, level, unit, team_service)
        return [html.P(f"As at the end of {long_date(as_at)}, {scope_picker.unit_name(level, unit, teams)}.",
                       className="as-at")] + [tile(d, polarity.get(d["kpi"]), allowed, level, unit or "trust") for d in data], needs
