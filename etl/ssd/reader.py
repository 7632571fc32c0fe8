"""Reading a folder of SSD CSV files (`ssd_person.csv`, ...) into DuckDB, one cleaned table per SSD table.

The CSV parsing and line numbering are the loader's own (etl.reader.stage_file): RFC 4180, a BOM
tolerated, rows that span lines numbered as an editor shows them, rows with the wrong number of values
reported and left out. Headers are matched after trimming and ignoring case; file names ignore case.

Each table becomes `<ssd table>` (e.g. `ssd_person`) with `_line` (the CSV line where the row starts),
`_row` (its position among the rows, 1 = first: the "source row number" of a database read) and one
VARCHAR column per field kpidash uses, every value cleaned as the spec says: trimmed of surrounding
spaces, and empty when it is then empty or `NULL` in any case; each datetime field is also read once
into `<field>__ts` (a TIMESTAMP, NULL when it cannot be read).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from etl.archive import ArchivedFile
from etl.contract import Column, Table
from etl.reader import FileError, read_header, stage_file
from etl.ssd.tables import DATETIME_FIELDS, SSD_BY_NAME, SSD_TABLES, SsdTable

CONTRACT_FILES = ("teams.csv", "workers.csv", "children.csv", "referrals.csv", "assessments.csv",
                  "s47_enquiries.csv", "episodes.csv", "allocations.csv", "missing_episodes.csv")
SPACES = " \t\r\n\u00a0"  # what "surrounding spaces" are trimmed of: blanks, tabs, line ends, no-break spaces

CLEAN_MACRO = f"""CREATE OR REPLACE MACRO ssd_text(v) AS
    CASE WHEN v IS NULL THEN NULL
         WHEN upper(trim(v, '{SPACES}')) IN ('', 'NULL') THEN NULL
         ELSE trim(v, '{SPACES}') END"""
# A datetime with or without a time (a space or T before it) and with any fraction of a second; NULL when
# it cannot be read. Read once per value, into <field>__ts, for every datetime field.
TIMESTAMP_MACRO = r"""CREATE OR REPLACE MACRO ssd_ts(v) AS
    CASE WHEN regexp_full_match(v, '\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?')
              AND NOT starts_with(v, '0000')
         THEN try_strptime(regexp_replace(replace(v, 'T', ' '), '\.\d+$', ''),
                           ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d']) END"""


class SsdError(Exception):
    """The SSD cannot be loaded at all (a missing table or field, an unreadable file): the message names it."""


def find_ssd_files(folder: Path) -> dict[str, Path]:
    """SSD table name -> its CSV file in the folder (names compared ignoring case)."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        stem = path.name.lower().removesuffix(".csv")
        if path.is_file() and path.name.lower().endswith(".csv") and stem in SSD_BY_NAME:
            if stem in found:
                raise SsdError(f"{folder} holds both {found[stem].name} and {path.name}: keep one {stem}.csv")
            found[stem] = path
    return found


def is_ssd_folder(path: Path) -> bool:
    """A folder holding SSD CSV files (ssd_*.csv) and none of the contract's files."""
    if not path.is_dir():
        return False
    names = {p.name.lower() for p in path.iterdir()}
    if names & set(CONTRACT_FILES):
        return False
    return any(n.startswith("ssd_") and n.endswith(".csv") for n in names)


def _clean(field: str) -> str:
    """ssd_text(field), with a fast path for the usual value that has no space at either end (trimming
    with a set of characters costs several times a plain comparison)."""
    edges = ", ".join(str(ord(c)) for c in SPACES)
    return (f"CASE WHEN ascii({field}) IN ({edges}) OR ascii(right({field}, 1)) IN ({edges}) THEN ssd_text({field}) "
            f"WHEN length({field}) = 4 AND upper({field}) = 'NULL' THEN NULL ELSE {field} END")


def _normalize(name: str) -> str:
    return name.strip(SPACES).lower()


def check_tables(present: dict[str, ArchivedFile]) -> None:
    """One SsdError naming every required table that is missing and every field missing from a table."""
    problems = [f"{name}.csv is missing" for name in (t.name for t in SSD_TABLES if t.required) if name not in present]
    for table in SSD_TABLES:
        archived = present.get(table.name)
        if archived is None:
            continue
        if archived.problem:
            problems.append(f"{archived.name} {archived.problem}")
            continue
        try:
            header = {_normalize(h) for h in read_header(archived)}
        except FileError as err:
            problems.append(str(err))
            continue
        missing = [f for f in table.fields if f not in header]
        if missing:
            problems.append(f"{archived.name} has no field {', '.join(missing)}")
    if problems:
        intro = "the SSD cannot be loaded"
        if len(problems) == 1:
            raise SsdError(f"{intro}: {problems[0]}")
        raise SsdError(f"{intro}: {problems[0]} (and {len(problems) - 1} more)\n"
                       + "\n".join(f"  - {p}" for p in problems))


def stage_tables(
    con: duckdb.DuckDBPyConnection, present: dict[str, ArchivedFile], file_orders: dict[str, int], number_rows: bool,
) -> bool:
    """Every SSD table as a cleaned DuckDB table; an optional table that is absent is an empty one.
    `number_rows`: count `_row` (a database's rows are reported by number), else `_row` is `_line - 1`.
    Returns whether some row spans several lines (a value holds a line break).

    Expects an `issues` table (etl.validation.RUN_ISSUES_DDL) for the rows the CSV reader refuses."""
    multi_line = False
    con.execute(CLEAN_MACRO)
    con.execute(TIMESTAMP_MACRO)
    for table in SSD_TABLES:
        archived = present.get(table.name)
        if archived is None:
            cols = ", ".join([f"NULL::VARCHAR AS {f}" for f in table.fields]
                             + [f"NULL::TIMESTAMP AS {f}__ts" for f in table.fields if f in DATETIME_FIELDS])
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table.name} AS "
                        f"SELECT NULL::BIGINT AS _line, NULL::BIGINT AS _row, {cols} LIMIT 0")
            continue
        multi_line |= _stage(con, table, archived, file_orders[table.name], number_rows)
    return multi_line


def _stage(con: duckdb.DuckDBPyConnection, table: SsdTable, archived: ArchivedFile, file_order: int,
           number_rows: bool) -> bool:
    as_contract = Table(f"{table.name}_src", table.key, tuple(Column(f) for f in table.fields))
    try:
        staged = stage_file(con, as_contract, archived, file_order, normalize=_normalize)
    except FileError as err:
        raise SsdError(f"the SSD cannot be loaded: {err}") from None
    cleaned = ", ".join(f"{_clean(f)} AS {f}" for f in table.fields)
    stamps = "".join(f", ssd_ts({f}) AS {f}__ts" for f in table.fields if f in DATETIME_FIELDS)
    row = "row_number() OVER (ORDER BY _line)" if number_rows else "_line - 1"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table.name} AS
            SELECT *{stamps} FROM (SELECT _line, {row} AS _row, {cleaned} FROM stg_{table.name}_src)"""
    )
    return staged.rows_read + 1 != archived.physical_lines
