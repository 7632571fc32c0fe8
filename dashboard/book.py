"""The printable performance book: the summary grid (latest value, target, variation and assurance
icons per KPI), then one section per KPI (its XmR chart, the last 12 months as a table, the definition),
one HTML file with its styles inline and no script, so it prints cleanly to PDF from a browser and opens
offline. Built from the API only."""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from html import escape

from dashboard.api_client import ApiClient
from dashboard.components.formatting import format_value, month_end, month_label, rag_word
from dashboard.components.qa_html import domains_section, findings_html
from dashboard.components.spc_chart import legend_html, partial_bounds, partial_points, xmr_svg
from dashboard.components.spc_icons import assurance_html, variation_html
from dashboard.components.spc_summary import summary_html
from dashboard.components.spc_words import reason

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2731;margin:2rem auto;max-width:900px;padding:0 1rem}
h1{font-size:1.8rem;margin-bottom:.2rem} h2{font-size:1.25rem;margin:0 0 .3rem}
.muted{color:#4a5560} section{border-top:2px solid #1f5f8b;padding-top:1rem;margin-top:1.5rem;break-inside:avoid;page-break-inside:avoid}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0} th,td{border:1px solid #c9d0d6;padding:.25rem .45rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums} .rag-green{color:#00703c}.rag-amber{color:#8a5300}.rag-red{color:#b0182a}
.spc-grid td,.spc-grid th{vertical-align:middle} .spc-badge{display:inline-flex;align-items:center;gap:.35rem;margin-right:1rem}
.spc-badge svg{width:28px;height:28px;flex:none} .spc-legend{list-style:none;display:flex;flex-wrap:wrap;gap:.2rem 1rem;padding:0;font-size:.8rem}
.glyph-improvement{color:#1f5f8b}.glyph-concern{color:#b35300}.glyph-neither{color:#6b3fa0}.glyph-common{color:#5c6670}.glyph-target{color:#8a1538}
@media print{body{margin:0;max-width:none} section{page-break-before:always} section:first-of-type{page-break-before:auto} a{color:inherit}}
@page{size:A4;margin:15mm}
"""


def book_html(api: ApiClient, month: str) -> str:
    """The book for a YYYY-MM month: each KPI's 24 months to that month's end (or the extract date)."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ValueError(month)
    status = api.status()
    extract = dt.date.fromisoformat(status["extract_date"])
    as_at = month_end(month, extract)  # ValueError for a malformed month: the caller says how to write it
    if as_at < dt.date(1990, 1, 1) or month > extract.strftime("%Y-%m"):
        raise ValueError(month)
    definitions = api.definitions()
    charted = [d for d in definitions if not d.get("keyed_by")]  # domain_good_or_better: a table, below
    bounds = partial_bounds("month", as_at)
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = pool.submit(api.qa_findings, "trust", None, as_at.replace(day=1), as_at)
        charts = pool.submit(api.spc, (), "month", 24, "trust", None, as_at)
        figures = pool.submit(api.figures, "trust", None, (), *bounds) if bounds else None
        trends = list(pool.map(lambda d: api.trend(d["id"], "month", 24, "trust", None, as_at), charted))
        spc = {c["kpi"]: c for c in charts.result() if "domain" not in c}
        partials = partial_points(figures.result(), bounds) if figures else {}
        findings = found.result()
    summary = summary_html(charted, list(spc.values()), "Each KPI's latest complete month, its target, and what "
                           "its last 24 months say: variation (is it changing?) and assurance (will it meet its "
                           "target?). docs/spc.md explains the icons.")
    sections = [_section(d, rows, spc.get(d["id"]), partials.get((d["id"], "trust")), findings_html(d["id"], findings))
                for d, rows in zip(charted, trends)]
    sections += [domains_section(d, findings) for d in definitions if d.get("keyed_by")]
    contents = "".join(f'<li><a href="#{d["id"]}">{escape(d["title"])}</a></li>' for d in definitions)
    return (f"<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Performance book, "
            f"{month_label(month)}</title><style>{_CSS}</style></head><body><header><h1>Performance book: "
            f"{month_label(month)}</h1><p class=\"muted\">Whole trust, figures to {as_at:%-d %B %Y} from the extract "
            f"of {extract:%-d %B %Y}. Flow KPIs count the events in each month; stock KPIs are taken at its end.</p>"
            f"<nav aria-label=\"Contents\"><ol>{contents}</ol></nav><h2>Summary</h2>{summary}</header>"
            f"<main>{''.join(sections)}</main></body></html>")


def _chart(definition: dict, chart: dict | None, partial: dict | None) -> str:
    """The KPI's XmR chart with its icons, its signal in words and a legend."""
    if chart is None:
        return "<p>No chart for this KPI.</p>"
    why = reason(chart)
    uom = definition.get("unit_of_measure")
    return (f'<p>{variation_html(chart)}{assurance_html(chart, uom)}</p>'
            + (f"<p>{escape(why[0].upper() + why[1:])}.</p>" if why else "")
            + xmr_svg(chart, definition, partial) + legend_html(chart, partial))


def _section(definition: dict, rows: list[dict], chart: dict | None = None, partial: dict | None = None,
             found: str = "") -> str:
    uom = definition["unit_of_measure"]
    last12 = rows[-12:]
    body = "".join(
        f"<tr><th scope=\"row\">{escape(r['period_start'][:7])}</th><td class=\"num\">{r['numerator'] if r['numerator'] is not None else ''}</td>"
        f"<td class=\"num\">{'' if r['denominator'] is None else format(r['denominator'], 'g')}</td>"
        f"<td class=\"num\">{escape(format_value(r['value'], uom))}</td>"
        f"<td class=\"rag-{r['rag'] or 'none'}\">{rag_word(r['rag'])[1]} {rag_word(r['rag'])[0]}</td></tr>" for r in last12)
    target = (f"Target {format_value(definition['target'], uom)} (tolerance {definition['tolerance']:g})"
              if definition.get("target") is not None else "No target")
    comparator = (f"; England {format_value(definition['national_comparator'], uom)} ({escape(definition.get('comparator_note') or '')})"
                  if definition.get("national_comparator") is not None else "")
    better = {"higher": "Higher is better.", "lower": "Lower is better."}.get(definition.get("polarity"), "")
    return (f"<section id=\"{definition['id']}\"><h2>{escape(definition['title'])}</h2>"
            f"<p>{escape(definition['description'])} <span class=\"muted\">({definition['kind']}, {escape(uom)}; {better} "
            f"{target}{comparator}.)</span></p>{_chart(definition, chart, partial)}"
            f"<table><caption class=\"muted\">The last 12 months</caption><thead><tr><th scope=\"col\">Month</th><th scope=\"col\">Numerator</th>"
            f"<th scope=\"col\">Denominator</th><th scope=\"col\">Value</th><th scope=\"col\">RAG</th></tr></thead><tbody>{body}</tbody></table>{found}</section>")
