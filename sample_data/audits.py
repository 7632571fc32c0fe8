"""The sample trust's audit programme: team managers audit a few of their team's files a month.

Each audit picks an episode open in the history (so a child the team holds), is assigned on a working
day of it, due four weeks later, and completed by the team's manager in post that day, on time more
often in stronger teams. Grades follow the team's quality (the same z-score that drives its
timeliness), so the demo's grades correlate with its figures; a sample is moderated by a service
manager, who mostly agrees and otherwise marks a grade down; learning audits grade all seven domains,
the others a few. Audits graded below good get actions, some completed late and some still open.

Vectorised over every audit at once; every draw comes from the generator's own audit RNG.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl.contract import AUDIT_DOMAINS, AUDIT_TYPES
from sample_data import profile
from sample_data.timeline import OPEN, Window
from sample_data.workforce import ROLE, Teams, Workforce

OUTSTANDING, GOOD, REQUIRES_IMPROVEMENT, INADEQUATE = range(4)  # positions in GRADES
NOT_DONE = -1


@dataclass(frozen=True)
class AuditProgramme:
    """Audits (by episode index), their domains and actions; days as integers, OPEN = not happened."""

    episode: np.ndarray  # index into the episodes given
    team: np.ndarray
    worker: np.ndarray  # -1: no worker allocated
    auditor: np.ndarray  # index into the workforce, -1: the QA team's own auditor
    audit_type: np.ndarray  # index into AUDIT_TYPES
    assigned: np.ndarray
    due: np.ndarray
    completed: np.ndarray
    grade: np.ndarray  # index into GRADES
    moderated: np.ndarray
    moderated_grade: np.ndarray
    domain_audit: np.ndarray  # per domain grade: index into the audits
    domain: np.ndarray  # index into AUDIT_DOMAINS
    domain_grade: np.ndarray
    action_audit: np.ndarray  # per action: index into the audits
    action_owner: np.ndarray  # index into the workforce, -1: none named
    action_due: np.ndarray
    action_completed: np.ndarray


def _step(grade: np.ndarray, shift: np.ndarray) -> np.ndarray:
    return np.clip(grade + shift, OUTSTANDING, INADEQUATE)


def simulate_audits(
    ep_start: np.ndarray, ep_end: np.ndarray, ep_team: np.ndarray, first_worker: np.ndarray,
    teams: Teams, wf: Workforce, window: Window, rng: np.random.Generator,
) -> AuditProgramme:
    """The audit programme over the history for the episodes given (their start, end, team, first worker)."""
    cal, start, end = window.calendar, window.start, window.end
    lo, hi = np.maximum(ep_start, start), np.minimum(ep_end, end)
    eligible = np.flatnonzero(hi > lo)
    months = (end - start) / 30.44
    n = rng.poisson(profile.AUDITS_PER_TEAM_MONTH * teams.count * months)
    # files in proportion to the days they were open: each team audits about its share of the caseload
    weight = (hi - lo)[eligible].astype(float)
    episode = eligible[rng.choice(eligible.size, size=n, p=weight / weight.sum())]
    assigned = cal.on_or_before(lo[episode] + np.floor(rng.random(n) * (hi - lo)[episode]).astype(np.int64))
    order = np.lexsort((episode, assigned))
    episode, assigned = episode[order], assigned[order]
    team = ep_team[episode]
    z = teams.z[team]

    audit_type = rng.choice(len(AUDIT_TYPES), size=n, p=profile.AUDIT_TYPE_SHARES)
    due = assigned + profile.AUDIT_DUE_DAYS
    late = rng.random(n) < np.clip(profile.P_AUDIT_LATE - profile.TEAM_EFFECT_AUDIT_LATE * z, 0.02, 0.6)
    on_time_day = assigned + 3 + np.floor(rng.random(n) * (profile.AUDIT_DUE_DAYS - 2)).astype(np.int64)
    late_day = due + 1 + np.floor(rng.exponential(profile.AUDIT_LATE_MEAN_DAYS, n)).astype(np.int64)
    completed = cal.on_or_before(np.where(late, late_day, np.minimum(on_time_day, due)))  # on a working day
    completed = np.where(completed > end, OPEN, completed)

    # grade: the team's quality plus the file's own luck; thresholds give about 70% good or better
    score = profile.AUDIT_GRADE_TEAM_WEIGHT * z + rng.standard_normal(n)
    grade = np.select([score > 1.35, score > -0.45, score > -1.75], [OUTSTANDING, GOOD, REQUIRES_IMPROVEMENT],
                      INADEQUATE)
    done = completed < OPEN
    moderated = np.where(done & (rng.random(n) < profile.P_AUDIT_MODERATED),
                         completed + 5 + np.floor(rng.random(n) * 25).astype(np.int64), OPEN)
    moderated = np.where(moderated > end, OPEN, moderated)
    shift = np.where(rng.random(n) < profile.P_MODERATION_AGREES, 0, np.where(rng.random(n) < 0.75, 1, -1))
    moderated_grade = np.where(moderated < OPEN, _step(grade, shift), NOT_DONE)

    auditor = _team_manager(wf, team, assigned)
    worker = first_worker[episode]

    # domains: learning audits grade all seven, the others three to five; each near the overall grade
    counts = np.where(audit_type == AUDIT_TYPES.index("learning"), len(AUDIT_DOMAINS),
                      rng.integers(3, 6, n)) * done
    domain_audit = np.repeat(np.arange(n), counts)
    ranks = np.argsort(rng.random((n, len(AUDIT_DOMAINS))), axis=1)  # each audit's domains in a random order
    pick = np.arange(domain_audit.size) - np.repeat(np.cumsum(counts) - counts, counts)
    domain = np.sort(np.where(np.arange(len(AUDIT_DOMAINS)) < counts[:, None], ranks, 99), axis=1)
    domain = domain[domain_audit, pick]
    final = np.where(moderated_grade >= 0, moderated_grade, grade)
    domain_grade = _step(final[domain_audit], rng.choice([-1, 0, 0, 0, 1], size=domain_audit.size))

    # actions: one to three for an audit graded below good, sometimes one for a good file
    n_actions = np.where(final >= REQUIRES_IMPROVEMENT, rng.integers(1, 4, n), (rng.random(n) < 0.2).astype(int)) * done
    action_audit = np.repeat(np.arange(n), n_actions)
    action_due = completed[action_audit] + rng.choice(profile.ACTION_DUE_DAYS, size=action_audit.size)
    a_late = rng.random(action_audit.size) < np.clip(profile.P_ACTION_LATE - 0.08 * z[action_audit], 0.05, 0.7)
    action_completed = np.where(
        a_late, action_due + 1 + np.floor(rng.exponential(20, action_audit.size)).astype(np.int64),
        action_due - np.floor(rng.random(action_audit.size) * 14).astype(np.int64))
    action_completed = np.maximum(action_completed, completed[action_audit])
    action_completed = np.where(action_completed > end, OPEN, action_completed)
    owner = np.where(rng.random(action_audit.size) < 0.7, worker[action_audit], auditor[action_audit])

    return AuditProgramme(
        episode=episode, team=team, worker=worker, auditor=auditor, audit_type=audit_type, assigned=assigned,
        due=due, completed=completed, grade=np.where(done, grade, NOT_DONE), moderated=moderated,
        moderated_grade=moderated_grade, domain_audit=domain_audit, domain=domain, domain_grade=domain_grade,
        action_audit=action_audit, action_owner=owner, action_due=action_due, action_completed=action_completed,
    )


def _team_manager(wf: Workforce, team: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The team manager of each team who started last on or before the day (-1 where the team has none)."""
    managers = np.flatnonzero(wf.role == ROLE["team_manager"])
    span = 4_000_000  # keys team * span + start sort by team, then start (starts lie within +-1,000,000)
    keys = wf.team[managers].astype(np.int64) * span + (wf.start[managers] + 2_000_000)
    order = np.argsort(keys)
    managers, keys = managers[order], keys[order]
    at = np.searchsorted(keys, team.astype(np.int64) * span + (day + 2_000_000), side="right") - 1
    found = (at >= 0) & (wf.team[managers[np.clip(at, 0, None)]] == team)
    return np.where(found, managers[np.clip(at, 0, None)], -1)

