"""The children behind a figure: a dialog with a sortable, filterable grid, and CSV and XLSX downloads.
Opened from a Today tile or a Team action list; the API decides who may see what and audits every
request, and its refusal is shown as written.

Both downloads are the API's files (`GET /kpis/{kpi}/records?format=csv|xlsx`), not the grid's own CSV
export: the API makes every cell spreadsheet-safe (core/spreadsheet.py) and audits the download as an
export, which a file built in the browser could do neither of."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from dashboard.api_client import ApiClient, ApiProblem
from dashboard.auth import request_token

HIDDEN = {"display": "none"}
SHOWN = {"display": "flex"}


def open_button(kpi: str, level: str, unit: str, label: str, kind: str = "open-records",
                about: str | None = None) -> html.Button:
    """A button that opens the records dialog; kind "attention-records" for Today's attention list, so a
    figure named there and in a tile has two buttons with different ids. `about` (the KPI's name) ends its
    accessible name, so a screen reader's list of buttons says which figure each one opens."""
    children: Any = [label, html.Span(f": {about}", className="visually-hidden")] if about else label
    return html.Button(children, id={"type": kind, "kpi": kpi, "level": level, "unit": unit},
                       className="btn btn-link", n_clicks=0)


def drawer() -> html.Div:
    return html.Div(
        id="drawer", style=HIDDEN, className="drawer-backdrop",
        children=html.Div(
            className="drawer", role="dialog", **{"aria-modal": "true", "aria-labelledby": "drawer-title"},
            children=[
                html.Div(className="drawer-head", children=[
                    html.H2(id="drawer-title", children="Records"),
                    html.Button("Close", id="drawer-close", className="btn", n_clicks=0),
                ]),
                html.P(id="drawer-message", className="muted", role="status"),
                html.Div(className="drawer-actions", children=[
                    html.Button("Download CSV", id="drawer-csv", className="btn", n_clicks=0),
                    html.Button("Download XLSX", id="drawer-xlsx", className="btn", n_clicks=0),
                ]),
                dcc.Loading(dag.AgGrid(
                    id="drawer-grid", rowData=[], columnDefs=[],
                    defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 110},
                    dashGridOptions={"pagination": True, "paginationPageSize": 20, "ensureDomOrder": True,
                                     "suppressCellFocus": False},
                    style={"height": "58vh", "width": "100%"},
                )),
                dcc.Store(id="drawer-request"),
                # a spinner while the server builds the file (a long list takes a moment)
                dcc.Loading(dcc.Download(id="drawer-download"), type="dot", delay_show=150),
            ],
        ),
    )


def column_defs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A column per key of the records, in the API's order, with readable headers."""
    keys = list(dict.fromkeys(k for r in records[:50] for k in r))
    return [{"field": k, "headerName": k.replace("_", " ").capitalize()} for k in keys]


def fetch(api: ApiClient, request: dict[str, Any]) -> dict[str, Any]:
    return api.records(request["kpi"], unit=request["unit"], level=request["level"],
                       date_from=request.get("from"), date_to=request.get("to"))


def register(app: Any, api_url: str) -> None:
    @app.callback(
        Output("drawer", "style"), Output("drawer-title", "children"), Output("drawer-message", "children"),
        Output("drawer-grid", "rowData"), Output("drawer-grid", "columnDefs"), Output("drawer-request", "data"),
        Input({"type": "open-records", "kpi": ALL, "level": ALL, "unit": ALL}, "n_clicks"),
        Input("drawer-close", "n_clicks"), State("today-date", "data"),
        Input({"type": "attention-records", "kpi": ALL, "level": ALL, "unit": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def open_records(clicks: list[int], _close: int, extract_date: str | None, more: list[int]) -> tuple:
        trigger = ctx.triggered_id
        if trigger == "drawer-close" or not isinstance(trigger, dict) or not any(clicks + more):
            return HIDDEN, no_update, no_update, no_update, no_update, no_update
        request = {"kpi": trigger["kpi"], "level": trigger["level"], "unit": trigger["unit"], "to": extract_date}
        title = f"{trigger['kpi'].replace('_', ' ').capitalize()}: {trigger['unit']}"
        try:
            page = fetch(ApiClient(api_url, request_token()), request)
        except ApiProblem as exc:
            return SHOWN, title, f"These records cannot be shown: {exc.message}", [], [], None
        records = page["records"]
        shown = (f"{page['total']} records from {page['from']} to {page['to']}"
                 + (f" (first {len(records)} shown; download for all)" if page["total"] > len(records) else "")
                 if records else "No records: nothing is counted in this figure for this period.")
        if page.get("withheld"):
            shown += (f" {page['withheld']} more of this worker's records belong to teams outside what you may see "
                      "and are not listed.")
        return SHOWN, title, shown, records, column_defs(records), request

    @app.callback(Output("drawer-download", "data"), Output("drawer-message", "children", allow_duplicate=True),
                  Input("drawer-csv", "n_clicks"), Input("drawer-xlsx", "n_clicks"), State("drawer-request", "data"),
                  prevent_initial_call=True)
    def export(_csv: int, _xlsx: int, request: dict[str, Any] | None) -> Any:
        if not request:
            return no_update, no_update
        file_format = "csv" if ctx.triggered_id == "drawer-csv" else "xlsx"
        try:
            data = ApiClient(api_url, request_token()).records_file(
                request["kpi"], file_format, unit=request["unit"], level=request["level"],
                date_from=request.get("from"), date_to=request.get("to"))
        except ApiProblem as exc:
            return no_update, f"The file could not be made: {exc.message}"
        return dcc.send_bytes(data, f"kpidash-{request['kpi']}-{request['unit']}.{file_format}"), no_update
