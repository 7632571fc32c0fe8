"""Writing the sample trust as Standard Safeguarding Dataset tables: `ssd_person.csv`, ... and manifest.json.

The tables are those kpidash reads (etl.ssd.tables), with the SSD's field names, written the way
authorities' exports look, so that loading them tries the reader's tolerance too: SQL Server datetimes
(`2025-03-04 00:00:00.000`, some `2025-03-04T10:15:00`), flags spelt Y/N, Yes/No, True/False or 1/0,
workers' departments by name (as Liquidlogic's SSD gives them, some in other case or padded), some
involvements with an empty invo_referral_id (as Mosaic's SSD leaves it) and some that are not
allocations. What the SSD cannot say is encoded as the SSD would: a worker who left has their
involvements end the day after their last day in post (every worker in ssd_professionals counts as in
post); an enquiry whose conference is due but not held has a conference row without a date.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa

from etl.ssd.tables import SSD_BY_NAME, SSD_TABLES

DATETIME = "strftime({c}, '%Y-%m-%d %H:%M:%S.000')"  # SQL Server's own text form
ISO = "strftime({c}, '%Y-%m-%dT%H:%M:%S')"
DISABILITY_CODES = ("LD", "AUT", "COMM", "MOB", "BEH", "HEAR", "VIS", "DDA")

_QUERIES = {
    "ssd_department": """
        SELECT team_id AS dept_team_id, team_name AS dept_team_name,
               'S' || lpad(CAST(dense_rank() OVER (ORDER BY service) AS VARCHAR), 2, '0') AS dept_team_parent_id,
               service AS dept_team_parent_name
        FROM teams ORDER BY team_id""",
    "ssd_professionals": """
        SELECT w.worker_id AS prof_professional_id, w.worker_name AS prof_professional_name,
               CASE WHEN w.qualified THEN 'SW' || lpad(CAST(n AS VARCHAR), 6, '0') END AS prof_social_worker_registration_no,
               CASE w.role WHEN 'social_worker' THEN 'Social Worker'
                           WHEN 'senior_social_worker' THEN ['Senior Social Worker', 'Advanced Practitioner',
                                                            'Consultant Social Worker'][n % 3 + 1]
                           WHEN 'personal_advisor' THEN ['Personal Adviser', 'Personal Advisor'][n % 2 + 1]
                           WHEN 'team_manager' THEN 'Team Manager'
                           WHEN 'family_support_worker' THEN 'Family Support Worker'
                           ELSE 'Screening Officer' END AS prof_professional_job_title,
               CASE n % 5 WHEN 0 THEN '  ' || upper(t.team_name) || ' ' ELSE t.team_name END AS prof_professional_department,
               CAST(w.fte AS VARCHAR) AS prof_full_time_equivalency,
               CASE WHEN w.agency IS NULL THEN NULL WHEN n % 2 = 0 THEN CASE WHEN w.agency THEN 'Y' ELSE 'N' END
                    ELSE CASE WHEN w.agency THEN 'Yes' ELSE 'No' END END AS prof_agency_worker_flag
        FROM (SELECT *, row_number() OVER (ORDER BY worker_id) AS n FROM workers) w JOIN teams t USING (team_id)
        ORDER BY w.worker_id""",
    "ssd_person": f"""
        SELECT child_id AS pers_person_id, gender AS pers_sex, ethnicity AS pers_ethnicity,
               {DATETIME.format(c='date_of_birth')} AS pers_dob
        FROM children ORDER BY child_id""",
    "ssd_disability": """
        SELECT child_id AS disa_person_id, 'D' || lpad(CAST(n AS VARCHAR), 7, '0') AS disa_table_id,
               CASE WHEN disability THEN ['LD', 'AUT', 'COMM', 'MOB', 'BEH', 'HEAR', 'VIS', 'DDA'][n % 8 + 1]
                    ELSE 'NONE' END AS disa_disability_code
        FROM (SELECT *, row_number() OVER (ORDER BY child_id) AS n FROM children WHERE disability IS NOT NULL)
        ORDER BY child_id""",
    "ssd_cin_episodes": f"""
        SELECT referral_id AS cine_referral_id, child_id AS cine_person_id,
               {DATETIME.format(c='referral_date')} AS cine_referral_date, source AS cine_referral_source_code,
               CASE WHEN nfa IS NULL THEN NULL WHEN n % 3 = 0 THEN CASE WHEN nfa THEN 'True' ELSE 'False' END
                    ELSE CASE WHEN nfa THEN 'Y' ELSE 'N' END END AS cine_referral_nfa,
               {DATETIME.format(c='close_date')} AS cine_close_date, team_id AS cine_referral_team,
               worker_id AS cine_referral_worker_id,
               CASE WHEN nfa THEN 'RC8' END AS cine_close_reason  -- a field kpidash does not read
        FROM (SELECT *, row_number() OVER (ORDER BY referral_id) AS n FROM ssd_cases) ORDER BY referral_id""",
    "ssd_cin_assessments": f"""
        SELECT assessment_id AS cina_assessment_id, child_id AS cina_person_id, referral_id AS cina_referral_id,
               {DATETIME.format(c='start_date')} AS cina_assessment_start_date,
               {DATETIME.format(c='authorised_date')} AS cina_assessment_auth_date,
               team_id AS cina_assessment_team, worker_id AS cina_assessment_worker_id
        FROM assessments ORDER BY assessment_id""",
    "ssd_s47_enquiry": f"""
        SELECT s47_id AS s47e_s47_enquiry_id, child_id AS s47e_person_id,
               {DATETIME.format(c='strategy_date')} AS s47e_s47_start_date,
               {DATETIME.format(c='completed_date')} AS s47e_s47_end_date,
               worker_id AS s47e_s47_completed_by_worker_id, team_id AS s47e_s47_completed_by_team
        FROM s47_enquiries ORDER BY s47_id""",
    "ssd_initial_cp_conference": f"""
        SELECT 'IC' || substr(s47_id, 2) AS icpc_icpc_id, s47_id AS icpc_s47_enquiry_id, child_id AS icpc_person_id,
               {DATETIME.format(c='icpc_date')} AS icpc_icpc_date
        FROM s47_enquiries WHERE icpc_date IS NOT NULL OR icpc_required ORDER BY s47_id""",
    # allocations, each ended by the worker's leaving; every 10th without its referral (as Mosaic's SSD);
    # every 7th doubled by an involvement that is not an allocation
    "ssd_involvements": f"""
        WITH a AS (
            SELECT a.*, row_number() OVER (ORDER BY a.allocation_id) AS n,
                   CASE WHEN w.end_date IS NULL THEN a.end_date
                        ELSE least(coalesce(a.end_date, w.end_date + 1), w.end_date + 1) END AS ended,
                   t.team_name, c.referral_id AS case_referral_id
            FROM allocations a JOIN workers w USING (worker_id)
            LEFT JOIN teams t ON t.team_id = a.case_team_id
            LEFT JOIN ssd_cases c USING ("case")),
        rows AS (
            SELECT allocation_id AS id, worker_id, 'ALLOCATED CASE WORKER' AS role,
                   CASE WHEN n % 2 = 0 THEN team_name ELSE case_team_id END AS team, start_date, ended, child_id,
                   CASE WHEN n % 10 = 0 THEN NULL ELSE case_referral_id END AS referral, n
            FROM a
            UNION ALL
            SELECT 'IX' || substr(allocation_id, 3), worker_id, 'CHILD PROTECTION CHAIR', case_team_id, start_date,
                   ended, child_id, case_referral_id, n
            FROM a WHERE n % 7 = 0)
        SELECT id AS invo_involvements_id, worker_id AS invo_professional_id, role AS invo_professional_role_id,
               team AS invo_professional_team,
               CASE WHEN n % 4 = 0 THEN {ISO.format(c='start_date')} ELSE {DATETIME.format(c='start_date')} END
                   AS invo_involvement_start_date,
               {DATETIME.format(c='ended')} AS invo_involvement_end_date,
               child_id AS invo_person_id, referral AS invo_referral_id
        FROM rows ORDER BY id""",
    "ssd_missing": f"""
        SELECT missing_id AS miss_table_id, child_id AS miss_person_id,
               {DATETIME.format(c='start_time')} AS miss_missing_episode_start_date,
               {ISO.format(c='end_time')} AS miss_missing_episode_end_date,
               CASE WHEN rhi_offered_time IS NULL THEN 'N' ELSE 'Y' END AS miss_missing_rhi_offered,
               CASE WHEN rhi_accepted IS NULL THEN NULL WHEN n % 2 = 0 THEN CASE WHEN rhi_accepted THEN 'Yes' ELSE 'No' END
                    ELSE CASE WHEN rhi_accepted THEN '1' ELSE '0' END END AS miss_missing_rhi_accepted
        FROM (SELECT *, row_number() OVER (ORDER BY missing_id) AS n FROM missing_episodes) ORDER BY missing_id""",
}
assert set(_QUERIES) == set(SSD_BY_NAME)


def write_ssd(out: Path, tables: dict[str, pa.Table], manifest: dict[str, str]) -> dict[str, int]:
    """Write the SSD tables of the sample's typed contract tables (and its `ssd_cases`); rows per file."""
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = true")
        for name, data in tables.items():
            con.register(name, data)
        for table in SSD_TABLES:
            path = str(out / table.file_name).replace("'", "''")
            con.execute(f"COPY ({_QUERIES[table.name]}) TO '{path}' (FORMAT csv, HEADER true)")
            rows[table.file_name] = con.execute(f"SELECT count(*) FROM read_csv('{path}', all_varchar = true)").fetchone()[0]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return rows
