"""Putting an SSD into a real database for the database path's tests: SQLite, DuckDB and PostgreSQL.

Tables are made as an authority's SSD build makes them: with `typed=True`, datetime fields are
TIMESTAMP/DATETIME columns, the FTE a float and the rest text; otherwise every column is text (as a
CSV export loaded as it is).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
from sqlalchemy import Column, DateTime, Float, MetaData, Table, Text, create_engine, insert, text
from sqlalchemy.engine import make_url

from etl.ssd.tables import SSD_TABLES

DATETIME_FIELDS = {
    "pers_dob", "cine_referral_date", "cine_close_date", "cina_assessment_start_date", "cina_assessment_auth_date",
    "s47e_s47_start_date", "s47e_s47_end_date", "icpc_icpc_date", "invo_involvement_start_date",
    "invo_involvement_end_date", "miss_missing_episode_start_date", "miss_missing_episode_end_date",
}


def _value(field: str, raw: str, typed: bool):  # noqa: ANN202
    if raw == "":
        return None
    if typed and field in DATETIME_FIELDS:
        return dt.datetime.fromisoformat(raw)
    if typed and field == "prof_full_time_equivalency":
        return float(raw)
    return raw


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, list(reader)


def fill_database(url: str, schema: str | None, folder: Path, typed: bool = False, skip: tuple[str, ...] = ()) -> None:
    """Every ssd_*.csv of the folder as a table of the database (replaced if there), in the schema."""
    if make_url(url).get_backend_name() == "duckdb":
        _fill_duckdb(make_url(url).database, schema, folder, typed, skip)
        return
    engine = create_engine(url)
    meta = MetaData(schema=schema)
    if schema:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    tables = {}
    for table in SSD_TABLES:
        path = folder / table.file_name
        if table.name in skip or not path.exists():
            continue
        header, _ = _rows(path)
        types = {f: (DateTime if typed and f in DATETIME_FIELDS else Float if typed and f == "prof_full_time_equivalency"
                     else Text) for f in header}
        tables[table.name] = Table(table.name, meta, *(Column(f, types[f]()) for f in header))
    with engine.begin() as conn:
        for table in SSD_TABLES:
            conn.execute(text(f"DROP TABLE IF EXISTS {schema + '.' if schema else ''}{table.name}"))
    meta.create_all(engine)
    with engine.begin() as conn:
        for name, table in tables.items():
            header, body = _rows(folder / f"{name}.csv")
            if body:
                conn.execute(insert(table), [{f: _value(f, v, typed) for f, v in zip(header, row, strict=True)} for row in body])
    engine.dispose()


def _fill_duckdb(path: str, schema: str | None, folder: Path, typed: bool, skip: tuple[str, ...]) -> None:
    with duckdb.connect(path) as con:
        target = schema or "main"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {target}")
        for table in SSD_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {target}.{table.name}")
            csv_path = folder / table.file_name
            if table.name in skip or not csv_path.exists():
                continue
            header, _ = _rows(csv_path)
            cols = ", ".join(
                f"CAST(nullif({f}, '') AS TIMESTAMP) AS {f}" if typed and f in DATETIME_FIELDS
                else f"CAST(nullif({f}, '') AS DOUBLE) AS {f}" if typed and f == "prof_full_time_equivalency"
                else f"nullif({f}, '') AS {f}"
                for f in header
            )
            con.execute(f"CREATE TABLE {target}.{table.name} AS SELECT {cols} FROM read_csv(?, header = true, "
                        "all_varchar = true)", [str(csv_path)])
