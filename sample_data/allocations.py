"""Allocating each episode's child to a case-holding worker of the episode's team, over time.

An episode is allocated a few days after it starts (a few wait weeks) to the next post on the team's
rota (each post in proportion to its FTE, so caseloads stay even). If the post is vacant the case waits
for the new starter, or goes to another post. When the worker leaves, the allocation ends on their last
day and the case moves to a worker of the team picked at random, except a few that are left on the
leaver (the "allocation to a worker who has left" data-quality rule, some still open at the end date).
A few CP and CLA children are co-worked for a while.

Each pass of the hand-over loop moves every case whose worker left at once; there are a few passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_data import profile
from sample_data.casework import CLA, CP, pick
from sample_data.timeline import BEFORE, OPEN, Window
from sample_data.workforce import Teams, Workforce

_SPAN = 4 * OPEN  # separates posts in the (post, start day) lookup key
_TRIES = 8  # posts tried before an episode is left unallocated for now


@dataclass(frozen=True)
class Allocations:
    episode: np.ndarray  # index into the episodes given
    worker: np.ndarray  # index into the workforce
    start: np.ndarray
    end: np.ndarray  # OPEN or after the end date: still allocated
    first_worker: np.ndarray  # per episode: the first worker allocated, -1 if none


class PostBook:
    """Who holds which case-holding post on a day, for whole arrays of (team, day) at once."""

    def __init__(self, wf: Workforce, rng: np.random.Generator) -> None:
        posts = np.flatnonzero(wf.post_case_holding)
        team = wf.post_team[posts]
        weight = wf.fte[np.searchsorted(wf.post, posts)]  # the post's first holder (workers sort by post)
        order = np.lexsort((posts, team))
        posts, team, weight = posts[order], team[order], weight[order]
        cum = np.cumsum(weight)
        team_start = np.r_[0.0, cum][np.searchsorted(team, team, side="left")]
        team_total = np.bincount(team, weights=weight)[team]
        keys = team + (cum - team_start) / team_total  # team t's posts fill (t, t + 1]
        last = np.r_[team[1:] != team[:-1], True]
        keys[last] = team[last] + 1.0  # exactly, whatever the rounding
        self.posts, self.keys = posts, keys
        # the team's duty rota: each post appears in proportion to its FTE, spread evenly round the cycle
        slots = np.maximum(1, np.round(weight * 10)).astype(np.int64)
        slot_post = np.repeat(np.arange(posts.size), slots)
        nth = np.arange(slot_post.size) - np.repeat(np.cumsum(slots) - slots, slots)
        position = (nth + rng.random(slot_post.size)) / slots[slot_post]
        slot_post = slot_post[np.lexsort((position, team[slot_post]))]
        self.rota = posts[slot_post]
        rota_team = team[slot_post]
        self.rota_first = np.searchsorted(rota_team, np.arange(wf.post_team.max() + 1), side="left")
        self.rota_size = np.bincount(rota_team, minlength=wf.post_team.max() + 1)
        self.h_key = wf.post * _SPAN + (wf.start - BEFORE)
        self.h_post, self.h_start, self.h_end = wf.post, wf.start, wf.end

    def _holder(self, post: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The post's holder on the day, or its next holder if they start soon; -1 if neither."""
        i = np.searchsorted(self.h_key, post * _SPAN + (day - BEFORE), side="right") - 1
        ic = i.clip(0, None)
        active = (i >= 0) & (self.h_post[ic] == post) & (self.h_end[ic] >= day)
        j = (i + 1).clip(None, self.h_post.size - 1)
        waits = ~active & (self.h_post[j] == post) & (self.h_start[j] > day)
        waits &= self.h_start[j] - day <= profile.MAX_WAIT_FOR_STARTER_DAYS
        return np.where(active, i, np.where(waits, j, -1)), np.where(waits, self.h_start[j], day)

    def pick(self, team: np.ndarray, day: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A worker of each team from a post picked at random (weighted by FTE); -1 if none found."""
        worker = np.full(team.size, -1, dtype=np.int64)
        start = day.copy()
        todo = np.arange(team.size)
        for _ in range(_TRIES):
            if not todo.size:
                break
            idx = np.searchsorted(self.keys, team[todo] + rng.random(todo.size), side="right")
            worker[todo], start[todo] = self._holder(self.posts[idx.clip(0, self.posts.size - 1)], day[todo])
            todo = todo[worker[todo] < 0]
        return worker, start

    def rotate(self, team: np.ndarray, day: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """New cases go round each team's rota in date order (so caseloads stay even); pick() if the post is empty."""
        order = np.lexsort((day, team))
        nth = np.empty(team.size, dtype=np.int64)
        sorted_team = team[order]
        nth[order] = np.arange(team.size) - np.searchsorted(sorted_team, sorted_team, side="left")
        size = self.rota_size[team]
        offset = rng.integers(0, np.maximum(self.rota_size, 1))[team]  # where each team's rota starts
        post = self.rota[self.rota_first[team] + (nth + offset) % size]
        worker, start = self._holder(post, day)
        empty = worker < 0
        worker[empty], start[empty] = self.pick(team[empty], day[empty], rng)
        return worker, start


def _leave_some_on_leavers(
    made: dict[str, np.ndarray], ep_end: np.ndarray, wf: Workforce, window: Window, rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Undo the move of a few cases still open at the end date: they stay allocated to the worker who left."""
    ep, end = made["episode"], made["end"]
    moved = np.flatnonzero((end == wf.end[made["worker"]]) & (end < ep_end[ep]) & (ep_end[ep] > window.end))
    if not moved.size:
        return made
    chosen = rng.choice(moved, size=max(1, round(profile.P_DANGLING_AT_END * moved.size)), replace=False)
    chosen = chosen[np.unique(ep[chosen], return_index=True)[1]]  # one per episode
    kept_until = np.full(ep_end.size, np.iinfo(np.int64).max)
    kept_until[ep[chosen]] = made["start"][chosen]
    made = {k: v[made["start"] <= kept_until[ep]] for k, v in made.items()}  # drop the moves that followed
    stays = made["start"] == kept_until[made["episode"]]
    made["end"] = np.where(stays, ep_end[made["episode"]], made["end"])
    return made


def allocate(
    ep_type: np.ndarray, ep_start: np.ndarray, ep_end: np.ndarray, ep_team: np.ndarray,
    teams: Teams, wf: Workforce, window: Window, rng: np.random.Generator,
) -> Allocations:
    """Allocations of the episodes (open at some time in the history) to workers."""
    book = PostBook(wf, rng)
    n = ep_type.size
    lag = pick(rng, profile.ALLOCATION_LAG, n)
    long_wait = rng.random(n) < teams.effect(profile.P_LONG_WAIT, profile.TEAM_EFFECT_LONG_WAIT, 0.0, 0.15)[ep_team]
    lag = np.where(long_wait, rng.integers(*profile.LONG_WAIT_DAYS, n), lag)
    day = ep_start + lag
    # cases open before the history have been with their current worker for a while
    legacy = ep_start < window.start
    day = np.where(legacy, np.maximum(day, window.start - rng.integers(0, profile.LEGACY_ALLOCATION_DAYS, n)), day)

    rows: dict[str, list[np.ndarray]] = {"episode": [], "worker": [], "start": [], "end": []}
    first_worker = np.full(n, -1, dtype=np.int64)
    ep = np.arange(n)
    first_pass = True
    while ep.size:
        live = (day < ep_end[ep]) & (day <= window.end)
        ep, day = ep[live], day[live]
        worker, start = (book.rotate if first_pass else book.pick)(ep_team[ep], day, rng)
        ok = (worker >= 0) & (start < ep_end[ep]) & (start <= window.end)
        ep, worker, start = ep[ok], worker[ok], start[ok]
        leaves = wf.end[worker] < ep_end[ep]
        dangling = leaves & (rng.random(ep.size) < profile.P_DANGLING)
        moves = leaves & ~dangling
        end = np.where(moves, wf.end[worker], ep_end[ep])
        for k, v in zip(rows, (ep, worker, start, end)):
            rows[k].append(v)
        if first_pass:
            first_worker[ep] = worker
            first_pass = False
        ep = ep[moves]
        day = wf.end[worker[moves]] + 1 + pick(rng, profile.HANDOVER_GAP, ep.size)
    made = {k: np.concatenate(v) for k, v in rows.items()}
    made = _leave_some_on_leavers(made, ep_end, wf, window, rng)

    # co-worked children: a second worker of the team for a while
    m = made["episode"].size
    cand = np.isin(ep_type[made["episode"]], [CP, CLA]) & (np.minimum(made["end"], window.end) - made["start"] >= 60)
    cand &= rng.random(m) < profile.P_COWORKED
    e, main, main_end = made["episode"][cand], made["worker"][cand], made["end"][cand]
    w2, s2 = book.pick(ep_team[e], made["start"][cand] + rng.integers(0, 21, e.size), rng)
    ok = (w2 >= 0) & (w2 != main) & (s2 < main_end) & (s2 <= window.end)
    e, w2, s2, main_end = e[ok], w2[ok], s2[ok], main_end[ok]
    end2 = np.minimum(np.minimum(main_end, s2 + rng.integers(*profile.COWORK_DAYS, e.size)), wf.end[w2])
    return Allocations(
        episode=np.r_[made["episode"], e],
        worker=np.r_[made["worker"], w2],
        start=np.r_[made["start"], s2],
        end=np.r_[made["end"], end2],
        first_worker=first_worker,
    )
