"""Quality assurance pieces the pages share: QA figure tiles, the grade mix before and after moderation,
domains, the QA figures by service and team, overdue actions by owner, "What audits found" beside a
KPI, and the "no audits loaded" state (never a 0 for a file the extract did not hold)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dash import html

from dashboard.components.formatting import format_value, rag_word, unit_label
from dashboard.components.qa_html import DOMAIN_WORDS, GRADE_WORDS, findings_sentences
from dashboard.components.records_drawer import open_button, period_button
from kpis.targets import whole_percent

# what a rate's denominator counts, where a reader could take it for the "due" tile's base (a dashboard audit:
# "Audits due 51, 50 done, 44 on time" beside "41 of 48" on time)
BASE_WORDS = {"audits_on_time": " completed in the period", "audits_good_or_better": " completed in the period",
              "moderation_agreement": " moderated in the period"}
# the QA figures the page shows as tiles, in the registry's order (domains have their own table)
TILE_KPIS = ("audits_completed", "audits_on_time", "audits_overdue", "audits_good_or_better", "audits_inadequate",
             "moderation_agreement", "audit_actions_overdue")
BY_UNIT = (("audits_completed", "Completed"), ("audits_on_time", "On time"), ("audits_good_or_better", "Good or better"),
           ("audits_overdue", "Overdue"), ("moderation_agreement", "Moderation agreement"),
           ("audit_actions_overdue", "Actions overdue"))
RECORDS_LABEL = {"audits_overdue": "Show the overdue audits", "audit_actions_overdue": "Show the overdue actions",
                 "audits_completed": "Show the audits"}


def not_loaded(note: str) -> html.P:
    """The state for a file the extract did not hold: said in words, never shown as 0."""
    return html.P([html.Strong(note[:1].upper() + note[1:]), ": the extract has no case-file audits to show."
                   if note.startswith("no audits") else ": the extract did not hold that file."],
                  className="state qa-not-loaded", role="note")


def _rag(row: dict[str, Any]) -> html.Span:
    word, icon = rag_word(row.get("rag"), row.get("target"))
    return html.Span([html.Span(icon, **{"aria-hidden": "true"}), " ", word], className=f"rag rag-{row.get('rag') or 'none'}")


def figure_tiles(figures: list[dict[str, Any]], records_allowed: bool, level: str, unit: str,
                 period: tuple[dt.date, dt.date] | None = None) -> list[html.Article]:
    """A tile per QA figure: value, RAG as a word and icon, target, and the records where the role allows
    (for `period`, the month shown, when given: a past month's figures open onto their audits too)."""
    by_kpi = {r["kpi"]: r for r in figures}
    tiles = []
    for kpi in TILE_KPIS:
        row = by_kpi.get(kpi)
        if row is None:  # a file the extract did not hold (audit actions)
            continue
        uom = row["unit_of_measure"]
        detail = (f"{row['numerator']} of {row['denominator']:g}{BASE_WORDS.get(kpi, '')}" if uom == "%" and
                  row["denominator"] else "no audits in the period" if uom == "%" else None)
        tiles.append(html.Article(className=f"tile tile-{row.get('rag') or 'none'}", id=f"qa-tile-{kpi}", children=[
            html.Div(className="tile-head", children=[html.H2(row["title"]), _rag(row)]),
            html.P(html.Span(format_value(row["value"], uom), className="value", **{"data-kpi": kpi}),
                   className="tile-value"),
            html.P([f"Target {format_value(row['target'], uom)}" if row.get("target") is not None else "No target",
                    f" · {detail}" if detail else ""], className="tile-meta"),
            _records_button(kpi, level, unit, row["title"], period) if records_allowed and kpi in RECORDS_LABEL and
            row["numerator"] else None,
        ]))
    return tiles


def _records_button(kpi: str, level: str, unit: str, title: str, period: tuple[dt.date, dt.date] | None) -> Any:
    if period is None:
        return open_button(kpi, level, unit, RECORDS_LABEL[kpi], about=title)
    return period_button(kpi, level, unit, period[0], period[1], RECORDS_LABEL[kpi], title)


def grade_mix(grades: dict[str, Any]) -> html.Table:
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in ("Grade", "Auditor's grade", "Final grade")]))
    body = html.Tbody([html.Tr([html.Th(GRADE_WORDS[g], scope="row"), html.Td(grades["auditor"][g], className="num"),
                                html.Td(grades["final"][g], className="num")]) for g in GRADE_WORDS])
    caption = (f"Grade mix of the audits completed, before and after moderation "
               f"({grades['changed_by_moderation']} changed by moderation)")
    return html.Table([html.Caption(caption), head, body], className="table", id="qa-grade-mix")


def domains_table(domains: dict[str, Any] | None, note: str | None) -> Any:
    if domains is None:
        return not_loaded(note or "no audit domains loaded")
    if not domains:
        return html.P("No domain was graded in this period.", className="state")
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in
                               ("Domain", "Graded", "Good or better", "%", *GRADE_WORDS.values())]))
    body = html.Tbody([html.Tr([
        html.Th(DOMAIN_WORDS.get(name, name), scope="row"), html.Td(d["graded"], className="num"),
        html.Td(d["good_or_better"], className="num"), html.Td(whole_percent(d["value"]), className="num"),
        *(html.Td(d["grades"][g], className="num") for g in GRADE_WORDS)]) for name, d in domains.items()])
    return html.Table([html.Caption("Audit domains (the audits completed in the period)"), head, body],
                      className="table", id="qa-domains")


def by_unit_table(rows: list[dict[str, Any]], teams: dict[str, str]) -> Any:
    if not rows:
        return None
    units: dict[tuple[str, str], dict[str, dict]] = {}
    for r in rows:
        units.setdefault((r["level"], r["unit"]), {})[r["kpi"]] = r
    head = html.Thead(html.Tr([html.Th("Service or team", scope="col")] + [html.Th(t, scope="col") for _, t in BY_UNIT]))
    body = []
    for (level, unit), figs in units.items():
        name = unit_label(level, unit, teams)  # UNKNOWN reads "Team not recorded"
        cells = [html.Td([format_value(figs[k]["value"], figs[k]["unit_of_measure"]), " ", _rag(figs[k])]
                         if k in figs else "–", className="num") for k, _ in BY_UNIT]
        body.append(html.Tr([html.Th(name if level == "team" else html.Strong(name), scope="row"), *cells]))
    return html.Table([html.Caption("By service and team"), head, html.Tbody(body)], className="table", id="qa-by-unit")


def owners_table(actions: dict[str, Any] | None) -> Any:
    if actions is None:
        return not_loaded("no audit actions loaded")
    summary = html.P(f"{actions['open']} audit actions open at the end of the period, {actions['overdue']} overdue.",
                     id="qa-actions-summary")
    if not actions["overdue_by_owner"]:
        return html.Div([summary, html.P("No action is overdue.", className="state")])
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in ("Owner", "Overdue", "Open", "Oldest due")]))
    body = html.Tbody([html.Tr([html.Th(o["owner_name"] or o["owner_id"] or "No owner named", scope="row"),
                                html.Td(o["overdue"], className="num"), html.Td(o["open"], className="num"),
                                html.Td(o["oldest_due"])]) for o in actions["overdue_by_owner"]])
    return html.Div([summary, html.Table([html.Caption("Overdue audit actions by owner"), head, body],
                                         className="table", id="qa-owners")])


def findings_block(kpi_id: str, findings: dict[str, Any] | None) -> html.Div | None:
    """"What audits found" beside a KPI's chart, for the same period and unit."""
    if findings is None:
        return None
    return html.Div(className="qa-found", children=[
        html.H4("What audits found"), html.Ul([html.Li(s) for s in findings_sentences(kpi_id, findings)])])


def charted(definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The KPIs with one series per unit (a KPI keyed by domain has one per domain: shown in tables)."""
    return [d for d in definitions if not d.get("keyed_by")]


def beside(card: html.Section, kpi_id: str, findings: dict[str, Any] | None) -> html.Section:
    """The card with "What audits found" for its KPI appended (unchanged when there are no findings)."""
    block = findings_block(kpi_id, findings)
    if block is not None:
        card.children = [*card.children, block]
    return card


def findings_or_none(api: Any, level: str, unit: str | None, date_from: Any, date_to: Any) -> dict[str, Any] | None:
    """GET /qa/findings, or None when the API refuses (the charts still show)."""
    from dashboard.api_client import ApiProblem

    try:
        return api.qa_findings(level, unit, date_from, date_to)
    except ApiProblem:
        return None
