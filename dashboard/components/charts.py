"""Today's tiles' sparklines: tiny SVG lines (an <img> with alt text: light, printable, no script), read
month to date for flow rates. The trend charts are SPC charts (dashboard.components.spc_chart)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from kpis.targets import format_figure

BRAND = "#1f5f8b"


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


def sparkline_alt(title: str, values: Sequence[float | None], days: Sequence[str],
                  unit_of_measure: str | None = None) -> str:
    """The text alternative: what the line shows, in words, each value as the tile shows it (format_figure:
    half up to its unit's decimals), so a screen reader hears the tile's 81.3%, not 81.25."""
    known = [(d, v) for d, v in zip(days, values) if v is not None]
    if not known:
        return f"{title}: no daily figures in the last {len(values)} days."
    lo, hi = min(v for _, v in known), max(v for _, v in known)

    def shown(v: float) -> str:
        return format_figure(v, unit_of_measure)

    return (f"{title}, daily for the last {len(values)} days: from {shown(known[0][1])} on {known[0][0]} to "
            f"{shown(known[-1][1])} on {known[-1][0]}; lowest {shown(lo)}, highest {shown(hi)}.")
