"""Writing the extract: one CSV per contract table, formatted by the contract's column types, and manifest.json.

Tables arrive typed (dates, timestamps, booleans, numbers, strings); DuckDB formats them as the contract
says (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS, Y/N, empty = null) and writes them with COPY, quoting only the
values that need it. Rows keep the order they arrive in, so the same tables give the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa

from etl.contract import EXTRACT_TABLES, Column

_FORMATS = {
    "date": "strftime({c}, '%Y-%m-%d')",
    "datetime": "strftime({c}, '%Y-%m-%dT%H:%M:%S')",
    "bool": "CASE WHEN {c} THEN 'Y' WHEN NOT {c} THEN 'N' END",
    "number": "CAST({c} AS VARCHAR)",
    "string": "CAST({c} AS VARCHAR)",
    "code": "CAST({c} AS VARCHAR)",
}


def _select(column: Column) -> str:
    quoted = f'"{column.name}"'
    return f"{_FORMATS[column.type].format(c=quoted)} AS {quoted}"


def write_extract(out: Path, tables: dict[str, pa.Table], manifest: dict[str, str]) -> dict[str, int]:
    """Write every contract table given (the nine are required, the QA files optional) and the manifest;
    rows written per file."""
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = true")
        for table in EXTRACT_TABLES:
            if table.optional and table.name not in tables:
                continue
            data = tables[table.name]
            missing = set(table.column_names) - set(data.column_names)
            if missing:
                raise ValueError(f"{table.name}: no data for column(s) {', '.join(sorted(missing))}")
            con.register("rows_to_write", data)
            select = ", ".join(_select(c) for c in table.columns)
            path = str(out / table.file_name).replace("'", "''")
            con.execute(f"COPY (SELECT {select} FROM rows_to_write) TO '{path}' (FORMAT csv, HEADER true, DELIMITER ',')")
            con.unregister("rows_to_write")
            rows[table.file_name] = data.num_rows
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return rows
