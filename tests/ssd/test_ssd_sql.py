"""The SELECTs the SSD database path sends are plain enough for SQL Server (not run against one here:
no SQL Server on the build machines; docs/ssd.md says so)."""

from __future__ import annotations

from sqlalchemy.dialects import mssql, postgresql, sqlite

from etl.ssd.database import describe, ssd_select
from etl.ssd.tables import SSD_BY_NAME


def _sql(dialect, schema: str | None = "ssd_development") -> str:  # noqa: ANN001
    table = SSD_BY_NAME["ssd_missing"]
    actual = {f: f for f in table.fields}
    return str(ssd_select(table, "ssd_missing", actual, schema).compile(dialect=dialect.dialect()))


def test_sql_server_gets_a_plain_select_in_id_order() -> None:
    assert " ".join(_sql(mssql).split()) == (
        "SELECT miss_table_id AS miss_table_id, miss_person_id AS miss_person_id, "
        "miss_missing_episode_start_date AS miss_missing_episode_start_date, "
        "miss_missing_episode_end_date AS miss_missing_episode_end_date, "
        "miss_missing_rhi_accepted AS miss_missing_rhi_accepted "
        "FROM ssd_development.ssd_missing ORDER BY miss_table_id"
    )


def test_names_are_quoted_only_where_a_database_needs_it() -> None:
    table = SSD_BY_NAME["ssd_person"]
    actual = {f: f.upper() for f in table.fields}  # a database that keeps upper-case names
    sql = " ".join(str(ssd_select(table, "SSD_PERSON", actual, None).compile(dialect=postgresql.dialect())).split())
    assert sql.startswith('SELECT "PERS_PERSON_ID" AS pers_person_id,') and sql.endswith('FROM "SSD_PERSON" ORDER BY "PERS_PERSON_ID"')
    assert "FROM ssd_missing ORDER BY" in _sql(sqlite, None)


def test_the_database_is_described_without_its_password() -> None:
    shown = describe("mssql+pymssql://reader:s3cret@cms-reporting:1433/ssd", "ssd_development")
    assert shown == "mssql+pymssql://reader:***@cms-reporting:1433/ssd (schema ssd_development)"
