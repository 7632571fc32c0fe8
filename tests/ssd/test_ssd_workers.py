"""Workers from ssd_professionals: roles from job titles, qualified, FTE defaulted (ssd-source.md, "Roles")."""

from __future__ import annotations

from pathlib import Path

from ssd_builder import build_ssd

TITLES = {
    "W01": ("Team Manager", "team_manager"),
    "W02": ("Senior Team Manager", "team_manager"),  # first match wins: "team manager" before "senior"
    "W03": ("  SENIOR SOCIAL WORKER ", "senior_social_worker"),
    "W04": ("Advanced Practitioner", "senior_social_worker"),
    "W05": ("Consultant Social Worker", "senior_social_worker"),
    "W06": ("Personal Adviser", "personal_advisor"),
    "W07": ("Leaving Care Personal Advisor", "personal_advisor"),
    "W08": ("Family Support Worker", "family_support_worker"),
    "W09": ("Social Worker", "social_worker"),
    "W10": ("Newly Qualified Social Worker (ASYE)", "social_worker"),
    "W11": ("Social Work Assistant", "other"),
    "W12": ("", "other"),
    "W13": ("Senior Family Support Worker", "senior_social_worker"),  # "senior" comes before "family support"
}


def test_roles_from_job_titles_first_match_wins(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", rows={"ssd_professionals": [
        {"prof_professional_id": w, "prof_professional_job_title": title} for w, (title, _) in TITLES.items()
    ]})
    loaded = load_ssd(ssd)
    assert dict(loaded.rows("SELECT worker_id, role FROM workers")) == {w: role for w, (_, role) in TITLES.items()}


def test_the_job_title_rules_can_be_replaced(tmp_path: Path, load_ssd) -> None:
    config = tmp_path / "ssd.yaml"
    config.write_text(
        "job_titles:\n"
        "  - {contains: [practice lead], role: team_manager}\n"
        "  - {contains: [social worker, caseworker], role: social_worker}\n", encoding="utf-8")
    ssd = build_ssd(tmp_path / "ssd", rows={"ssd_professionals": [
        {"prof_professional_id": "W1", "prof_professional_job_title": "Practice Lead"},
        {"prof_professional_id": "W2", "prof_professional_job_title": "Senior Social Worker"},
        {"prof_professional_id": "W3", "prof_professional_job_title": "CASEWORKER"},
        {"prof_professional_id": "W4", "prof_professional_job_title": "Team Manager"},
    ]})
    loaded = load_ssd(ssd, config=config)
    # the list replaces the default one: "senior" and "team manager" are no longer rules
    assert dict(loaded.rows("SELECT worker_id, role FROM workers")) == {
        "W1": "team_manager", "W2": "social_worker", "W3": "social_worker", "W4": "other",
    }


def test_qualified_from_the_registration_number_and_fte_defaulted_with_a_grouped_warning(tmp_path: Path, load_ssd) -> None:
    ftes = {"W1": ("0.5", 0.5), "W2": ("", 1.0), "W3": ("0", 1.0), "W4": ("1.5", 1.0), "W5": ("full", 1.0),
            "W6": ("1.0", 1.0), "W7": ("", 1.0), "W8": ("-0.2", 1.0), "W9": ("5E-1", 0.5), "W10": ("NaN", 1.0)}
    ssd = build_ssd(tmp_path / "ssd", rows={"ssd_professionals": [
        {"prof_professional_id": w, "prof_full_time_equivalency": fte,
         "prof_social_worker_registration_no": "SW123456" if w in ("W1", "W2") else (" " if w == "W3" else "")}
        for w, (fte, _) in ftes.items()
    ]})
    loaded = load_ssd(ssd)
    rows = {w: (q, f) for w, q, f in loaded.rows("SELECT worker_id, qualified, fte FROM workers")}
    assert rows == {w: (w in ("W1", "W2"), f) for w, (_, f) in ftes.items()}
    fte = sorted(m for m in loaded.messages("warning") if "prof_full_time_equivalency" in m)
    assert fte == sorted([
        "ssd_professionals.csv: prof_full_time_equivalency is empty in 2 rows (first on line 3): an FTE of 1 is used",
        'ssd_professionals.csv: prof_full_time_equivalency "-0.2" is not a number more than 0 and at most 1 in 1 row '
        "(first on line 9): an FTE of 1 is used",
        'ssd_professionals.csv: prof_full_time_equivalency "0" is not a number more than 0 and at most 1 in 1 row '
        "(first on line 4): an FTE of 1 is used",
        'ssd_professionals.csv: prof_full_time_equivalency "1.5" is not a number more than 0 and at most 1 in 1 row '
        "(first on line 5): an FTE of 1 is used",
        'ssd_professionals.csv: prof_full_time_equivalency "NaN" is not a number more than 0 and at most 1 in 1 row '
        "(first on line 11): an FTE of 1 is used",
        'ssd_professionals.csv: prof_full_time_equivalency "full" is not a number more than 0 and at most 1 in 1 row '
        "(first on line 6): an FTE of 1 is used",
    ])
    # every worker in ssd_professionals counts as in post: no start or end dates
    assert loaded.rows("SELECT count(*) FROM workers WHERE start_date IS NOT NULL OR end_date IS NOT NULL") == [(0,)]
    assert not loaded.messages("reject")
