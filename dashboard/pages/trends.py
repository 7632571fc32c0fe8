"""Trends: the monthly view for the performance board. 24 months of each KPI against its target,
RAG bands and the national comparator; small multiples by service; the printable performance book."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dash import Input, Output, State, dcc, html
from plotly.subplots import make_subplots

from dashboard.api_client import ApiClient, ApiProblem
from dashboard.auth import request_token
from dashboard.components import qa_panels
from dashboard.components.charts import BRAND, trend_alt, trend_figure
from dashboard.components.formatting import format_value, month_end, row_value, month_label, months_back

_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="kpidash-trends")


def layout(api: ApiClient, user: dict[str, Any], status: dict[str, Any], _search: str) -> html.Div:
    extract = dt.date.fromisoformat(status["extract_date"]) if status.get("extract_date") else dt.date.today()
    months = months_back(extract)
    try:
        definitions = qa_panels.charted(api.definitions())
    except ApiProblem:
        definitions = []
    return html.Div([
        html.Div(className="page-head", children=[
            html.H1("Trends"),
            html.Div(className="control", children=[
                html.Label("Month", htmlFor="trends-month"),
                dcc.Dropdown(id="trends-month", options=[{"label": month_label(m), "value": m} for m in months],
                             value=months[0], clearable=False, className="dropdown"),
            ]),
            html.A("Open the printable performance book", id="book-link", href=f"/book?month={months[0]}",
                   target="_blank", className="btn btn-primary"),
        ]),
        dcc.Loading(html.Div(id="trends-body", className="charts", **{"aria-live": "polite"}), type="dot", delay_show=150),
        html.H2("By service"),
        html.Div(className="control", children=[
            html.Label("KPI", htmlFor="trends-kpi"),
            dcc.Dropdown(id="trends-kpi", options=[{"label": d["title"], "value": d["id"]} for d in definitions],
                         value=definitions[0]["id"] if definitions else None, clearable=False, className="dropdown"),
        ]),
        dcc.Loading(html.Div(id="trends-services"), type="dot", delay_show=150),
    ])


def trend_card(definition: dict[str, Any], rows: list[dict[str, Any]]) -> html.Section:
    """One KPI's chart with its text alternative and the same figures as a table."""
    uom = definition["unit_of_measure"]
    table = html.Details([html.Summary("The figures as a table"), html.Table([
        html.Thead(html.Tr([html.Th("Month", scope="col"), html.Th("Value", scope="col"), html.Th("RAG", scope="col")])),
        html.Tbody([html.Tr([html.Th(r["period_start"][:7], scope="row"), html.Td(row_value(r, uom), className="num"),
                             html.Td(r["rag"] or "no target")]) for r in rows])], className="table small")])
    alt = trend_alt(definition, rows)
    return html.Section(className="card chart-card", id=f"trend-{definition['id']}", children=[
        html.H3(definition["title"]),
        html.P(definition["description"], className="muted small"),
        html.Div(role="img", **{"aria-label": alt}, children=dcc.Graph(
            figure=trend_figure(rows, definition), config={"displayModeBar": False, "responsive": True},
            style={"height": "260px"})),
        table,
    ])


def service_multiples(definition: dict[str, Any], rows: list[dict[str, Any]]) -> Any:
    services = sorted({r["unit"] for r in rows})
    if not services:
        return html.P("No services to compare.", className="state")
    cols = min(3, len(services))
    nrows = (len(services) + cols - 1) // cols
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=services, shared_yaxes=True)
    for i, service in enumerate(services):
        own = [r for r in rows if r["unit"] == service]
        fig.add_scatter(x=[r["period_start"][:7] for r in own], y=[r["value"] for r in own], mode="lines",
                        line={"color": BRAND}, name=service, row=i // cols + 1, col=i % cols + 1, showlegend=False)
        if definition.get("target") is not None:
            fig.add_hline(y=definition["target"], line_dash="dash", line_color="#1d2731", row=i // cols + 1, col=i % cols + 1)
    fig.update_layout(height=230 * nrows, margin={"l": 40, "r": 10, "t": 30, "b": 30}, paper_bgcolor="white",
                      plot_bgcolor="white", font={"family": "system-ui, sans-serif", "size": 11})
    last = {s: next((r["value"] for r in reversed(rows) if r["unit"] == s and r["value"] is not None), None) for s in services}
    alt = f"{definition['title']} by month for each service; latest: " + "; ".join(
        f"{s} {format_value(v, definition['unit_of_measure'])}" for s, v in last.items()) + "."
    return html.Div(role="img", **{"aria-label": alt}, children=dcc.Graph(figure=fig, config={"displayModeBar": False}))


def register(app: Any, api_url: str) -> None:
    @app.callback(Output("trends-body", "children"), Output("book-link", "href"), Input("trends-month", "value"),
                  State("today-date", "data"))
    def show_trends(month: str, extract_date: str | None) -> tuple:
        api = ApiClient(api_url, request_token())
        try:
            as_at = month_end(month, dt.date.fromisoformat(extract_date))
            definitions = qa_panels.charted(api.definitions())
            found = _pool.submit(qa_panels.findings_or_none, api, "trust", None, as_at.replace(day=1), as_at)
            jobs = [_pool.submit(api.trend, d["id"], "month", 24, "trust", None, as_at) for d in definitions]
            cards = [qa_panels.beside(trend_card(d, job.result()), d["id"], found.result())
                     for d, job in zip(definitions, jobs)]
        except (ApiProblem, TypeError, ValueError) as exc:
            message = exc.message if isinstance(exc, ApiProblem) else "No extract has been loaded yet."
            return html.Div(className="state state-error", role="alert", children=[html.H2("No trends"), html.P(message)]), f"/book?month={month}"
        return cards, f"/book?month={month}"

    @app.callback(Output("trends-services", "children"), Input("trends-kpi", "value"), Input("trends-month", "value"),
                  State("today-date", "data"))
    def show_services(kpi: str | None, month: str, extract_date: str | None) -> Any:
        if not kpi or not extract_date:
            return html.P("Choose a KPI.", className="state")
        api = ApiClient(api_url, request_token())
        try:
            definition = next(d for d in api.definitions() if d["id"] == kpi)
            rows = api.trend(kpi, "month", 24, "service", None, month_end(month, dt.date.fromisoformat(extract_date)))
        except ApiProblem as exc:
            return html.P(exc.message, className="state state-error", role="alert")
        return service_multiples(definition, rows)
