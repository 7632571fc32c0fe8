"""Small published warehouses built straight from hand-made rows, so KPI tests need no loader.

The file has the loader's shape: one typed table per contract file (etl.contract.warehouse_ddl)
and one extract_meta row. Rows are dicts with the contract's column names; missing columns are
null; dates and date-times may be written as ISO text and booleans as "Y"/"N", as in a CSV.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from etl.contract import EXTRACT_TABLES, FILES_DDL, META_DDL, TABLES_BY_NAME, Column, warehouse_ddl

# Three teams in two services: the usual setting of the hand-made cases.
TEAMS = [
    {"team_id": "T1", "team_name": "Duckpond Assessment", "service": "Front Door"},
    {"team_id": "T2", "team_name": "Moonbeam Assessment", "service": "Front Door"},
    {"team_id": "T3", "team_name": "Puddleby Care", "service": "Care Management"},
]


def _typed(column: Column, value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    if column.type == "date":
        return dt.date.fromisoformat(value)
    if column.type == "datetime":
        return dt.datetime.fromisoformat(value)
    if column.type == "bool":
        return {"Y": True, "N": False}[value]
    if column.type == "number":
        return float(value)
    return value


def build_warehouse(
    path: Path,
    rows: dict[str, list[dict[str, Any]]] | None = None,
    extracted_at: str = "2025-11-24T06:30:00",
    teams: list[dict[str, Any]] | None = None,
    source_system: str = "hand-made",
) -> Path:
    """Write a published-shape warehouse at path holding the rows (teams default to TEAMS). A QA file
    (audits, audit_domains, audit_actions) counts as supplied when rows names it, even with no rows."""
    rows = dict(rows or {})
    rows.setdefault("teams", TEAMS if teams is None else teams)
    unknown = set(rows) - set(TABLES_BY_NAME)
    assert not unknown, f"not contract tables: {unknown}"
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute(FILES_DDL)
        for table in EXTRACT_TABLES:
            con.execute(warehouse_ddl(table))
            con.execute("INSERT INTO extract_files VALUES (?, ?, ?)",
                        [table.file_name, not table.optional or table.name in rows, len(rows.get(table.name, []))])
            records = rows.get(table.name, [])
            for rec in records:
                unknown_columns = set(rec) - set(table.column_names)
                assert not unknown_columns, f"{table.name}: unknown columns {unknown_columns}"
            if records:
                cols = table.column_names
                con.executemany(
                    f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                    [[_typed(table.column(c), rec.get(c)) for c in cols] for rec in records],
                )
        con.execute(META_DDL)
        con.execute(
            "INSERT INTO extract_meta VALUES ('test-run', ?, ?, 'tests', ?)",
            [dt.datetime.fromisoformat(extracted_at), source_system, dt.datetime.fromisoformat(extracted_at)],
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path
