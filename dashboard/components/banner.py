"""The freshness banner, on every page: green when the extract and its load are recent, amber or red (with
a word, not only a colour) when either is older than expected or a newer load failed. Times are the
trust's (Europe/London); what went wrong is said plainly, the loader's own words one click away."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dash import html

from core.settings import get_settings
from dashboard.components.formatting import freshness, rag_word

_WORD = {"green": "Up to date", "amber": "Late", "red": "Out of date"}


def freshness_banner(status: dict[str, Any], now: dt.datetime | None = None) -> html.Div:
    settings = get_settings()
    level, sentence, detail = freshness(status, now or dt.datetime.now(dt.UTC), settings.freshness_amber_hours,
                                        settings.freshness_red_hours)
    problem = status.get("warehouse_problem")
    if problem:  # an older good version is served: never "Up to date", and say why
        level = "amber" if level == "green" else level
        sentence += " The newest figures cannot be read, so an earlier copy is shown; the data team can see why."
        detail = f"{detail} {problem}" if detail else problem
    _, icon = rag_word(level)
    children: list[Any] = [html.Strong([html.Span(icon, **{"aria-hidden": "true"}), " ", _WORD[level], ": "]), sentence]
    if detail:
        children.append(html.Details([html.Summary("Technical detail (for the data team)"),
                                      html.P(detail, className="small banner-detail")], className="banner-more"))
    return html.Div(className=f"banner banner-{level}", role="status" if level == "green" else "alert",
                    id="freshness", children=children)
