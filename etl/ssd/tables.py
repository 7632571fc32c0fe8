"""The Standard Safeguarding Dataset tables kpidash reads, and the fields it uses of each.

Names and types are those of the SSD's public definition (data-to-insight/ssd-data-model,
data/objects/ssd_<table>.yml). Every field listed here must be present in its table (a missing one is
an error naming it); the SSD's other fields and tables are not read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SsdTable:
    name: str  # e.g. ssd_person: the database table and the CSV file's stem
    key: str  # the row id (what a database read is ordered by)
    fields: tuple[str, ...]  # the fields kpidash uses, in the SSD definition's order
    required: bool = True

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"


SSD_TABLES: tuple[SsdTable, ...] = (
    SsdTable("ssd_department", "dept_team_id",
             ("dept_team_id", "dept_team_name", "dept_team_parent_id", "dept_team_parent_name")),
    SsdTable("ssd_professionals", "prof_professional_id",
             ("prof_professional_id", "prof_professional_name", "prof_social_worker_registration_no",
              "prof_professional_job_title", "prof_professional_department", "prof_full_time_equivalency",
              "prof_agency_worker_flag")),
    SsdTable("ssd_person", "pers_person_id", ("pers_person_id", "pers_sex", "pers_ethnicity", "pers_dob")),
    SsdTable("ssd_cin_episodes", "cine_referral_id",
             ("cine_referral_id", "cine_person_id", "cine_referral_date", "cine_referral_source_code",
              "cine_referral_nfa", "cine_close_date", "cine_referral_team", "cine_referral_worker_id")),
    SsdTable("ssd_cin_assessments", "cina_assessment_id",
             ("cina_assessment_id", "cina_person_id", "cina_referral_id", "cina_assessment_start_date",
              "cina_assessment_auth_date", "cina_assessment_team", "cina_assessment_worker_id")),
    SsdTable("ssd_s47_enquiry", "s47e_s47_enquiry_id",
             ("s47e_s47_enquiry_id", "s47e_person_id", "s47e_s47_start_date", "s47e_s47_end_date",
              "s47e_s47_completed_by_worker_id", "s47e_s47_completed_by_team")),
    SsdTable("ssd_involvements", "invo_involvements_id",
             ("invo_involvements_id", "invo_professional_id", "invo_professional_role_id", "invo_professional_team",
              "invo_involvement_start_date", "invo_involvement_end_date", "invo_person_id", "invo_referral_id")),
    SsdTable("ssd_missing", "miss_table_id",
             ("miss_table_id", "miss_person_id", "miss_missing_episode_start_date", "miss_missing_episode_end_date",
              "miss_missing_rhi_accepted")),
    SsdTable("ssd_initial_cp_conference", "icpc_icpc_id",
             ("icpc_icpc_id", "icpc_s47_enquiry_id", "icpc_person_id", "icpc_icpc_date"), required=False),
    SsdTable("ssd_disability", "disa_table_id", ("disa_person_id", "disa_table_id", "disa_disability_code"),
             required=False),
)

SSD_BY_NAME: dict[str, SsdTable] = {t.name: t for t in SSD_TABLES}
REQUIRED_TABLES = tuple(t.name for t in SSD_TABLES if t.required)

# Datetime fields whose date is part of the extract-date rule (ssd-source.md, "The extract's date").
EXTRACT_DATE_FIELDS: tuple[tuple[str, str], ...] = (
    ("ssd_cin_episodes", "cine_referral_date"), ("ssd_cin_episodes", "cine_close_date"),
    ("ssd_cin_assessments", "cina_assessment_start_date"), ("ssd_cin_assessments", "cina_assessment_auth_date"),
    ("ssd_s47_enquiry", "s47e_s47_start_date"), ("ssd_s47_enquiry", "s47e_s47_end_date"),
    ("ssd_initial_cp_conference", "icpc_icpc_date"),
    ("ssd_involvements", "invo_involvement_start_date"), ("ssd_involvements", "invo_involvement_end_date"),
    ("ssd_missing", "miss_missing_episode_start_date"), ("ssd_missing", "miss_missing_episode_end_date"),
)

# The datetime fields kpidash reads (the SSD's type datetime): a date, with or without a time.
DATETIME_FIELDS = frozenset({
    "pers_dob", "cine_referral_date", "cine_close_date", "cina_assessment_start_date", "cina_assessment_auth_date",
    "s47e_s47_start_date", "s47e_s47_end_date", "icpc_icpc_date", "invo_involvement_start_date",
    "invo_involvement_end_date", "miss_missing_episode_start_date", "miss_missing_episode_end_date",
})

# Fields that may name a team by its id or its name.
TEAM_REFERENCES: tuple[tuple[str, str], ...] = (
    ("ssd_cin_episodes", "cine_referral_team"), ("ssd_cin_assessments", "cina_assessment_team"),
    ("ssd_s47_enquiry", "s47e_s47_completed_by_team"), ("ssd_involvements", "invo_professional_team"),
    ("ssd_professionals", "prof_professional_department"),
)
