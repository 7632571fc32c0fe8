"""How a figure reads: its value in its unit, its RAG as a word and an icon (never colour alone), and
its change written as better or worse, so a reader at a glance gets the same answer as the API."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from kpis.targets import format_figure, round_half_up, shown_value

LONDON = ZoneInfo("Europe/London")
RAG_WORDS = {"green": ("On target", "✔"), "amber": ("Near target", "▲"), "red": ("Off target", "✖"),
             None: ("No target", "–")}
NOT_RATED = ("Not rated", "–")  # a KPI with a target but no figure to judge (no cases)
UNKNOWN_UNIT = {"team": "Team not recorded", "service": "Service not recorded"}


def row_value(row: dict, unit_of_measure: str | None) -> str:
    """A KPI row's value as shown; a KPI the source cannot support says so, never 0 or 'no cases'."""
    if row.get("available") is False:
        return row.get("note") or "not available from this source"
    return format_value(row.get("value"), unit_of_measure)


def format_value(value: float | None, unit_of_measure: str | None) -> str:
    """97.3%, 14.2 (cases per FTE) or 12; a rate with no denominator reads as 'no cases'. The one rule of
    kpis.targets, which the RAG status is judged on too."""
    return format_figure(value, unit_of_measure)


def fte(total: float) -> str:
    """A number of full-time equivalents to one decimal, rounded half up as every figure is (12.25 -> 12.3)."""
    return f"{round_half_up(total, 1):,.1f}"


def rag_word(rag: str | None, target: float | None = None) -> tuple[str, str]:
    """(word, icon) for a RAG status; with no status, 'No target', or 'Not rated' when there is a target but
    no figure to judge against it (a tile never says "No target" beside "Target 95%")."""
    if rag is None and target is not None:
        return NOT_RATED
    return RAG_WORDS.get(rag, RAG_WORDS[None])


def unit_label(level: str, unit: str | None, team_names: dict[str, str] | None = None) -> str:
    """A unit as people name it: "Whole trust", a service, "MASH (T01)"; records with no known team are
    "Team not recorded" (the KPI layer's UNKNOWN)."""
    if level == "trust" or unit in (None, "trust"):
        return "Whole trust"
    if unit == "UNKNOWN":
        return UNKNOWN_UNIT.get(level, "Not recorded")
    if level == "team" and team_names and unit in team_names:
        return f"{team_names[unit]} ({unit})"
    return str(unit)


def change(now: float | None, before: float | None, unit_of_measure: str | None, polarity: str | None) -> dict[str, Any]:
    """The change from `before` to `now` as shown (the values rounded as the tiles show them, so a change
    too small to show reads "no change", never "down 0.0"): text (points for rates), arrow, better or worse."""
    if now is None or before is None:
        return {"text": "no comparison", "arrow": "", "verdict": "none"}
    delta = shown_value(now, unit_of_measure) - shown_value(before, unit_of_measure)
    if abs(delta) < 1e-9:
        return {"text": "no change", "arrow": "→", "verdict": "same"}
    size = format_figure(abs(delta), unit_of_measure).removesuffix("%") + (" pts" if unit_of_measure == "%" else "")
    verdict = "none" if polarity is None else ("better" if (delta > 0) == (polarity == "higher") else "worse")
    return {"text": f"{'up' if delta > 0 else 'down'} {size}", "arrow": "↑" if delta > 0 else "↓", "verdict": verdict}


def london_time(value: str | dt.datetime) -> str:
    """A time as the trust reads it: Europe/London, e.g. "24 November 2025 at 06:30"."""
    when = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    local = when.astimezone(LONDON)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"


def _hours(hours: float) -> str:
    """An age as people say it: "an hour", "30 hours", from three days on "5 days"."""
    if hours >= 72:
        return f"{hours / 24:,.0f} days"
    return f"{hours:.0f} hours" if hours >= 2 else "an hour"


def freshness(status: dict[str, Any], now: dt.datetime, amber_hours: float, red_hours: float) -> tuple[str, str, str | None]:
    """(green|amber|red, sentence, technical detail or None): how old the figures are, judged by when the
    extract was taken as well as when it was loaded (a load today of last week's extract is not "up to
    date"), and whether a newer load failed, said plainly; the loader's own words are the detail."""
    good = status.get("last_good_load")
    if not good:
        failed = status.get("last_failed_load") or {}
        detail = f"Load {failed['run_id']}: {failed.get('message', '')}" if failed.get("run_id") else None
        return "red", "No data has been loaded yet, so there are no figures to show. Tell the data team.", detail
    loaded = dt.datetime.fromisoformat(good["finished_at"].replace("Z", "+00:00"))
    load_age = (now - loaded).total_seconds() / 3600
    taken = good.get("extracted_at")
    extracted = dt.datetime.fromisoformat(taken.replace("Z", "+00:00")) if taken else None
    if extracted is not None and extracted.tzinfo is None:
        extracted = extracted.replace(tzinfo=LONDON)
    extract_age = (now - extracted).total_seconds() / 3600 if extracted else load_age
    age = max(load_age, extract_age)
    sentence = (f"Figures from the extract taken {london_time(extracted)}, loaded {london_time(loaded)}"
                if extracted else f"Figures loaded {london_time(loaded)}")
    level = "red" if age > red_hours else "amber" if age > amber_hours else "green"
    if level != "green":
        older = "extract was taken" if extract_age >= load_age else "figures were loaded"
        sentence += (f". The {older} {_hours(age)} ago: " + ("the daily data is late. Tell the data team."
                                                              if level == "red" else "today's data has not arrived yet."))
    else:
        sentence += "."
    detail = None
    if status.get("failed_since_last_good"):
        failed = status.get("last_failed_load") or {}
        level = "amber" if level == "green" else level
        when = f" ({london_time(failed['finished_at'] or failed['started_at'])})" if failed.get("started_at") else ""
        sentence += (f" The latest data could not be loaded{when}, so these figures may be out of date; the data "
                     "team has been told why.")
        detail = f"Load {failed.get('run_id', '')} failed: {failed.get('message') or 'no reason recorded'}".replace("  ", " ")
    return level, sentence, detail


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


def default_team(user: dict[str, Any], teams: list[dict[str, Any]]) -> str | None:
    """The team the Team page opens on: a team manager's own; a head of service's first team (by name) of
    their own service, never another service's; anyone else's first team by service and name."""
    ordered = sorted(teams, key=lambda t: (t["service"], t["team_name"]))
    if user.get("role") == "team_manager" and user.get("team"):
        return user["team"]
    if user.get("role") == "head_of_service":
        own = [t for t in ordered if t["service"] == user.get("service")]
        ordered = own or ordered
    return ordered[0]["team_id"] if ordered else None


def scope_from_query(query: dict[str, list[str]]) -> str | None:
    """The scope a link or a reload asks for: ?team=T01, ?service=NAME, ?trust (None when it names none)."""
    if query.get("team"):
        return f"team:{query['team'][0]}"
    if query.get("service"):
        return f"service:{query['service'][0]}"
    if "trust" in query or query.get("scope") == ["trust"]:
        return "trust"
    return None


def scope_query(scope: str | None) -> dict[str, str]:
    """The query a scope is written as in the address, so a view can be reloaded and shared."""
    level, unit = parse_scope(scope)
    return {"scope": "trust"} if level == "trust" else {level: unit or ""}


def page_search(params: dict[str, str | None]) -> str:
    """A query string from the parameters that are set, e.g. "?service=Front+Door&month=2025-10"."""
    from urllib.parse import urlencode

    kept = {k: v for k, v in params.items() if v}
    return "?" + urlencode(kept) if kept else ""


# Where may_see_records says no, a list of children is not asked for at all (the API would refuse it, and
# every refusal is a "forbidden" entry on the audit trail that reads as an attempted breach): this is said instead.
OUTSIDE_SCOPE = ("The children are listed only within your own scope (your team, or your service); the figures "
                 "are open to you at every level.")


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
