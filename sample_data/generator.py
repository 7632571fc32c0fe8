"""The synthetic sample trust: `generate_sample` simulates a trust the size of Sandwell and writes its extract.

Steps: teams -> casework (referral chains from the warm-up to the end date) -> keep the three years of
history -> workers sized from the cases -> allocations -> missing episodes -> the audit programme ->
the nine contract CSVs, the three QA files and manifest.json. Every random draw comes from numpy generators seeded from `seed`, so the same seed,
scale and end date give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.contract import AUDIT_DOMAINS, AUDIT_TYPES, EPISODE_TYPES, GENDERS, GRADES, WORKER_ROLES
from sample_data import profile
from sample_data.allocations import PostBook, allocate
from sample_data.audits import AuditProgramme, simulate_audits
from sample_data.casework import ASSESSMENT, Casework, simulate_casework
from sample_data.extract_writer import write_extract
from sample_data.missing import MissingEpisodes, simulate_missing
from sample_data.ssd_shape import fit_to_ssd, teams_of_unallocated_cases
from sample_data.timeline import BEFORE, OPEN, Window
from sample_data.workforce import Teams, Workforce, build_teams, build_workforce, open_cases_per_team

SOURCE_SYSTEM = "kpidash-sample"
MIN_SCALE, MAX_SCALE = 0.01, 100.0
FIRST_END_DATE, LAST_END_DATE = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


@dataclass(frozen=True)
class SampleSummary:
    """What was written: the folder, the parameters, and the data rows of each file."""

    out: Path
    seed: int
    scale: float
    end_date: dt.date
    rows: dict[str, int]

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def generate_sample(
    out: Path, seed: int = 1, scale: float = 1.0, end_date: dt.date | None = None, *,
    fmt: str = "contract", ssd_compatible: bool = False,
) -> SampleSummary:
    """Write the sample trust's extract into `out` (created if absent); history ends on `end_date` (default yesterday).

    fmt "ssd" writes the trust as Standard Safeguarding Dataset tables (sample_data.ssd_writer), shaped as
    the SSD can hold it (sample_data.ssd_shape); ssd_compatible writes that same shaped trust in the
    contract's format, so that the two load to the same figures."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number of 0 or more, not {seed!r}")
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be from {MIN_SCALE:g} to {MAX_SCALE:g} (1 = a trust the size of Sandwell), not {scale!r}")
    end_date = end_date or dt.date.today() - dt.timedelta(days=1)
    if not FIRST_END_DATE <= end_date <= LAST_END_DATE:
        raise ValueError(f"end date {end_date.isoformat()} is out of range ({FIRST_END_DATE} to {LAST_END_DATE})")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; the sample needs a folder to write its CSV files into")
    if fmt not in ("contract", "ssd"):
        raise ValueError(f'format must be "contract" or "ssd", not {fmt!r}')
    ssd_compatible = ssd_compatible or fmt == "ssd"

    window = Window.ending(end_date, profile.HISTORY_YEARS, profile.WARMUP_YEARS)
    # a seventh stream for the audit programme: the first six (and so the other files) are as before it
    rng_teams, rng_cases, rng_staff, rng_alloc, rng_missing, rng_detail, rng_audits = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)
    )
    teams = build_teams(scale, rng_teams)
    cases = simulate_casework(window, teams, scale, rng_cases)
    assembly = _Assembly(window, teams, cases, scale, (rng_staff, rng_alloc, rng_missing, rng_detail, rng_audits),
                         ssd_compatible)
    tables = assembly.tables()
    manifest = {
        "extracted_at": f"{(end_date + dt.timedelta(days=1)).isoformat()}T06:30:00",
        "source_system": SOURCE_SYSTEM,
    }
    if fmt == "ssd":
        from sample_data.ssd_writer import write_ssd

        rows = write_ssd(out, {**tables, "ssd_cases": assembly.ssd_cases(tables["referrals"])}, manifest)
    else:
        rows = write_extract(out, tables, manifest)
    return SampleSummary(out=out, seed=seed, scale=scale, end_date=end_date, rows=rows)


class _Assembly:
    """Keeps the history, adds workers, allocations and missing episodes, and builds the typed tables."""

    def __init__(
        self, window: Window, teams: Teams, cases: Casework, scale: float, rngs: tuple[np.random.Generator, ...],
        ssd_compatible: bool = False,
    ) -> None:
        rng_staff, rng_alloc, rng_missing, self.rng, rng_audits = rngs
        self.ssd_compatible = ssd_compatible
        if ssd_compatible:
            cases = fit_to_ssd(cases)
        self.w, self.teams, self.c = window, teams, cases
        end, start = window.end, window.start
        c = cases
        self.refs = np.flatnonzero((c.ref_day >= start) & (c.ref_day <= end))
        self.assessments = self.refs[~c.ref_nfa[self.refs] & (c.a_start[self.refs] <= end)]
        self.s47s = self.assessments[c.s47[self.assessments] & (c.s47_strategy[self.assessments] <= end)]
        self.eps = np.flatnonzero((c.ep_start <= end) & (c.ep_end >= start))
        e = self.eps
        demand = open_cases_per_team(c.ep_team[e], c.ep_start[e], c.ep_end[e], window, teams.count)
        self.wf = build_workforce(teams, demand, window, rng_staff)
        self.alloc = allocate(c.ep_type[e], c.ep_start[e], c.ep_end[e], c.ep_team[e], teams, self.wf, window, rng_alloc)
        self.ep_team = teams_of_unallocated_cases(c, e, self.alloc.episode) if ssd_compatible else c.ep_team[e]
        self.missing = simulate_missing(
            c.ep_type[e], c.ep_child[e], c.ep_start[e], c.ep_end[e], self.ep_team, c.children.dob, teams, scale, window, rng_missing
        )
        self.audits: AuditProgramme = simulate_audits(
            c.ep_start[e], c.ep_end[e], c.ep_team[e], self.alloc.first_worker, teams, self.wf, window, rng_audits)
        # the worker of each assessment: the first worker allocated to its assessment episode
        self.assessment_worker = np.full(c.ref_day.size, -1, dtype=np.int64)
        is_assessment = c.ep_type[e] == ASSESSMENT
        self.assessment_worker[c.ep_ref[e][is_assessment]] = self.alloc.first_worker[is_assessment]
        # referrals numbered by date; the assessments refer to them
        self.refs = self.refs[np.lexsort((c.ref_child[self.refs], c.ref_day[self.refs]))]
        self.referral_number = np.full(c.ref_day.size, -1, dtype=np.int64)
        self.referral_number[self.refs] = np.arange(1, self.refs.size + 1)
        # children: everyone referenced, numbered in order of their first referral
        self.children = np.unique(np.concatenate([c.ref_child[self.refs], c.ep_child[e], self.missing.child]))

    # --- helpers ----------------------------------------------------------------------------------------
    def _child_ids(self, child: np.ndarray) -> pa.Array:
        return _ids("C", np.searchsorted(self.children, child) + 1, self.children.size)

    def _team_ids(self, team: np.ndarray, blank_some: bool = False) -> pa.Array:
        valid = team >= 0
        if blank_some and team.size:  # a handful recorded without a team: always some, never many
            blank = max(1, round(profile.P_EMPTY_TEAM * team.size))
            valid[self.rng.choice(team.size, size=min(blank, team.size), replace=False)] = False
        return _ids("T", team + 1, self.teams.count, valid)

    def _worker_ids(self, worker: np.ndarray) -> pa.Array:
        return _ids("W", worker + 1, self.wf.count, worker >= 0)

    def _dates(self, days: np.ndarray) -> pa.Array:
        """Dates; anything after the end date has not happened yet (empty)."""
        return pa.array(days.clip(BEFORE, OPEN).astype("datetime64[D]"), mask=(days > self.w.end) | (days <= BEFORE))

    # --- tables -----------------------------------------------------------------------------------------
    def tables(self) -> dict[str, pa.Table]:
        return {
            "teams": self._teams(),
            "workers": self._workers(),
            "children": self._children(),
            "referrals": self._referrals(),
            "assessments": self._assessments(),
            "s47_enquiries": self._s47s(),
            "episodes": self._episodes(),
            "allocations": self._allocations(),
            "missing_episodes": self._missing(),
            **({} if self.ssd_compatible else self._audit_files()),  # the SSD holds no case-file audits
        }

    def _teams(self) -> pa.Table:
        t = self.teams
        return pa.table({"team_id": _ids("T", np.arange(1, t.count + 1), t.count), "team_name": t.name, "service": t.service})

    def _workers(self) -> pa.Table:
        wf: Workforce = self.wf
        return pa.table({
            "worker_id": _ids("W", np.arange(1, wf.count + 1), wf.count),
            "worker_name": wf.name,
            "team_id": self._team_ids(wf.team),
            "role": _codes(wf.role, WORKER_ROLES),
            "qualified": wf.qualified,
            "fte": wf.fte,
            "agency": wf.agency,
            # the SSD has no dates in post: its shape keeps every worker in post and ends a leaver's
            # allocations on the day after their last day instead (_allocations)
            "start_date": self._dates(np.full_like(wf.start, BEFORE) if self.ssd_compatible else wf.start),
            "end_date": self._dates(np.full_like(wf.end, OPEN) if self.ssd_compatible else wf.end),
        })

    def _children(self) -> pa.Table:
        rng, n, ch = self.rng, self.children.size, self.c.children
        gender = rng.choice(len(GENDERS), size=n, p=[profile.GENDER_SHARES[g] for g in GENDERS])
        ethnicities = list(profile.ETHNICITY_SHARES)
        shares = np.array(list(profile.ETHNICITY_SHARES.values()))
        ethnicity = rng.choice(len(ethnicities), size=n, p=shares / shares.sum())
        disability_known = rng.random(n) >= profile.P_DISABILITY_UNKNOWN
        return pa.table({
            "child_id": _ids("C", np.arange(1, n + 1), n),
            "date_of_birth": self._dates(ch.dob[self.children]),
            "gender": _codes(gender, GENDERS),
            "ethnicity": _codes(ethnicity, ethnicities, rng.random(n) >= profile.P_ETHNICITY_EMPTY),
            "disability": pa.array(ch.disabled[self.children], mask=~disability_known),
        })

    def _referrals(self) -> pa.Table:
        c, rng = self.c, self.rng
        r = self.refs
        sources = list(profile.REFERRAL_SOURCE_SHARES)
        shares = np.array(list(profile.REFERRAL_SOURCE_SHARES.values()))
        source = rng.choice(len(sources), size=r.size, p=shares / shares.sum())
        # screened-out referrals: the MASH worker on duty that day, if one is in post
        worker = self.assessment_worker[r]
        nfa = c.ref_nfa[r]
        duty, duty_from = PostBook(self.wf, rng).pick(c.ref_team[r][nfa], c.ref_day[r][nfa], rng)
        worker[nfa] = np.where(duty_from == c.ref_day[r][nfa], duty, -1)
        return pa.table({
            "referral_id": _ids("R", np.arange(1, r.size + 1), r.size),
            "child_id": self._child_ids(c.ref_child[r]),
            "referral_date": self._dates(c.ref_day[r]),
            "source": _codes(source, sources, rng.random(r.size) >= profile.P_SOURCE_EMPTY),
            "nfa": nfa,
            "team_id": self._team_ids(c.ref_team[r], blank_some=not self.ssd_compatible),
            "worker_id": self._worker_ids(worker),
        })

    def _assessments(self) -> pa.Table:
        c = self.c
        a = self.assessments[np.lexsort((c.ref_child[self.assessments], c.a_start[self.assessments]))]
        return pa.table({
            "assessment_id": _ids("A", np.arange(1, a.size + 1), a.size),
            "child_id": self._child_ids(c.ref_child[a]),
            "referral_id": _ids("R", self.referral_number[a], self.refs.size),
            "start_date": self._dates(c.a_start[a]),
            "authorised_date": self._dates(c.a_auth[a]),
            "team_id": self._team_ids(c.a_team[a], blank_some=True),
            "worker_id": self._worker_ids(self.assessment_worker[a]),
        })

    def _s47s(self) -> pa.Table:
        c, end = self.c, self.w.end
        s = self.s47s[np.lexsort((c.ref_child[self.s47s], c.s47_strategy[self.s47s]))]
        icpc, completed = c.s47_icpc[s], c.s47_completed[s] <= end
        held = icpc & (c.s47_icpc_day[s] <= end)
        decided = held | completed  # undecided (empty) while the enquiry is open and no conference is set
        return pa.table({
            "s47_id": _ids("S", np.arange(1, s.size + 1), s.size),
            "child_id": self._child_ids(c.ref_child[s]),
            "strategy_date": self._dates(c.s47_strategy[s]),
            "completed_date": self._dates(c.s47_completed[s]),
            "icpc_required": pa.array(icpc, mask=~decided),
            "icpc_date": self._dates(np.where(icpc, c.s47_icpc_day[s], OPEN)),
            "team_id": self._team_ids(c.a_team[s]),
            "worker_id": self._worker_ids(self.assessment_worker[s]),
        })

    def _episodes(self) -> pa.Table:
        c, e = self.c, self.eps
        order = np.lexsort((c.ep_type[e], c.ep_child[e], c.ep_start[e]))
        self.episode_number = np.empty(e.size, dtype=np.int64)
        self.episode_number[order] = np.arange(1, e.size + 1)
        e = e[order]
        return pa.table({
            "episode_id": _ids("E", np.arange(1, e.size + 1), e.size),
            "child_id": self._child_ids(c.ep_child[e]),
            "episode_type": _codes(c.ep_type[e], EPISODE_TYPES),
            "start_date": self._dates(c.ep_start[e]),
            "end_date": self._dates(c.ep_end[e]),
            "team_id": self._team_ids(self.ep_team[order]),
        })

    def _allocations(self) -> pa.Table:
        a, child = self.alloc, self.c.ep_child[self.eps][self.alloc.episode]
        order = np.lexsort((a.worker, child, a.start))
        end = a.end
        if self.ssd_compatible:  # a leaver's allocations end the day after their last day in post
            left = self.wf.end[a.worker]
            end = np.where(left <= self.w.end, np.minimum(a.end, left + 1), a.end)
        columns = {
            "allocation_id": _ids("AL", np.arange(1, order.size + 1), order.size),
            "child_id": self._child_ids(child[order]),
            "worker_id": self._worker_ids(a.worker[order]),
            "start_date": self._dates(a.start[order]),
            "end_date": self._dates(end[order]),
        }
        if self.ssd_compatible:  # what the SSD's involvements also say: the case and the team of the allocation
            columns["case"] = pa.array(self.c.ep_ref[self.eps][a.episode][order])
            columns["case_team_id"] = self._team_ids(self.ep_team[a.episode][order])
        return pa.table(columns)

    def ssd_cases(self, referrals: pa.Table) -> pa.Table:
        """One row per case the SSD holds (its ssd_cin_episodes): every referral of the history, and the
        earlier referrals whose cases are open during it. `case` is the casework's referral index."""
        c, w = self.c, self.w
        cases = np.unique(np.concatenate([self.refs, c.ep_ref[self.eps]]))
        close = np.full(c.ref_day.size, np.iinfo(np.int64).min)
        np.maximum.at(close, c.ep_ref, c.ep_end)
        close = np.where(close == np.iinfo(np.int64).min, c.ref_day, close)  # screened out: closed the same day
        in_history = self.referral_number[cases] >= 0
        row = pa.array(np.where(in_history, self.referral_number[cases] - 1, 0))
        earlier = np.cumsum(~in_history)
        ids = pc.if_else(pa.array(in_history), pc.take(referrals["referral_id"], row),
                         _ids("RH", earlier, max(int(earlier[-1]) if earlier.size else 0, 1)))

        def from_referrals(name: str, fallback: pa.Array) -> pa.Array:
            column = referrals[name].combine_chunks() if isinstance(referrals[name], pa.ChunkedArray) else referrals[name]
            if pa.types.is_dictionary(column.type):
                column = column.cast(pa.string())
            return pc.if_else(pa.array(in_history), pc.take(column, row), fallback)

        none = pa.nulls(cases.size, pa.string())
        return pa.table({
            "case": pa.array(cases),
            "referral_id": ids,
            "child_id": self._child_ids(c.ref_child[cases]),
            "referral_date": self._dates(c.ref_day[cases]),
            "source": from_referrals("source", none),
            "nfa": from_referrals("nfa", pa.array(np.zeros(cases.size, dtype=bool))),
            "team_id": from_referrals("team_id", self._team_ids(c.ref_team[cases])),
            "worker_id": from_referrals("worker_id", none),
            "close_date": self._dates(np.where(close[cases] > w.end, OPEN, close[cases])),
        })

    def _missing(self) -> pa.Table:
        m: MissingEpisodes = self.missing
        offered = m.rhi_offered >= 0
        return pa.table({
            "missing_id": _ids("M", np.arange(1, m.child.size + 1), m.child.size),
            "child_id": self._child_ids(m.child),
            "start_time": _times(m.start, np.ones(m.start.size, dtype=bool)),
            "end_time": _times(m.end, m.end >= 0),
            "rhi_offered_time": _times(m.rhi_offered, offered),
            "rhi_accepted": pa.array(m.rhi_accepted, mask=~offered),
            "team_id": self._team_ids(m.team, blank_some=not self.ssd_compatible),
        })

    def _audit_files(self) -> dict[str, pa.Table]:
        au: AuditProgramme = self.audits
        n, c = au.episode.size, self.c
        done, moderated = au.grade >= 0, au.moderated_grade >= 0
        audit_ids = _ids("AU", np.arange(1, n + 1), n)
        managed = au.auditor >= 0
        audits = pa.table({
            "audit_id": audit_ids,
            "child_id": self._child_ids(c.ep_child[self.eps][au.episode]),
            "audit_type": _codes(au.audit_type, AUDIT_TYPES),
            "theme": pa.array(np.where(au.audit_type == AUDIT_TYPES.index("thematic"), "Neglect", None)),
            "team_id": self._team_ids(au.team),
            "worker_id": self._worker_ids(au.worker),
            "auditor_id": pc.if_else(pa.array(managed), self._worker_ids(au.auditor), pa.scalar("QA-AUDITOR")),
            "auditor_role": _codes(np.where(managed, 0, 4), ("team_manager", "", "", "", "qa")),
            "assigned_date": self._dates(au.assigned),
            "due_date": pa.array(au.due.astype("datetime64[D]")),  # may be after the extract: due in the future
            "completed_date": self._dates(au.completed),
            "grade": _codes(np.clip(au.grade, 0, None), GRADES, done),
            "moderated_date": self._dates(au.moderated),
            "moderated_grade": _codes(np.clip(au.moderated_grade, 0, None), GRADES, moderated),
        })
        a = au.domain_audit
        domains = pa.table({
            "audit_id": audit_ids.take(pa.array(a)),
            "domain": _codes(au.domain, AUDIT_DOMAINS),
            "grade": _codes(au.domain_grade, GRADES),
        })
        k = au.action_audit.size
        actions = pa.table({
            "action_id": _ids("AC", np.arange(1, k + 1), k),
            "audit_id": audit_ids.take(pa.array(au.action_audit)),
            "description": pa.array(np.array(ACTION_TEXTS)[np.arange(k) % len(ACTION_TEXTS)]),
            "owner_id": self._worker_ids(au.action_owner),
            "due_date": pa.array(au.action_due.astype("datetime64[D]")),
            "completed_date": self._dates(au.action_completed),
        })
        return {"audits": audits, "audit_domains": domains, "audit_actions": actions}


ACTION_TEXTS = ("Update the chronology", "Record the child's views in their own words", "Review the plan with the family",
                "Hold a multi-agency meeting", "Add management oversight of the plan", "Complete the overdue visit")

_MIN_DIGITS = {"T": 2, "W": 4, "C": 6}  # "T01", "W0042", "C000123"; the other ids have 7 digits


def _ids(prefix: str, numbers: np.ndarray, count: int, valid: np.ndarray | None = None) -> pa.Array:
    """"C000123"-style ids of rows numbered 1..count: zero-padded to one width per file, so they sort as numbered."""
    width = max(_MIN_DIGITS.get(prefix, 7), len(str(count)))
    text = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width=width, padding="0")
    ids = pc.binary_join_element_wise(prefix, text, "")
    return ids if valid is None else pc.if_else(pa.array(valid), ids, pa.scalar(None, pa.string()))


def _codes(index: np.ndarray, labels, valid: np.ndarray | None = None) -> pa.Array:  # noqa: ANN001
    mask = None if valid is None else ~valid
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(index, dtype=np.int32), mask=mask), pa.array(list(labels)))


def _times(minutes: np.ndarray, valid: np.ndarray) -> pa.Array:
    seconds = np.where(valid, minutes, 0).astype(np.int64) * 60
    return pa.array(seconds.astype("datetime64[s]"), mask=~valid)

