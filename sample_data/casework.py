"""The casework simulation: children referred, assessed, investigated, planned for and looked after.

Each referral starts a chain: referral -> assessment (unless screened out) -> maybe a section 47
enquiry -> maybe an ICPC -> an episode (CIN, CP or CLA) -> the episodes that follow it (CP steps down to
CIN, CLA at 18 becomes CARE_LEAVER, ...). When a chain closes the child may be referred again. Chains
are worked in rounds (one round per referral of a child, one step per episode in a chain): each step is
vectorised over every chain at that step, so the loops run a handful of times, never once a row.

The simulation starts WARMUP_YEARS before the history so that the cases open on its first day (children
in care for years, care leavers up to 25) are there with their true start dates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_data import profile
from sample_data.timeline import OPEN, Window, years_later
from sample_data.workforce import Teams

ASSESSMENT, CIN, CP, CLA, CARE_LEAVER = range(5)  # positions in etl.contract.EPISODE_TYPES
NONE = -1
_LAST_KIND = {"nfa": -3, "assessment": -2}  # how a chain ended when no episode followed its assessment


@dataclass(frozen=True)
class Children:
    dob: np.ndarray  # day of birth (after the first referral for an unborn child)
    locality: np.ndarray  # in [0, 1): which locality team covers the child
    disabled: np.ndarray


@dataclass(frozen=True)
class Casework:
    """Every simulated referral and episode, warm-up included (the generator keeps the history)."""

    children: Children
    ref_child: np.ndarray
    ref_day: np.ndarray
    ref_nfa: np.ndarray
    ref_team: np.ndarray
    a_start: np.ndarray  # the assessment (rows with ref_nfa have none)
    a_auth: np.ndarray
    a_team: np.ndarray
    s47: np.ndarray  # has a section 47 enquiry
    s47_strategy: np.ndarray
    s47_completed: np.ndarray
    s47_icpc: np.ndarray  # an ICPC was (or will be) convened
    s47_icpc_day: np.ndarray
    ep_ref: np.ndarray
    ep_child: np.ndarray
    ep_type: np.ndarray
    ep_start: np.ndarray
    ep_end: np.ndarray  # may be after the end date: not ended yet
    ep_team: np.ndarray


def pick(rng: np.random.Generator, table: tuple[tuple[float, float], ...], n: int) -> np.ndarray:
    """n draws of the values of a (value, share) table."""
    values = np.array([v for v, _ in table])
    shares = np.array([s for _, s in table])
    return values[rng.choice(values.size, size=n, p=shares / shares.sum())]


def lognormal_days(rng: np.random.Generator, n: int, spec: tuple[float, float, float, float]) -> np.ndarray:
    """Durations in whole days from (median, sigma, min, max)."""
    median, sigma, low, high = spec
    return np.clip(np.round(median * np.exp(sigma * rng.standard_normal(n))), low, high).astype(np.int64)


class _Simulation:
    def __init__(self, window: Window, teams: Teams, scale: float, rng: np.random.Generator) -> None:
        self.w, self.teams, self.rng = window, teams, rng
        self.cal = window.calendar
        self.p45 = teams.effect(profile.P_ASSESSMENT_45WD, profile.TEAM_EFFECT_45WD, 0.5, 0.98)
        self.p_icpc15 = teams.effect(profile.P_ICPC_15WD, profile.TEAM_EFFECT_ICPC_15WD, 0.4, 0.98)
        self.p_s47_long = teams.effect(profile.P_S47_LONG, profile.TEAM_EFFECT_S47_LONG, 0.03, 0.6)
        self.refs: dict[str, list[np.ndarray]] = {}
        self.eps: dict[str, list[np.ndarray]] = {}
        self.n_refs = 0
        self.children, self.first = self._first_referrals(scale)

    # --- children and their first referral --------------------------------------------------------------
    def _first_referrals(self, scale: float) -> tuple[Children, np.ndarray]:
        rng, w = self.rng, self.w
        days = w.end - w.sim_start + 1
        per_day = profile.REFERRALS_PER_10K * profile.CHILD_POPULATION / 10_000 * scale / 365.25
        n = rng.poisson(per_day / profile.REFERRALS_PER_CHILD * days)
        first = np.sort(self.referral_days(w.sim_start + rng.integers(0, days, n)))
        bands = profile.AGE_AT_FIRST_REFERRAL
        band = rng.choice(len(bands), size=n, p=[b[2] for b in bands])
        low, high = np.array([b[0] for b in bands])[band], np.array([b[1] for b in bands])[band]
        age_days = np.round((low + (high - low) * rng.random(n)) * 365.25).astype(np.int64)
        children = Children(dob=first - age_days, locality=rng.random(n), disabled=rng.random(n) < profile.P_DISABILITY)
        return children, first

    def referral_days(self, days: np.ndarray) -> np.ndarray:
        """Most referrals are accepted on a working day; out-of-hours ones keep their weekend date."""
        non_working_share = 2 / 7 + 8 / 365
        keep = self.rng.random(days.size) < profile.WEEKEND_REFERRAL_SHARE / non_working_share
        moved = self.cal.on_or_after(days)
        return np.where(keep | (moved > self.w.end), days, moved)

    # --- one round: a referral per child and its whole chain --------------------------------------------
    def run(self) -> Casework:
        child, day = np.arange(self.first.size), self.first
        while child.size:
            close, last = self._chains(child, day)
            child, day = self._next_referrals(child, close, last)
        cat = {k: np.concatenate(v) for k, v in self.refs.items()}
        ep = {k: np.concatenate(v) for k, v in self.eps.items()}
        return Casework(children=self.children, **cat, **ep)

    def _chains(self, child: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng, cal, teams, n = self.rng, self.cal, self.teams, child.size
        c = self.children
        loc = c.locality[child]
        nfa = rng.random(n) < profile.P_NFA

        a_team = teams.route("assessment", loc)
        by_mash = rng.random(n) < profile.P_ASSESSED_BY_MASH
        a_team[by_mash] = teams.route("mash", loc[by_mash])
        disabled = c.disabled[child] & (rng.random(n) < profile.P_DISABLED_TEAM_ASSESSMENT)
        a_team[disabled] = teams.route("disabled", loc[disabled])
        ref_team = np.where(nfa, teams.route("mash", loc), a_team)

        a_start = cal.on_or_after(day + pick(rng, profile.ASSESSMENT_START_LAG, n))
        within = rng.random(n) < self.p45[a_team]
        rush = rng.random(n) < profile.ASSESSMENT_DEADLINE_RUSH
        wd_in = np.where(rush, rng.integers(36, 46, n), np.clip(1 + np.floor(45 * rng.beta(2.0, 1.4, n)), 1, 45))
        wd_late = np.clip(46 + np.floor(rng.exponential(14, n)), 46, 160)
        a_wd = np.where(within, wd_in, wd_late).astype(np.int64)
        a_auth = cal.add(a_start, a_wd)

        s47 = ~nfa & (rng.random(n) < profile.P_S47)
        strategy = cal.add(a_start, np.floor(rng.random(n) * np.minimum(a_wd, 8)).astype(np.int64))
        icpc = s47 & (rng.random(n) < profile.P_ICPC)
        in15 = rng.random(n) < self.p_icpc15[a_team]
        icpc_wd = np.where(
            in15,
            np.clip(4 + np.floor(12 * rng.beta(3.0, 1.5, n)), 4, 15),
            np.clip(16 + np.floor(rng.exponential(5, n)), 16, 40),
        ).astype(np.int64)
        icpc_day = cal.add(strategy, icpc_wd)
        long = rng.random(n) < self.p_s47_long[a_team]
        done_wd = np.where(
            icpc,
            np.floor(rng.random(n) * icpc_wd),
            np.where(long, np.clip(16 + np.floor(rng.exponential(profile.S47_LONG_EXTRA_WD_MEAN, n)), 16, 90), rng.integers(2, 16, n)),
        ).astype(np.int64)
        s47_completed = cal.add(strategy, done_wd)
        cp = icpc & (rng.random(n) < profile.P_CP_PLAN)

        ref = self.n_refs + np.arange(n)
        self.n_refs += n
        for k, v in dict(
            ref_child=child, ref_day=day, ref_nfa=nfa, ref_team=ref_team, a_start=a_start, a_auth=a_auth,
            a_team=a_team, s47=s47, s47_strategy=strategy, s47_completed=s47_completed, s47_icpc=icpc,
            s47_icpc_day=icpc_day,
        ).items():
            self.refs.setdefault(k, []).append(v)

        # the assessment episode; with a CP plan the case moves to the CP team at the conference
        assessed = np.flatnonzero(~nfa)
        a_end = np.where(cp, np.where(icpc_day > self.w.end, OPEN, icpc_day - 1), a_auth)
        a_end = np.maximum(a_end, a_start)
        self._record(ref[assessed], child[assessed], np.full(assessed.size, ASSESSMENT), a_start[assessed], a_end[assessed], a_team[assessed])

        close = np.where(nfa, day, np.maximum(a_auth, a_end))
        last = np.where(nfa, _LAST_KIND["nfa"], _LAST_KIND["assessment"])
        r = rng.random(n)
        table_cla = np.where(s47, profile.AFTER_ASSESSMENT_WITH_S47["CLA"], profile.AFTER_ASSESSMENT["CLA"])
        table_cin = np.where(s47, profile.AFTER_ASSESSMENT_WITH_S47["CIN"], profile.AFTER_ASSESSMENT["CIN"])
        nxt = np.where(r < table_cla, CLA, np.where(r < table_cla + table_cin, CIN, NONE))
        nxt = np.where(cp, CP, np.where(nfa, NONE, nxt))
        nxt_start = np.where(cp, icpc_day, a_auth + 1)

        # the episodes that follow, one step at a time
        local = np.arange(n)
        go = self._may_start(nxt, nxt_start, child)
        local, kind, start = local[go], nxt[go], nxt_start[go]
        while local.size:
            end, aged_out = self._episode_ends(kind, start, child[local])
            team = self._episode_teams(kind, start, child[local])
            self._record(ref[local], child[local], kind, start, end, team)
            close[local] = np.maximum(close[local], end)
            last[local] = kind
            nxt = self._next_episode(kind, start, end, aged_out)
            go = self._may_start(nxt, end + 1, child[local])
            local, kind, start = local[go], nxt[go], end[go] + 1
        return close, last

    def _may_start(self, kind: np.ndarray, start: np.ndarray, child: np.ndarray) -> np.ndarray:
        """An episode follows if it starts by the end date, and (but for care leavers) before 18."""
        adult = start >= years_later(self.children.dob[child], 18)
        return (kind != NONE) & (start <= self.w.end) & ((kind == CARE_LEAVER) | ~adult)

    def _episode_ends(self, kind: np.ndarray, start: np.ndarray, child: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng, n = self.rng, kind.size
        dob = self.children.dob[child]
        short = rng.random(n) < profile.CLA_SHORT_SHARE
        days = np.select(
            [kind == CIN, kind == CP, (kind == CLA) & short, kind == CLA],
            [
                lognormal_days(rng, n, profile.CIN_DAYS),
                lognormal_days(rng, n, profile.CP_DAYS),
                lognormal_days(rng, n, profile.CLA_SHORT_DAYS),
                lognormal_days(rng, n, profile.CLA_LONG_DAYS),
            ],
            default=0,
        )
        end = start + days
        turns_18 = years_later(dob, 18) - 1
        aged_out = (kind == CLA) & (end >= turns_18)
        end = np.where(kind == CARE_LEAVER, start, np.minimum(end, turns_18))
        # care leavers: supported to 21, some to 25, some stop earlier
        r = rng.random(n)
        leaver_end = np.select(
            [r < profile.CARE_LEAVER_TO_21, r < profile.CARE_LEAVER_TO_21 + profile.CARE_LEAVER_TO_25],
            [years_later(dob, 21) - 1, years_later(dob, 25) - 1],
            default=start + rng.integers(*profile.CARE_LEAVER_EARLY_DAYS, n),
        )
        end = np.where(kind == CARE_LEAVER, leaver_end, end)
        return np.maximum(end, start), aged_out

    def _episode_teams(self, kind: np.ndarray, start: np.ndarray, child: np.ndarray) -> np.ndarray:
        rng, teams, c = self.rng, self.teams, self.children
        loc = c.locality[child]
        age = (start - c.dob[child]) / 365.25
        disabled = c.disabled[child] & (rng.random(kind.size) < profile.P_DISABLED_TEAM_CASE)
        adolescent = (age >= 13) & (rng.random(kind.size) < profile.P_ADOLESCENT_TEAM)
        return np.select(
            [kind == CARE_LEAVER, disabled, kind == CLA, adolescent],
            [teams.route("care_leavers", loc), teams.route("disabled", loc), teams.route("children_in_care", loc), teams.route("adolescent", loc)],
            default=teams.route("care_management", loc),
        )

    def _next_episode(self, kind: np.ndarray, start: np.ndarray, end: np.ndarray, aged_out: np.ndarray) -> np.ndarray:
        r = self.rng.random(kind.size)
        after_cp = np.where(r < profile.AFTER_CP["CIN"], CIN, np.where(r < profile.AFTER_CP["CIN"] + profile.AFTER_CP["CLA"], CLA, NONE))
        eligible = aged_out & (end - start >= 91) & (r < profile.P_CARE_LEAVER)
        after_cla = np.where(eligible, CARE_LEAVER, np.where(~aged_out & (r < profile.AFTER_CLA["CIN"]), CIN, NONE))
        return np.select(
            [kind == CIN, kind == CP, kind == CLA],
            [np.where(r < profile.AFTER_CIN["CLA"], CLA, NONE), after_cp, after_cla],
            default=NONE,
        )

    def _record(self, ref, child, kind, start, end, team) -> None:  # noqa: ANN001
        for k, v in dict(ep_ref=ref, ep_child=child, ep_type=kind, ep_start=start, ep_end=end, ep_team=team).items():
            self.eps.setdefault(k, []).append(np.asarray(v, dtype=np.int64))

    # --- re-referral ------------------------------------------------------------------------------------
    def _next_referrals(self, child: np.ndarray, close: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng, n = self.rng, child.size
        p = np.select(
            [last == _LAST_KIND["nfa"], last == _LAST_KIND["assessment"], last == CIN, last == CP, last == CLA],
            [profile.P_REREFERRAL[k] for k in ("nfa", "assessment", "CIN", "CP", "CLA")],
            default=profile.P_REREFERRAL["CARE_LEAVER"],
        )
        soon = rng.random(n) < profile.P_REREFERRAL_SOON
        gap = np.where(
            soon,
            1 + np.floor(rng.exponential(profile.REREFERRAL_SOON_MEAN_DAYS, n)),
            rng.integers(*profile.REREFERRAL_LATER_DAYS, n),
        ).astype(np.int64)
        day = self.referral_days(close + gap)
        again = (rng.random(n) < p) & (close < self.w.end) & (day <= self.w.end)
        again &= day < years_later(self.children.dob[child], 18)
        return child[again], day[again]


def simulate_casework(window: Window, teams: Teams, scale: float, rng: np.random.Generator) -> Casework:
    """Every referral chain from the start of the warm-up to the end date."""
    return _Simulation(window, teams, scale, rng).run()
