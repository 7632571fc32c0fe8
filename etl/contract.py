"""The extract contract (../shared/spec/extract-contract.md, v1) as data, with the three optional
quality-assurance files of ../shared/spec/qa-audits.md beside its nine.

One declaration serves the loader (what to read and check), the sample generator (what to write)
and the warehouse (the typed tables the KPIs read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["string", "date", "datetime", "bool", "number", "code"]

# DuckDB type of each contract type in the published warehouse.
SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "code": "VARCHAR",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "bool": "BOOLEAN",
    "number": "DOUBLE",
}

WORKER_ROLES = (
    "social_worker",
    "senior_social_worker",
    "personal_advisor",
    "team_manager",
    "family_support_worker",
    "other",
)
CASE_HOLDING_ROLES = ("social_worker", "senior_social_worker", "personal_advisor")
GENDERS = ("M", "F", "U", "N")
EPISODE_TYPES = ("ASSESSMENT", "CIN", "CP", "CLA", "CARE_LEAVER")
AUDIT_TYPES = ("learning", "thematic", "benchmarking", "multi_agency", "supervision", "re_audit")
AUDITOR_ROLES = ("team_manager", "service_manager", "head_of_service", "director", "qa", "other")
GRADES = ("outstanding", "good", "requires_improvement", "inadequate")
GOOD_OR_BETTER = ("outstanding", "good")
AUDIT_DOMAINS = ("child_experience", "voice_of_child", "assessment", "planning", "management_oversight",
                 "multi_agency", "recording")


@dataclass(frozen=True)
class Column:
    """A column and its rules. The last three tie it to another column of the same row (the QA files):
    required_with: required when that column is set; ignored_without: ignored (stored empty, never
    rejected) while that column is empty; forbidden_without: rejected when set while that one is empty."""

    name: str
    type: ColumnType = "string"
    required: bool = False
    codes: tuple[str, ...] = ()
    required_with: str | None = None
    ignored_without: str | None = None
    forbidden_without: str | None = None

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class EndRule:
    """An end that must not be before its start (`end >= start`)."""

    end: str
    start: str


@dataclass(frozen=True)
class Table:
    name: str
    key: str
    columns: tuple[Column, ...]
    end_rules: tuple[EndRule, ...] = ()
    positive_max_one: tuple[str, ...] = field(default=())  # 0 < value <= 1
    optional: bool = False  # a file the extract may leave out (the QA files)
    key_also: tuple[str, ...] = ()  # further key columns: the key is (key, *key_also)
    parent: tuple[str, str] | None = None  # (column, table): a row whose parent is not loaded is rejected
    future_ok: tuple[str, ...] = ()  # date columns that may be after the extract date without a warning

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def key_columns(self) -> tuple[str, ...]:
        return (self.key, *self.key_also)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type: ColumnType = "string", required: bool = False, codes: tuple[str, ...] = ()) -> Column:
    return Column(name, type, required, codes)


TABLES: tuple[Table, ...] = (
    Table(
        "teams",
        "team_id",
        (_c("team_id", required=True), _c("team_name", required=True), _c("service", required=True)),
    ),
    Table(
        "workers",
        "worker_id",
        (
            _c("worker_id", required=True),
            _c("worker_name", required=True),
            _c("team_id", required=True),
            _c("role", "code", required=True, codes=WORKER_ROLES),
            _c("qualified", "bool", required=True),
            _c("fte", "number", required=True),
            _c("agency", "bool"),
            _c("start_date", "date"),
            _c("end_date", "date"),
        ),
        end_rules=(EndRule("end_date", "start_date"),),
        positive_max_one=("fte",),
    ),
    Table(
        "children",
        "child_id",
        (
            _c("child_id", required=True),
            _c("date_of_birth", "date"),
            _c("gender", "code", codes=GENDERS),
            _c("ethnicity"),
            _c("disability", "bool"),
        ),
    ),
    Table(
        "referrals",
        "referral_id",
        (
            _c("referral_id", required=True),
            _c("child_id", required=True),
            _c("referral_date", "date", required=True),
            _c("source"),
            _c("nfa", "bool"),
            _c("team_id"),
            _c("worker_id"),
        ),
    ),
    Table(
        "assessments",
        "assessment_id",
        (
            _c("assessment_id", required=True),
            _c("child_id", required=True),
            _c("referral_id"),
            _c("start_date", "date", required=True),
            _c("authorised_date", "date"),
            _c("team_id"),
            _c("worker_id"),
        ),
        end_rules=(EndRule("authorised_date", "start_date"),),
    ),
    Table(
        "s47_enquiries",
        "s47_id",
        (
            _c("s47_id", required=True),
            _c("child_id", required=True),
            _c("strategy_date", "date", required=True),
            _c("completed_date", "date"),
            _c("icpc_required", "bool"),
            _c("icpc_date", "date"),
            _c("team_id"),
            _c("worker_id"),
        ),
        end_rules=(EndRule("completed_date", "strategy_date"), EndRule("icpc_date", "strategy_date")),
    ),
    Table(
        "episodes",
        "episode_id",
        (
            _c("episode_id", required=True),
            _c("child_id", required=True),
            _c("episode_type", "code", required=True, codes=EPISODE_TYPES),
            _c("start_date", "date", required=True),
            _c("end_date", "date"),
            _c("team_id", required=True),
        ),
        end_rules=(EndRule("end_date", "start_date"),),
    ),
    Table(
        "allocations",
        "allocation_id",
        (
            _c("allocation_id", required=True),
            _c("child_id", required=True),
            _c("worker_id", required=True),
            _c("start_date", "date", required=True),
            _c("end_date", "date"),
        ),
        end_rules=(EndRule("end_date", "start_date"),),
    ),
    Table(
        "missing_episodes",
        "missing_id",
        (
            _c("missing_id", required=True),
            _c("child_id", required=True),
            _c("start_time", "datetime", required=True),
            _c("end_time", "datetime"),
            _c("rhi_offered_time", "datetime"),
            _c("rhi_accepted", "bool"),
            _c("team_id"),
        ),
        end_rules=(EndRule("end_time", "start_time"),),
    ),
)

# The quality-assurance files (qa-audits.md): optional; checked after the nine, audits before the
# files whose rows belong to an audit.
QA_TABLES: tuple[Table, ...] = (
    Table(
        "audits",
        "audit_id",
        (
            _c("audit_id", required=True),
            _c("child_id", required=True),
            _c("audit_type", "code", required=True, codes=AUDIT_TYPES),
            _c("theme"),
            _c("team_id"),
            _c("worker_id"),
            _c("auditor_id", required=True),
            _c("auditor_role", "code", codes=AUDITOR_ROLES),
            _c("assigned_date", "date", required=True),
            _c("due_date", "date", required=True),
            _c("completed_date", "date"),
            Column("grade", "code", codes=GRADES, required_with="completed_date", ignored_without="completed_date"),
            Column("moderated_date", "date", forbidden_without="completed_date"),
            Column("moderated_grade", "code", codes=GRADES, required_with="moderated_date",
                   forbidden_without="moderated_date"),
        ),
        end_rules=(EndRule("due_date", "assigned_date"), EndRule("completed_date", "assigned_date"),
                   EndRule("moderated_date", "completed_date")),
        optional=True,
        future_ok=("due_date",),
    ),
    Table(
        "audit_domains",
        "audit_id",
        (
            _c("audit_id", required=True),
            _c("domain", "code", required=True, codes=AUDIT_DOMAINS),
            _c("grade", "code", required=True, codes=GRADES),
        ),
        optional=True,
        key_also=("domain",),
        parent=("audit_id", "audits"),
    ),
    Table(
        "audit_actions",
        "action_id",
        (
            _c("action_id", required=True),
            _c("audit_id", required=True),
            _c("description", required=True),
            _c("owner_id"),
            _c("due_date", "date", required=True),
            _c("completed_date", "date"),
        ),
        optional=True,
        parent=("audit_id", "audits"),
        future_ok=("due_date",),
    ),
)
QA_FILES = tuple(t.file_name for t in QA_TABLES)
# Every file an extract may hold: the contract's nine (required), then the optional QA files.
EXTRACT_TABLES: tuple[Table, ...] = TABLES + QA_TABLES

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in EXTRACT_TABLES}


# Rows per row group in a warehouse file (DuckDB's default is 122,880). DuckDB compresses a table's row
# groups in parallel as it writes them, so a table of a few row groups writes on one core: at 16,384 the
# daily cube of a trust ten times the sample (237,000 rows, two default row groups) writes in two thirds
# of the time on two cores, and reads no slower (docs/benchmarks.md, "Row groups of 16,384 rows").
ROW_GROUP_SIZE = 16_384


def warehouse_ddl(table: Table) -> str:
    """CREATE TABLE statement for a contract table in the published warehouse."""
    cols = ",\n    ".join(f"{c.name} {c.sql_type}" for c in table.columns)
    return f"CREATE TABLE {table.name} (\n    {cols}\n)"


# The warehouse also holds one row of metadata about the published extract.
META_DDL = """CREATE TABLE extract_meta (
    run_id VARCHAR,
    extracted_at TIMESTAMP,      -- manifest.json extracted_at, else the load's start time
    source_system VARCHAR,       -- manifest.json source_system, may be null
    source VARCHAR,              -- the folder or file loaded
    loaded_at TIMESTAMP          -- when this warehouse was published
)"""

# Identifier columns that name a row of another file (by that file's key). A value the other file does
# not hold is loaded but listed as a data-quality warning.
REFERENCES: dict[str, str] = {"child_id": "children", "team_id": "teams", "worker_id": "workers"}

# Which files the published extract held (the QA files are optional: a figure needs its file).
FILES_DDL = """CREATE TABLE extract_files (
    file VARCHAR,                -- e.g. audits.csv
    supplied BOOLEAN,            -- the extract held the file (and, for a QA file, it was loaded)
    rows_loaded BIGINT           -- rows that passed validation
)"""

# The published run's rejected rows and data-quality warnings, as the loader listed them.
ISSUES_DDL = """CREATE TABLE load_issues (
    run_id VARCHAR,
    file VARCHAR,                -- e.g. assessments.csv
    line BIGINT,                 -- physical line in the file (header = 1); null for a whole-file issue
    "column" VARCHAR,            -- null when the issue is about the whole row
    value VARCHAR,               -- the value as it was in the file
    reason VARCHAR,              -- e.g. is not a date (expected YYYY-MM-DD)
    severity VARCHAR             -- reject | warning
)"""
