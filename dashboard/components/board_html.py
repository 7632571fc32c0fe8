"""The board's loop in the book (and the board pack): a KPI's analysis for the month, its actions with
their status, what changed since the last board, and the overdue actions on the cover. HTML text with
no script; status and lateness are words, not colours alone, so the pack reads printed in black and white."""

from __future__ import annotations

import re
from html import escape
from typing import Any

BOARD_CSS = """
.analysis{border-left:4px solid #1f5f8b;padding:.2rem .8rem;margin:.6rem 0;background:#f4f7fa}
.analysis .by{font-size:.8rem;color:#4a5560} .actions td.status,.actions td.due{white-space:nowrap}
.overdue{font-weight:700} .overdue::before{content:"\\26A0  "} .changes{font-size:.85rem}
.cover-facts th{width:9rem} .cover-facts{font-size:.95rem}
@media print{.analysis{background:none}}
"""


def formatted(text: str) -> str:
    """Analysis text as HTML: blank lines part paragraphs, lines starting `- ` are bullets, **bold**.
    Everything is escaped first, so nothing a writer types can become markup or script."""
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [escape(line.rstrip()) for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.lstrip().startswith("- ") for line in lines):
            blocks.append("<ul>" + "".join(f"<li>{line.lstrip()[2:]}</li>" for line in lines) + "</ul>")
        else:
            blocks.append("<p>" + "<br>".join(lines) + "</p>")
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", "".join(blocks))


def analysis_block(analysis: dict[str, Any] | None) -> str:
    if not analysis or not analysis.get("text", "").strip():
        return '<div class="analysis"><h3>Analysis</h3><p class="muted">No analysis written for this month.</p></div>'
    when = (analysis.get("written_at") or "")[:16].replace("T", " ")
    return (f'<div class="analysis"><h3>Analysis</h3>{formatted(analysis["text"])}<p class="by">Written by '
            f'{escape(analysis.get("author") or "")} ({escape((analysis.get("author_role") or "").replace("_", " "))}), '
            f'{escape(when)} UTC, version {analysis.get("version")}.</p></div>')


def status_words(action: dict[str, Any]) -> str:
    if action.get("overdue"):
        return '<span class="overdue">Open, OVERDUE</span>'
    return {"open": "Open", "done": "Done", "dropped": "Dropped"}[action["status"]]


def actions_table(actions: list[dict[str, Any]], caption: str, titles: dict[str, str] | None = None) -> str:
    if not actions:
        return ""
    kpi_head = '<th scope="col">KPI, unit</th>' if titles else ""
    rows = "".join(
        f"<tr><td>{a['id']}</td>" + (f"<td>{escape(titles.get(a['kpi'], a['kpi']))}, "
                                     f"{escape(a['unit'] if a['level'] != 'trust' else 'trust')}</td>" if titles else "")
        + f"<td>{escape(a['what'])}</td><td>{escape(a['owner'])}</td><td class=\"due\">{escape(a['due_date'])}</td>"
        f"<td class=\"status\">{status_words(a)}</td><td>{escape(a.get('status_note') or '')}</td></tr>"
        for a in actions)
    return (f'<table class="actions"><caption class="muted">{escape(caption)}</caption><thead><tr><th scope="col">No.'
            f'</th>{kpi_head}<th scope="col">Action</th><th scope="col">Owner</th><th scope="col">Due</th>'
            f'<th scope="col">Status</th><th scope="col">Note</th></tr></thead><tbody>{rows}</tbody></table>')


def changes_since(actions: list[dict[str, Any]], previous: dict[str, Any] | None, kpi: str) -> str:
    """Since the last board: the actions agreed since (not in its pack), and those closed since (open then)."""
    if previous is None:
        return '<p class="changes muted">No earlier board pack was published: nothing to compare with.</p>'
    before = {a["id"]: a for a in previous.get("actions", []) if a["kpi"] == kpi}
    new = [a for a in actions if a["id"] not in before]
    closed = [a for a in actions if a["status"] != "open" and before.get(a["id"], {}).get("status") == "open"]
    words = [f"{len(new)} new" + (": " + "; ".join(f"No. {a['id']} {escape(a['what'][:80])}" for a in new) if new else ""),
             f"{len(closed)} closed" + (": " + "; ".join(f"No. {a['id']} {a['status']}" for a in closed) if closed else "")]
    return (f'<p class="changes"><strong>Since the board of {escape(previous["board_date"])}:</strong> '
            f'{". ".join(words)}.</p>')


def board_html(kpi: str, analysis: dict[str, dict[str, Any]], by_kpi: dict[str, list[dict[str, Any]]],
               previous: dict[str, Any] | None) -> str:
    """A KPI's part of the board's loop in its book section."""
    actions = by_kpi.get(kpi, [])
    # closed since the last board: open in its pack, or agreed since (the rule changes_since says it by)
    before = {a["id"]: a["status"] for a in previous.get("actions", [])} if previous is not None else {}
    shown = [a for a in actions if a["status"] == "open" or before.get(a["id"], "open") == "open"]
    table = actions_table(shown, "Actions agreed for the trust's figure: open ones, and those closed since the last "
                          "board") or '<p class="muted">No actions agreed for this KPI.</p>'
    return (f"{analysis_block(analysis.get(kpi))}<h3>Actions</h3>{table}{changes_since(actions, previous, kpi)}")


def overdue_html(actions: list[dict[str, Any]], titles: dict[str, str]) -> str:
    """The cover's list of overdue actions (open and past their due date)."""
    late = [a for a in actions if a.get("overdue")]
    if not late:
        return "<p><strong>Overdue actions:</strong> none.</p>"
    return "<h2>Overdue actions</h2>" + actions_table(late, f"{len(late)} open action(s) past their due date", titles)
