"""Warm after every load: the views the dashboard asks for first, made into the response cache for a
new warehouse version before that version serves (api.live_warehouse swaps it in afterwards), so the
first users after each refresh get cached answers instead of waiting for the engine.

The views are the dashboard's own requests, built by the same functions the routes use (so the cache
keys cannot drift): Today for the trust, every service and every team (the figures on the extract
date, the last working day before it and a week before, the 30-day sparklines, the weekly XmR charts
and the teams' signals of concern for the attention list); each team's week (this week, last week, the
trust this week, the workers; its weekly charts are the team scope's above); the trust's monthly XmR
charts (Trends) and 24-month trend of every KPI.
tests/api/test_warm.py drives the dashboard's page code after a load and checks every request is a hit.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator

from api.live_warehouse import Version
from api.response_cache import Representation, ResponseCache
from api.routes.dashboard_support import daily_view, last_working_day_view, team_workers_view
from api.routes.kpis import figures_view, trend_view
from api.routes.spc import spc_view
from dashboard.components.formatting import week_bounds
from dashboard.pages.today import DAILY_KPIS, SPC_BY, SPC_PERIODS, daily_days
from kpis import KPIS
from kpis.working_days import previous_working_day

log = logging.getLogger("kpidash.api")
View = tuple[tuple, Callable[[Version], Representation]]
# At most this many views per load (half the response cache's 2,048 entries): a trust with more teams
# than this covers gets its first scopes warmed (the trust, the services, then teams in id order).
MAX_VIEWS = 1024


def first_views(version: Version) -> Iterator[View]:
    """The dashboard's first requests for this version, most asked first."""
    wh = version.warehouse
    as_at = wh.extract_date
    teams = wh.teams()
    scopes = [("trust", None)] + [("service", s) for s in dict.fromkeys(t["service"] for t in teams)] + \
             [("team", t["team_id"]) for t in teams]
    wh.ensure_calendar(as_at - dt.timedelta(days=60), as_at)
    with wh.cursor() as cur:
        before = previous_working_day(cur, as_at) or as_at - dt.timedelta(days=1)
    yield last_working_day_view(as_at)
    # Today's attention list: the teams' weekly signals of concern (asked once for every scope above a team)
    yield spc_view((), SPC_BY, SPC_PERIODS, "team", None, as_at, ("special_cause_concern",))
    for level, unit in scopes:  # Today: the tiles (now, the last working day, a week ago), sparklines, charts
        for day in (as_at, before, as_at - dt.timedelta(days=7)):
            yield figures_view(None, day, level, unit, DAILY_KPIS, "all")
        yield daily_view(list(DAILY_KPIS), daily_days(as_at), level, unit, as_at)
        yield spc_view((), SPC_BY, SPC_PERIODS, level, unit, as_at)
    monday, last_monday, last_sunday = week_bounds(as_at)
    yield figures_view(monday, as_at, "trust", None, (), "all")
    for team in teams:  # Team
        yield figures_view(monday, as_at, "team", team["team_id"], (), "all")
        yield figures_view(last_monday, last_sunday, "team", team["team_id"], (), "all")
        yield team_workers_view(team["team_id"], as_at)
    yield spc_view((), "month", 24, "trust", None, as_at)  # Trends: its summary and charts
    for kpi in KPIS:  # the book and older clients: each KPI's trust trend
        yield trend_view(kpi.id, "month", 24, "trust", None, as_at)


def warm(cache: ResponseCache, version: Version) -> int:
    """Make every first view of `version` into the cache; returns how many. A view that fails is
    skipped (its request will say why, as it always has): warming never stops a version serving."""
    start, made = time.monotonic(), 0
    run_id = version.warehouse.run_id
    for number, (key, make) in enumerate(first_views(version)):
        if number >= MAX_VIEWS:
            log.info("warming stopped at %d views for run %s (the rest are made when first asked)", MAX_VIEWS, run_id)
            break
        try:
            cache.get_or_make((run_id, *key), lambda make=make: make(version))
            made += 1
        except Exception as exc:  # noqa: BLE001  logged; the request for it will answer properly
            log.warning("warming %s for run %s failed: %s", key[0], run_id, exc)
    log.info("warmed %d views of run %s in %.1f s", made, run_id, time.monotonic() - start)
    return made
