"""The board's first page: one row per KPI with its latest value, target, variation icon and assurance
icon, for Trends (Dash) and the printable book (HTML text), from the same rows."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from dash import html

from dashboard.components.formatting import format_value
from dashboard.components.records_drawer import period_button
from dashboard.components.spc_icons import assurance_badge, assurance_html, variation_badge, variation_html
from dashboard.components.spc_words import period_label

HEADINGS = ("KPI", "Latest", "Target", "Variation", "Assurance")


def summary_rows(definitions: list[dict[str, Any]], charts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each KPI (in the definitions' order) that has a chart: title, latest period and value, target."""
    by_kpi = {c["kpi"]: c for c in charts}
    rows = []
    for d in definitions:
        chart = by_kpi.get(d["id"])
        if chart is None:
            continue
        points = chart["points"]
        uom = d.get("unit_of_measure")
        latest = (f"{format_value(points[-1]['value'], uom)} ({period_label(points[-1]['period_start'], chart['by'])})"
                  if points else ("not available from this source" if chart.get("available") is False else "no figures"))
        rows.append({"kpi": d["id"], "title": d["title"], "latest": latest, "chart": chart, "unit_of_measure": uom,
                     "target": format_value(chart["target"], uom) if chart.get("target") is not None else "none"})
    return rows


def _latest(row: dict[str, Any], records: bool) -> Any:
    """The latest value; with records (the role may see the trust's children), a button opening the records
    behind it for its period (a dashboard audit: a board member's figure opened onto nothing)."""
    points = row["chart"]["points"]
    if not records or not points or points[-1]["value"] is None:
        return row["latest"]
    last = points[-1]
    return period_button(row["kpi"], row["chart"]["level"], row["chart"]["unit"],
                         dt.date.fromisoformat(last["period_start"]), dt.date.fromisoformat(last["period_end"]),
                         row["latest"], row["title"])


def summary_grid(definitions: list[dict[str, Any]], charts: list[dict[str, Any]], caption: str,
                 records: bool = False) -> html.Table:
    """The summary as a table; each KPI's name links to its chart further down the page, and its latest value
    (with records) opens the records behind it. Each cell carries its column's heading (data-label): at phone
    width each KPI is a block of labelled lines (kpidash.css)."""
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in HEADINGS]))
    body = html.Tbody([html.Tr([
        html.Th(html.A(r["title"], href=f"#trend-{r['kpi']}"), scope="row"),
        *(html.Td(cell, className=kind, **{"data-label": label}) for cell, kind, label in zip(
            (_latest(r, records), r["target"], variation_badge(r["chart"], size=26),
             assurance_badge(r["chart"], r["unit_of_measure"], size=26)), ("num", "num", None, None), HEADINGS[1:])),
    ], **{"data-kpi": r["kpi"]}) for r in summary_rows(definitions, charts)])
    return html.Table([html.Caption(caption), head, body], className="table spc-grid", id="spc-summary")


def summary_html(definitions: list[dict[str, Any]], charts: list[dict[str, Any]], caption: str) -> str:
    """The same table as HTML text, for the book."""
    rows = "".join(
        f'<tr><th scope="row"><a href="#{escape(r["kpi"])}">{escape(r["title"])}</a></th>'
        f'<td class="num">{escape(r["latest"])}</td><td class="num">{escape(r["target"])}</td>'
        f"<td>{variation_html(r['chart'])}</td><td>{assurance_html(r['chart'], r['unit_of_measure'])}</td></tr>"
        for r in summary_rows(definitions, charts))
    heads = "".join(f'<th scope="col">{h}</th>' for h in HEADINGS)
    return (f'<table class="spc-grid"><caption>{escape(caption)}</caption><thead><tr>{heads}</tr></thead>'
            f"<tbody>{rows}</tbody></table>")
