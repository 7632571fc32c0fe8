"""The sample trust's teams and workers.

Teams come first (cases are routed to them by the child's locality); the workers are sized from the
cases afterwards, so each team is staffed for its own caseload target whatever the volumes drawn. A
worker is one holder of a post: posts outlive their holders, and a leaver's post is filled again after a
vacancy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl.contract import WORKER_ROLES
from sample_data import profile
from sample_data.names import person_names, place_names
from sample_data.timeline import BEFORE, OPEN, Window

KINDS = tuple(profile.TEAM_KINDS)
ROLE = {name: i for i, name in enumerate(WORKER_ROLES)}
QUALIFIED_ROLES = ("social_worker", "senior_social_worker", "team_manager")
CASE_MANAGEMENT_KINDS = ("care_management", "children_in_care", "disabled", "adolescent")


@dataclass(frozen=True)
class Teams:
    kind: np.ndarray  # index into KINDS
    service: list[str]
    name: list[str]
    z: np.ndarray  # the team's "quality": positive is better than the trust, negative worse
    routes: dict[str, tuple[np.ndarray, np.ndarray]]  # kind -> (team indices, cumulative share)

    @property
    def count(self) -> int:
        return int(self.kind.size)

    def route(self, kind: str, locality: np.ndarray) -> np.ndarray:
        """The team of that kind covering each child's locality (a number in [0, 1))."""
        teams, cumulative = self.routes[kind]
        return teams[np.searchsorted(cumulative, locality, side="right").clip(0, teams.size - 1)]

    def effect(self, base: float, per_z: float, low: float = 0.0, high: float = 1.0) -> np.ndarray:
        """A per-team rate: the trust's base moved by the team's quality."""
        return np.clip(base + per_z * self.z, low, high)


def build_teams(scale: float, rng: np.random.Generator) -> Teams:
    """About 20 teams in six services at scale 1, ten times as many at scale 10."""
    kinds, services, names, z = [], [], [], []
    routes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for k, (kind, (service, label, per_scale)) in enumerate(profile.TEAM_KINDS.items()):
        n = max(1, round(per_scale * scale))
        first = len(kinds)
        kinds += [k] * n
        services += [service] * n
        names += [label] if n == 1 and kind == "mash" else [f"{label} {p}" for p in place_names(n)]
        zk = rng.normal(0.0, profile.TEAM_QUALITY_SD, n)
        if n >= 3:  # one markedly weaker and one markedly stronger team in each bigger service
            worst, best = rng.choice(n, size=2, replace=False)
            zk[worst], zk[best] = profile.WORST_TEAM_Z, profile.BEST_TEAM_Z
        size = rng.uniform(*profile.TEAM_SIZE_SPREAD, n)
        z.append(zk - np.average(zk, weights=size))  # the service as a whole is as good as the trust's base
        routes[kind] = (np.arange(first, first + n), np.cumsum(size) / size.sum())
    return Teams(np.array(kinds), services, names, np.concatenate(z), routes)


@dataclass(frozen=True)
class Workforce:
    """One row per worker, sorted by team, post and start."""

    post: np.ndarray
    team: np.ndarray
    role: np.ndarray  # index into WORKER_ROLES
    qualified: np.ndarray
    fte: np.ndarray
    agency: np.ndarray
    start: np.ndarray  # BEFORE: in post before the history
    end: np.ndarray  # OPEN: still in post
    name: list[str]
    post_team: np.ndarray
    post_case_holding: np.ndarray

    @property
    def count(self) -> int:
        return int(self.post.size)


def open_cases_per_team(team: np.ndarray, start: np.ndarray, end: np.ndarray, window: Window, n_teams: int) -> np.ndarray:
    """Average number of open episodes of each team over the history, taken quarterly."""
    days = np.linspace(window.start, window.end, 13).round().astype(np.int64)
    open_at = (start[:, None] <= days[None, :]) & (end[:, None] > days[None, :])
    return np.bincount(team, weights=open_at.sum(axis=1), minlength=n_teams) / days.size


def build_workforce(teams: Teams, open_cases: np.ndarray, window: Window, rng: np.random.Generator) -> Workforce:
    """Posts sized from each team's open cases and caseload target, then their holders over the history."""
    kind = np.array(KINDS)[teams.kind]
    target = teams.effect(profile.CASELOAD_TARGET, profile.TEAM_EFFECT_CASELOAD, *profile.CASELOAD_TARGET_RANGE)
    needed = open_cases / target  # case-holding FTE

    # case-holding posts: draw posts (some part time) until the team has the FTE it needs, two at least
    room = (np.ceil(needed / min(profile.PART_TIME_FTE)) + 2).astype(np.int64)
    ch_team = np.repeat(np.arange(teams.count), room)
    ch_fte = _post_fte(rng, ch_team.size)
    before = np.cumsum(ch_fte) - ch_fte
    before -= np.repeat(before[np.cumsum(room) - room], room)  # FTE of the team's earlier posts
    nth = np.arange(ch_team.size) - np.repeat(np.cumsum(room) - room, room)
    keep = (before < needed[ch_team] - 0.25) | (nth < 2)
    ch_team, ch_fte = ch_team[keep], ch_fte[keep]
    in_leavers = kind[ch_team] == "care_leavers"
    r = rng.random(ch_team.size)
    ch_role = np.where(
        in_leavers,
        np.where(r < profile.P_SOCIAL_WORKER_IN_CARE_LEAVERS, ROLE["social_worker"], ROLE["personal_advisor"]),
        np.where(r < profile.P_SENIOR, ROLE["senior_social_worker"], ROLE["social_worker"]),
    )
    # other posts: a manager per team, family support workers, the MASH's screening officers
    fsw = np.isin(kind, CASE_MANAGEMENT_KINDS) & (rng.random(teams.count) < profile.P_FAMILY_SUPPORT_WORKER)
    other = np.where(kind == "mash", profile.MASH_OTHER_STAFF, 0)
    post_team = np.concatenate([ch_team, np.arange(teams.count), np.flatnonzero(fsw), np.repeat(np.arange(teams.count), other)])
    post_role = np.concatenate([
        ch_role,
        np.full(teams.count, ROLE["team_manager"]),
        np.full(int(fsw.sum()), ROLE["family_support_worker"]),
        np.full(int(other.sum()), ROLE["other"]),
    ])
    post_fte = np.concatenate([ch_fte, np.ones(teams.count), _post_fte(rng, int(fsw.sum())), np.ones(int(other.sum()))])
    order = np.lexsort((post_role, post_team))
    post_team, post_role, post_fte = post_team[order], post_role[order], post_fte[order]
    n_posts = post_team.size
    social_work = np.isin(post_role, [ROLE["social_worker"], ROLE["senior_social_worker"]])
    case_holding = social_work | (post_role == ROLE["personal_advisor"])

    # first holders: in post before the history, except posts created during it
    post = np.arange(n_posts)
    start = np.full(n_posts, BEFORE, dtype=np.int64)
    new = rng.random(n_posts) < profile.P_NEW_POST
    start[new] = window.calendar.on_or_after(rng.integers(window.start + 30, window.end - 60, int(new.sum())))
    agency = social_work & (rng.random(n_posts) < teams.effect(profile.P_AGENCY, profile.TEAM_EFFECT_AGENCY)[post_team])
    holders = [(post, start, agency)]
    ends = []
    span = window.end - window.start
    while holders[-1][0].size:
        p, s, ag = holders[-1]
        first_day = np.maximum(s, window.start) + 30
        p_leave = np.where(ag, profile.P_LEAVE_AGENCY, teams.effect(profile.P_LEAVE_PERMANENT, profile.TEAM_EFFECT_LEAVE)[post_team[p]])
        p_leave = np.where(post_role[p] == ROLE["team_manager"], profile.P_LEAVE_MANAGER, p_leave)
        p_leave = p_leave * np.clip((window.end - first_day) / span, 0, 1)
        leaves = (rng.random(p.size) < p_leave) & (first_day < window.end)
        leave_day = window.calendar.on_or_before(rng.integers(np.minimum(first_day, window.end - 1), window.end, p.size))
        leave_day = np.maximum(leave_day, np.maximum(s, window.start))
        ends.append(np.where(leaves, leave_day, OPEN))
        # the post is filled again after a vacancy, if that happens before the end date
        next_start = window.calendar.on_or_after(leave_day + rng.integers(*profile.VACANCY_DAYS, p.size))
        refill = leaves & (next_start <= window.end)
        next_agency = social_work[p] & (rng.random(p.size) < profile.P_REPLACEMENT_AGENCY)
        holders.append((p[refill], next_start[refill], next_agency[refill]))
    holders.pop()
    w_post = np.concatenate([h[0] for h in holders])
    w_start = np.concatenate([h[1] for h in holders])
    w_agency = np.concatenate([h[2] for h in holders])
    w_end = np.concatenate(ends)
    order = np.lexsort((w_start, w_post))
    w_post, w_start, w_agency, w_end = w_post[order], w_start[order], w_agency[order], w_end[order]

    n = w_post.size
    role = post_role[w_post]
    fte = np.where(w_agency, 1.0, post_fte[w_post])  # part-time posts keep their hours; agency staff work full time
    return Workforce(
        post=w_post,
        team=post_team[w_post],
        role=role,
        qualified=np.isin(role, [ROLE[r] for r in QUALIFIED_ROLES]),
        fte=fte,
        agency=w_agency,
        start=w_start,
        end=w_end,
        name=person_names(rng, n),
        post_team=post_team,
        post_case_holding=case_holding,
    )


def _post_fte(rng: np.random.Generator, n: int) -> np.ndarray:
    part_time = rng.random(n) < profile.P_PART_TIME
    return np.where(part_time, rng.choice(profile.PART_TIME_FTE, n), 1.0)
