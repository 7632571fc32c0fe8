"""Team references by id or by name, ambiguous and unresolved ones, and services (ssd-source.md, "Team
references" and "Services")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ssd_builder import build_ssd

from kpis import compute_kpis, open_warehouse

JAN = (dt.date(2025, 1, 1), dt.date(2025, 1, 31))
DEPARTMENTS = [
    {"dept_team_id": "T1", "dept_team_name": "Team Bramblewick", "dept_team_parent_id": "D1",
     "dept_team_parent_name": "Assessment and MASH"},
    {"dept_team_id": "T2", "dept_team_name": "Team Mossbank", "dept_team_parent_id": "D9", "dept_team_parent_name": ""},
    {"dept_team_id": "T3", "dept_team_name": "Twin Team", "dept_team_parent_id": "", "dept_team_parent_name": ""},
    {"dept_team_id": "T4", "dept_team_name": " twin TEAM", "dept_team_parent_id": "D1",
     "dept_team_parent_name": "Assessment and MASH"},
    {"dept_team_id": "T5", "dept_team_name": "T2", "dept_team_parent_id": "D1", "dept_team_parent_name": "Elsewhere"},
]
REFERENCES = {"R1": "T2", "R2": " team mossbank ", "R3": "TEAM BRAMBLEWICK", "R4": "Twin Team", "R5": "Nowhere",
              "R6": "Nowhere", "R7": "t2", "R8": ""}


def _ssd(tmp_path: Path) -> Path:
    return build_ssd(tmp_path / "ssd", rows={
        "ssd_department": DEPARTMENTS,
        "ssd_cin_episodes": [{"cine_referral_id": r, "cine_referral_team": t} for r, t in REFERENCES.items()],
        "ssd_cin_assessments": [{"cina_assessment_team": "Nowhere"}],
        "ssd_professionals": [{"prof_professional_department": "team bramblewick"}],
    })


def test_references_resolve_by_id_then_by_name_and_the_rest_are_kept(tmp_path: Path, load_ssd) -> None:
    loaded = load_ssd(_ssd(tmp_path))
    assert loaded.result.status == "published", loaded.result.message
    # by id (case-sensitive: "t2" is no id, but it is T5's name "T2" in another case), else by name
    # (trimmed, any case), else kept as given
    assert dict(loaded.rows("SELECT referral_id, team_id FROM referrals")) == {
        "R1": "T2", "R2": "T2", "R3": "T1", "R4": "Twin Team", "R5": "Nowhere", "R6": "Nowhere", "R7": "T5", "R8": None,
    }
    assert loaded.rows("SELECT team_id FROM workers") == [("T1",)]
    assert loaded.rows("SELECT team_id FROM assessments") == [("Nowhere",)]
    with open_warehouse(loaded.db) as wh:
        counts = {r["unit"]: r["value"] for r in compute_kpis(wh, JAN[0], JAN[1], "team", kpi_ids=["referrals"])}
    assert counts == {"T1": 1, "T2": 2, "T3": 0, "T4": 0, "T5": 1, "UNKNOWN": 4}


def test_unresolved_and_ambiguous_references_are_warned_once_per_value(tmp_path: Path, load_ssd) -> None:
    loaded = load_ssd(_ssd(tmp_path))
    warnings = loaded.messages("warning")
    kept = "it is kept as it is, so its rows count in team UNKNOWN"
    assert warnings.count(
        'ssd_department.csv: "Nowhere" is a team reference (cina_assessment_team in 1 row, cine_referral_team in 2 rows) '
        f"that is neither a dept_team_id nor a dept_team_name of ssd_department: {kept}") == 1
    assert ('ssd_department.csv: "Twin Team" is a team reference (cine_referral_team in 1 row) naming several teams '
            f"of ssd_department (dept_team_id T3, T4): it does not resolve: {kept}") in warnings
    assert ('ssd_department.csv: dept_team_name "Twin Team" is the name of 2 teams (dept_team_id T3, T4): a team '
            "reference by this name cannot be resolved") in warnings
    # no warning per row: the grouped warnings say it once
    assert not [w for w in warnings if "teams.csv" in w]
    assert len([w for w in warnings if "team reference" in w]) == 3  # Nowhere, Twin Team (twice: as a name)


def test_services_from_the_parent_or_the_configured_map(tmp_path: Path, load_ssd) -> None:
    loaded = load_ssd(_ssd(tmp_path))
    assert loaded.rows("SELECT team_id, service FROM teams ORDER BY 1") == [
        ("T1", "Assessment and MASH"), ("T2", "D9"), ("T3", "No service recorded"), ("T4", "Assessment and MASH"),
        ("T5", "Elsewhere"),
    ]
    config = tmp_path / "ssd.yaml"
    config.write_text("team_services:\n  T4: Care Management\n  TEAM MOSSBANK: Children in Care\n  T9: Nowhere\n",
                      encoding="utf-8")
    loaded = load_ssd(_ssd(tmp_path), config=config)
    assert loaded.rows("SELECT team_id, service FROM teams ORDER BY 1") == [
        ("T1", "Assessment and MASH"), ("T2", "Children in Care"), ("T3", "No service recorded"),
        ("T4", "Care Management"), ("T5", "Elsewhere"),
    ]


def test_a_bad_options_file_fails_the_load_naming_it(tmp_path: Path, load_ssd) -> None:
    config = tmp_path / "ssd.yaml"
    config.write_text("job_titles:\n  - {contains: [manager], role: boss}\n", encoding="utf-8")
    loaded = load_ssd(build_ssd(tmp_path / "ssd"), config=config)
    assert loaded.result.status == "failed"
    assert f"the SSD options file {config} (KPIDASH_SSD_CONFIG): job_titles rule 1: role 'boss' is not one of" \
        in loaded.result.message
