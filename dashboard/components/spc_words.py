"""What an SPC chart says, in plain English: the variation and assurance icons' meanings and the reason
behind a signal ("the last 7 months were all below the average"), worked out from the API's SPC JSON
(../shared/spec/spc.md) so every page and the book say the same thing."""

from __future__ import annotations

import datetime as dt
from typing import Any

PERIOD_WORDS = {"month": ("month", "months"), "week": ("week", "weeks")}

VARIATION_TITLES = {
    "common_cause": "Common cause variation",
    "special_cause_improvement": "Special cause of improvement",
    "special_cause_concern": "Special cause of concern",
    "special_cause_neither": "Special cause variation",
    None: "No variation reading",
}
ASSURANCE_TITLES = {"pass": "Passes the target", "fail": "Fails the target", "hit_and_miss": "Hit and miss",
                    None: "No assurance reading"}


def last_side(chart: dict[str, Any]) -> str | None:
    """'up' or 'down': the side of the last point as the spec judges it (its trend's direction if it
    ends a trend, else above or below the mean); None without limits or on the mean."""
    points = chart.get("points") or []
    if not points or points[-1]["mean"] is None:
        return None
    last = points[-1]
    if last["trend"] and len(points) > 1:  # the last point can only end a trend, so its last step decides
        return "up" if last["value"] > points[-2]["value"] else "down"
    if last["value"] > last["mean"]:
        return "up"
    return "down" if last["value"] < last["mean"] else None


def _run_back(points: list[dict[str, Any]], same: Any) -> int:
    """How many points, counting back from the last, satisfy same(previous, point)."""
    n = 1
    for i in range(len(points) - 1, 0, -1):
        if not same(points[i - 1], points[i]):
            break
        n += 1
    return n


def signal(chart: dict[str, Any]) -> dict[str, Any] | None:
    """The last point's signal: which rule (the most telling of those it breaks: a trend, a shift, a point
    outside the limits, 2 of 3 near a limit), its side and how many periods it spans; None when the last
    point is common cause or has no limits."""
    points = chart.get("points") or []
    if not points or points[-1]["special_cause"] is None or points[-1]["mean"] is None:
        return None
    last, side = points[-1], last_side(chart)
    # a run says more than one point: a trend, then a shift, then a point outside the limits
    if last["trend"]:
        up = side == "up"
        length = _run_back(points, lambda a, b: a["trend"] and b["trend"] and (b["value"] > a["value"]) == up
                           and b["value"] != a["value"] and a["mean"] == b["mean"])
        return {"rule": "trend", "side": side, "length": length}
    if last["shift"]:
        above = last["value"] > last["mean"]
        length = _run_back(points, lambda a, b: a["shift"] and a["mean"] == b["mean"] and (a["value"] > a["mean"]) == above)
        return {"rule": "shift", "side": "up" if above else "down", "length": length}
    if last["outside"]:
        return {"rule": "outside", "side": "up" if last["value"] > last["mean"] else "down", "length": 1}
    return {"rule": "two_of_three", "side": "up" if last["value"] > last["mean"] else "down", "length": 3}


def reason(chart: dict[str, Any], by: str | None = None) -> str:
    """Why the chart shows a signal, in a sentence's second half: 'the last 7 months were all below the
    average'; '' for common cause."""
    sig = signal(chart)
    if sig is None:
        return ""
    one, many = PERIOD_WORDS.get(by or chart.get("by", "month"), ("period", "periods"))
    n, up = sig["length"], sig["side"] == "up"
    if sig["rule"] == "outside":
        return f"the latest {one} is {'above the upper' if up else 'below the lower'} limit of what usually happens"
    if sig["rule"] == "trend":
        return f"the last {n} {many} each went {'up' if up else 'down'} on the one before"
    if sig["rule"] == "shift":
        return f"the last {n} {many} were all {'above' if up else 'below'} the average"
    return f"2 of the last 3 {many} were close to the {'upper' if up else 'lower'} limit"


def headline(chart: dict[str, Any], by: str | None = None) -> str:
    """A short name for the signal: 'a shift up over 7 weeks', 'a trend down over 8 months'."""
    sig = signal(chart)
    if sig is None:
        return ""
    one, many = PERIOD_WORDS.get(by or chart.get("by", "month"), ("period", "periods"))
    if sig["rule"] == "outside":
        return f"{'above the upper' if sig['side'] == 'up' else 'below the lower'} limit in the latest {one}"
    if sig["rule"] == "two_of_three":
        return f"2 of the last 3 {many} near the {'upper' if sig['side'] == 'up' else 'lower'} limit"
    return f"a {sig['rule']} {sig['side']} over {sig['length']} {many}"


def variation_meaning(chart: dict[str, Any], by: str | None = None) -> str:
    """The variation icon's plain-English meaning, with its reason."""
    variation = chart.get("variation")
    if variation is None:
        return "No variation reading: fewer than two periods have a figure."
    if variation == "common_cause":
        return ("Common cause variation: no sign of real change; the ups and downs are within what this "
                "process usually does.")
    why = reason(chart, by)
    if variation == "special_cause_neither":
        return f"Special cause variation (this KPI is neither better higher nor lower): {why}."
    return f"{VARIATION_TITLES[variation]}: {why}."


def assurance_meaning(chart: dict[str, Any], unit_of_measure: str | None = None) -> str:
    """The assurance icon's plain-English meaning: will the process meet its target?"""
    assurance, target = chart.get("assurance"), chart.get("target")
    if assurance is None:
        if target is None or chart.get("better") is None:
            return "No assurance reading: this KPI has no target."
        return "No assurance reading: too few periods with a figure to set limits."
    shown = _number(target, unit_of_measure)
    higher = chart.get("better") == "higher"
    if assurance == "pass":
        return (f"Passes: the target ({shown}) will be met consistently, since even the "
                f"{'lower' if higher else 'upper'} limit of usual variation meets it.")
    if assurance == "fail":
        return (f"Fails: the target ({shown}) will not be met without a change in how the work is done, "
                f"since even the {'upper' if higher else 'lower'} limit of usual variation misses it.")
    return (f"Hit and miss: the target ({shown}) lies within the usual variation, so it will be met in some "
            "periods and missed in others.")


def _number(value: float, unit_of_measure: str | None) -> str:
    if unit_of_measure == "%":
        return f"{value:g}%"
    return f"{value:g}"


def period_label(start: str, by: str) -> str:
    """'Oct 2025' for a month, 'w/c 17 Nov 2025' for a week."""
    day = dt.date.fromisoformat(start)
    return day.strftime("%b %Y") if by == "month" else "w/c " + day.strftime("%-d %b %Y")
