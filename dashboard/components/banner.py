"""The freshness banner: green when the last good load is recent, amber or red (with a word, not
only a colour) when it is older than expected or a newer load failed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dash import html

from core.settings import get_settings
from dashboard.components.formatting import freshness, rag_word

_WORD = {"green": "Up to date", "amber": "Late", "red": "Out of date"}


def freshness_banner(status: dict[str, Any], now: dt.datetime | None = None) -> html.Div:
    settings = get_settings()
    level, sentence = freshness(status, now or dt.datetime.now(dt.UTC), settings.freshness_amber_hours,
                                settings.freshness_red_hours)
    problem = status.get("warehouse_problem")
    if problem:  # an older good version is served: never "Up to date", and say why
        level, sentence = ("amber" if level == "green" else level), f"{sentence} {problem}"
    _, icon = rag_word(level)
    return html.Div(className=f"banner banner-{level}", role="status" if level == "green" else "alert",
                    id="freshness", children=[html.Strong([html.Span(icon, **{"aria-hidden": "true"}), " ",
                                                           _WORD[level], ": "]), sentence])
