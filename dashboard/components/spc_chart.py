"""XmR charts ("Making Data Count") drawn as SVG on the server from the API's SPC JSON: the values, the
average and the limits of each segment, the target, special-cause points told apart by shape as well as
colour (and named in each point's title and in the table), and the partial current period drawn hollow,
outside the calculation.

One drawing serves the dashboard (Trends, Team: inline SVG through dashboard/assets/html_host.js, since
Dash has no SVG components; no plotting bundle to load) and the printable book (the same SVG inline)."""

from __future__ import annotations

import datetime as dt
import math
import re
from html import escape
from typing import Any

from dash import html

from dashboard.components.formatting import format_value
from dashboard.components.spc_icons import CAUSE_COLOURS, assurance_badge, variation_badge
from dashboard.components.spc_words import VARIATION_TITLES, period_label, reason

INK = "#1d2731"
LINE = "#4a5560"
LIMIT = "#5c6670"
TARGET = "#8a1538"
SHAPES = {"improvement": "diamond", "concern": "square", "neither": "triangle", None: "circle"}
CAUSE_WORDS = {"improvement": "special cause of improvement", "concern": "special cause of concern",
               "neither": "special cause (neither better nor worse)", None: "common cause"}
LEGEND = (("improvement", "◆", "Improvement"), ("concern", "■", "Concern"), ("neither", "▲", "Special cause, neither"),
          (None, "●", "Common cause"))
RULE_WORDS = {"outside": "outside the limits", "two_of_three": "2 of 3 near a limit", "shift": "shift", "trend": "trend"}


def anchor(prefix: str, name: str) -> str:
    """An element id (and link anchor) for a named thing: letters, digits, - and _ only."""
    return f"{prefix}-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _position(start: str, by: str) -> int:
    day = dt.date.fromisoformat(start)
    return day.year * 12 + day.month - 1 if by == "month" else day.toordinal() // 7


def nice_ticks(lo: float, hi: float, count: int = 4, whole: bool = False) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten; whole numbers only
    (steps of at least 1) for an axis of counts, which never reads "2.5 children"."""
    span = hi - lo if hi > lo else 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0) if whole else step
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _marker(cause: str | None, x: float, y: float, title: str, size: float) -> str:
    colour = CAUSE_COLOURS[cause]
    shape = SHAPES[cause]
    attrs = f'class="point" data-cause="{cause or "common"}" data-shape="{shape}" fill="{colour}"'
    if shape == "circle":
        body = f'<circle {attrs} cx="{x:.1f}" cy="{y:.1f}" r="{size * 0.55:.1f}">'
        end = "</circle>"
    else:
        s = size
        if shape == "diamond":
            d = f"M{x:.1f},{y - s:.1f} L{x + s:.1f},{y:.1f} L{x:.1f},{y + s:.1f} L{x - s:.1f},{y:.1f} Z"
        elif shape == "square":
            d = f"M{x - s * .8:.1f},{y - s * .8:.1f} h{s * 1.6:.1f} v{s * 1.6:.1f} h{-s * 1.6:.1f} Z"
        else:
            d = f"M{x:.1f},{y - s:.1f} L{x + s:.1f},{y + s * .8:.1f} L{x - s:.1f},{y + s * .8:.1f} Z"
        body = f'<path {attrs} d="{d}" stroke="white" stroke-width="1">'
        end = "</path>"
    return f"{body}<title>{escape(title)}</title>{end}"


def _rules(point: dict[str, Any]) -> str:
    return ", ".join(words for key, words in RULE_WORDS.items() if point[key])


def _apart(labels: list[tuple[str, float]], bottom: float, gap: float = 11.0) -> list[tuple[str, float]]:
    """Labels (top to bottom) moved down just enough to be `gap` pixels apart, and all up again as far as the
    last would pass `bottom`: a flat line (no variation) put "Upper limit", "Average" and "Lower limit" on
    one another."""
    placed: list[tuple[str, float]] = []
    for words, at in labels:
        placed.append((words, max(at, placed[-1][1] + gap) if placed else at))
    over = max(0.0, placed[-1][1] - bottom) if placed else 0.0
    return [(words, at - over) for words, at in placed]


def xmr_svg(chart: dict[str, Any], definition: dict[str, Any], partial: dict[str, Any] | None = None,
            width: int = 640, height: int = 230) -> str:
    """The chart as SVG text (role img, its text alternative as its title)."""
    by = chart.get("by", "month")
    uom = definition.get("unit_of_measure")
    points = chart.get("points") or []
    shown = points + ([partial] if partial and partial.get("value") is not None else [])
    alt = chart_alt(chart, definition, partial)
    title_id = re.sub(r"[^A-Za-z0-9_-]", "_", f"xmr-{chart['kpi']}-{chart['level']}-{chart['unit']}-{by}")
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
            f'class="xmr" aria-labelledby="{title_id}"><title id="{title_id}">{escape(alt)}</title>'
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>')
    if not shown:
        return (head + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="13" fill="{INK}">'
                "No figures in these periods</text></svg>")
    pad_r, pad_t, pad_b = 64, 12, 26
    target = chart.get("target")
    ceiling = 100.0 if uom == "%" else None

    def bounded(v: float) -> float:
        """A limit within what the measure can be: every KPI is 0 or more, a percentage at most 100 (a dashboard
        audit saw counts' axes at -2 and rates' at 200%); the line is drawn at the bound it passes."""
        return max(0.0, v if ceiling is None else min(ceiling, v))

    numbers = [p["value"] for p in shown]
    numbers += [bounded(p[k]) for p in points for k in ("lower_limit", "upper_limit") if p[k] is not None]
    numbers += [target] if target is not None else []
    lo, hi = min(numbers), max(numbers)
    span = hi - lo or max(abs(hi), 1.0)
    lo, hi = max(0.0, lo - span * 0.08) if lo >= 0 else lo - span * 0.08, hi + span * 0.08
    if ceiling is not None and max(numbers) <= ceiling:
        hi = min(hi, ceiling)  # still above lo: the padded span is never 0, and a clamp keeps max(numbers) inside
    first = _position(shown[0]["period_start"], by)
    last = _position(shown[-1]["period_start"], by)
    steps = max(1, last - first)
    inner_h = height - pad_t - pad_b

    ticks = nice_ticks(lo, hi, whole=uom == "count")
    pad_l = max(50, 12 + 7 * max(len(_tick(t, uom)) for t in ticks))  # the longest label fits, never clipped
    inner_w = width - pad_l - pad_r

    def x(p: dict[str, Any]) -> float:
        return pad_l + (_position(p["period_start"], by) - first) / steps * inner_w

    def y(v: float) -> float:
        return pad_t + (hi - v) / (hi - lo) * inner_h

    parts = [head]
    for tick in ticks:
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e3e7eb"/>'
                     f'<text x="{pad_l - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" fill="{INK}">'
                     f'{escape(_tick(tick, uom))}</text>')
    # the average and limits of each segment (a rebase starts a new one)
    segment: list[dict[str, Any]] = []
    last_with_limits = max((i for i, p in enumerate(points) if p["mean"] is not None), default=-1)
    for i, p in enumerate(points + [None]):
        if p is not None and p["mean"] is not None and (not segment or segment[0]["mean"] == p["mean"]
                                                        and segment[0]["upper_limit"] == p["upper_limit"]):
            segment.append(p)
            continue
        if segment:
            x0, x1 = x(segment[0]), x(segment[-1])
            s0 = segment[0]
            for key, dash, widthpx in (("mean", "", 1.6), ("upper_limit", "6 4", 1.2), ("lower_limit", "6 4", 1.2)):
                dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
                at = y(bounded(s0[key]))
                parts.append(f'<line class="{key.replace("_", "-")}" x1="{x0:.1f}" x2="{x1:.1f}" y1="{at:.1f}" '
                             f'y2="{at:.1f}" stroke="{INK if key == "mean" else LIMIT}" '
                             f'stroke-width="{widthpx}"{dash_attr}/>')
            if i > last_with_limits:  # label the last segment with limits at the right, never one over another
                for words, at in _apart([("Upper limit", y(bounded(s0["upper_limit"]))), ("Average", y(s0["mean"])),
                                         ("Lower limit", y(bounded(s0["lower_limit"])))], pad_t + inner_h):
                    parts.append(f'<text x="{width - pad_r + 4}" y="{at + 4:.1f}" font-size="10" '
                                 f'fill="{INK}">{words}</text>')
        segment = [p] if p is not None and p["mean"] is not None else []
    if target is not None:
        parts.append(f'<line class="target" x1="{pad_l}" x2="{width - pad_r}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
                     f'stroke="{TARGET}" stroke-width="1.6" stroke-dasharray="2 3"/>'
                     f'<text x="{pad_l + 4}" y="{y(target) - 4:.1f}" font-size="10" fill="{TARGET}">'
                     f'Target {escape(format_value(target, uom))}</text>')
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(p):.1f},{y(p['value']):.1f}" for i, p in enumerate(points))
    if path:
        parts.append(f'<path d="{path}" fill="none" stroke="{LINE}" stroke-width="1.8"/>')
    if partial and partial.get("value") is not None:
        px, py = x(partial), y(partial["value"])
        if points:
            parts.append(f'<path d="M{x(points[-1]):.1f},{y(points[-1]["value"]):.1f} L{px:.1f},{py:.1f}" '
                         f'stroke="{LINE}" stroke-width="1.5" stroke-dasharray="2 3" fill="none"/>')
        title = (f"{period_label(partial['period_start'], by)} so far (to {partial['period_end']}): "
                 f"{format_value(partial['value'], uom)}; partial, not in the calculation")
        parts.append(f'<circle class="point partial" data-cause="partial" cx="{px:.1f}" cy="{py:.1f}" r="4.5" '
                     f'fill="white" stroke="{LINE}" stroke-width="2"><title>{escape(title)}</title></circle>')
    for p in points:
        cause = p["special_cause"]
        title = f"{period_label(p['period_start'], by)}: {format_value(p['value'], uom)}, {CAUSE_WORDS[cause]}"
        if cause:
            title += f" ({_rules(p)})"
        parts.append(_marker(cause, x(p), y(p["value"]), title, 6.5 if cause else 6.0))
    every = max(1, math.ceil((steps + 1) / 8))
    for p in shown:
        i = _position(p["period_start"], by) - first
        if i % every == 0 or p is shown[-1] and (steps - i) >= every / 2:
            label = dt.date.fromisoformat(p["period_start"]).strftime("%b %y" if by == "month" else "%-d %b")
            parts.append(f'<text x="{x(p):.1f}" y="{height - 8}" font-size="10" text-anchor="middle" fill="{INK}">'
                         f'{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _tick(value: float, uom: str | None) -> str:
    """An axis label in plain numbers: 1,200 (never 1.2e+03 or 1.2k), 97.5%."""
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.10g}"
    return text + ("%" if uom == "%" else "")


def chart_alt(chart: dict[str, Any], definition: dict[str, Any], partial: dict[str, Any] | None = None) -> str:
    """The chart in words: span, latest value, average and limits, the signal and the target."""
    by = chart.get("by", "month")
    uom = definition.get("unit_of_measure")
    title = definition.get("title") or chart["kpi"]
    points = chart.get("points") or []
    if not points:
        return f"{title}: no figures by {by} in these periods."
    last = points[-1]
    parts = [f"{title} by {by}, {period_label(points[0]['period_start'], by)} to {period_label(last['period_start'], by)}: "
             f"latest {format_value(last['value'], uom)}"]
    if last["mean"] is not None:
        trial = ", trial limits" if chart.get("trial_limits") else ""
        parts.append(f"average {format_value(last['mean'], uom)}, usual range {format_value(last['lower_limit'], uom)} "
                     f"to {format_value(last['upper_limit'], uom)}{trial}")
    parts.append(VARIATION_TITLES[chart.get("variation")] + (f": {reason(chart)}" if reason(chart) else ""))
    marked = [p for p in points if p["special_cause"]]
    if marked:
        parts.append(f"{len(marked)} special-cause point{'s' if len(marked) > 1 else ''} marked")
    if chart.get("target") is not None:
        parts.append(f"target {format_value(chart['target'], uom)}")
    if partial and partial.get("value") is not None:
        parts.append(f"{period_label(partial['period_start'], by)} so far {format_value(partial['value'], uom)} "
                     "(partial, not in the calculation)")
    return "; ".join(parts) + "."


def legend_html(chart: dict[str, Any], partial: dict[str, Any] | None) -> str:
    """What the marks mean, in words beside each shape (the shapes themselves are hidden from screen readers)."""
    points = chart.get("points") or []
    causes = {p["special_cause"] for p in points}
    items = [(f"glyph glyph-{cause or 'common'}", glyph, words) for cause, glyph, words in LEGEND if cause in causes]
    if any(p["mean"] is not None for p in points):
        items += [("glyph", "—", "Average"), ("glyph", "- -", "Limits")]
    if chart.get("target") is not None:
        items.append(("glyph glyph-target", "···", "Target"))
    if partial and partial.get("value") is not None:
        items.append(("glyph", "○", "So far this period (not in the calculation)"))
    return '<ul class="spc-legend">' + "".join(
        f'<li><span class="{cls}" aria-hidden="true">{glyph}</span> {words}</li>' for cls, glyph, words in items) + "</ul>"


def table_html(chart: dict[str, Any], definition: dict[str, Any]) -> str:
    """The chart's figures as a table, each point's signal in words."""
    uom = definition.get("unit_of_measure")
    by = chart.get("by", "month")

    def limit(p: dict[str, Any], key: str) -> str:
        return escape(format_value(p[key], uom)) if p["mean"] is not None else "–"

    rows = "".join(
        f'<tr><th scope="row">{escape(period_label(p["period_start"], by))}</th>'
        f'<td class="num">{escape(format_value(p["value"], uom))}</td><td class="num">{limit(p, "mean")}</td>'
        f'<td class="num">{limit(p, "lower_limit")}</td><td class="num">{limit(p, "upper_limit")}</td>'
        f'<td class="cause cause-{p["special_cause"] or "common"}">{escape(CAUSE_WORDS[p["special_cause"]])}'
        f'{escape(f" ({_rules(p)})") if p["special_cause"] else ""}</td></tr>'
        for p in chart.get("points") or [])
    heads = "".join(f'<th scope="col">{h}</th>' for h in (by.capitalize(), "Value", "Average", "Lower limit",
                                                           "Upper limit", "Signal"))
    return (f'<details><summary>The figures as a table</summary><table class="table small"><thead><tr>{heads}</tr>'
            f"</thead><tbody>{rows}</tbody></table></details>")


def chart_html(chart: dict[str, Any], definition: dict[str, Any], partial: dict[str, Any] | None = None,
               compact: bool = False) -> str:
    """The chart, its legend and its table as one HTML fragment: for the book as it is, for Dash pages
    through html_host (a few Dash components per chart instead of hundreds keeps pages fast)."""
    return (xmr_svg(chart, definition, partial, height=190 if compact else 230) + legend_html(chart, partial)
            + table_html(chart, definition))


def html_host(fragment: str, class_name: str = "") -> html.Div:
    """Server-built HTML (escaped where it holds data) in a Dash page: dashboard/assets/html_host.js
    draws the data-html attribute into the element, since Dash has no SVG components."""
    return html.Div(className=f"html-host {class_name}".strip(), **{"data-html": fragment})


def xmr_card(definition: dict[str, Any], chart: dict[str, Any], partial: dict[str, Any] | None = None,
             card_id: str | None = None, heading: str | None = None, compact: bool = False) -> html.Section:
    """One KPI's XmR chart with its icons, its signal in words, a legend and the figures as a table."""
    by = chart.get("by", "month")
    why = reason(chart, by)
    children: list[Any] = [
        html.H3(heading or definition.get("title") or chart["kpi"]),
        html.Div(className="spc-badges", children=[variation_badge(chart, by),
                                                   assurance_badge(chart, definition.get("unit_of_measure"))]),
    ]
    if why:
        children.append(html.P(f"{VARIATION_TITLES[chart['variation']]}: {why}.", className="spc-reason"))
    if chart.get("trial_limits") and chart.get("points"):
        children.append(html.P("Trial limits: fewer than 12 points, so the limits may still move.", className="muted small"))
    if definition.get("national_comparator") is not None:
        children.append(html.P(f"England: {format_value(definition['national_comparator'], definition.get('unit_of_measure'))}"
                               f" ({definition.get('comparator_note') or 'national figure'})", className="muted small"))
    children.append(html_host(chart_html(chart, definition, partial, compact), "xmr-host"))
    return html.Section(className="card chart-card xmr-card", id=card_id, children=children,
                        **{"data-kpi": chart["kpi"], "data-variation": chart.get("variation") or "none"})


def partial_bounds(by: str, as_at: dt.date) -> tuple[dt.date, dt.date] | None:
    """The current period up to as_at when it is not over (the chart draws it hollow, outside the
    calculation); None when as_at ends its month or week."""
    if by == "month":
        return None if (as_at + dt.timedelta(days=1)).day == 1 else (as_at.replace(day=1), as_at)
    return None if as_at.weekday() == 6 else (as_at - dt.timedelta(days=as_at.weekday()), as_at)


def partial_points(rows: list[dict[str, Any]], bounds: tuple[dt.date, dt.date] | None) -> dict[tuple[str, str], dict]:
    """(kpi, unit) -> the partial period's point, from the figures of that period."""
    if bounds is None:
        return {}
    start, end = (d.isoformat() for d in bounds)
    return {(r["kpi"], r["unit"]): {"period_start": start, "period_end": end, "value": r["value"]}
            for r in rows if r.get("available") is not False and r["value"] is not None}
