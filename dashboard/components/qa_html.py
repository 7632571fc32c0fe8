"""Quality assurance as printable HTML: "QA on a Page" (one A4 page per month and unit) and the "What
audits found" note the performance book puts beside each KPI. Plain HTML strings, styles inline, no
script; readable in black and white (every status is a word and a symbol, bars are characters).

Built from the API's JSON (GET /qa/page, GET /qa/findings) or the same dicts from kpis.qa: layout only.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from dashboard.components.formatting import format_value, month_label, rag_word
from kpis.targets import whole_percent

GRADE_WORDS = {"outstanding": "Outstanding", "good": "Good", "requires_improvement": "Requires improvement",
               "inadequate": "Inadequate"}
DOMAIN_WORDS = {"child_experience": "Child's experience", "voice_of_child": "Voice of the child",
                "assessment": "Assessment", "planning": "Planning", "management_oversight": "Management oversight",
                "multi_agency": "Multi-agency working", "recording": "Recording"}

_PAGE_CSS = """
@page{size:A4;margin:12mm}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#111;margin:0 auto;max-width:186mm;
font-size:8.5pt;line-height:1.25}
h1{font-size:13pt;margin:0 0 .5mm} h2{font-size:9.5pt;margin:2.5mm 0 1mm;border-bottom:1.2pt solid #111;padding-bottom:.4mm}
p{margin:.6mm 0} .muted{color:#333} .grid{display:grid;grid-template-columns:1.2fr 1fr;gap:0 5mm}
table{border-collapse:collapse;width:100%;font-size:8pt;margin-bottom:1.5mm} caption{text-align:left;font-weight:700;padding:.5mm 0}
th,td{border:.5pt solid #555;padding:.4mm 1.2mm;text-align:left} td{white-space:nowrap}
th[scope=col]{background:#e6e6e6} td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{font-family:monospace;letter-spacing:-.5pt} .none{font-style:italic}
@media print{body{max-width:none}}
"""


def _status(row: dict[str, Any]) -> str:
    word, icon = rag_word(row.get("rag"), row.get("target"))  # "Not rated" beside a target, never "No target"
    return f"{icon} {word}"


def _bar(n: int, most: int, width: int = 16) -> str:
    return "█" * round(width * n / most) if most else ""


def _ranked(which: str, shown: int) -> str:
    """A ranked list's caption, saying how many it holds: with four domains graded the weakest is one."""
    return {1: f"The {which} domain", 2: f"Two {which} domains"}.get(shown, f"Three {which} domains")


def _domains_table(caption: str, domains: list[dict[str, Any]]) -> str:
    if not domains:
        return f"<p class=\"none\">{escape(caption)}: not enough domains graded this month.</p>"
    body = "".join(
        f"<tr><th scope=\"row\">{escape(DOMAIN_WORDS.get(d['domain'], d['domain']))}</th>"
        f"<td class=\"num\">{d['graded']}</td><td class=\"num\">{d['good_or_better']}</td>"
        f"<td class=\"num\">{whole_percent(d['value'])}</td></tr>" for d in domains)
    return (f"<table><caption>{escape(caption)}</caption><thead><tr><th scope=\"col\">Domain</th>"
            f"<th scope=\"col\">Graded</th><th scope=\"col\">Good or better</th><th scope=\"col\">%</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def qa_page_html(data: dict[str, Any]) -> str:
    """QA on a Page for one month and unit (GET /qa/page's JSON), one A4 page."""
    month = data["month"]
    head = (f"<h1>QA on a Page: {escape(data['title'])}, {month_label(month)}</h1>"
            f"<p class=\"muted\">Case-file audits from {data['from']} to {data['to']}, from the extract of "
            f"{data['extract_date']}. Final grades are the moderator's where an audit was moderated.</p>")
    if data.get("note") and not data.get("figures"):
        body = f"<p><strong>{escape(data['note'].capitalize())}</strong>: the extract held no audits.csv, so there is nothing to show.</p>"
        return _document(f"QA on a Page, {month}", head + body)
    figures = {r["kpi"]: r for r in data["figures"]}
    due = data["due"]
    rows = [("Audits due this month", f"{due['due']}", f"{due['done']} done, {due['done_on_time']} on time", ""),
            *((figures[k]["title"], format_value(figures[k]["value"], figures[k]["unit_of_measure"]),
               _detail(figures[k]), _status(figures[k])) for k in (
                "audits_completed", "audits_on_time", "audits_good_or_better", "audits_inadequate", "audits_overdue",
                "moderation_agreement", "audit_actions_overdue") if k in figures)]
    actions = data.get("actions")
    if actions is not None:
        rows.append(("Audit actions open at month end", str(actions["open"]), f"{actions['overdue']} overdue", ""))
    figure_table = ("<table><caption>Audits done against due</caption><thead><tr><th scope=\"col\">Measure</th>"
                    "<th scope=\"col\">Value</th><th scope=\"col\">Detail</th><th scope=\"col\">Status</th></tr></thead>"
                    "<tbody>" + "".join(
                        f"<tr><th scope=\"row\">{escape(a)}</th><td class=\"num\">{escape(b)}</td><td>{escape(c)}</td>"
                        f"<td>{escape(d)}</td></tr>" for a, b, c, d in rows) + "</tbody></table>")
    grades = data["grades"]
    most = max([*grades["auditor"].values(), *grades["final"].values(), 0])
    mix = ("<table><caption>Grade mix before and after moderation ("
           f"{grades['changed_by_moderation']} changed)</caption><thead><tr><th scope=\"col\">Grade</th>"
           "<th scope=\"col\">Auditor</th><th scope=\"col\">Final</th><th scope=\"col\"></th></tr></thead><tbody>"
           + "".join(f"<tr><th scope=\"row\">{GRADE_WORDS[g]}</th><td class=\"num\">{grades['auditor'][g]}</td>"
                     f"<td class=\"num\">{grades['final'][g]}</td><td class=\"bar\" aria-hidden=\"true\">"
                     f"{_bar(grades['final'][g], most)}</td></tr>" for g in GRADE_WORDS) + "</tbody></table>")
    if data.get("domains") is None:
        domains = "<p class=\"none\">No audit domains loaded.</p>"
    else:
        domains = (_domains_table(_ranked("strongest", len(data["strongest"])), data["strongest"])
                   + _domains_table(_ranked("weakest", len(data["weakest"])), data["weakest"]))
    if actions is None:
        owners = "<p class=\"none\">No audit actions loaded.</p>"
    elif not actions["overdue_by_owner"]:
        owners = "<p>No audit action is overdue.</p>"
    else:
        owners = ("<table><caption>Overdue actions by owner</caption><thead><tr><th scope=\"col\">Owner</th>"
                  "<th scope=\"col\">Overdue</th><th scope=\"col\">Oldest due</th></tr></thead><tbody>" + "".join(
                      f"<tr><th scope=\"row\">{escape(o['owner_name'] or o['owner_id'] or 'No owner named')}</th>"
                      f"<td class=\"num\">{o['overdue']}</td><td>{o['oldest_due']}</td></tr>"
                      for o in actions["overdue_by_owner"][:8]) + "</tbody></table>")
    linked = data.get("linked") or []
    linked_table = ("<p class=\"none\">No linked KPIs: no domain was graded this month.</p>" if not linked else
                    "<table><caption>The KPIs these domains speak to, same month and unit</caption><thead><tr>"
                    "<th scope=\"col\">KPI</th><th scope=\"col\">Value</th><th scope=\"col\">Target</th>"
                    "<th scope=\"col\">Status</th><th scope=\"col\">Domains</th></tr></thead><tbody>" + "".join(
                        f"<tr><th scope=\"row\">{escape(r['title'])}</th>"
                        f"<td class=\"num\">{escape(format_value(r['value'], r['unit_of_measure']))}</td>"
                        f"<td class=\"num\">{escape(format_value(r['target'], r['unit_of_measure'])) if r['target'] is not None else '–'}</td>"
                        f"<td>{escape(_status(r))}</td>"
                        f"<td>{escape(', '.join(DOMAIN_WORDS.get(d, d) for d in r['domains']))}</td></tr>"
                        for r in linked) + "</tbody></table>")
    body = (f"<div class=\"grid\"><section>{figure_table}</section><section>{mix}</section></div>"
            f"<h2>Domains</h2><div class=\"grid\"><section>{domains}</section><section>{owners}</section></div>"
            f"<h2>Cross-reference to the performance indicators</h2>{linked_table}")
    return _document(f"QA on a Page, {data['title']}, {month}", head + body)


def _detail(row: dict[str, Any]) -> str:
    if row.get("denominator") is not None and row["unit_of_measure"] == "%":
        return f"{row['numerator']} of {row['denominator']:g}"
    return f"target {format_value(row['target'], row['unit_of_measure'])}" if row.get("target") is not None else ""


def _document(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{_PAGE_CSS}</style></head><body><main>{body}</main></body></html>")


def findings_sentences(kpi_id: str, findings: dict[str, Any]) -> list[str]:
    """"What audits found" for one KPI, as sentences: the audits completed, then each mapped domain's grades."""
    if findings.get("note") == "no audits loaded":
        return ["No audits loaded."]
    domains = findings.get("kpi_domains", {}).get(kpi_id, [])
    completed = findings.get("audits_completed") or 0
    out = [f"{completed} audit{'s' if completed != 1 else ''} completed."]
    if not domains:
        return out + ["No audit domain is cross-referenced to this KPI."]
    for domain in domains:
        d = findings.get("domains", {}).get(domain)
        name = DOMAIN_WORDS.get(domain, domain)
        if d is None:
            out.append(f"{name}: not graded in this period.")
            continue
        mix = ", ".join(f"{GRADE_WORDS[g].lower()} {n}" for g, n in d["grades"].items() if n)
        out.append(f"{name}: {d['good_or_better']} of {d['graded']} good or better ({whole_percent(d['value'])}; {mix}).")
    return out


def findings_html(kpi_id: str, findings: dict[str, Any]) -> str:
    """The book's "What audits found" paragraph beside a KPI."""
    text = " ".join(escape(s) for s in findings_sentences(kpi_id, findings))
    return f"<p class=\"qa-found\"><strong>What audits found ({findings['from']} to {findings['to']}):</strong> {text}</p>"


def page_file_name(month: str, level: str, unit: str | None, suffix: str) -> str:
    """kpidash-qa-on-a-page-2025-10-team-T01.pdf: safe for any unit name."""
    who = "trust" if level == "trust" else f"{level}-{unit}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"kpidash-qa-on-a-page-{month}-{who}") + suffix


def domains_section(definition: dict[str, Any], findings: dict[str, Any], board: str = "") -> str:
    """The book's section for a KPI keyed by domain (domain_good_or_better): the month's domains as a table,
    then board (its analysis and actions, as every KPI's section has them)."""
    domains = findings.get("domains") or {}
    if findings.get("note") and not domains:
        table = f"<p>{escape(findings['note'].capitalize())}.</p>"
    elif not domains:
        table = "<p>No domain was graded this month.</p>"
    else:
        rows = "".join(
            f"<tr><th scope=\"row\">{escape(DOMAIN_WORDS.get(name, name))}</th><td class=\"num\">{d['graded']}</td>"
            f"<td class=\"num\">{d['good_or_better']}</td><td class=\"num\">{escape(format_value(d['value'], '%'))}</td></tr>"
            for name, d in domains.items())
        table = ("<table><caption class=\"muted\">This month, the whole trust</caption><thead><tr>"
                 "<th scope=\"col\">Domain</th><th scope=\"col\">Graded</th><th scope=\"col\">Good or better</th>"
                 f"<th scope=\"col\">Value</th></tr></thead><tbody>{rows}</tbody></table>")
    return (f"<section id=\"{escape(definition['id'])}\"><h2>{escape(definition['title'])}</h2>"
            f"<p>{escape(definition['description'])}</p>{table}{board}</section>")
