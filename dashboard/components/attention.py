"""Today's "what needs attention": a short list ranked by severity, from the weekly SPC charts.

First the scope's own series showing special cause of concern, then its KPIs failing assurance, then
the teams within the scope whose own series show special cause of concern. Within a group the most
telling signal first (a trend, then a shift, a point outside the limits, 2 of 3 near a limit; longer
runs first), then the KPIs in the registry's order. Each line links to the chart that shows it and, where
the role allows, to the children behind the figure.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dash import dcc, html

from dashboard.components.formatting import format_value
from dashboard.components.records_drawer import open_button
from dashboard.components.spc_chart import anchor
from dashboard.components.spc_words import headline, reason, signal

MAX_LINES = 8
_RULE_RANK = {"trend": 0, "shift": 1, "outside": 2, "two_of_three": 3}


def where(level: str, unit: str, team_names: dict[str, str]) -> str:
    if level == "trust":
        return "across the trust"
    if level == "service":
        return f"in {unit}"
    if unit == "UNKNOWN":
        return "in records with no known team"
    name = team_names.get(unit)
    return f"in Team {unit}" + (f" ({name})" if name else "")


def chart_link(kpi: str, level: str, unit: str, by: str) -> str | None:
    """The page and anchor of the chart that shows the series (None for records of no known team,
    which no page charts)."""
    if unit == "UNKNOWN":
        return None
    if level == "team":
        return f"/team?team={quote(unit)}#spc-{kpi}"
    if level == "service":
        return f"/trends?by={by}&kpi={kpi}#{anchor('service', unit)}"
    return f"/trends?by={by}#trend-{kpi}"


def attention_items(own: list[dict[str, Any]], teams: list[dict[str, Any]], definitions: list[dict[str, Any]],
                    team_names: dict[str, str], in_scope: set[str] | None = None) -> list[dict[str, Any]]:
    """The ranked lines: own (the scope's charts), teams (team charts; only units in in_scope, when given)."""
    order = {d["id"]: i for i, d in enumerate(definitions)}
    titles = {d["id"]: d["title"] for d in definitions}
    uoms = {d["id"]: d.get("unit_of_measure") for d in definitions}
    items = []
    for group, charts in ((0, own), (2, teams)):
        for c in charts:
            if c["variation"] != "special_cause_concern" or c["kpi"] not in order or "domain" in c:
                continue  # an audit domain's series is read on the QA page, not here
            if group == 2 and (in_scope is not None and c["unit"] not in in_scope or
                               any(o["level"] == "team" and o["unit"] == c["unit"] for o in own)):
                continue
            sig = signal(c) or {"rule": "two_of_three", "length": 0}
            items.append({"rank": (group, _RULE_RANK[sig["rule"]], -sig["length"], order[c["kpi"]], c["unit"]),
                          "kind": "concern", "kpi": c["kpi"], "level": c["level"], "unit": c["unit"],
                          "text": f"{titles[c['kpi']]}: {headline(c)} {where(c['level'], c['unit'], team_names)}",
                          "detail": f"Special cause of concern: {reason(c)}.", "by": c["by"]})
    for c in own:
        if c["assurance"] == "fail" and c["kpi"] in order and "domain" not in c:
            target = format_value(c["target"], uoms[c["kpi"]])
            side = "below" if c["better"] == "higher" else "above"
            items.append({"rank": (1, 0, 0, order[c["kpi"]], c["unit"]), "kind": "assurance", "kpi": c["kpi"],
                          "level": c["level"], "unit": c["unit"], "by": c["by"],
                          "text": f"{titles[c['kpi']]}: fails its target of {target} "
                                  f"{where(c['level'], c['unit'], team_names)}",
                          "detail": f"All of its usual variation is {side} the target: it will not be met without a "
                                    "change in how the work is done."})
    return sorted(items, key=lambda i: i["rank"])


def attention_list(items: list[dict[str, Any]], may_open: Any, periods: int) -> html.Section:
    """The list as shown above Today's tiles. may_open(level, unit): whether to offer the children."""
    if not items:
        return html.Section(className="attention attention-clear", id="attention", children=[
            html.H2("What needs attention"),
            # not "nothing stands out": a tile below may still be off target today (a dashboard audit read it
            # in green above two "Off target" tiles); this list reads the weekly charts' signals only
            html.P(f"No signal in the weekly charts of the last {periods} weeks: no special cause of concern, and "
                   "no KPI whose usual variation misses its target. A figure off target today is marked on its "
                   "tile below."),
        ])
    shown = items[:MAX_LINES]
    lines = []
    for i, item in enumerate(shown):
        href = chart_link(item["kpi"], item["level"], item["unit"], item["by"])
        links = [dcc.Link("See the chart", href=href, className="attention-chart")] if href else []
        if may_open(item["level"], item["unit"]):
            links.append(open_button(item["kpi"], item["level"], item["unit"], "Show the children",
                                     kind="attention-records", about=item["text"]))
        lines.append(html.Li(id=f"attention-{i}", className=f"attention-{item['kind']}", children=[
            html.Strong(item["text"]), html.Span(links, className="links"),
            html.Div(item["detail"], className="muted small"),
        ]))
    more = len(items) - len(shown)
    return html.Section(className="attention", id="attention", children=[
        html.H2("What needs attention"),
        html.Ol(lines),
        html.P(f"And {more} more, less severe: see each team's weekly charts on Team.", className="muted small")
        if more else None,
    ])
