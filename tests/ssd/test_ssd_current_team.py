"""An episode's current team and a missing episode's team (ssd-source.md, "An episode's current team" and
the missing_episodes row), and which involvements are allocations. Every answer was worked out by hand;
the extract date is 2025-11-24 (manifest.json)."""

from __future__ import annotations

from pathlib import Path

from ssd_builder import build_ssd

DEPARTMENTS = [{"dept_team_id": t, "dept_team_name": n} for t, n in
               (("T1", "Team One"), ("T2", "Team Two"), ("T3", "Team Three"))]


def _episode(ref: str, child: str, start: str, close: str = "", team: str = "T1") -> dict[str, str]:
    return {"cine_referral_id": ref, "cine_person_id": child, "cine_referral_date": start, "cine_close_date": close,
            "cine_referral_team": team}


def _involvement(iid: str, child: str, start: str, team: str, ref: str = "", end: str = "",
                 role: str = "ALLOCATED CASE WORKER", worker: str = "W1") -> dict[str, str]:
    return {"invo_involvements_id": iid, "invo_person_id": child, "invo_involvement_start_date": start,
            "invo_professional_team": team, "invo_referral_id": ref, "invo_involvement_end_date": end,
            "invo_professional_role_id": role, "invo_professional_id": worker}


EPISODES = [
    _episode("R1", "C1", "2025-01-06"),
    _episode("R2", "C2", "2025-01-06"),
    _episode("R3", "C3", "2025-01-06"),
    _episode("R4", "C4", "2025-01-06"),
    _episode("R5", "C5", "2024-01-01", "2024-06-30"),
    _episode("R6", "C5", "2025-01-01"),
    _episode("R7", "C6", "2024-03-01", "2024-09-01"),
    _episode("R8", "C7", "2024-03-01", "2024-09-01"),
    _episode("R9", "C8", "2025-01-06", team=" team two"),
    _episode("R10", "C9", "2025-01-06", team=""),
    _episode("R11", "C10", "not a date"),
    _episode("R12", "C11", "2025-01-06"),
    _episode("R13", "C12", "2025-01-01"),
    _episode("R14", "C12", "2025-02-01", team="T2"),
    _episode("9", "C13", "2025-01-01", team="T1"),
    _episode("10", "C13", "2025-01-01", team="T3"),
]
INVOLVEMENTS = [
    # R1: by its referral id; the latest start (any case of ALLOCATED) wins; not an allocation, after the
    # extract date, or without a team: not counted
    _involvement("I1", "C1", "2025-01-07", "T2", ref="R1"),
    _involvement("I2", "C1", "2025-03-01 09:00:00", "T3", ref="R1"),
    _involvement("I3", "C1", "2025-04-01", "Team Two", ref="R1", role="allocated social worker"),
    _involvement("I4", "C1", "2025-05-01", "T1", ref="R1", role="SUPERVISOR"),
    _involvement("I5", "C1", "2025-12-01", "T1", ref="R1"),
    _involvement("I6", "C1", "2025-06-01", "", ref="R1"),
    # R2: a tie on the start date, integer ids: 10 > 9; R3: text ids: "A9" > "A10"; R4: one is not an integer: text
    _involvement("9", "C2", "2025-02-01", "T1", ref="R2"),
    _involvement("10", "C2", "2025-02-01", "T3", ref="R2"),
    _involvement("A9", "C3", "2025-02-01", "T1", ref="R3"),
    _involvement("A10", "C3", "2025-02-01", "T3", ref="R3"),
    _involvement("9", "C4", "2025-02-01", "T1", ref="R4"),
    _involvement("x1", "C4", "2025-02-01", "T2", ref="R4"),
    # C5: no referral id, so by dates: I13 overlaps R5 only, I14 R6 only
    _involvement("I13", "C5", "2024-02-01", "T1", end="2024-05-01"),
    _involvement("I14", "C5", "2025-02-01", "T3"),
    # R7: an involvement that ends on the episode's first day overlaps it; R8: one that starts on its last day too,
    # one that starts the day after does not
    _involvement("I16", "C6", "2024-01-01", "T3", end="2024-03-01"),
    _involvement("I17", "C7", "2024-09-01", "T2"),
    _involvement("I18", "C7", "2024-09-02", "T3"),
    # R11's dates cannot be read: open on no date, so no involvement overlaps it
    _involvement("I19", "C10", "2025-02-01", "T3"),
    # R12: an involvement the contract rejects (no worker) still decides the team
    _involvement("I20", "C11", "2025-02-01", "T3", ref="R12", worker=""),
]
EXPECTED_TEAMS = {"R1": "T2", "R2": "T3", "R3": "T1", "R4": "T2", "R5": "T1", "R6": "T3", "R7": "T3", "R8": "T2",
                  "R9": "T2", "R10": "UNKNOWN", "R12": "T3", "R13": "T1", "R14": "T2", "9": "T1", "10": "T3"}


def _ssd(tmp_path: Path, missing: list[dict[str, str]] | None = None) -> Path:
    return build_ssd(tmp_path / "ssd", rows={
        "ssd_department": DEPARTMENTS, "ssd_cin_episodes": EPISODES, "ssd_involvements": INVOLVEMENTS,
        "ssd_person": [{"pers_person_id": f"C{i}"} for i in range(1, 14)],
        **({"ssd_missing": missing} if missing else {}),
    })


def test_the_current_team_of_each_episode(tmp_path: Path, load_ssd) -> None:
    loaded = load_ssd(_ssd(tmp_path))
    assert dict(loaded.rows("SELECT episode_id, team_id FROM episodes")) == EXPECTED_TEAMS
    # R11 (dates unreadable) is rejected as a referral and as an episode; I20 (no worker) as an allocation
    assert loaded.rows("SELECT count(*) FROM referrals WHERE referral_id = 'R11'") == [(0,)]
    assert 'ssd_involvements.csv line 20: invo_professional_id is empty (a value is required)' in loaded.messages("reject")
    assert ("ssd_cin_episodes.csv: 1 CIN episode (on line 11) has no allocated involvement with a team "
            "(invo_professional_role_id starting with ALLOCATED) and no cine_referral_team: it counts in team UNKNOWN") \
        in loaded.messages("warning")


def test_allocations_are_the_involvements_whose_role_begins_with_allocated(tmp_path: Path, load_ssd) -> None:
    loaded = load_ssd(_ssd(tmp_path))
    ids = {i for (i,) in loaded.rows("SELECT allocation_id FROM allocations")}
    assert "I4" not in ids and {"I1", "I3", "I13"} <= ids
    assert len(ids) == len({i["invo_involvements_id"] for i in INVOLVEMENTS} - {"I4", "I20"})


def test_the_allocated_roles_can_be_configured(tmp_path: Path, load_ssd) -> None:
    config = tmp_path / "ssd.yaml"
    config.write_text("allocated_roles: [supervisor, KEY WORKER]\n", encoding="utf-8")
    loaded = load_ssd(_ssd(tmp_path), config=config)
    assert loaded.rows("SELECT allocation_id FROM allocations") == [("I4",)]
    teams = dict(loaded.rows("SELECT episode_id, team_id FROM episodes"))
    # R1 now takes its team from I4 (SUPERVISOR, T1); the others fall back to their referral's team
    assert teams["R1"] == "T1" and teams["R2"] == "T1" and teams["R8"] == "T1" and teams["R10"] == "UNKNOWN"


def test_a_missing_episode_takes_the_team_of_the_episode_open_on_its_start_date(tmp_path: Path, load_ssd) -> None:
    missing = [
        ("M1", "C1", "2025-03-01 10:00:00", "T2"),   # R1
        ("M2", "C5", "2024-06-30 10:00:00", None),   # R5 ended that day (not open on it); R6 not started
        ("M3", "C5", "2024-03-01 23:00:00", "T1"),   # R5
        ("M4", "C5", "2025-01-01 00:30:00", "T3"),   # R6, open from its first day
        ("M5", "C12", "2025-03-01 12:00:00", "T2"),  # R13 and R14 open: the latest start, R14
        ("M6", "C13", "2025-03-01 12:00:00", "T3"),  # "9" and "10" open, same start: the greatest id, 10
        ("M7", "C10", "2025-03-01 12:00:00", None),  # R11's dates cannot be read: open on no date
        ("M8", "C99", "2025-03-01 12:00:00", None),  # no episode at all
    ]
    loaded = load_ssd(_ssd(tmp_path, [
        {"miss_table_id": m, "miss_person_id": c, "miss_missing_episode_start_date": s,
         "miss_missing_episode_end_date": ""} for m, c, s, _ in missing
    ]))
    assert dict(loaded.rows("SELECT missing_id, team_id FROM missing_episodes")) == {m: t for m, _, _, t in missing}
