"""The board's loop on the dashboard's pages: the overdue actions (Today: those you own or oversee; Team:
the team's) and the link from a figure to its analysis and actions (the Board page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from dash import dcc, html

from dashboard.api_client import ApiClient, ApiProblem


def board_href(kpi: str, scope: str = "trust", period: str | None = None) -> str:
    """The Board page for a KPI, a scope ('trust', 'service:NAME', 'team:ID') and a month."""
    return "/board?" + urlencode({k: v for k, v in (("kpi", kpi), ("scope", scope), ("period", period)) if v})


def board_link(kpi: str, scope: str = "trust", period: str | None = None) -> dcc.Link:
    return dcc.Link("Analysis and actions", href=board_href(kpi, scope, period), className="board-link")


def _scope_of(action: dict[str, Any]) -> str:
    return "trust" if action["level"] == "trust" else f"{action['level']}:{action['unit']}"


def overdue_panel(api: ApiClient, element_id: str, heading: str, **filters: Any) -> html.Section | None:
    """Open actions past their due date, as a list linking to each one's figure (None when there are none);
    a refusal or failure says so in place of the list."""
    try:
        late = api.actions(overdue=True, **filters)
    except ApiProblem as exc:
        return html.Section(className="card overdue-actions", id=element_id,
                            children=[html.H2(heading), html.P(exc.message, className="state state-error")])
    if not late:
        return None
    titles = {}
    try:
        titles = {d["id"]: d["title"] for d in api.definitions()}
    except ApiProblem:
        pass
    items = [html.Li([html.Strong(f"Overdue since {a['due_date']}: "), f"{a['what']} ",
                      html.Span(f"(owner {a['owner']}; {titles.get(a['kpi'], a['kpi'])}, "
                                f"{'the trust' if a['level'] == 'trust' else a['unit']}) ", className="muted"),
                      dcc.Link(f"Action {a['id']}", href=board_href(a["kpi"], _scope_of(a), a.get("period")))],
                     className="overdue-action")
             for a in late]
    return html.Section(className="card overdue-actions", id=element_id, role="region",
                        **{"aria-label": heading}, children=[html.H2(f"{heading} ({len(late)})"), html.Ul(items)])
