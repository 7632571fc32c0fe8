"""Reading a written extract back with DuckDB, and checking it against the contract's rules (as data).

Everything is read as text, so a check sees the exact characters the loader would.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import holidays
import numpy as np
import pyarrow as pa

from etl.contract import TABLES

DATE = r"\d{4}-\d{2}-\d{2}"
DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"


def end_date_of(folder: Path) -> dt.date:
    """The last day of the extract's history: the day before manifest.json's extracted_at."""
    extracted_at = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["extracted_at"]
    return dt.date.fromisoformat(extracted_at[:10]) - dt.timedelta(days=1)


def open_extract(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one text table per contract file (empty cell = NULL)."""
    con = duckdb.connect()
    for t in TABLES:
        path = str(folder / t.file_name).replace("'", "''")
        con.execute(f"CREATE TABLE {t.name} AS SELECT * FROM read_csv('{path}', header = true, all_varchar = true)")
    return con


def _as_date(column: str) -> str:
    return f"CAST(strptime({column}, '%Y-%m-%d') AS DATE)"


def _as_time(column: str) -> str:
    return f"strptime({column}, '%Y-%m-%dT%H:%M:%S')"


def contract_problems(con: duckdb.DuckDBPyConnection, end_date: dt.date) -> list[str]:
    """Every broken rule of the contract, as "file column: n rows ..." lines; empty when all hold.

    Also: no date after end_date (the extract is taken the next morning).
    """
    problems: list[str] = []

    def count(where: str, table: str) -> int:
        return con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]

    for t in TABLES:
        for c in t.columns:
            q = f'"{c.name}"'
            checks: dict[str, str] = {}
            if c.required:
                checks["empty although required"] = f"{q} IS NULL OR trim({q}) = ''"
            if c.type == "date":
                checks["not YYYY-MM-DD"] = f"{q} IS NOT NULL AND (NOT regexp_full_match({q}, '{DATE}') OR try_strptime({q}, '%Y-%m-%d') IS NULL)"
                checks["after the end date"] = f"{q} IS NOT NULL AND try_strptime({q}, '%Y-%m-%d') > DATE '{end_date}'"
            if c.type == "datetime":
                checks["not YYYY-MM-DDTHH:MM:SS"] = f"{q} IS NOT NULL AND (NOT regexp_full_match({q}, '{DATETIME}') OR try_strptime({q}, '%Y-%m-%dT%H:%M:%S') IS NULL)"
                checks["after the end date"] = f"{q} IS NOT NULL AND try_strptime({q}, '%Y-%m-%dT%H:%M:%S') >= DATE '{end_date}' + 1"
            if c.type == "bool":
                checks["not Y or N"] = f"{q} IS NOT NULL AND {q} NOT IN ('Y', 'N')"
            if c.type == "number":
                checks["not a number"] = f"{q} IS NOT NULL AND try_cast({q} AS DOUBLE) IS NULL"
            if c.codes:
                codes = ", ".join(f"'{code}'" for code in c.codes)
                checks["not a valid code"] = f"{q} IS NOT NULL AND {q} NOT IN ({codes})"
            for reason, where in checks.items():
                if n := count(where, t.name):
                    problems.append(f"{t.file_name} {c.name}: {n} rows {reason}")
        dupes = con.execute(f'SELECT count(*) - count(DISTINCT "{t.key}") FROM {t.name}').fetchone()[0]
        if dupes:
            problems.append(f"{t.file_name} {t.key}: {dupes} repeated keys")
        for rule in t.end_rules:
            as_value = _as_time if t.column(rule.end).type == "datetime" else _as_date
            if n := count(f"{as_value(rule.end)} < {as_value(rule.start)}", t.name):
                problems.append(f"{t.file_name}: {n} rows with {rule.end} before {rule.start}")
        for column in t.positive_max_one:
            if n := count(f'NOT (CAST("{column}" AS DOUBLE) > 0 AND CAST("{column}" AS DOUBLE) <= 1)', t.name):
                problems.append(f"{t.file_name} {column}: {n} rows outside 0 < value <= 1")
    return problems


def add_working_day_index(con: duckdb.DuckDBPyConnection, first_year: int, last_year: int) -> None:
    """Table wd_cal(day, n): n = working days (Mon-Fri less England's bank holidays) from an origin to day.

    So wd(a, b) = n(b) - n(a): the working days d with a < d <= b, as the KPI spec counts them.
    """
    bank = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    days = np.arange(np.datetime64(f"{first_year}-01-01"), np.datetime64(f"{last_year + 1}-01-01"))
    working = np.is_busday(days, holidays=np.array(sorted(bank), dtype="datetime64[D]"))
    con.register("wd_cal_rows", pa.table({"day": days, "n": np.cumsum(working)}))
    con.execute("CREATE TABLE wd_cal AS SELECT * FROM wd_cal_rows")
    con.unregister("wd_cal_rows")
