"""Read one contract CSV file for checking: every column as text, each row with its line number.

The CSV reader fills `raw_<table>` (columns by position); the view `stg_<table>` over it has `_line`
(the physical line where the row starts, as a text editor numbers it: header = 1) and one VARCHAR
column per contract column, in contract order. A column the file lacks is all NULL; a cell that is
empty or holds only blanks (spaces, tabs) is NULL; nothing else is changed (no trimming, no case).

DuckDB's CSV reader does the parsing (RFC 4180, explicit dialect, no type sniffing). It numbers rows,
not lines, so line numbers come from the row's position in the file: `position + 1` when every row sits
on one line (the usual case, checked by counting the file's line breaks), otherwise from a pass over
the raw lines that follows the quotes, so rows holding quoted line breaks, blank lines (which the
reader skips) and rows it refuses (wrong number of values) are all numbered as an editor shows them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from etl.archive import ArchivedFile
from etl.contract import Table

HEADER_PEEK = 1 << 20
# Rows the CSV reader cannot split into the header's columns are rejected one by one; anything else
# it cannot parse (a quote left open, a line over its size limit) makes the rest of the file unsafe.
ROW_ERRORS = ("MISSING COLUMNS", "TOO MANY COLUMNS")


class FileError(Exception):
    """A file the load cannot use at all; the message is for the analyst."""


@dataclass
class StagedFile:
    """What staging learnt about one file."""

    table: Table
    archived: ArchivedFile
    header: list[str]
    rows_read: int = 0
    extra_columns: list[tuple[int, str]] = field(default_factory=list)  # (position, name)
    missing_optional: list[str] = field(default_factory=list)
    approximate_lines: bool = False


def read_header(archived: ArchivedFile) -> list[str]:
    """The header row's column names (BOM stripped), or FileError for a file with no header."""
    with archived.path.open("rb") as f:
        head = f.read(HEADER_PEEK).decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        header = next(csv.reader(io.StringIO(head, newline="")), [])
    except csv.Error as err:
        raise FileError(f"{archived.name}: the header row cannot be read ({err})") from None
    if not any(name.strip() for name in header):
        raise FileError(f"{archived.name} is empty: it has no header row (the first line must name the columns)")
    return header


def check_header(table: Table, name: str, header: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """Missing optional columns and extra columns; FileError for a missing required or repeated one."""
    seen: set[str] = set()
    repeated = [h for h in header if h in seen or seen.add(h)]  # type: ignore[func-returns-value]
    if repeated:
        raise FileError(f"{name}: the header names the column {repeated[0]} more than once")
    missing_required = [c.name for c in table.columns if c.required and c.name not in seen]
    if missing_required:
        hints = _near_misses(missing_required, header)
        raise FileError(
            f"{name} has no column {', '.join(missing_required)} (required){hints}; "
            f"the header is: {', '.join(header)}"
        )
    missing_optional = [c.name for c in table.columns if c.name not in seen]
    wanted = set(table.column_names)
    extra = [(i, h) for i, h in enumerate(header) if h not in wanted]
    return missing_optional, extra


def _near_misses(missing: list[str], header: list[str]) -> str:
    folded = {h.strip().lower(): h for h in header}
    near = [f'"{folded[m]}" for {m}' for m in missing if m in folded]
    return f" (found {', '.join(near)}: names must match exactly)" if near else ""


def stage_file(
    con: duckdb.DuckDBPyConnection, table: Table, archived: ArchivedFile, file_order: int,
    normalize: Callable[[str], str] | None = None,
) -> StagedFile:
    """Read the file into `stg_<table>` and its unreadable rows into `issues`; FileError if unusable.

    `normalize` folds the header's names before they are matched (the SSD reader trims and lower-cases)."""
    header = read_header(archived)
    if normalize is not None:
        header = [normalize(h) for h in header]
    missing_optional, extra = check_header(table, archived.name, header)
    staged = StagedFile(table, archived, header, extra_columns=extra, missing_optional=missing_optional)

    raw, rej = f"raw_{table.name}", f"rej_{table.name}"
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM read_csv(?, columns = {columns},
                header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
                store_rejects = true, rejects_table = '{rej}', rejects_scan = 'scan_{table.name}')""",
            [str(archived.path)],
        )
    except duckdb.Error as err:
        if 0 < archived.crlf < archived.newlines and "invalid state" in str(err):
            raise FileError(
                f"{archived.name} mixes Windows (CR LF) and Unix (LF) line ends; save it again as CSV so that "
                "every line ends the same way"
            ) from None
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise FileError(f"{archived.name} cannot be read as CSV ({first})") from None

    # One row per refused CSV row (the reader may log several errors for one row).
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE refused AS
            SELECT line AS unit, line, arg_min(error_type, byte_position) AS error_type,
                   arg_min(error_message, byte_position) AS error_message,
                   arg_min(csv_line, byte_position) AS csv_line
            FROM {rej} GROUP BY line"""
    )
    n_rows = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
    n_refused = con.execute("SELECT count(*) FROM refused").fetchone()[0]
    staged.rows_read = n_rows + n_refused

    if n_refused == 0 and archived.physical_lines == n_rows + 1:
        line = "r.rowid + 2"  # every row on its own line: the usual case, and the fast one
        source = f"{raw} r"
    else:
        staged.approximate_lines = not _map_lines(con, table, archived)
        _fatal_refusals(con, archived)
        line = "l.line"
        source = f"{raw} r JOIN line_of_{table.name} l ON l.rn = r.rowid"
    _stage_view(con, table, header, line, source)
    _record_refused(con, archived, file_order)
    return staged


def _map_lines(con: duckdb.DuckDBPyConnection, table: Table, archived: ArchivedFile) -> bool:
    """Fill `line_of_<table>` (row -> physical line) and `refused.line` by following quotes over the raw lines.

    A "unit" is what the CSV reader counts as a line: a row (however many physical lines it spans) or
    a blank line. Its refused rows carry their unit number; its good rows come in file order. Returns
    False (and falls back to positions) when the two views disagree, e.g. on an unusual line ending.
    """
    con.execute(
        r"""CREATE OR REPLACE TEMP TABLE units AS
            WITH split AS (SELECT string_split(content, chr(10)) AS s FROM read_text(?)),
            physical AS (SELECT unnest(s) AS txt, unnest(generate_series(1, len(s))) AS ln FROM split),
            marked AS (
                SELECT ln, txt IN ('', chr(13)) AS blank,
                       coalesce(sum(strlen(txt) - strlen(replace(txt, '"', ''))) OVER (
                           ORDER BY ln ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) % 2 = 1 AS in_quotes
                FROM physical)
            SELECT row_number() OVER (ORDER BY ln) AS unit, ln, blank FROM marked WHERE NOT in_quotes""",
        [str(archived.path)],
    )
    raw, line_of = f"raw_{table.name}", f"line_of_{table.name}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {line_of} AS
            WITH good AS (
                SELECT row_number() OVER (ORDER BY ln) - 1 AS rn, ln FROM units
                WHERE NOT blank AND unit > 1 AND unit NOT IN (SELECT unit FROM refused))
            SELECT r.rowid AS rn, g.ln AS line FROM {raw} r JOIN good g ON g.rn = r.rowid"""
    )
    n_rows = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
    consistent = con.execute(
        f"""SELECT (SELECT count(*) FROM {line_of}) = ? AND (SELECT count(*) FROM units) >= 1
                  AND NOT EXISTS (SELECT 1 FROM refused f LEFT JOIN units u USING (unit)
                                  WHERE u.unit IS NULL OR u.blank)""",
        [n_rows],
    ).fetchone()[0]
    if consistent:
        con.execute("UPDATE refused SET line = (SELECT ln FROM units u WHERE u.unit = refused.unit)")
    else:  # the reader's own numbering: right unless rows span lines
        con.execute(f"CREATE OR REPLACE TEMP TABLE {line_of} AS SELECT rowid AS rn, rowid + 2 AS line FROM {raw}")
    return bool(consistent)


def _fatal_refusals(con: duckdb.DuckDBPyConnection, archived: ArchivedFile) -> None:
    placeholders = ", ".join("?" for _ in ROW_ERRORS)
    fatal = con.execute(
        f"""SELECT line, error_type, error_message FROM refused
            WHERE error_type NOT IN ({placeholders}) ORDER BY line LIMIT 1""",
        list(ROW_ERRORS),
    ).fetchone()
    if fatal is None:
        return
    line, error_type, error_message = fatal
    if error_type == "UNQUOTED VALUE":
        why = 'has a quote (") that is not closed, or a stray quote inside a value'
    elif error_type == "LINE SIZE OVER MAXIMUM":
        why = "is longer than the CSV reader accepts (probably a quote that is never closed)"
    else:
        why = f"cannot be read as CSV ({str(error_message).splitlines()[0]})"
    raise FileError(f"{archived.name} line {line} {why}; the rest of the file cannot be read reliably")


def _stage_view(con: duckdb.DuckDBPyConnection, table: Table, header: list[str], line: str, source: str) -> None:
    """`stg_<table>`: a view, so the rows are materialised once, by the checks that read them."""
    position = {name: i for i, name in enumerate(header)}
    cols = []
    for column in table.columns:
        if column.name in position:
            c = f"r.c{position[column.name]}"
            cols.append(rf"CASE WHEN regexp_full_match({c}, '\s*') THEN NULL ELSE {c} END AS {column.name}")
        else:
            cols.append(f"NULL::VARCHAR AS {column.name}")
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW stg_{table.name} AS SELECT {line} AS _line, {', '.join(cols)} FROM {source}"
    )


def _record_refused(con: duckdb.DuckDBPyConnection, archived: ArchivedFile, file_order: int) -> None:
    con.execute(
        r"""INSERT INTO issues
            SELECT ?, ?, line, NULL, 0,
                   left(trim(csv_line, chr(10) || chr(13)), 200),
                   'has ' || regexp_extract(error_message, 'Found: (\d+)', 1) || ' values but the header has '
                       || regexp_extract(error_message, 'Expected Number of Columns: (\d+)', 1)
                       || ' columns (a missing or extra comma, or a value with a comma that is not in quotes)',
                   'reject'
            FROM refused""",
        [archived.name, file_order],
    )
