"""The "Making Data Count" variation and assurance icons as small SVGs, each shown with its words and a
text alternative giving its plain-English meaning, never by colour alone.

Colours follow the NHS convention (blue improvement, orange concern, purple neither, grey common cause
or hit and miss), darkened to at least 3:1 against white; the letters (H/L for a high or low signal,
P/F/? for pass, fail and hit and miss) and the words beside every icon carry the same meaning.
"""

from __future__ import annotations

from html import escape
from typing import Any

from dash import html

from dashboard.components.charts import svg_data_uri
from dashboard.components.spc_words import (ASSURANCE_TITLES, VARIATION_TITLES, assurance_meaning, last_side,
                                            variation_meaning)

IMPROVEMENT = "#1f5f8b"
CONCERN = "#b35300"
NEITHER = "#6b3fa0"
COMMON = "#5c6670"
CAUSE_COLOURS = {"improvement": IMPROVEMENT, "concern": CONCERN, "neither": NEITHER, None: COMMON}
_VARIATION_COLOURS = {"special_cause_improvement": IMPROVEMENT, "special_cause_concern": CONCERN,
                      "special_cause_neither": NEITHER, "common_cause": COMMON, None: "#9aa3ab"}
_ASSURANCE = {"pass": (IMPROVEMENT, "P"), "fail": (CONCERN, "F"), "hit_and_miss": (COMMON, "?"), None: ("#9aa3ab", "–")}


def _frame(colour: str, inner: str, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40" role="img" '
            f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
            f'<circle cx="20" cy="20" r="17.5" fill="white" stroke="{colour}" stroke-width="3"/>{inner}</svg>')


def variation_svg(variation: str | None, side: str | None, label: str = "") -> str:
    """The variation icon: a run of dots, level for common cause, rising or falling (with H or L) for a
    special cause."""
    colour = _VARIATION_COLOURS.get(variation, COMMON)
    if variation in (None, "common_cause"):
        ys = (23, 20, 24, 21, 22) if variation else (22, 22, 22, 22, 22)
        dots = "".join(f'<circle cx="{9 + 5.5 * i:.1f}" cy="{y}" r="2.2" fill="{colour}"/>' for i, y in enumerate(ys))
        return _frame(colour, dots, label or VARIATION_TITLES[variation])
    up = side != "down"
    ys = (28, 26, 24, 22, 20) if up else (18, 20, 22, 24, 26)
    dots = "".join(f'<circle cx="{9 + 5.5 * i:.1f}" cy="{y}" r="2.2" fill="{COMMON if i < 2 else colour}"/>'
                   for i, y in enumerate(ys))
    letter = (f'<text x="20" y="{14 if up else 35}" font-size="10" font-weight="700" text-anchor="middle" '
              f'fill="{colour}" font-family="Arial, sans-serif">{"H" if up else "L"}</text>')
    return _frame(colour, dots + letter, label or VARIATION_TITLES[variation])


def assurance_svg(assurance: str | None, label: str = "") -> str:
    """The assurance icon: P (passes), F (fails) or ? (hit and miss) in a ring."""
    colour, letter = _ASSURANCE.get(assurance, _ASSURANCE[None])
    inner = (f'<text x="20" y="26.5" font-size="18" font-weight="700" text-anchor="middle" fill="{colour}" '
             f'font-family="Arial, sans-serif">{letter}</text>')
    return _frame(colour, inner, label or ASSURANCE_TITLES.get(assurance, ""))


def variation_badge(chart: dict[str, Any], by: str | None = None, size: int = 32) -> html.Span:
    """The variation icon with its title beside it and its full meaning as the text alternative."""
    variation = chart.get("variation")
    meaning = variation_meaning(chart, by)
    return html.Span(className=f"spc-badge variation-{variation or 'none'}", title=meaning, children=[
        html.Img(src=svg_data_uri(variation_svg(variation, last_side(chart), meaning)), alt=meaning, width=size,
                 height=size, className="spc-icon"),
        html.Span(VARIATION_TITLES[variation], className="spc-badge-text"),
    ])


def assurance_badge(chart: dict[str, Any], unit_of_measure: str | None = None, size: int = 32) -> html.Span:
    """The assurance icon with its title beside it and its full meaning as the text alternative."""
    assurance = chart.get("assurance")
    meaning = assurance_meaning(chart, unit_of_measure)
    return html.Span(className=f"spc-badge assurance-{assurance or 'none'}", title=meaning, children=[
        html.Img(src=svg_data_uri(assurance_svg(assurance, meaning)), alt=meaning, width=size, height=size,
                 className="spc-icon"),
        html.Span(ASSURANCE_TITLES[assurance], className="spc-badge-text"),
    ])


def variation_html(chart: dict[str, Any], by: str | None = None) -> str:
    """The same badge as HTML text, for the book (no script, prints as it shows)."""
    meaning = variation_meaning(chart, by)
    variation = chart.get("variation")
    return (f'<span class="spc-badge">{variation_svg(variation, last_side(chart), meaning)}'
            f'<span>{escape(VARIATION_TITLES[variation])}</span></span>')


def assurance_html(chart: dict[str, Any], unit_of_measure: str | None = None) -> str:
    meaning = assurance_meaning(chart, unit_of_measure)
    assurance = chart.get("assurance")
    return (f'<span class="spc-badge">{assurance_svg(assurance, meaning)}'
            f'<span>{escape(ASSURANCE_TITLES[assurance])}</span></span>')
