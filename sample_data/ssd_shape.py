"""The sample trust as the Standard Safeguarding Dataset can hold it (`kpidash sample --format ssd`).

The SSD keeps a case as one CIN episode per referral, open from the referral date to the case's
closure, with one team (the team it is in now): it has no episode types, no record of a case moving
between teams, and no episode apart from its referral. The sample's cases are shaped to fit, so that
the same trust gives the same figures whether it is loaded from the contract's files or from the SSD:

- a referral's episodes follow on without a gap: the first opens on the referral date and each one
  ends on the day the next begins (types and dates of the steps are kept);
- a case keeps one team for its whole life: the team of its last episode;
- a case no worker was ever allocated to is the team its referral was given (the SSD's fallback).

Everything else (referrals, assessments, enquiries, workers and their leaving, allocations, missing
episodes) is simulated exactly as for the contract's sample; docs/ssd.md says what this changes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sample_data.casework import Casework


def fit_to_ssd(cases: Casework) -> Casework:
    """The casework with each referral's episodes contiguous from the referral date, in one team."""
    ref, start, end, team = cases.ep_ref, cases.ep_start.copy(), cases.ep_end.copy(), cases.ep_team.copy()
    order = np.lexsort((start, ref))
    r = ref[order]
    first = np.r_[True, r[1:] != r[:-1]]
    last = np.r_[r[1:] != r[:-1], True]
    s, e = start[order], end[order]
    s[first] = cases.ref_day[r[first]]
    e[~last] = s[1:][~last[:-1]]  # each step ends the day the next begins
    chain_team = np.empty(cases.ref_day.size, dtype=np.int64)
    chain_team[r[last]] = team[order][last]
    start[order], end[order] = s, np.maximum(e, s)
    team = chain_team[ref]
    return dataclasses.replace(cases, ep_start=start, ep_end=end, ep_team=team)


def teams_of_unallocated_cases(cases: Casework, episodes: np.ndarray, allocated_episodes: np.ndarray) -> np.ndarray:
    """The team of each episode given: its case's team, or its referral's when no worker was ever allocated."""
    ref = cases.ep_ref[episodes]
    allocated = np.zeros(cases.ref_day.size, dtype=bool)
    allocated[ref[allocated_episodes]] = True
    return np.where(allocated[ref], cases.ep_team[episodes], cases.ref_team[ref])
