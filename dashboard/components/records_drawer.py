"""The children behind a figure: a dialog with a sortable, filterable grid, and CSV and XLSX downloads.
Opened from a Today tile or attention line, a QA tile, Team's week and Trends' summary (period_button: a
period of its own); the API decides who may see what and audits every request, and its refusal is shown
as written.

Both downloads come from the API's file (`GET /kpis/{kpi}/records?format=csv|xlsx`), not the grid's own CSV
export: the API audits the download as an export, which a file built in the browser could not. The
dashboard then lays it out for a person (readable_file): the OFFICIAL-SENSITIVE marking, the KPI's name,
the unit and the as-at date, readable headings and the grid's column order, every cell spreadsheet-safe
(core/spreadsheet.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dash_ag_grid as dag
import fastexcel
import xlsxwriter
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from core.spreadsheet import safe_cells, spreadsheet_safe
from dashboard.api_client import ApiClient, ApiProblem, problem_words
from dashboard.auth import request_token
from dashboard.components.formatting import long_date, unit_label
from kpis.registry import KPIS_BY_ID

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kpidash-drawer")

HIDDEN = {"display": "none"}
# The grid is one Tab stop: arrow keys move between its cells and headers, Tab and Shift+Tab leave it (WCAG
# 2.1.1; AG Grid's default tabs through every cell).
# The page sizes offered hold every grid's own (10, 15, 20): AG Grid warns in the console (#94, #95) when a
# grid's page size is not among them.
GRID_OPTIONS = {"ensureDomOrder": True, "suppressColumnVirtualisation": True, "suppressCellFocus": False,
                "tabToNextCell": {"function": "false"}, "tabToNextHeader": {"function": "false"},
                "paginationPageSizeSelector": [10, 15, 20, 50, 100]}
SHOWN = {"display": "flex"}
GRID_STYLE = {"height": "58vh", "width": "100%"}
# the downloads and the grid shown only with records to show: not "Download CSV" and "Page 0 of 0" under "Your
# session has ended" (a dashboard audit)
WITH_RECORDS, WITHOUT_RECORDS = ({}, GRID_STYLE), (HIDDEN, HIDDEN)


def open_button(kpi: str, level: str, unit: str, label: str, kind: str = "open-records",
                about: str | None = None) -> html.Button:
    """A button that opens the records dialog; kind "attention-records" for Today's attention list, so a
    figure named there and in a tile has two buttons with different ids. `about` (the KPI's name) ends its
    accessible name, so a screen reader's list of buttons says which figure each one opens."""
    children: Any = [label, html.Span(f": {about}", className="visually-hidden")] if about else label
    return html.Button(children, id={"type": kind, "kpi": kpi, "level": level, "unit": unit},
                       className="btn btn-link", n_clicks=0)


def period_button(kpi: str, level: str, unit: str, date_from: dt.date, date_to: dt.date, label: str,
                  about: str) -> html.Button:
    """A figure of a period other than the default (the extract's month to date) as a button that opens the
    records behind it for that period: Team's week, a past month on QA."""
    return html.Button([label, html.Span(f": the records behind {about}", className="visually-hidden")],
                       id={"type": "period-records", "kpi": kpi, "level": level, "unit": unit,
                           "from": date_from.isoformat(), "to": date_to.isoformat()},
                       className="btn btn-link figure-link", n_clicks=0)


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
                html.Div(id="drawer-actions", className="drawer-actions", children=[
                    html.Button("Download CSV", id="drawer-csv", className="btn", n_clicks=0),
                    html.Button("Download XLSX", id="drawer-xlsx", className="btn", n_clicks=0),
                ]),
                dcc.Loading(dag.AgGrid(
                    id="drawer-grid", rowData=[], columnDefs=[],
                    defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 110},
                    dashGridOptions=GRID_OPTIONS | {"pagination": True, "paginationPageSize": 20},
                    rowClassRules={"row-fails": "params.data.fails === '✖ Yes'"},
                    style=GRID_STYLE,
                )),
                dcc.Store(id="drawer-request"),
                # a spinner while the server builds the file (a long list takes a moment)
                dcc.Loading(dcc.Download(id="drawer-download"), type="dot", delay_show=150),
            ],
        ),
    )


# The columns a manager acts on first (the child, who holds the case, which team, then the dates and working
# days that decide it), the ids that join to the case-management system after them.
FIRST = ("child_id", "worker_name", "team_name")
LAST = ("counted_in", "record_type", "record_id", "worker_id", "team_id", "team_unit", "service_unit")
HEADERS = {"child_id": "Child", "worker_name": "Worker", "team_name": "Team", "fails": "Counts against the figure",
           "counted_in": "Counted in", "record_type": "Record type", "record_id": "Record id", "worker_id": "Worker id",
           "team_id": "Team id", "team_unit": "Team (as counted)", "service_unit": "Service (as counted)",
           "working_days": "Working days", "hours": "Hours from return to offer",
           # the record's own dates and counts, as a manager names them (not "Icpc date", "Rhi offered time", "Fte")
           "icpc_date": "ICPC date", "strategy_date": "Strategy discussion date", "authorised_date": "Authorised date",
           "start_time": "Went missing", "end_time": "Returned", "rhi_offered_time": "Return interview offered",
           "open_episodes": "Missing episodes open", "previous_referral_date": "Previous referral date",
           "allocated_workers": "Allocated workers", "fte": "FTE", "latest_audit_completed": "Latest audit completed",
           "latest_audit_grade": "Latest audit grade", "auditor_id": "Auditor id", "owner_id": "Owner id",
           "audit_id": "Audit id"}
# How the grid shows a cell (the downloads keep the API's values): hours to one decimal (99.9, not
# 99.86666666666666), a record type in words ("Missing episode", not "missing_episode").
VALUE_FORMATS = {
    "hours": "params.value == null || params.value === '' ? '' : Number(params.value).toFixed(1)",
    "record_type": "params.value ? params.value.charAt(0).toUpperCase() + params.value.slice(1).replaceAll('_', ' ') "
                   ": ''",
}
FAILS = "✖ Yes"


def header(key: str) -> str:
    """A column's heading as a reader says it: "Referral date", "Working days", "Team id"."""
    return HEADERS.get(key) or key.replace("_", " ").capitalize()


def ordered_keys(records: list[dict[str, Any]]) -> list[str]:
    keys = list(dict.fromkeys(k for r in records[:50] for k in r))
    first = [k for k in ("fails", *FIRST) if k in keys]
    last = [k for k in LAST if k in keys]
    return first + [k for k in keys if k not in first and k not in last] + last


def column_defs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A column per key of the records with readable headers, the child, worker and team first, ids last."""
    return [{"field": k, "headerName": header(k)}
            | ({"valueFormatter": {"function": VALUE_FORMATS[k]}} if k in VALUE_FORMATS else {})
            for k in ordered_keys(records)]


def failing_first(records: list[dict[str, Any]], measure: str | None, polarity: str | None) -> list[dict[str, Any]]:
    """A rate's records with those that count against it first and marked: for a rate where higher is better
    (within timescale) the records only in its denominator; where lower is better (re-referrals), those in
    its numerator. Other KPIs' records as they come."""
    if measure != "rate" or polarity not in ("higher", "lower"):
        return records
    against = "denominator" if polarity == "higher" else "numerator"
    marked = [{"fails": FAILS if r.get("counted_in") == against else "No", **r} for r in records]
    return sorted(marked, key=lambda r: r["fails"] != FAILS)  # stable: the API's order within each


def with_names(records: list[dict[str, Any]], team_names: dict[str, str],
               worker_names: dict[str, str]) -> list[dict[str, Any]]:
    """Each record with its worker's and team's names beside their ids (UNKNOWN: "Team not recorded")."""
    out = []
    for r in records:
        team = r.get("team_unit") or r.get("team_id")
        extra = {"team_name": unit_label("team", team, team_names)} if team else {}
        if r.get("worker_id"):
            extra["worker_name"] = worker_names.get(r["worker_id"], "")
        out.append({**extra, **r})
    return out


def count_words(total: int) -> str:
    return "1 record" if total == 1 else f"{total:,} records"


def period_words(kind: str | None, date_from: str, date_to: str) -> str:
    """A stock KPI is counted on one day ("as at 24 November 2025"); a flow KPI over a period."""
    if not date_to:
        return "as at the latest extract"
    to = long_date(dt.date.fromisoformat(date_to))
    if kind == "stock" or date_from == date_to:
        return f"as at {to}"
    return f"from {long_date(dt.date.fromisoformat(date_from))} to {to}"


def title_for(definition: dict[str, Any] | None, kpi: str, level: str, unit: str, team_names: dict[str, str]) -> str:
    """The dialog's title: the KPI's name as its tile says it, and the unit by name ("Cases allocated: Whole trust")."""
    known = KPIS_BY_ID.get(kpi)  # the registry's title when the API did not answer (a session ended)
    name = (definition or {}).get("title") or (known.title if known else kpi.replace("_", " ").capitalize())
    return f"{name}: {unit_label(level, unit, team_names)}"


MARKING = "OFFICIAL-SENSITIVE"
MARKING_LINE = (f"{MARKING}: child-level personal data. Keep it within the trust's systems; do not forward it or "
                "leave it on a shared drive.")


def readable_file(rows: list[dict[str, Any]], file_format: str, heading: str, when: str) -> bytes:
    """The API's download (the API audited it as an export) as a person reads it: the OFFICIAL-SENSITIVE
    marking, what it lists and as at when, then readable column headings, the columns in the grid's order.
    Every cell spreadsheet-safe (core.spreadsheet), written as text, never a formula."""
    keys = ordered_keys(rows) if rows else []
    preamble = [MARKING_LINE, heading, f"{count_words(len(rows))} {when}.", ""]
    if file_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerows([[line] if line else [] for line in preamble])
        writer.writerow([header(k) for k in keys])
        writer.writerows([safe_cells(r.get(k, "") for k in keys) for r in rows])
        return out.getvalue().encode("utf-8-sig")
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False})
    sheet = book.add_worksheet("Records")
    bold, marked = book.add_format({"bold": True}), book.add_format({"bold": True, "font_color": "#b0182a"})
    sheet.set_header(f"&C&B{MARKING}")  # on every printed page too
    sheet.set_footer(f"&C&B{MARKING}")
    for line, text in enumerate(preamble):
        sheet.write_string(line, 0, text, marked if line == 0 else bold)
    top = len(preamble)
    for col, key in enumerate(keys):
        sheet.write_string(top, col, header(key), bold)
        sheet.set_column(col, col, max(12, len(header(key)) + 2))
        for line, row in enumerate(rows, start=top + 1):
            sheet.write_string(line, col, str(spreadsheet_safe(row.get(key) or "")))
    sheet.freeze_panes(top + 1, 0)
    book.close()
    return buffer.getvalue()


def api_rows(data: bytes, file_format: str) -> list[dict[str, Any]]:
    """The rows of the API's CSV or XLSX download, every cell as the text the API wrote."""
    if file_format == "csv":
        return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    sheet = fastexcel.read_excel(data).load_sheet(0, dtypes="string")
    return [{k: v or "" for k, v in r.items()} for r in sheet.to_arrow().to_pylist()] if sheet.height else []


def _first_day(definition: dict[str, Any] | None, request: dict[str, Any]) -> str:
    """The period's first day when the request named none: the month of its last day (the API's default)."""
    to = request.get("to") or ""
    return to if (definition or {}).get("kind") == "stock" else (to[:8] + "01" if to else "")


def fetch(api: ApiClient, request: dict[str, Any]) -> dict[str, Any]:
    return api.records(request["kpi"], unit=request["unit"], level=request["level"],
                       date_from=request.get("from"), date_to=request.get("to"))


def _worker_names(api: ApiClient, teams: set[str], as_at: str | None) -> dict[str, str]:
    """worker id -> name, from the caseload lists of the records' teams (read in parallel)."""
    day = dt.date.fromisoformat(as_at) if as_at else None
    jobs = [_pool.submit(api.team_workers, t, day) for t in sorted(teams) if t and t != "UNKNOWN"][:40]
    names: dict[str, str] = {}
    for job in jobs:
        try:
            names.update({w["worker_id"]: w["worker_name"] for w in job.result()})
        except ApiProblem:
            continue  # a team outside the reader's scope: its workers' ids stay, without names
    return names


def register(app: Any, api_url: str) -> None:
    @app.callback(
        Output("drawer", "style"), Output("drawer-title", "children"), Output("drawer-message", "children"),
        Output("drawer-grid", "rowData"), Output("drawer-grid", "columnDefs"), Output("drawer-request", "data"),
        Output("drawer-actions", "style"), Output("drawer-grid", "style"),
        Input({"type": "open-records", "kpi": ALL, "level": ALL, "unit": ALL}, "n_clicks"),
        Input("drawer-close", "n_clicks"), State("today-date", "data"),
        Input({"type": "attention-records", "kpi": ALL, "level": ALL, "unit": ALL}, "n_clicks"),
        Input({"type": "period-records", "kpi": ALL, "level": ALL, "unit": ALL, "from": ALL, "to": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def open_records(clicks: list[int], _close: int, extract_date: str | None, more: list[int],
                     periods: list[int]) -> tuple:
        trigger = ctx.triggered_id
        if trigger == "drawer-close" or not isinstance(trigger, dict) or not any(
                (clicks or []) + (more or []) + (periods or [])):
            return HIDDEN, no_update, no_update, no_update, no_update, no_update, no_update, no_update
        request = {"kpi": trigger["kpi"], "level": trigger["level"], "unit": trigger["unit"],
                   "to": trigger.get("to") or extract_date}
        if trigger.get("from"):
            request["from"] = trigger["from"]
        api = ApiClient(api_url, request_token())
        definitions, teams = _pool.submit(api.definitions), _pool.submit(api.teams)
        try:
            page = fetch(api, request)
            definition = next((d for d in definitions.result() if d["id"] == request["kpi"]), None)
            team_names = {t["team_id"]: t["team_name"] for t in teams.result()}
        except ApiProblem as exc:
            title = title_for(None, request["kpi"], request["level"], request["unit"], {})
            return SHOWN, title, problem_words("These records cannot be shown", exc), [], [], None, *WITHOUT_RECORDS
        title = title_for(definition, request["kpi"], request["level"], request["unit"], team_names)
        records = page["records"]
        workers = _worker_names(api, {r.get("team_unit") or r.get("team_id") for r in records}, extract_date)
        records = failing_first(with_names(records, team_names, workers), (definition or {}).get("measure"),
                                (definition or {}).get("polarity"))
        when = period_words((definition or {}).get("kind"), page["from"], page["to"])
        shown = (f"{count_words(page['total'])} {when}"
                 + (f" (first {len(records)} shown; download for all)" if page["total"] > len(records) else "")
                 + (f"; {sum(r.get('fails') == FAILS for r in records):,} count against the figure and are listed first"
                    if records and "fails" in records[0] else "") + "."
                 if records else f"No records {when}: nothing is counted in this figure.")
        if page.get("withheld"):
            shown += (f" {page['withheld']} more of this worker's records belong to teams outside what you may see "
                      "and are not listed.")
        return SHOWN, title, shown, records, column_defs(records), request, *(WITH_RECORDS if records else
                                                                             WITHOUT_RECORDS)

    @app.callback(Output("drawer-download", "data"), Output("drawer-message", "children", allow_duplicate=True),
                  Input("drawer-csv", "n_clicks"), Input("drawer-xlsx", "n_clicks"), State("drawer-request", "data"),
                  prevent_initial_call=True)
    def export(_csv: int, _xlsx: int, request: dict[str, Any] | None) -> Any:
        if not request:
            return no_update, no_update
        file_format = "csv" if ctx.triggered_id == "drawer-csv" else "xlsx"
        api = ApiClient(api_url, request_token())
        definitions, teams = _pool.submit(api.definitions), _pool.submit(api.teams)
        try:
            data = api.records_file(request["kpi"], file_format, unit=request["unit"], level=request["level"],
                                    date_from=request.get("from"), date_to=request.get("to"))
            definition = next((d for d in definitions.result() if d["id"] == request["kpi"]), None)
            team_names = {t["team_id"]: t["team_name"] for t in teams.result()}
        except ApiProblem as exc:
            return no_update, problem_words("The file could not be made", exc)
        heading = title_for(definition, request["kpi"], request["level"], request["unit"], team_names)
        rows = api_rows(data, file_format)
        workers = _worker_names(api, {r.get("team_unit") or r.get("team_id") for r in rows}, request.get("to"))
        rows = failing_first(with_names(rows, team_names, workers), (definition or {}).get("measure"),
                             (definition or {}).get("polarity"))
        when = period_words((definition or {}).get("kind"), request.get("from") or _first_day(definition, request),
                            request.get("to") or "")
        name = f"kpidash-{request['kpi']}-{request['unit']}-{request.get('to') or 'latest'}.{file_format}"
        return dcc.send_bytes(readable_file(rows, file_format, heading, when), name), no_update
