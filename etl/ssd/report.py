"""Data-quality reporting of an SSD load, in the SSD's own terms.

Two jobs: the grouped warnings of the mapping (flags that are not flags, FTE defaulted, team references
that do not resolve, team names shared by several teams, ...: one line per distinct value with its count,
never one per row), and the translation of the contract's rejects and warnings, which the loader finds
in the mapped contract files, back to the SSD table, row and field they came from. The row is the CSV
line for a folder of CSV files and the source row number (1 = first, in id order) for a database.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from etl.contract import TABLES
from etl.ssd.tables import SSD_BY_NAME, SSD_TABLES, TEAM_REFERENCES
from etl.sql import quoted
from etl.validation import not_in_reason

SSD_FILE_ORDER = -40  # the SSD's own issues sort before the contract files' (0..8)

# contract file -> the SSD table its rows come from
SOURCE_TABLE: dict[str, str] = {
    "teams.csv": "ssd_department", "workers.csv": "ssd_professionals", "children.csv": "ssd_person",
    "referrals.csv": "ssd_cin_episodes", "assessments.csv": "ssd_cin_assessments",
    "s47_enquiries.csv": "ssd_s47_enquiry", "episodes.csv": "ssd_cin_episodes",
    "allocations.csv": "ssd_involvements", "missing_episodes.csv": "ssd_missing",
}
# (contract file, column) -> the SSD field it comes from; columns derived from several fields are absent
FIELDS: dict[tuple[str, str], str] = {
    ("teams.csv", "team_id"): "dept_team_id", ("teams.csv", "team_name"): "dept_team_name",
    ("teams.csv", "service"): "dept_team_parent_name",
    ("workers.csv", "worker_id"): "prof_professional_id", ("workers.csv", "worker_name"): "prof_professional_name",
    ("workers.csv", "team_id"): "prof_professional_department", ("workers.csv", "role"): "prof_professional_job_title",
    ("workers.csv", "qualified"): "prof_social_worker_registration_no",
    ("workers.csv", "fte"): "prof_full_time_equivalency", ("workers.csv", "agency"): "prof_agency_worker_flag",
    ("children.csv", "child_id"): "pers_person_id", ("children.csv", "date_of_birth"): "pers_dob",
    ("children.csv", "gender"): "pers_sex", ("children.csv", "ethnicity"): "pers_ethnicity",
    ("referrals.csv", "referral_id"): "cine_referral_id", ("referrals.csv", "child_id"): "cine_person_id",
    ("referrals.csv", "referral_date"): "cine_referral_date", ("referrals.csv", "source"): "cine_referral_source_code",
    ("referrals.csv", "nfa"): "cine_referral_nfa", ("referrals.csv", "team_id"): "cine_referral_team",
    ("referrals.csv", "worker_id"): "cine_referral_worker_id",
    ("assessments.csv", "assessment_id"): "cina_assessment_id", ("assessments.csv", "child_id"): "cina_person_id",
    ("assessments.csv", "referral_id"): "cina_referral_id",
    ("assessments.csv", "start_date"): "cina_assessment_start_date",
    ("assessments.csv", "authorised_date"): "cina_assessment_auth_date",
    ("assessments.csv", "team_id"): "cina_assessment_team", ("assessments.csv", "worker_id"): "cina_assessment_worker_id",
    ("s47_enquiries.csv", "s47_id"): "s47e_s47_enquiry_id", ("s47_enquiries.csv", "child_id"): "s47e_person_id",
    ("s47_enquiries.csv", "strategy_date"): "s47e_s47_start_date",
    ("s47_enquiries.csv", "completed_date"): "s47e_s47_end_date",
    ("s47_enquiries.csv", "icpc_date"): "icpc_icpc_date",
    ("s47_enquiries.csv", "team_id"): "s47e_s47_completed_by_team",
    ("s47_enquiries.csv", "worker_id"): "s47e_s47_completed_by_worker_id",
    ("episodes.csv", "episode_id"): "cine_referral_id", ("episodes.csv", "child_id"): "cine_person_id",
    ("episodes.csv", "start_date"): "cine_referral_date", ("episodes.csv", "end_date"): "cine_close_date",
    ("allocations.csv", "allocation_id"): "invo_involvements_id", ("allocations.csv", "child_id"): "invo_person_id",
    ("allocations.csv", "worker_id"): "invo_professional_id",
    ("allocations.csv", "start_date"): "invo_involvement_start_date",
    ("allocations.csv", "end_date"): "invo_involvement_end_date",
    ("missing_episodes.csv", "missing_id"): "miss_table_id", ("missing_episodes.csv", "child_id"): "miss_person_id",
    ("missing_episodes.csv", "start_time"): "miss_missing_episode_start_date",
    ("missing_episodes.csv", "end_time"): "miss_missing_episode_end_date",
    ("missing_episodes.csv", "rhi_accepted"): "miss_missing_rhi_accepted",
}
CONFERENCE_COLUMNS = {("s47_enquiries.csv", "icpc_date")}  # reported at the conference's row
REFERENCED = {"child_id": ("pers_person_id", "ssd_person"), "worker_id": ("prof_professional_id", "ssd_professionals")}
FLAGS = (
    ("ssd_cin_episodes", "cine_referral_nfa", "referrals.csv"),
    ("ssd_professionals", "prof_agency_worker_flag", "workers.csv"),
    ("ssd_missing", "miss_missing_rhi_accepted", "missing_episodes.csv"),
)


class Labels:
    """How the report names an SSD table and its rows: `ssd_person.csv` and CSV lines for a folder,
    `ssd_person` and source row numbers for a database."""

    def __init__(self, database: bool) -> None:
        self.database = database
        self.row = "_row" if database else "_line"

    def file(self, table: str) -> str:
        return table if self.database else SSD_BY_NAME[table].file_name

    def order(self, table: str) -> int:
        return SSD_FILE_ORDER + [t.name for t in SSD_TABLES].index(table)

    def col_order(self, table: str, field: str) -> int:
        return SSD_BY_NAME[table].fields.index(field) + 1


def mapping_warnings(con: duckdb.DuckDBPyConnection, labels: Labels, allocated_roles: tuple[str, ...]) -> dict[str, int]:
    """Insert the mapping's grouped warnings into `issues`; how many there are per contract file."""
    counts: dict[str, int] = {}
    con.execute("CREATE OR REPLACE MACRO ssd_rows(n) AS n || CASE WHEN n = 1 THEN ' row' ELSE ' rows' END")

    def add(table: str, field: str | None, sql: str, contract_file: str) -> None:
        """sql gives (value, reason) rows, one per warning."""
        col_order = labels.col_order(table, field) if field else 0
        n = con.execute(
            f"""INSERT INTO issues SELECT {quoted(labels.file(table))}, {labels.order(table)}, NULL, {quoted(field)},
                       {col_order}, value, reason, 'warning' FROM ({sql}) ORDER BY value NULLS FIRST"""
        ).fetchone()[0]
        counts[contract_file] = counts.get(contract_file, 0) + n

    row = labels.row
    where = "row" if labels.database else "line"
    for table, field, contract_file in FLAGS:
        add(table, field, f"""
            SELECT {field} AS value, 'is not a flag (Y/N, 1/0, Yes/No or True/False, in any case) in ' || ssd_rows(count(*))
                   || ' (first on {where} ' || min({row}) || '): taken as empty' AS reason
            FROM {table} WHERE NOT ssd_is_flag({field}) GROUP BY {field}""", contract_file)
    add("ssd_person", "pers_sex", f"""
        SELECT pers_sex AS value, 'is not M, F, U or N in ' || ssd_rows(count(*)) || ' (first on {where} ' || min({row})
               || '): gender U (not stated/recorded) is used' AS reason
        FROM ssd_person WHERE pers_sex IS NOT NULL AND upper(pers_sex) NOT IN ('M', 'F', 'U', 'N') GROUP BY pers_sex""",
        "children.csv")
    add("ssd_professionals", "prof_full_time_equivalency", f"""
        SELECT p.prof_full_time_equivalency AS value,
               CASE WHEN p.prof_full_time_equivalency IS NULL THEN 'is empty' ELSE 'is not a number more than 0 and at most 1' END
               || ' in ' || ssd_rows(count(*)) || ' (first on {where} ' || min(p.{row}) || '): an FTE of 1 is used' AS reason
        FROM ssd_professionals p JOIN m_workers w ON w._line = p._line
        WHERE w._fte_defaulted GROUP BY p.prof_full_time_equivalency""", "workers.csv")
    refs = " UNION ALL ".join(f"SELECT {quoted(field)} AS field, {field} AS ref FROM {table}"
                              for table, field in TEAM_REFERENCES)
    add("ssd_department", None, f"""
        WITH uses AS (SELECT ref, field, count(*) AS n FROM ({refs}) WHERE ref IS NOT NULL GROUP BY ref, field)
        SELECT t.ref AS value,
               'is a team reference (' || string_agg(u.field || ' in ' || ssd_rows(u.n), ', ' ORDER BY u.field) || ') '
               || CASE WHEN t.ambiguous_ids IS NOT NULL
                       THEN 'naming several teams of ssd_department (dept_team_id ' || t.ambiguous_ids || '): it does not resolve'
                       ELSE 'that is neither a dept_team_id nor a dept_team_name of ssd_department' END
               || ': it is kept as it is, so its rows count in team UNKNOWN' AS reason
        FROM team_refs t JOIN uses u USING (ref) WHERE t.unresolved GROUP BY t.ref, t.ambiguous_ids""", "teams.csv")
    add("ssd_department", "dept_team_name", """
        SELECT min(dept_team_name) AS value, 'is the name of ' || count(DISTINCT dept_team_id) || ' teams (dept_team_id '
               || string_agg(DISTINCT dept_team_id, ', ' ORDER BY dept_team_id)
               || '): a team reference by this name cannot be resolved' AS reason
        FROM ssd_department WHERE dept_team_name IS NOT NULL AND dept_team_id IS NOT NULL
        GROUP BY lower(dept_team_name) HAVING count(DISTINCT dept_team_id) > 1""", "teams.csv")
    add("ssd_initial_cp_conference", None, f"""
        SELECT NULL AS value, ssd_rows(count(*)) || ' (first on {where} ' || min({row})
               || ') have an icpc_s47_enquiry_id that is empty or not an enquiry of ssd_s47_enquiry: they are not used'
               AS reason
        FROM ssd_initial_cp_conference c
        WHERE c.icpc_s47_enquiry_id IS NULL
           OR c.icpc_s47_enquiry_id NOT IN (
                  SELECT s47e_s47_enquiry_id FROM ssd_s47_enquiry WHERE s47e_s47_enquiry_id IS NOT NULL)
        HAVING count(*) > 0""", "s47_enquiries.csv")
    prefixes = " or ".join(allocated_roles)
    add("ssd_cin_episodes", None, f"""
        SELECT NULL AS value,
               count(*) || CASE WHEN count(*) = 1 THEN ' CIN episode (on {where} ' ELSE ' CIN episodes (first on {where} ' END
               || min(e.{row}) || CASE WHEN count(*) = 1 THEN ') has' ELSE ') have' END || ' no allocated involvement with '
               || 'a team (invo_professional_role_id starting with {prefixes.replace("'", "''")}) and no cine_referral_team: '
               || CASE WHEN count(*) = 1 THEN 'it counts' ELSE 'they count' END || ' in team UNKNOWN' AS reason
        FROM ssd_cin_episodes e JOIN ep_teams t USING (_line) WHERE t.no_team HAVING count(*) > 0""", "episodes.csv")
    return counts


def translate(con: duckdb.DuckDBPyConnection, rowmap: str, labels: Labels, allocated_roles: tuple[str, ...]) -> None:
    """Rewrite the contract's issues in `issues` (the loader's) as issues of the SSD rows they came from.

    `rowmap` is the parquet file of (file, line) -> (ssd_line, ssd_row, icpc_line, icpc_row). Per-row
    warnings that a team id is not in teams.csv are dropped: the grouped team-reference warning says it
    once per value."""
    contract_files = [t.file_name for t in TABLES]

    def source(file: str, col: str) -> str:
        return "ssd_initial_cp_conference" if (file, col) in CONFERENCE_COLUMNS else SOURCE_TABLE[file]

    fields = " UNION ALL ".join(
        f"SELECT {quoted(f)} AS file, {quoted(c)} AS col, {quoted(field)} AS field, "
        f"{quoted(labels.file(source(f, c)))} AS ssd_file, {labels.col_order(source(f, c), field)} AS f_order, {(f, c) in CONFERENCE_COLUMNS} AS conference"
        for (f, c), field in FIELDS.items()
    )
    main = " ".join(f"WHEN {quoted(f)} THEN {quoted(labels.file(t))}" for f, t in SOURCE_TABLE.items())
    referenced = " ".join(
        f"WHEN {quoted(not_in_reason(name + '.csv'))} "
        f"THEN {quoted(f'is not a {field} of {table} (or its row there was rejected)')}"
        for name, (field, table) in {"children": REFERENCED["child_id"], "workers": REFERENCED["worker_id"]}.items()
    )
    line = "ssd_row" if labels.database else "ssd_line"
    icpc = "icpc_row" if labels.database else "icpc_line"
    enquiries = labels.file("ssd_s47_enquiry")
    prefixes = " or ".join(allocated_roles)
    con.execute(f"CREATE OR REPLACE TEMP TABLE ssd_rowmap AS SELECT * FROM read_parquet({quoted(rowmap)})")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE issues AS
            WITH fields AS ({fields}),
            x AS (
                SELECT i.*, r.{line} AS at_line, r.{icpc} AS at_icpc, f.field, f.ssd_file, f.f_order,
                       coalesce(f.conference, false) AS conference,
                       r2.{line} AS other_line,
                       regexp_extract(i.reason, '^is before (\\w+) "', 1) AS before_col
                FROM issues i
                LEFT JOIN ssd_rowmap r ON r.file = i.file AND r.line = i.line
                LEFT JOIN fields f ON f.file = i.file AND f.col = i."column"
                LEFT JOIN ssd_rowmap r2 ON r2.file = i.file
                     AND r2.line = TRY_CAST(regexp_extract(i.reason, 'line (\\d+)', 1) AS BIGINT)
                WHERE NOT (i.file IN ({", ".join(map(quoted, contract_files))}) AND i."column" = 'team_id'
                           AND i.reason = {quoted(not_in_reason('teams.csv'))})),
            y AS (
                SELECT x.*, bf.field AS before_field,
                       CASE WHEN x.reason = 'is not a date (expected YYYY-MM-DD)'
                                THEN 'is not a date (expected YYYY-MM-DD, with or without a time)'
                            WHEN starts_with(x.reason, 'is not a date-time (')
                                THEN 'is not a date-time (expected YYYY-MM-DD HH:MM:SS, YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD)'
                            ELSE CASE x.reason {referenced} ELSE x.reason END END AS r1
                FROM x LEFT JOIN fields bf ON bf.file = x.file AND bf.col = x.before_col),
            z AS (
                SELECT y.*, CASE WHEN before_field IS NOT NULL
                                 THEN replace(r1, 'is before ' || before_col || ' "', 'is before ' || before_field || ' "')
                                 ELSE r1 END AS reason2
                FROM y)
            SELECT CASE WHEN line IS NULL THEN CASE file {main} ELSE file END
                        WHEN at_line IS NULL THEN file
                        ELSE coalesce(ssd_file, CASE file {main} END) END AS file,
                   file_order,
                   CASE WHEN at_line IS NULL THEN line WHEN conference THEN at_icpc ELSE at_line END AS line,
                   coalesce(field, "column") AS "column",
                   CASE WHEN at_line IS NULL THEN col_order ELSE coalesce(f_order, col_order) END AS col_order,
                   value,
                   CASE WHEN line IS NULL AND file = 'allocations.csv' AND reason = 'has a header but no rows'
                            THEN 'has no allocation: no invo_professional_role_id starts with {prefixes.replace("'", "''")}'
                        WHEN at_line IS NULL THEN reason
                        ELSE CASE WHEN other_line IS NULL THEN reason2
                                  ELSE regexp_replace(reason2, 'line \\d+', 'line ' || other_line) END
                             || CASE WHEN conference THEN ' (the enquiry on line ' || at_line || ' of {enquiries})' ELSE '' END
                        END AS reason,
                   severity
            FROM z"""
    )
    # the suffix names what was not loaded (or is warned about) when one SSD row gives two contract rows
    con.execute(
        f"""UPDATE issues SET reason = reason || CASE WHEN severity = 'reject' THEN ': ' ELSE ' (' END
                || CASE file_order WHEN {[t.file_name for t in TABLES].index('referrals.csv')} THEN 'the referral'
                                   ELSE 'the CIN episode' END
                || CASE WHEN severity = 'reject' THEN ' is not loaded' ELSE ')' END
            WHERE file_order IN ({[t.file_name for t in TABLES].index('referrals.csv')},
                                 {[t.file_name for t in TABLES].index('episodes.csv')})
              AND line IS NOT NULL AND file = {quoted(labels.file('ssd_cin_episodes'))}"""
    )


def adjusted_counts(
    con: duckdb.DuckDBPyConnection, counts: Mapping[str, tuple[int, int, int]], refused: Mapping[str, int],
    warnings: Mapping[str, int],
) -> dict[str, tuple[int, int, int]]:
    """Per contract file (read, rejected, warnings) once translated: the SSD rows the CSV reader refused are
    rejected rows of every contract file their table feeds; the warnings are those left after translation
    (by their contract file) and the mapping's grouped ones."""
    names = [t.file_name for t in TABLES]
    left = dict.fromkeys(names, 0)
    for order, n in con.execute(
        "SELECT file_order, count(*) FROM issues WHERE severity = 'warning' AND file_order >= 0 GROUP BY 1"
    ).fetchall():
        left[names[order]] = n
    out = dict(counts)
    for file, (read, rejected, _) in counts.items():
        extra = refused.get(file, 0)
        out[file] = (read + extra, rejected + extra, left.get(file, 0) + warnings.get(file, 0))
    return out
