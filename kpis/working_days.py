"""The working-day calendar the timeliness KPIs count in (spec: "Time").

Working days are Monday to Friday less the bank holidays of England and Wales (the `holidays`
package, subdivision ENG, substitute "observed" days included, the special 2022-2023 ones too) and
the extra closure days of the configuration. The calendar is a DuckDB table with a cumulative index
wdi(d) = working days <= d, so wd(a, b) = wdi(b) - wdi(a) counts the working days d with
a < d <= b: the spec's rule, as one join per date instead of a count per record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

import duckdb

CALENDAR_TABLE = "calendar"
# The bank holidays a publish counted with, kept in its warehouse (kpis/cube_builder.py writes them):
# readers, and the next load, take them from there instead of the holidays package, whose import and
# first look-up cost more than a short command's whole start-up.
STORED_HOLIDAYS_TABLE = "kpi_bank_holidays"


@lru_cache(maxsize=32)
def bank_holidays(first_year: int, last_year: int) -> tuple[dt.date, ...]:
    """England and Wales bank holidays (observed substitutes included) in the years, inclusive.

    Cached: the holidays package takes a noticeable time per year and every warehouse opened asks.
    """
    import holidays

    days = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    return tuple(sorted(days))


def stored_bank_holidays(con: duckdb.DuckDBPyConnection, database: str, first_year: int, last_year: int
                         ) -> tuple[dt.date, ...] | None:
    """The bank holidays of the years kept in an attached warehouse, if it keeps them all."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?",
        [database, STORED_HOLIDAYS_TABLE]).fetchone()[0]
    if not found:
        return None
    row = con.execute(f"SELECT first_year, last_year, days FROM {database}.{STORED_HOLIDAYS_TABLE}").fetchone()
    if row is None or row[0] > first_year or row[1] < last_year:
        return None
    return tuple(d for d in row[2] if first_year <= d.year <= last_year)


def store_bank_holidays(con: duckdb.DuckDBPyConnection, database: str, first_year: int, last_year: int,
                        days: Iterable[dt.date]) -> None:
    """Keep the years' bank holidays in a warehouse being built."""
    con.execute(f"CREATE OR REPLACE TABLE {database}.{STORED_HOLIDAYS_TABLE} "
                "(first_year INTEGER, last_year INTEGER, days DATE[])")
    con.execute(f"INSERT INTO {database}.{STORED_HOLIDAYS_TABLE} VALUES (?, ?, ?)",
                [first_year, last_year, sorted(days)])


def build_calendar(
    con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date, closure_days: Iterable[dt.date] = (),
    known_holidays: Iterable[dt.date] | None = None,
) -> None:
    """(Re)create the calendar table over [first, last] in the connection's in-memory database.

    known_holidays: the bank holidays of those years, when already known (a warehouse keeps them)."""
    holidays_ = bank_holidays(first.year, last.year) if known_holidays is None else known_holidays
    closed = sorted(set(holidays_) | set(closure_days))
    con.execute(
        f"""
        CREATE OR REPLACE TABLE memory.main.{CALENDAR_TABLE} AS
        WITH days AS (
            SELECT CAST(ts AS DATE) AS d FROM generate_series($first::DATE, $last::DATE, INTERVAL 1 DAY) t(ts)
        ), closed AS (
            SELECT DISTINCT unnest($closed::DATE[]) AS d
        )
        SELECT days.d,
               isodow(days.d) <= 5 AND closed.d IS NULL AS working,
               sum(CASE WHEN isodow(days.d) <= 5 AND closed.d IS NULL THEN 1 ELSE 0 END)
                   OVER (ORDER BY days.d ROWS UNBOUNDED PRECEDING)::INTEGER AS wdi
        FROM days LEFT JOIN closed ON closed.d = days.d
        ORDER BY days.d
        """,
        {"first": first, "last": last, "closed": closed},
    )


def working_days_between(con: duckdb.DuckDBPyConnection, a: dt.date, b: dt.date) -> int:
    """wd(a, b) from the calendar table: for checks and explanations, never per record."""
    row = con.execute(
        f"SELECT cb.wdi - ca.wdi FROM memory.main.{CALENDAR_TABLE} ca, memory.main.{CALENDAR_TABLE} cb "
        "WHERE ca.d = $a AND cb.d = $b",
        {"a": a, "b": b},
    ).fetchone()
    if row is None:
        raise ValueError(f"{a} or {b} is outside the working-day calendar")
    return int(row[0])


def previous_working_day(con: duckdb.DuckDBPyConnection, day: dt.date) -> dt.date | None:
    """The last working day before `day` (Friday for a Monday, Thursday before Good Friday, ...), from
    the calendar table; None when the calendar holds none."""
    row = con.execute(
        f"SELECT max(d) FROM memory.main.{CALENDAR_TABLE} WHERE working AND d < $day", {"day": day}
    ).fetchone()
    return row[0] if row else None
