"""Charts: tiny SVG sparklines (an <img> with alt text: light, printable, no script) and the Trends
page's Plotly lines with the target, RAG bands and the national comparator."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from html import escape
from typing import Any

import plotly.graph_objects as go

INK = "#1d2731"
BRAND = "#1f5f8b"
RAG_FILL = {"green": "rgba(0,112,60,0.10)", "amber": "rgba(180,110,0,0.12)", "red": "rgba(190,30,45,0.10)"}


def _points(values: Sequence[float | None], width: float, height: float, pad: float,
            low: float | None = None, high: float | None = None) -> tuple[list[tuple[float, float] | None], float, float]:
    known = [v for v in values if v is not None]
    lo = min(known + ([low] if low is not None else [])) if known else 0.0
    hi = max(known + ([high] if high is not None else [])) if known else 1.0
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    step = (width - 2 * pad) / max(1, len(values) - 1)
    pts = [None if v is None else (pad + i * step, height - pad - (v - lo) / (hi - lo) * (height - 2 * pad))
           for i, v in enumerate(values)]
    return pts, lo, hi


def _path(pts: list[tuple[float, float] | None]) -> str:
    out, pen = [], "M"
    for p in pts:
        if p is None:
            pen = "M"
            continue
        out.append(f"{pen}{p[0]:.1f},{p[1]:.1f}")
        pen = "L"
    return " ".join(out)


def sparkline_svg(values: Sequence[float | None], width: int = 160, height: int = 36) -> str:
    """A 30-day line as SVG text; the last point marked."""
    pts, _, _ = _points(values, width, height, 3)
    last = next((p for p in reversed(pts) if p is not None), None)
    dot = f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2.6" fill="{BRAND}"/>' if last else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<path d="{_path(pts)}" fill="none" stroke="{BRAND}" stroke-width="1.8"/>{dot}</svg>')


def month_to_date(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Daily rows of a flow rate as the tile reads it: each day's value month to date (the month's numerator
    and denominator so far, both additive over days), so the sparkline ends on the tile's figure and does
    not jump about on single days' few events. A day with no cases so far this month has no value."""
    out, month, num, den = [], None, 0.0, 0.0
    for r in rows:
        if r["period_start"][:7] != month:
            month, num, den = r["period_start"][:7], 0.0, 0.0
        num += r.get("numerator") or 0
        den += r.get("denominator") or 0
        out.append({**r, "numerator": num, "denominator": den, "value": 100 * num / den if den else None})
    return out


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def sparkline_alt(title: str, values: Sequence[float | None], days: Sequence[str]) -> str:
    """The text alternative: what the line shows, in words."""
    known = [(d, v) for d, v in zip(days, values) if v is not None]
    if not known:
        return f"{title}: no daily figures in the last {len(values)} days."
    lo, hi = min(v for _, v in known), max(v for _, v in known)
    return (f"{title}, daily for the last {len(values)} days: from {known[0][1]:.4g} on {known[0][0]} to "
            f"{known[-1][1]:.4g} on {known[-1][0]}; lowest {lo:.4g}, highest {hi:.4g}.")


def rag_bands(target: float | None, tolerance: float | None, polarity: str | None, lo: float, hi: float
              ) -> list[tuple[str, float, float]]:
    """(rag, from, to) bands over [lo, hi] for a KPI with a target: green beyond the target, amber within
    the tolerance, red further."""
    if target is None or polarity is None:
        return []
    tol = tolerance or 0.0
    if polarity == "higher":
        bands = [("green", target, max(hi, target)), ("amber", target - tol, target), ("red", min(lo, target - tol), target - tol)]
    else:
        bands = [("green", min(lo, target), target), ("amber", target, target + tol), ("red", target + tol, max(hi, target + tol))]
    return [(rag, a, b) for rag, a, b in bands if b > a]


def trend_figure(rows: list[dict[str, Any]], definition: dict[str, Any], height: int = 260,
                 series: str = "value") -> go.Figure:
    """24 months of one KPI: the line, the target (dashed), RAG bands and the national comparator."""
    x = [r["period_start"][:7] for r in rows]
    y = [r[series] for r in rows]
    known = [v for v in y if v is not None]
    target, comparator = definition.get("target"), definition.get("national_comparator")
    extra = [v for v in (target, comparator) if v is not None]
    lo, hi = min(known + extra, default=0.0), max(known + extra, default=1.0)
    span = (hi - lo) or 1.0
    lo, hi = lo - span * 0.1, hi + span * 0.1
    if definition.get("unit_of_measure") == "%":
        lo, hi = max(lo, 0.0), min(hi, 100.0)
    elif lo < 0 <= min(known, default=0):
        lo = 0.0
    fig = go.Figure()
    for rag, a, b in rag_bands(target, definition.get("tolerance"), definition.get("polarity"), lo, hi):
        fig.add_hrect(y0=max(a, lo), y1=min(b, hi), fillcolor=RAG_FILL[rag], line_width=0, layer="below")
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=definition.get("title", "value"),
                             line={"color": BRAND, "width": 2.5}, marker={"size": 5},
                             hovertemplate="%{x}: %{y:.1f}<extra></extra>"))
    if target is not None:
        fig.add_trace(go.Scatter(x=x, y=[target] * len(x), mode="lines", name=f"Target {target:g}",
                                 line={"color": INK, "dash": "dash", "width": 1.5}, hoverinfo="skip"))
    if comparator is not None:
        fig.add_trace(go.Scatter(x=x, y=[comparator] * len(x), mode="lines", name=f"England {comparator:g}",
                                 line={"color": "#6b3fa0", "dash": "dot", "width": 1.5}, hoverinfo="skip"))
    fig.update_layout(height=height, margin={"l": 40, "r": 10, "t": 10, "b": 30}, paper_bgcolor="white",
                      plot_bgcolor="white", font={"family": "system-ui, sans-serif", "size": 12, "color": INK},
                      legend={"orientation": "h", "y": -0.18, "x": 0}, showlegend=True)
    fig.update_yaxes(range=[lo, hi], gridcolor="#e3e7eb", zeroline=False)
    fig.update_xaxes(gridcolor="#f0f2f4")
    return fig


def trend_alt(definition: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """A chart's text alternative: first and last month, target and comparator."""
    known = [(r["period_start"][:7], r["value"]) for r in rows if r["value"] is not None]
    title = definition.get("title", definition.get("id", ""))
    if not known:
        return f"{title}: no figures in these months."
    parts = [f"{title} by month from {known[0][0]} ({known[0][1]:.4g}) to {known[-1][0]} ({known[-1][1]:.4g})"]
    if definition.get("target") is not None:
        parts.append(f"target {definition['target']:g}")
    if definition.get("national_comparator") is not None:
        parts.append(f"England {definition['national_comparator']:g}")
    return "; ".join(parts) + "."


def line_chart_svg(rows: list[dict[str, Any]], definition: dict[str, Any], width: int = 640, height: int = 200) -> str:
    """The performance book's chart: the line, the target and comparator, labelled axes, as plain SVG
    (prints the same in every browser, needs no script)."""
    values = [r["value"] for r in rows]
    target, comparator = definition.get("target"), definition.get("national_comparator")
    extra = [v for v in (target, comparator) if v is not None]
    pad_l, pad = 48, 22
    inner_w = width - pad_l - 10
    known = [v for v in values if v is not None]
    lo = min(known + extra, default=0.0)
    hi = max(known + extra, default=1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    lo = min(lo, 0.0) if lo >= 0 and lo < (hi - lo) else lo

    def y(v: float) -> float:
        return height - pad - (v - lo) / (hi - lo) * (height - 2 * pad)

    step = inner_w / max(1, len(values) - 1)
    pts = [None if v is None else (pad_l + i * step, y(v)) for i, v in enumerate(values)]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{escape(trend_alt(definition, rows))}">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>']
    for frac in (0, 0.5, 1):
        v = lo + (hi - lo) * frac
        parts.append(f'<line x1="{pad_l}" x2="{width - 10}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#dde2e6"/>'
                     f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end" fill="{INK}">{v:.3g}</text>')
    for v, colour, dash, name in ((target, INK, "6 4", "target"), (comparator, "#6b3fa0", "2 3", "England")):
        if v is not None:
            parts.append(f'<line x1="{pad_l}" x2="{width - 10}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{colour}" '
                         f'stroke-dasharray="{dash}"/><text x="{width - 12}" y="{y(v) - 4:.1f}" font-size="10" '
                         f'text-anchor="end" fill="{colour}">{name} {v:g}</text>')
    parts.append(f'<path d="{_path(pts)}" fill="none" stroke="{BRAND}" stroke-width="2.2"/>')
    for i, r in enumerate(rows):
        if i % 3 == 0 or i == len(rows) - 1:
            label = dt.date.fromisoformat(r["period_start"]).strftime("%b %y")
            parts.append(f'<text x="{pad_l + i * step:.1f}" y="{height - 5}" font-size="10" text-anchor="middle" '
                         f'fill="{INK}">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)
