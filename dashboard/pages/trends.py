"""Trends: the monthly view for the performance board. A summary grid (latest value, target, variation
and assurance icons per KPI), then each KPI's XmR chart over 24 months (or weeks), the current partial
period drawn hollow outside the calculation; small multiples by service; the printable performance book."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from dashboard.api_client import ApiClient, ApiProblem
from dashboard.components.address import address_outputs, in_address, not_shown
from dashboard.components.board_panels import board_link
from dashboard.auth import current_user, request_token
from dashboard.components import qa_panels
from dashboard.components.formatting import may_see_records, month_end, month_label, months_back, unit_label
from dashboard.components.spc_chart import anchor, partial_bounds, partial_points, xmr_card
from dashboard.components.spc_summary import summary_grid

_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="kpidash-trends")
PERIODS = 24


def layout(api: ApiClient, user: dict[str, Any], status: dict[str, Any], search: str) -> html.Div:
    extract = dt.date.fromisoformat(status["extract_date"]) if status.get("extract_date") else dt.date.today()
    months = months_back(extract)
    asked = parse_qs(search.lstrip("?"))
    month = asked["month"][0] if asked.get("month", [""])[0] in months else months[0]
    by = "week" if asked.get("by") == ["week"] else "month"
    try:
        definitions = qa_panels.charted(api.definitions())
    except ApiProblem:
        definitions = []
    ids = [d["id"] for d in definitions]
    kpi = asked["kpi"][0] if asked.get("kpi") and asked["kpi"][0] in ids else (ids[0] if ids else None)
    missing = ([f"month {asked['month'][0]!r}"] if asked.get("month") and asked["month"][0] != month else []) + (
        [f"charts by {asked['by'][0]!r}"] if asked.get("by") and asked["by"][0] != by else []) + (
        [f"KPI {asked['kpi'][0]!r}"] if asked.get("kpi") and asked["kpi"][0] != kpi else [])
    return html.Div([
        not_shown(missing, {"month": month, "by": by, "kpi": kpi}),
        html.Div(className="page-head", children=[
            html.H1("Trends"),
            html.Div(className="control", children=[
                html.Label("Month", htmlFor="trends-month"),
                dcc.Dropdown(id="trends-month", options=[{"label": month_label(m), "value": m} for m in months],
                             value=month, clearable=False, className="dropdown"),
            ]),
            html.Fieldset(className="control", children=[
                html.Legend("Charts by", className="small"),
                # plain radio buttons (Dash 4's RadioItems nests a role=radio inside a label: axe's nested-interactive)
                dbc.RadioItems(id="trends-by", options=[{"label": "month", "value": "month"},
                                                        {"label": "week", "value": "week"}],
                               value=by, className="by-toggle", inline=True),
            ]),
            html.A("Open the printable performance book", id="book-link", href=f"/book?month={month}",
                   target="_blank", className="btn btn-primary"),
        ]),
        dcc.Loading(html.Div(id="trends-body", **{"aria-live": "polite"}), type="dot", delay_show=150),
        html.H2("By service", id="trends-services-head"),
        html.Div(className="control", children=[
            html.Label("KPI", htmlFor="trends-kpi"),
            dcc.Dropdown(id="trends-kpi", options=[{"label": d["title"], "value": d["id"]} for d in definitions],
                         value=kpi, clearable=False, className="dropdown"),
        ]),
        dcc.Loading(html.Div(id="trends-services"), type="dot", delay_show=150),
    ])


def trend_card(definition: dict[str, Any], chart: dict[str, Any], partial: dict[str, Any] | None) -> html.Section:
    """One KPI's XmR chart with its icons, its text alternative and the same figures as a table."""
    card = xmr_card(definition, chart, partial, card_id=f"trend-{definition['id']}")
    card.children = [*card.children, board_link(definition["id"])]  # its analysis and actions (pages/board.py)
    return card


def service_multiples(definition: dict[str, Any], charts: list[dict[str, Any]],
                      partials: dict[tuple[str, str], dict]) -> Any:
    if not charts:
        return html.P("No services to compare.", className="state")
    return html.Div(className="charts", children=[
        xmr_card(definition, c, partials.get((c["kpi"], c["unit"])), card_id=anchor("service", c["unit"]),
                 heading=f"{definition['title']}: {unit_label('service', c['unit'])}", compact=True) for c in charts])


def _scope_caption(by: str, charts: list[dict[str, Any]]) -> str:
    points = [c["points"][-1]["period_end"] for c in charts if c["points"]]
    end = dt.date.fromisoformat(max(points)).strftime("%-d %B %Y") if points else "no complete period"
    return (f"Whole trust: each KPI's latest complete {by} (to {end}), its target, and what its last "
            f"{PERIODS} {by}s say (variation and assurance icons)")


def register(app: Any, api_url: str) -> None:
    @app.callback(*address_outputs(), Input("trends-month", "value"), Input("trends-by", "value"),
                  Input("trends-kpi", "value"), prevent_initial_call=True)
    def view_in_address(month: str, by: str, kpi: str | None) -> tuple[str, str]:
        """The month, the charts' period and the compared KPI in the address: a reload or a link shows the same."""
        return in_address({"month": month, "by": by, "kpi": kpi})

    @app.callback(Output("trends-body", "children"), Output("book-link", "href"), Input("trends-month", "value"),
                  Input("trends-by", "value"), State("today-date", "data"))
    def show_trends(month: str, by: str, extract_date: str | None) -> tuple:
        api = ApiClient(api_url, request_token())
        try:
            as_at = month_end(month, dt.date.fromisoformat(extract_date))
            bounds = partial_bounds(by, as_at)
            definitions = _pool.submit(api.definitions)
            found = _pool.submit(qa_panels.findings_or_none, api, "trust", None, as_at.replace(day=1), as_at)
            charts = _pool.submit(api.spc, (), by, PERIODS, "trust", None, as_at)
            figures = _pool.submit(api.figures, "trust", None, (), *bounds) if bounds else None
            definitions, charts = qa_panels.charted(definitions.result()), charts.result()
            partials = partial_points(figures.result(), bounds) if figures else {}
        except (ApiProblem, TypeError, ValueError) as exc:
            message = exc.message if isinstance(exc, ApiProblem) else "No extract has been loaded yet."
            return html.Div(className="state state-error", role="alert", children=[html.H2("No trends"), html.P(message)]), f"/book?month={month}"
        by_kpi = {c["kpi"]: c for c in charts if "domain" not in c}  # keyed KPIs (domains) are QA's tables
        charts = list(by_kpi.values())
        findings = found.result()
        cards = [qa_panels.beside(trend_card(d, by_kpi[d["id"]], partials.get((d["id"], "trust"))), d["id"], findings)
                 for d in definitions if d["id"] in by_kpi]
        return [html.H2("Summary", className="visually-hidden"),
                html.Section(summary_grid(definitions, charts, _scope_caption(by, charts), records=may_see_records(
                    current_user(api_url) or {}, "trust", None, {})), className="card summary-card"),
                html.H2(f"Each KPI by {by}", id="trends-charts-head"),
                html.Div(cards, className="charts")], f"/book?month={month}"

    @app.callback(Output("trends-services", "children"), Input("trends-kpi", "value"), Input("trends-month", "value"),
                  Input("trends-by", "value"), State("today-date", "data"))
    def show_services(kpi: str | None, month: str, by: str, extract_date: str | None) -> Any:
        if not kpi or not extract_date:
            return html.P("Choose a KPI.", className="state")
        api = ApiClient(api_url, request_token())
        try:
            as_at = month_end(month, dt.date.fromisoformat(extract_date))
            bounds = partial_bounds(by, as_at)
            definition = next(d for d in api.definitions() if d["id"] == kpi)
            charts = api.spc([kpi], by, PERIODS, "service", None, as_at)
            partials = partial_points(api.figures("service", None, [kpi], *bounds), bounds) if bounds else {}
        except ApiProblem as exc:
            return html.P(exc.message, className="state state-error", role="alert")
        return service_multiples(definition, charts, partials)
