"""Small hand-made SSD folders for tests: a minimal valid SSD, and ways to change exactly one thing.

The minimal SSD has one row per table (one team, one worker, one child with one CIN episode, assessment,
section 47 enquiry with its conference, allocated involvement, missing episode and disability row), all
consistent, plus a manifest dated 2025-11-24. A test names only the cells it cares about:

    build_ssd(tmp_path / "ssd", rows={"ssd_cin_episodes": [{"cine_referral_date": "2025-01-06 00:00:00.000"}]})

Each dict in `rows[table]` is laid over that table's default row; `rows` replaces the table's rows,
`add` appends after the default row. Rows are written from line 2 (the header is line 1).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from etl.ssd.tables import SSD_TABLES

EXTRACT_DATE = "2025-11-24"
DEFAULT_MANIFEST: dict[str, str] | None = {"extracted_at": f"{EXTRACT_DATE}T06:30:00"}

DEFAULT_ROWS: dict[str, dict[str, str]] = {
    "ssd_department": {"dept_team_id": "T1", "dept_team_name": "Team Bramblewick", "dept_team_parent_id": "D1",
                       "dept_team_parent_name": "Assessment and MASH"},
    "ssd_professionals": {
        "prof_professional_id": "W1", "prof_professional_name": "Juniper Quillfeather",
        "prof_social_worker_registration_no": "SW100001", "prof_professional_job_title": "Social Worker",
        "prof_professional_department": "T1", "prof_full_time_equivalency": "1", "prof_agency_worker_flag": "N",
    },
    "ssd_person": {"pers_person_id": "C1", "pers_sex": "F", "pers_ethnicity": "WBRI", "pers_dob": "2015-03-04"},
    "ssd_cin_episodes": {
        "cine_referral_id": "R1", "cine_person_id": "C1", "cine_referral_date": "2025-01-06",
        "cine_referral_source_code": "1A", "cine_referral_nfa": "N", "cine_close_date": "",
        "cine_referral_team": "T1", "cine_referral_worker_id": "W1",
    },
    "ssd_cin_assessments": {
        "cina_assessment_id": "A1", "cina_person_id": "C1", "cina_referral_id": "R1",
        "cina_assessment_start_date": "2025-01-07", "cina_assessment_auth_date": "2025-02-10",
        "cina_assessment_team": "T1", "cina_assessment_worker_id": "W1",
    },
    "ssd_s47_enquiry": {
        "s47e_s47_enquiry_id": "S1", "s47e_person_id": "C1", "s47e_s47_start_date": "2025-01-08",
        "s47e_s47_end_date": "2025-01-20", "s47e_s47_completed_by_worker_id": "W1", "s47e_s47_completed_by_team": "T1",
    },
    "ssd_involvements": {
        "invo_involvements_id": "I1", "invo_professional_id": "W1", "invo_professional_role_id": "ALLOCATED CASE WORKER",
        "invo_professional_team": "T1", "invo_involvement_start_date": "2025-01-07", "invo_involvement_end_date": "",
        "invo_person_id": "C1", "invo_referral_id": "R1",
    },
    "ssd_missing": {
        "miss_table_id": "M1", "miss_person_id": "C1", "miss_missing_episode_start_date": "2025-02-01 10:00:00",
        "miss_missing_episode_end_date": "2025-02-01 18:30:00", "miss_missing_rhi_accepted": "Y",
    },
    "ssd_initial_cp_conference": {"icpc_icpc_id": "ICPC1", "icpc_s47_enquiry_id": "S1", "icpc_person_id": "C1",
                                  "icpc_icpc_date": "2025-01-27"},
    "ssd_disability": {"disa_person_id": "C1", "disa_table_id": "DIS1", "disa_disability_code": "NONE"},
}
assert list(DEFAULT_ROWS) == [t.name for t in SSD_TABLES]
assert all(list(DEFAULT_ROWS[t.name]) == list(t.fields) for t in SSD_TABLES)


def build_ssd(
    folder: Path,
    rows: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    add: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    drop_tables: Sequence[str] = (),
    drop_fields: Mapping[str, Sequence[str]] | None = None,
    manifest: Mapping[str, str] | None | bool = True,
) -> Path:
    """Write the SSD CSV files (and manifest.json unless manifest=False) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rows, add, drop_fields = rows or {}, add or {}, drop_fields or {}
    for table in SSD_TABLES:
        if table.name in drop_tables:
            continue
        default = DEFAULT_ROWS[table.name]
        body = [{**default, **r} for r in rows.get(table.name, [default])] + [{**default, **r} for r in add.get(table.name, [])]
        fields = [f for f in table.fields if f not in drop_fields.get(table.name, ())]
        with (folder / table.file_name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(fields)
            writer.writerows([r.get(f, "") for f in fields] for r in body)
    if manifest is not False:
        data = DEFAULT_MANIFEST if manifest is True else manifest
        (folder / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    return folder
