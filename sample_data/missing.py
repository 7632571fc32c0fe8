"""Episodes of children going missing, mostly children in care, with their return home interviews.

Children of 10-17 in an open CLA (often) or CIN/CP (seldom) episode may be "missing-prone": they go
missing a few times a year, mostly for hours, sometimes for days. A few are planted as missing at the
end date. Times are minutes since 1970-01-01 (local time), so they add and compare as integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_data import profile
from sample_data.casework import CIN, CLA, CP
from sample_data.timeline import OPEN, Window, years_later
from sample_data.workforce import Teams

MINUTES_A_DAY = 1440


@dataclass(frozen=True)
class MissingEpisodes:
    child: np.ndarray
    team: np.ndarray
    start: np.ndarray  # minutes
    end: np.ndarray  # minutes; -1: still missing at the end date
    rhi_offered: np.ndarray  # minutes; -1: not offered (yet)
    rhi_accepted: np.ndarray  # only meaningful where offered


def simulate_missing(
    ep_type: np.ndarray, ep_child: np.ndarray, ep_start: np.ndarray, ep_end: np.ndarray, ep_team: np.ndarray,
    dob: np.ndarray, teams: Teams, scale: float, window: Window, rng: np.random.Generator,
) -> MissingEpisodes:
    """Missing episodes during the history of children in the episodes given (dob per child)."""
    w = window
    birth = dob[ep_child]
    low = np.maximum.reduce([ep_start, np.full(ep_start.size, w.start), years_later(birth, profile.MISSING_AGE[0])])
    high = np.minimum.reduce([np.minimum(ep_end, OPEN) - 1, np.full(ep_start.size, w.end), years_later(birth, profile.MISSING_AGE[1]) - 1])
    prone_p = np.select([ep_type == CLA, ep_type == CIN, ep_type == CP], [profile.P_MISSING_PRONE[k] for k in ("CLA", "CIN", "CP")], 0.0)
    prone = (high >= low) & (rng.random(ep_type.size) < prone_p)
    e = np.flatnonzero(prone)
    span = high[e] - low[e] + 1
    rate = rng.gamma(*profile.MISSING_RATE_GAMMA, e.size)
    e = np.repeat(e, rng.poisson(rate * span / 365.25))
    n = e.size
    day = low[e] + np.floor(rng.random(n) * (high[e] - low[e] + 1)).astype(np.int64)
    hours = np.array(profile.MISSING_HOUR_WEIGHTS, dtype=float)
    minute = rng.choice(24, size=n, p=hours / hours.sum()) * 60 + rng.integers(0, 60, n)
    start = day * MINUTES_A_DAY + minute
    r = rng.random(n)
    median, sigma, shortest, longest = profile.MISSING_SHORT_HOURS
    short = np.clip(median * np.exp(sigma * rng.standard_normal(n)), shortest, longest) * 60
    days_away = rng.uniform(1, 7, n) * MINUTES_A_DAY
    weeks_away = rng.uniform(8, 45, n) * MINUTES_A_DAY
    length = np.select([r < profile.MISSING_SHORT_SHARE, r < profile.MISSING_SHORT_SHARE + profile.MISSING_DAYS_SHARE], [short, days_away], weeks_away)
    end = start + np.round(length).astype(np.int64)

    # a few children in care missing right now
    open_now = np.flatnonzero((ep_type == CLA) & (ep_start <= w.end) & (ep_end > w.end) & (high >= w.end - 10) & (high >= low))
    k = min(open_now.size, max(1, round(profile.MISSING_NOW_PER_SCALE * scale)))
    now = rng.choice(open_now, size=k, replace=False) if k else open_now[:0]
    now_day = np.maximum(low[now], w.end - rng.integers(0, 11, k))
    e = np.r_[e, now]
    start = np.r_[start, now_day * MINUTES_A_DAY + rng.integers(0, MINUTES_A_DAY, k)]
    end = np.r_[end, np.full(k, OPEN * MINUTES_A_DAY)]

    # one child is missing once at a time: drop an episode that starts before an earlier one has ended
    child = ep_child[e]
    order = np.lexsort((start, child))
    e, child, start, end = e[order], child[order], start[order], end[order]
    base = np.unique(child, return_inverse=True)[1].astype(np.int64) * (4 * OPEN * MINUTES_A_DAY)
    ended_before = np.r_[-1, np.maximum.accumulate(base + end)[:-1]]
    keep = base + start > ended_before
    e, child, start, end = e[keep], child[keep], start[keep], end[keep]

    first_minute_after = (w.end + 1) * MINUTES_A_DAY
    returned = end < first_minute_after
    team = ep_team[e]
    p72 = teams.effect(profile.P_RHI_72H, profile.TEAM_EFFECT_RHI_72H, 0.4, 0.99)[team]
    r = rng.random(e.size)
    delay = np.where(r < p72, rng.integers(30, 72 * 60 + 1, e.size), rng.integers(72 * 60 + 1, 14 * MINUTES_A_DAY, e.size))
    never = r > 1 - profile.P_RHI_NEVER
    offered = end + delay
    offered_ok = returned & ~never & (offered < first_minute_after)
    order = np.lexsort((child, start))
    return MissingEpisodes(
        child=child[order],
        team=team[order],
        start=start[order],
        end=np.where(returned, end, -1)[order],
        rhi_offered=np.where(offered_ok, offered, -1)[order],
        rhi_accepted=(rng.random(e.size) < profile.P_RHI_ACCEPTED)[order],
    )
