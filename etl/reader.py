"""Read one contract CSV file for checking: every column as text, each row with its line number.

The CSV reader fills `raw_<table>` (columns by position; a contract column's cell that is empty or
holds only blanks, spaces or tabs, is NULL there already); the view `stg_<table>` over it has `_line`
(the physical line where the row starts, as a text editor numbers it: header = 1) and one VARCHAR
column per contract column, in contract order. A column the file lacks is all NULL; nothing else is
changed (no trimming, no case).

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
from pathlib import Path

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
    unlisted_rejects: int = 0  # unreadable rows counted but not listed one by one (a file refused for them)


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
        separators = {"\t": "tabs", ";": "semicolons", "|": "vertical bars"}
        found = [words for mark, words in separators.items() if len(header) == 1 and mark in header[0]]
        if found:  # one column whose name holds the others: the file is not comma-separated
            hints += (f" (the header is one column holding {found[0]}: the file seems separated by {found[0]}, and "
                      "the contract's files are comma-separated; save it as CSV, comma delimited)")
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
    normalize: Callable[[str], str] | None = None, *, max_reject_pct: float = 100.0, scratch: Path | None = None,
    issues: str = "issues",
) -> StagedFile:
    """Read the file into `stg_<table>` and its unreadable rows into the table `issues`; FileError if unusable.

    `normalize` folds the header's names before they are matched (the SSD reader trims and lower-cases).
    Memory stays bounded whatever the file holds: the rows are read once with unreadable ones skipped
    (cheap), and the reader's list of unreadable rows, which costs about a kilobyte per row and is not
    bounded by DuckDB's memory limit, is only made when the rows it lists could still pass
    (`max_reject_pct`) or are few. A file refused for too many unreadable rows lists the first of them
    (from its first 64 KiB, copied into `scratch`) and counts the rest."""
    header = read_header(archived)
    if normalize is not None:
        header = [normalize(h) for h in header]
    missing_optional, extra = check_header(table, archived.name, header)
    staged = StagedFile(table, archived, header, extra_columns=extra, missing_optional=missing_optional)

    raw = f"raw_{table.name}"
    used = {i for i, name in enumerate(header) if name in table.column_names}
    n_rows = _read(con, raw, archived, archived.path, len(header), rejects=None, used=used)
    if archived.physical_lines == n_rows + 1:  # every line after the header is a row: the usual, fast case
        staged.rows_read = n_rows
        _stage_view(con, table, header, "r.rowid + 2", f"{raw} r")
        return staged

    data_units = _units(con, archived)
    unreadable = data_units - n_rows
    if unreadable <= MAX_LISTED_UNREADABLE or unreadable * 100 <= max_reject_pct * data_units:
        # Read again, listing each unreadable row (and finding the ones that make the rest unsafe: a quote
        # never closed hides the rows after it from the line count too, so this runs whenever rows are few).
        n_rows = _read(con, raw, archived, archived.path, len(header), rejects=table.name, used=used)
        _refused(con, table.name)
        _no_row_lost(con, archived, data_units - n_rows)
    else:
        # Too many to pass: list the first ones (from the head of the file), count the rest.
        head = _head_copy(archived, scratch)
        _read(con, f"head_{table.name}", archived, head, len(header), rejects=table.name, used=set())
        _refused(con, table.name, only=ROW_ERRORS)
        con.execute(f"DROP TABLE head_{table.name}")
        listed = con.execute("SELECT count(*) FROM refused").fetchone()[0]
        staged.unlisted_rejects = unreadable - listed
    n_refused = con.execute("SELECT count(*) FROM refused").fetchone()[0]
    staged.rows_read = n_rows + n_refused + staged.unlisted_rejects
    if staged.unlisted_rejects:  # which lines the unlisted rows are on is not known: the others are numbered by position
        line, source = "r.rowid + 2", f"{raw} r"
        _map_refused_lines(con)
    else:
        staged.approximate_lines = not _map_lines(con, table)
        _fatal_refusals(con, archived)
        line, source = "l.line", f"{raw} r JOIN line_of_{table.name} l ON l.rn = r.rowid"
    _stage_view(con, table, header, line, source)
    _record_refused(con, archived, file_order, issues)
    return staged


MAX_LISTED_UNREADABLE = 20_000  # rows the CSV reader may list one by one even when the file is refused
HEAD_BYTES = 1 << 16


def _blank_as_null(column: str) -> str:
    """SQL: the cell, or NULL when it is empty or only blanks (RE2's \\s: space, tab, CR, LF, form feed). A
    cell starting with a character above the space (almost every one) is not blank: the pattern is
    matched only for the others."""
    return rf"CASE WHEN ascii({column}) > 32 THEN {column} WHEN regexp_full_match({column}, '\s*') THEN NULL ELSE {column} END"


def _read(con: duckdb.DuckDBPyConnection, target: str, archived: ArchivedFile, path: Path, n_columns: int,
          rejects: str | None, used: set[int]) -> int:
    """Every readable row of the file into `target` (columns c0.. as text, those at the positions `used`
    with blank cells as NULL), and how many; with `rejects`, the reader also lists each unreadable row
    in `rej_<rejects>` (costly: only when asked)."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_columns)) + "}"
    listing = (f"store_rejects = true, rejects_table = 'rej_{rejects}', rejects_scan = 'scan_{rejects}'"
               if rejects else "ignore_errors = true")
    cells = ", ".join(f"{_blank_as_null(f'c{i}')} AS c{i}" if i in used else f"c{i}" for i in range(n_columns))
    try:
        return con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {target} AS SELECT {cells} FROM read_csv(?, columns = {columns},
                header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', {listing})""",
            [str(path)],
        ).fetchone()[0]
    except duckdb.OutOfMemoryException:
        raise  # not the file's fault: the load says what to do (etl.loader)
    except duckdb.Error as err:
        if 0 < archived.crlf < archived.newlines and "invalid state" in str(err):
            raise FileError(
                f"{archived.name} mixes Windows (CR LF) and Unix (LF) line ends; save it again as CSV so that "
                "every line ends the same way"
            ) from None
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise FileError(f"{archived.name} cannot be read as CSV ({first})") from None


def _refused(con: duckdb.DuckDBPyConnection, name: str, only: tuple[str, ...] | None = None) -> None:
    """One row per refused CSV row (the reader may log several errors for one row)."""
    where = f"WHERE error_type IN ({', '.join(repr(e) for e in only)})" if only else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE refused AS
            SELECT line AS unit, line, arg_min(error_type, byte_position) AS error_type,
                   arg_min(error_message, byte_position) AS error_message,
                   arg_min(csv_line, byte_position) AS csv_line
            FROM rej_{name} {where} GROUP BY line"""
    )
    con.execute(f"DROP TABLE rej_{name}")
    con.execute(f"DROP TABLE scan_{name}")


def _head_copy(archived: ArchivedFile, scratch: Path | None) -> Path:
    """The file's first 64 KiB, cut after a line end: its first unreadable rows, numbered as in the file."""
    folder = scratch or archived.path.parent
    folder.mkdir(parents=True, exist_ok=True)
    with archived.path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    cut = head.rfind(b"\n")
    path = folder / f"{archived.name}.head"
    path.write_bytes(head[: cut + 1] if cut >= 0 else head)
    return path


def _units(con: duckdb.DuckDBPyConnection, archived: ArchivedFile) -> int:
    """Fill `units` (what the CSV reader counts as a line: a row, however many physical lines it spans,
    or a blank line) by following quotes over the raw lines; the number of rows after the header."""
    con.execute(
        r"""CREATE OR REPLACE TEMP TABLE units AS
            WITH split AS (SELECT string_split(content, chr(10)) AS s FROM read_text(?)),
            physical AS (SELECT unnest(s) AS txt, unnest(generate_series(1, len(s))) AS ln FROM split),
            marked AS (
                SELECT ln, txt IN ('', chr(13)) AS blank, strlen(txt) AS size,
                       coalesce(sum(strlen(txt) - strlen(replace(txt, '"', ''))) OVER (
                           ORDER BY ln ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) % 2 = 1 AS in_quotes
                FROM physical)
            SELECT row_number() OVER (ORDER BY ln) AS unit, ln, blank, size FROM marked WHERE NOT in_quotes""",
        [str(archived.path)],
    )
    return con.execute("SELECT count(*) FILTER (WHERE NOT blank AND unit > 1) FROM units").fetchone()[0]


def _no_row_lost(con: duckdb.DuckDBPyConnection, archived: ArchivedFile, unread: int) -> None:
    """FileError when rows the CSV reader did not read are missing from its list of unreadable rows:
    DuckDB skips a line longer than its buffer (a value of about 32 MB or more) without listing it, and
    such a row would otherwise vanish from the load, counted nowhere."""
    listed = con.execute("SELECT count(*) FROM refused").fetchone()[0]
    if unread <= listed:
        return
    line, size = con.execute("SELECT ln, size FROM units WHERE NOT blank AND unit > 1 ORDER BY size DESC, ln LIMIT 1"
                             ).fetchone()
    raise FileError(
        f"{archived.name}: {unread - listed:,} of its rows could not be read, and the CSV reader cannot say which; "
        f"its longest line, line {line} ({size / 1e6:,.1f} MB), is probably longer than it accepts"
    )


def _map_refused_lines(con: duckdb.DuckDBPyConnection) -> None:
    """The refused rows' physical lines, from their unit numbers."""
    con.execute("UPDATE refused SET line = (SELECT ln FROM units u WHERE u.unit = refused.unit) "
                "WHERE unit IN (SELECT unit FROM units)")


def _map_lines(con: duckdb.DuckDBPyConnection, table: Table) -> bool:
    """Fill `line_of_<table>` (row -> physical line) and `refused.line` from `units`.

    Refused rows carry their unit number; good rows come in file order. Returns False (and falls back
    to positions) when the two views disagree, e.g. on an unusual line ending.
    """
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
        _map_refused_lines(con)
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
    """`stg_<table>`: a view, so the rows are materialised once, by the checks that read them (its cells
    were made NULL where blank as the file was read: `_read`)."""
    position = {name: i for i, name in enumerate(header)}
    cols = []
    for column in table.columns:
        if column.name in position:
            cols.append(f"r.c{position[column.name]} AS {column.name}")
        else:
            cols.append(f"NULL::VARCHAR AS {column.name}")
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW stg_{table.name} AS SELECT {line} AS _line, {', '.join(cols)} FROM {source}"
    )


def _record_refused(con: duckdb.DuckDBPyConnection, archived: ArchivedFile, file_order: int, issues: str) -> None:
    con.execute(
        rf"""INSERT INTO {issues}
            SELECT ?, ?, line, NULL, 0,
                   left(trim(csv_line, chr(10) || chr(13)), 200),
                   'has ' || regexp_extract(error_message, 'Found: (\d+)', 1) || ' values but the header has '
                       || regexp_extract(error_message, 'Expected Number of Columns: (\d+)', 1)
                       || ' columns (a missing or extra comma, or a value with a comma that is not in quotes)',
                   'reject'
            FROM refused""",
        [archived.name, file_order],
    )
