"""Reading the SSD from an authority's reporting database (KPIDASH_SSD_URL, optional KPIDASH_SSD_SCHEMA).

Every SSD table kpidash uses is read with one plain SELECT of the fields it needs, ordered by the
table's id (so a row's number is the same from one read to the next), and written as `ssd_<table>.csv`
with a manifest.json dated at the read: then loaded exactly as a folder of SSD CSV files. A table or
field the database lacks is simply not written, so the load fails naming it. SQLAlchemy builds the
SELECTs (names quoted as the database needs); a `duckdb:///file.duckdb` URL is read with DuckDB itself.
The checksum of what was written tells the refresh whether anything changed.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import Select, column, create_engine, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from etl.sources import SourceError
from etl.sql import quoted
from etl.ssd.convert import DATABASE_KEY, MANIFEST
from etl.ssd.tables import SSD_TABLES, SsdTable

FETCH_BATCH = 10_000


def describe(url: str, schema: str | None) -> str:
    """The database in words, without its password: what the load log and messages show."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        shown = "(an unreadable URL)"
    return f"{shown} (schema {schema})" if schema else shown


def _cell(value: Any) -> Any:
    """A database value as SSD CSV text: ISO dates and times, numbers as written, flags as True/False."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return value


def pull_ssd_database(url: str, schema: str | None, out: Path, read_at: dt.datetime) -> str:
    """Write the SSD tables of the database into `out` as CSV files and a manifest; their checksum.

    SourceError when the database cannot be reached or read.
    """
    out.mkdir(parents=True, exist_ok=True)
    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError) as err:
        raise SourceError(f"KPIDASH_SSD_URL is not a database URL ({err})") from None
    if backend == "duckdb":
        _pull_duckdb(make_url(url).database or "", schema, out)
    else:
        _pull_sqlalchemy(url, schema, out)
    manifest = {"extracted_at": read_at.isoformat(timespec="seconds"), DATABASE_KEY: describe(url, schema)}
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    digest = hashlib.sha256()
    for path in sorted(out.glob("ssd_*.csv")):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def ssd_tables_present(url: str, schema: str | None) -> list[str]:
    """The SSD tables kpidash reads that the database holds (SourceError when it cannot be reached)."""
    with tempfile.TemporaryDirectory(prefix="kpidash-ssd-") as scratch:
        try:
            backend = make_url(url).get_backend_name()
        except (ArgumentError, ValueError) as err:
            raise SourceError(f"KPIDASH_SSD_URL is not a database URL ({err})") from None
        if backend == "duckdb":
            _pull_duckdb(make_url(url).database or "", schema, Path(scratch), names_only=True)
        else:
            _pull_sqlalchemy(url, schema, Path(scratch), names_only=True)
        return sorted(p.stem for p in Path(scratch).glob("ssd_*.csv"))


def ssd_select(table_def: SsdTable, name: str, actual: dict[str, str], schema: str | None) -> Select:
    """The one SELECT of a table: the fields kpidash uses that the table has (named as the SSD names them),
    in id order. Plain SQL: no function, no cast, nothing one database has and another lacks."""
    fields = [f for f in table_def.fields if f in actual]
    query = select(*(column(actual[f]).label(f) for f in fields)).select_from(table(name, schema=schema))
    return query.order_by(column(actual[table_def.key])) if table_def.key in actual else query


def _present(names: list[str], table_def: SsdTable) -> str | None:
    return next((n for n in names if n.lower() == table_def.name), None)


def _pull_sqlalchemy(url: str, schema: str | None, out: Path, names_only: bool = False) -> None:
    where = f"the SSD database {describe(url, schema)}"
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ValueError, ImportError) as err:
        raise SourceError(f"KPIDASH_SSD_URL is not usable ({type(err).__name__}: {err})") from None
    try:
        with engine.connect() as conn:
            found = inspect(conn)
            names = [*found.get_table_names(schema=schema), *found.get_view_names(schema=schema)]
            for table_def in SSD_TABLES:
                name = _present(names, table_def)
                if name is None:
                    continue
                if names_only:
                    (out / table_def.file_name).touch()
                    continue
                actual = {c["name"].lower(): c["name"] for c in found.get_columns(name, schema=schema)}
                fields = [f for f in table_def.fields if f in actual]
                query = ssd_select(table_def, name, actual, schema)
                result = conn.execution_options(stream_results=True).execute(query)
                with (out / table_def.file_name).open("w", encoding="utf-8", newline="") as fh:
                    writer = csv.writer(fh, lineterminator="\n")
                    writer.writerow(fields)
                    for batch in result.partitions(FETCH_BATCH):
                        writer.writerows([_cell(v) for v in row] for row in batch)
    except SQLAlchemyError as err:
        first = (str(getattr(err, "orig", None) or err).splitlines() or [type(err).__name__])[0]
        raise SourceError(f"{where} cannot be read ({first})") from None
    finally:
        engine.dispose()


def _pull_duckdb(path: str, schema: str | None, out: Path, names_only: bool = False) -> None:
    where = f"the SSD database {path}"
    if not path or not Path(path).is_file():
        raise SourceError(f"{where} does not exist (KPIDASH_SSD_URL duckdb:///path/to/file.duckdb)")
    try:
        with duckdb.connect() as con:
            con.execute("ATTACH ? AS ssd_src (READ_ONLY)", [path])
            rows = con.execute(
                """SELECT table_name, column_name FROM duckdb_columns()
                   WHERE database_name = 'ssd_src' AND schema_name = ?""", [schema or "main"]
            ).fetchall()
            columns: dict[str, dict[str, str]] = {}
            for table_name, column_name in rows:
                columns.setdefault(table_name.lower(), {}).setdefault(column_name.lower(), column_name)
            for table_def in SSD_TABLES:
                name = _present(list({t for t, _ in rows}), table_def)
                if name is None:
                    continue
                if names_only:
                    (out / table_def.file_name).touch()
                    continue
                actual = columns[table_def.name]
                fields = [f for f in table_def.fields if f in actual]
                cols = ", ".join(f'"{actual[f]}" AS {f}' for f in fields)
                order = f' ORDER BY "{actual[table_def.key]}"' if table_def.key in actual else ""
                target = quoted(str(out / table_def.file_name))
                con.execute(
                    f"""COPY (SELECT {cols} FROM ssd_src."{schema or 'main'}"."{name}"{order})
                        TO {target} (FORMAT csv, HEADER true)"""
                )
    except duckdb.Error as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise SourceError(f"{where} cannot be read ({first})") from None
