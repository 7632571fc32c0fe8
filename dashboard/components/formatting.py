"""How a figure reads: its value in its unit, its RAG as a word and an icon (never colour alone), and
its change written as better or worse, so a reader at a glance gets the same answer as the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

RAG_WORDS = {"green": ("On target", "✔"), "amber": ("Near target", "▲"), "red": ("Off target", "✖"),
             None: ("No target", "–")}


def row_value(row: dict, unit_of_measure: str | None) -> str:
    """A KPI row's value as shown; a KPI the source cannot support says so, never 0 or 'no cases'."""
    if row.get("available") is False:
        return row.get("note") or "not available from this source"
    return format_value(row.get("value"), unit_of_measure)


def format_value(value: float | None, unit_of_measure: str | None) -> str:
    """97.3%, 14.2 (cases per FTE) or 12; a rate with no denominator reads as 'no cases'."""
    if value is None:
        return "no cases"
    if unit_of_measure == "%":
        return f"{value:.1f}%"
    if unit_of_measure == "cases per FTE":
        return f"{value:.1f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def rag_word(rag: str | None) -> tuple[str, str]:
    """(word, icon) for a RAG status; grey 'No target' for none."""
    return RAG_WORDS.get(rag, RAG_WORDS[None])


def change(now: float | None, before: float | None, unit_of_measure: str | None, polarity: str | None) -> dict[str, Any]:
    """The change from `before` to `now`: text (points for rates), arrow, and whether it is better."""
    if now is None or before is None:
        return {"text": "no comparison", "arrow": "", "verdict": "none"}
    delta = now - before
    if abs(delta) < 1e-9:
        return {"text": "no change", "arrow": "→", "verdict": "same"}
    size = f"{abs(delta):.1f} pts" if unit_of_measure == "%" else (
        f"{abs(delta):.1f}" if unit_of_measure == "cases per FTE" else f"{abs(delta):,.0f}")
    verdict = "none" if polarity is None else ("better" if (delta > 0) == (polarity == "higher") else "worse")
    return {"text": f"{'up' if delta > 0 else 'down'} {size}", "arrow": "↑" if delta > 0 else "↓", "verdict": verdict}


def freshness(status: dict[str, Any], now: dt.datetime, amber_hours: float, red_hours: float) -> tuple[str, str]:
    """(green|amber|red, sentence): how old the last good load is, and whether a newer one failed."""
    good = status.get("last_good_load")
    extract = status.get("extract_date")
    if not good:
        return "red", "No extract has been loaded yet: the figures cannot be shown. Tell the data team."
    finished = dt.datetime.fromisoformat(good["finished_at"].replace("Z", "+00:00"))
    age = (now - finished).total_seconds() / 3600
    when = finished.strftime("%d %b %Y %H:%M UTC")
    sentence = f"Figures from the extract of {_long_date(extract)}, loaded {when}"
    if status.get("failed_since_last_good"):
        failed = status.get("last_failed_load") or {}
        reason = f" ({failed['message']})" if failed.get("message") else ""
        return ("red" if age > red_hours else "amber",
                f"{sentence}. A newer load failed{reason}: these figures may be out of date.")
    if age > red_hours:
        return "red", f"{sentence}, {age:.0f} hours ago: the daily load is late. Tell the data team."
    if age > amber_hours:
        return "amber", f"{sentence}, {age:.0f} hours ago: today's load has not arrived yet."
    return "green", f"{sentence}."


def _long_date(value: str | None) -> str:
    return dt.date.fromisoformat(value).strftime("%-d %B %Y") if value else "unknown date"


def long_date(value: dt.date) -> str:
    return value.strftime("%-d %B %Y")


def week_bounds(day: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """(this Monday, last Monday, last Sunday): this week runs Monday to `day`."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)


def month_end(month: str, extract_date: dt.date) -> dt.date:
    """The as-at date of a YYYY-MM month: its last day, or the extract date in the extract's month."""
    year, mon = (int(p) for p in month.split("-"))
    nxt = dt.date(year + mon // 12, mon % 12 + 1, 1)
    return min(nxt - dt.timedelta(days=1), extract_date)


def months_back(extract_date: dt.date, count: int = 24) -> list[str]:
    """The last `count` months as YYYY-MM, newest first."""
    index = extract_date.year * 12 + extract_date.month - 1
    return [f"{(index - i) // 12:04d}-{(index - i) % 12 + 1:02d}" for i in range(count)]


def month_label(month: str) -> str:
    return dt.date.fromisoformat(month + "-01").strftime("%B %Y")


def parse_scope(value: str | None) -> tuple[str, str | None]:
    """'trust', 'service:NAME' or 'team:ID' -> (level, unit) for the API."""
    if not value or value == "trust":
        return "trust", None
    level, _, unit = value.partition(":")
    if level not in ("service", "team") or not unit:
        return "trust", None
    return level, unit


def default_scope(user: dict[str, Any]) -> str:
    """Where a user starts: a team manager on their team, a head of service on their service."""
    if user.get("role") == "team_manager" and user.get("team"):
        return f"team:{user['team']}"
    if user.get("role") == "head_of_service" and user.get("service"):
        return f"service:{user['service']}"
    return "trust"


def may_see_records(user: dict[str, Any], level: str, unit: str | None, team_service: dict[str, str]) -> bool:
    """Whether to offer the children behind a figure (the API decides again and audits every request)."""
    role = user.get("role")
    if role in ("executive", "analyst", "admin"):
        return True
    if role == "team_manager":
        return level == "team" and unit == user.get("team")
    if role == "head_of_service":
        service = unit if level == "service" else team_service.get(unit or "") if level == "team" else None
        return service is not None and service == user.get("service")
    return False
