"""The printable performance book, which is also the board pack: a cover (board, period, extract and its
freshness), the overdue actions, the summary grid (latest value, target, variation and assurance icons
per KPI), then one section per KPI (its XmR chart, the last 12 months as a table, the definition and
national comparator, the month's analysis, its actions with their status and what changed since the
last board). One HTML file with its styles inline and no script, so it prints cleanly to PDF (A4, page
numbers) and opens offline. Built from the API only (pack_data), drawn from that data alone (pack_html):
a published pack keeps both (api/routes/board_packs.py)."""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from html import escape

from typing import Any

from core.dates import MIN_DATE
from core.settings import get_settings
from dashboard.api_client import ApiClient
from dashboard.components.board_html import BOARD_CSS, board_html, overdue_html
from dashboard.components.formatting import (format_value, freshness, london_time, long_date, month_end, month_label,
                                             rag_word, row_value)
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
@page{size:A4;margin:15mm 15mm 18mm;@bottom-center{content:"Page " counter(page) " of " counter(pages);font-size:9pt;color:#000}}
""" + BOARD_CSS


class BookMonthError(ValueError):
    """A month the book cannot report; the message says why, for the person who asked."""


def pack_data(api: ApiClient, month: str, board_date: dt.date | None = None,
              now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the book shows for a YYYY-MM month, as the API gives it now: the figures (each KPI's 24
    months to that month's end, or the extract date), their SPC, the analysis written for the month, the
    actions, and those of the last published pack before board_date (what changed since the last
    board). JSON: it is what a published pack keeps, and the book is drawn from it alone."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise BookMonthError(f"{month!r} is not a month: write it YYYY-MM, e.g. 2025-10")
    status = api.status()
    extract = dt.date.fromisoformat(status["extract_date"])
    as_at = month_end(month, extract)
    if as_at < MIN_DATE:
        raise BookMonthError(f"{month} is before {MIN_DATE.year}, the first month kpidash reports")
    if month > extract.strftime("%Y-%m"):
        raise BookMonthError(f"{month} is after the extract's month ({extract:%Y-%m}): a book reports a month up to "
                             "the extract date")
    definitions = api.definitions()
    charted = [d for d in definitions if not d.get("keyed_by")]  # domain_good_or_better: a table, below
    bounds = partial_bounds("month", as_at)
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = pool.submit(api.qa_findings, "trust", None, as_at.replace(day=1), as_at)
        charts = pool.submit(api.spc, (), "month", 24, "trust", None, as_at)
        figures = pool.submit(api.figures, "trust", None, (), *bounds) if bounds else None
        analysis = pool.submit(lambda: {d["id"]: api.analysis(d["id"], "trust", "trust", month) for d in definitions})
        actions = pool.submit(api.actions)
        packs = pool.submit(api.packs)
        trends = list(pool.map(lambda d: api.trend(d["id"], "month", 24, "trust", None, as_at), charted))
        previous = _previous_pack(api, packs.result(), board_date)
        data = {
            "kind": "kpidash board pack", "month": month, "as_at": as_at.isoformat(),
            "board_date": board_date.isoformat() if board_date else None,
            "drawn_at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
            "run_id": (status.get("warehouse") or {}).get("run_id"), "status": status, "definitions": definitions,
            "spc": [c for c in charts.result() if "domain" not in c], "trends": dict(zip([d["id"] for d in charted], trends)),
            "partial_bounds": [b.isoformat() for b in bounds] if bounds else None,
            "partial_figures": figures.result() if figures else [], "findings": found.result(),
            "analysis": analysis.result(), "actions": actions.result(), "previous": previous,
        }
    return data


def _previous_pack(api: ApiClient, packs: list[dict[str, Any]], board_date: dt.date | None) -> dict[str, Any] | None:
    """The last pack published before this board (for a book that is not a pack: the last board held, on or
    before today, not one whose pack is published ahead of its date)."""
    if board_date is None:
        earlier = [p for p in packs if p["board_date"] <= dt.date.today().isoformat()]
    else:
        earlier = [p for p in packs if p["board_date"] < board_date.isoformat()]
    if not earlier:
        return None
    last = max(earlier, key=lambda p: p["board_date"])
    snapshot = api.pack_snapshot(last["id"])
    return {"id": last["id"], "board_date": last["board_date"], "actions": snapshot.get("actions", [])}


def book_html(api: ApiClient, month: str) -> str:
    """The book for a YYYY-MM month, as the figures, analysis and actions stand now."""
    return pack_html(pack_data(api, month))


def pack_html(data: dict[str, Any]) -> str:
    """The book (and board pack) drawn from pack_data alone: a published pack re-renders the same."""
    month, as_at = data["month"], dt.date.fromisoformat(data["as_at"])
    status = data["status"]
    extract = dt.date.fromisoformat(status["extract_date"])
    definitions = data["definitions"]
    charted = [d for d in definitions if not d.get("keyed_by")]
    spc = {c["kpi"]: c for c in data["spc"]}
    bounds = tuple(dt.date.fromisoformat(b) for b in data["partial_bounds"]) if data.get("partial_bounds") else None
    partials = partial_points(data["partial_figures"], bounds) if bounds else {}
    findings = data["findings"]
    by_kpi: dict[str, list[dict[str, Any]]] = {}
    for action in data["actions"]:
        if action["level"] == "trust":  # the trust's figures are the pack's; every unit's overdue are on its cover
            by_kpi.setdefault(action["kpi"], []).append(action)
    summary = summary_html(charted, list(spc.values()), "Each KPI's latest complete month, its target, and what "
                           "its last 24 months say: variation (is it changing?) and assurance (will it meet its "
                           "target?). docs/spc.md explains the icons.")
    board = (data["analysis"], by_kpi, data.get("previous"))
    sections = [_section(d, data["trends"].get(d["id"], []), spc.get(d["id"]), partials.get((d["id"], "trust")),
                         findings_html(d["id"], findings), board)
                for d in charted]
    sections += [domains_section(d, findings, board_html(d["id"], *board)) for d in definitions if d.get("keyed_by")]
    contents = "".join(f'<li><a href="#{d["id"]}">{escape(d["title"])}</a></li>' for d in definitions)
    title = (f"Performance board pack, {month_label(month)}" if data.get("board_date")
             else f"Performance book: {month_label(month)}")
    return (f"<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>{escape(title)}"
            f"</title><style>{_CSS}</style></head><body><header class=\"cover\"><h1>{escape(title)}</h1>"
            f"{_cover(data, as_at, extract)}"
            f"<p class=\"muted\">Whole trust, figures to {as_at:%-d %B %Y} from the extract "
            f"of {extract:%-d %B %Y}. Flow KPIs count the events in each month; stock KPIs are taken at its end.</p>"
            f"{overdue_html(data['actions'], {d['id']: d['title'] for d in definitions})}"
            f"<nav aria-label=\"Contents\"><ol>{contents}</ol></nav><h2>Summary</h2>{summary}</header>"
            f"<main>{''.join(sections)}</main></body></html>")


_FRESH = {"green": "Up to date", "amber": "Late", "red": "Out of date"}


def _cover(data: dict[str, Any], as_at: dt.date, extract: dt.date) -> str:
    """The cover's facts: the board, the period, the extract and how fresh it was when the pack was drawn."""
    status = data["status"]
    drawn = dt.datetime.fromisoformat(data["drawn_at"])
    settings = get_settings()
    level, sentence, _detail = freshness(status, drawn, settings.freshness_amber_hours, settings.freshness_red_hours)
    rows = [("Board", long_date(dt.date.fromisoformat(data["board_date"])) if data.get("board_date") else
             "Not published: the figures as they stand"),
            ("Period", f"{month_label(data['month'])} (to {as_at:%-d %B %Y})"),
            ("Extract", f"{extract:%-d %B %Y}, load {data.get('run_id') or 'unknown'}"),
            ("Freshness", f"{_FRESH[level]}: {sentence}"),
            ("Drawn", f"{london_time(drawn)} (London time)"),
            ("Last board", long_date(dt.date.fromisoformat(data["previous"]["board_date"])) if data.get("previous")
             else "No earlier pack published")]
    body = "".join(f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in rows)
    return f'<table class="cover-facts">{body}</table>'


def _chart(definition: dict, chart: dict | None, partial: dict | None) -> str:
    """The KPI's XmR chart with its icons, its signal in words and a legend."""
    if chart is None:
        return "<p>No chart for this KPI.</p>"
    why = reason(chart)
    uom = definition.get("unit_of_measure")
    return (f'<p>{variation_html(chart)}{assurance_html(chart, uom)}</p>'
            + (f"<p>{escape(why[0].upper() + why[1:])}.</p>" if why else "")
            + xmr_svg(chart, definition, partial) + legend_html(chart, partial))


def _row_month(row: dict[str, Any]) -> str:
    """A trend row's month, "2025-09"; the month the figures stop in is marked as the chart marks it,
    "2025-10 so far (to 1 Oct 2025)", so a month of one day does not read as a full one."""
    start = dt.date.fromisoformat(row["period_start"])
    end = dt.date.fromisoformat(row["period_end"]) if row.get("period_end") else None
    if end is not None and partial_bounds("month", end) is not None:  # ends before its month does, as the chart reads it
        return f"{start:%Y-%m} so far (to {end:%-d %b %Y})"
    return f"{start:%Y-%m}"


def months_table(definition: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The last 12 months as a table. A month with no figure says why as the tiles do: "Not rated" beside a
    target (never "No target"), and a KPI the source cannot supply says so (never "no cases")."""
    uom = definition["unit_of_measure"]
    target = definition.get("target")
    body = []
    for r in rows[-12:]:
        word, icon = rag_word(r["rag"], target)
        body.append(
            f"<tr><th scope=\"row\">{escape(_row_month(r))}</th>"
            f"<td class=\"num\">{r['numerator'] if r['numerator'] is not None else ''}</td>"
            f"<td class=\"num\">{'' if r['denominator'] is None else format(r['denominator'], 'g')}</td>"
            f"<td class=\"num\">{escape(row_value(r, uom))}</td>"
            f"<td class=\"rag-{r['rag'] or 'none'}\">{icon} {word}</td></tr>")
    return ("<table><caption class=\"muted\">The last 12 months</caption><thead><tr><th scope=\"col\">Month</th>"
            "<th scope=\"col\">Numerator</th><th scope=\"col\">Denominator</th><th scope=\"col\">Value</th>"
            f"<th scope=\"col\">RAG</th></tr></thead><tbody>{''.join(body)}</tbody></table>")


def _section(definition: dict, rows: list[dict], chart: dict | None = None, partial: dict | None = None,
             found: str = "", board: tuple | None = None) -> str:
    uom = definition["unit_of_measure"]
    target = (f"Target {format_value(definition['target'], uom)} (tolerance {definition['tolerance']:g})"
              if definition.get("target") is not None else "No target")
    comparator = (f"; national comparator {format_value(definition['national_comparator'], uom)}: "
                  f"{escape(definition.get('comparator_note') or 'source and year not recorded')}"
                  if definition.get("national_comparator") is not None else "; no national comparator recorded")
    better = {"higher": "Higher is better.", "lower": "Lower is better."}.get(definition.get("polarity"), "")
    return (f"<section id=\"{definition['id']}\"><h2>{escape(definition['title'])}</h2>"
            f"<p>{escape(definition['description'])} <span class=\"muted\">({definition['kind']}, {escape(uom)}; {better} "
            f"{target}{comparator}.)</span></p>{_chart(definition, chart, partial)}"
            f"{months_table(definition, rows)}{found}"
            f"{board_html(definition['id'], *board) if board else ''}</section>")


def publish_pack(api: ApiClient, month: str, board_date: dt.date, with_pdf: bool = True) -> dict[str, Any]:
    """Draw the pack for a board from the API now, print it, and publish it (stored frozen by the API).
    Raises PdfUnavailable when no PDF can be printed (publish with_pdf=False to store the HTML alone)."""
    from dashboard.print_pdf import html_to_pdf

    data = pack_data(api, month, board_date)
    page = pack_html(data)
    pdf = html_to_pdf(page) if with_pdf else None
    return api.publish_pack(board_date, month, data["run_id"], data, page, pdf)
