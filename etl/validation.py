"""The contract's rules as SQL over the staged rows, generated from etl.contract.TABLES.

`check_table` reads `stg_<table>` once and gives each row at most one reason per column (empty, wrong
format, unknown code, repeated key, end before start, out of range). A row with any reason is rejected
(listed once per column, counted once); the others become `valid_<table>` with the contract's types.
`add_warnings` then lists, over the valid rows of a file and those it refers to, what is loaded but looks wrong.

Formats are strict, as the contract writes them: dates `YYYY-MM-DD` (so "31/05/2025" and "2025-5-1"
are not dates), date-times `YYYY-MM-DDTHH:MM[:SS]`, booleans exactly `Y` or `N` ("y", "Yes" are not),
numbers plain decimals ("0.5", "1", not "1e0" or "½"), codes exactly as listed (case matters).
Values are compared exactly as written: identifiers are not trimmed or case-folded.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from core.dates import NO_SUCH_DAY
from etl.contract import REFERENCES, TABLES_BY_NAME, Column, Table
from etl.sql import quoted

ISSUES_COLUMNS = """(file VARCHAR, file_order INTEGER, line BIGINT, "column" VARCHAR, col_order INTEGER,
    value VARCHAR, reason VARCHAR, severity VARCHAR)"""
RUN_ISSUES_DDL = f"CREATE OR REPLACE TEMP TABLE issues {ISSUES_COLUMNS}"

DATE_RE = r"\d{4}-\d{2}-\d{2}"
DATETIME_RE = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?"
NUMBER_RE = r"[+-]?(\d+(\.\d*)?|\.\d+)"
FAR_FUTURE = "DATE '9999-12-31'"  # an empty end date: still open

FORMAT_REASONS = {
    "date": "is not a date (expected YYYY-MM-DD)",
    "datetime": "is not a date-time (expected YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS)",
    "bool": "is not Y or N",
    "number": "is not a number (expected e.g. 1 or 0.5)",
}

# by column type: the pattern of a value written as the contract asks, and why it is still rejected
NOT_IN_CALENDAR = {
    "date": (DATE_RE, NO_SUCH_DAY),
    "datetime": (DATETIME_RE, "is not a date-time: there is no such day or time in the calendar"),
}


def typed(column: Column) -> str:
    """SQL turning the staged text into the contract type, NULL where it does not parse (or where the
    column is ignored, e.g. an audit's grade while it has no completed_date)."""
    if column.ignored_without:
        return f"CASE WHEN {column.ignored_without} IS NULL THEN NULL ELSE ({_typed(column)}) END"
    return _typed(column)


def _typed(column: Column) -> str:
    c = column.name
    if column.type == "date":
        return (
            f"CASE WHEN regexp_full_match({c}, '{DATE_RE}') AND NOT starts_with({c}, '0000') "
            f"THEN try_strptime({c}, '%Y-%m-%d')::DATE END"
        )
    if column.type == "datetime":
        return (
            f"CASE WHEN regexp_full_match({c}, '{DATETIME_RE}') AND NOT starts_with({c}, '0000') "
            f"THEN try_strptime({c}, ['%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M']) END"
        )
    if column.type == "bool":
        return f"CASE {c} WHEN 'Y' THEN true WHEN 'N' THEN false END"
    if column.type == "number":
        return f"CASE WHEN regexp_full_match({c}, '{NUMBER_RE}') THEN TRY_CAST({c} AS DOUBLE) END"
    return c


def is_text(column: Column) -> bool:
    """Whether the column's typed value is its text as it stands (a plain string or code): `chk_<table>`
    then keeps it once."""
    return typed(column) == column.name


def typed_name(column: Column) -> str:
    """The column of `chk_<table>` holding the typed value."""
    return column.name if is_text(column) else f"_t_{column.name}"


def reason(table: Table, column: Column) -> str:
    """SQL giving the one reason this column rejects the row, or NULL."""
    c, t = column.name, typed_name(column)
    whens = []
    if column.ignored_without:  # ignored, never rejected, while the other column is empty
        whens.append(f"WHEN {column.ignored_without} IS NULL THEN NULL")
    if column.required_with:
        other = column.required_with
        whens.append(f"WHEN {c} IS NULL AND {other} IS NOT NULL THEN {quoted(f'is empty (required when {other} is set)')}")
    whens.append(f"WHEN {c} IS NULL THEN {quoted('is empty (a value is required)') if column.required else 'NULL'}")
    if column.forbidden_without:
        other = column.forbidden_without
        whens.append(f"WHEN {other} IS NULL THEN {quoted(f'is set but {other} is empty (only allowed with {other})')}")
    if column.type in NOT_IN_CALENDAR:  # written as the contract asks, but not a day of the calendar
        pattern, said = NOT_IN_CALENDAR[column.type]
        whens.append(f"WHEN {t} IS NULL AND regexp_full_match({c}, '{pattern}') AND NOT starts_with({c}, '0000') "
                     f"THEN {quoted(said)}")
    if column.type in FORMAT_REASONS:
        whens.append(f"WHEN {t} IS NULL THEN {quoted(FORMAT_REASONS[column.type])}")
    if column.codes:
        codes = ", ".join(quoted(code) for code in column.codes)
        expected = quoted(f"is not a valid code (expected one of: {', '.join(column.codes)})")
        whens.append(f"WHEN {c} NOT IN ({codes}) THEN {expected}")
    if column.name == table.key:
        what = "key" if not table.key_also else f"key ({', '.join(table.key_columns)})"
        whens.append(f"WHEN _line > _first THEN 'is a repeated {what} (first on line ' || _first || ')'")
    if table.parent is not None and column.name == table.parent[0]:
        parent = TABLES_BY_NAME[table.parent[1]]
        why = quoted(not_in_reason(parent.file_name))
        whens.append(f"WHEN {c} NOT IN (SELECT {parent.key} FROM valid_{parent.name}) THEN {why}")
    for rule in table.end_rules:
        if rule.end == column.name:
            before = quoted(f'is before {rule.start} "')
            whens.append(f"WHEN {t} < {typed_name(table.column(rule.start))} THEN {before} || {rule.start} || '\"'")
    if column.name in table.positive_max_one:
        whens.append(f"WHEN NOT ({t} > 0 AND {t} <= 1) THEN {quoted(f'is out of range (expected 0 < {c} <= 1)')}")
    return "CASE " + " ".join(whens) + " END"


def check_table(con: duckdb.DuckDBPyConnection, table: Table, file_order: int, issues: str = "issues") -> None:
    """Reject the rows of `stg_<table>` that break a rule (into the table `issues`); `valid_<table>` has the rest.

    `chk_<table>` keeps each row's text, typed values and reasons (later steps quote the text); a
    plain string column once, as text and typed value both. Repeated keys are looked for first, so
    that the usual file, which has none, is checked without joining its rows to them. `chk_<table>` and
    `valid_<table>` are the connection's database's own, not temporary: every cursor of it sees them (the
    loader checks several files at once, each on its own cursor)."""
    cols, keys = table.columns, table.key_columns
    repeated = con.execute(
        f"""CREATE OR REPLACE TEMP TABLE dups AS
            SELECT {", ".join(f"{k} AS _key_{k}" for k in keys)}, min(_line) AS _first FROM stg_{table.name}
            WHERE {" AND ".join(f"{k} IS NOT NULL" for k in keys)} GROUP BY ALL HAVING count(*) > 1"""
    ).fetchone()[0]
    if repeated:
        rows = (f"""SELECT s.*, d._first FROM stg_{table.name} s
                    LEFT JOIN dups d ON {" AND ".join(f"s.{k} = d._key_{k}" for k in keys)}""")
    else:
        rows = f"SELECT *, NULL::BIGINT AS _first FROM stg_{table.name}"
    typed_only = [c for c in cols if not is_text(c)]
    con.execute(
        f"""CREATE OR REPLACE TABLE chk_{table.name} AS
            WITH s AS ({rows}),
            t AS (SELECT {", ".join(["*", *(f"{typed(c)} AS _t_{c.name}" for c in typed_only)])} FROM s),
            r AS (SELECT {", ".join(["_line", *(f"_t_{c.name}" for c in typed_only), *(c.name for c in cols)])},
                         {", ".join(f"{reason(table, c)} AS _r_{c.name}" for c in cols)}
                  FROM t)
            SELECT *, coalesce({", ".join(f"_r_{c.name}" for c in cols)}) IS NULL AS _ok FROM r"""
    )
    con.execute(
        f"""CREATE OR REPLACE VIEW valid_{table.name} AS
            SELECT _line, {", ".join(f"{typed_name(c)} AS {c.name}" for c in cols)} FROM chk_{table.name} WHERE _ok"""
    )
    per_column = ", ".join(
        f"{{'col': {quoted(c.name)}, 'pos': {i}, 'value': {c.name}, 'reason': _r_{c.name}}}"
        for i, c in enumerate(cols, start=1)
    )
    con.execute(
        f"""INSERT INTO {issues}
            SELECT {quoted(table.file_name)}, {file_order}, _line, i.col, i.pos, i.value, i.reason, 'reject'
            FROM (SELECT _line, unnest([{per_column}]) AS i FROM chk_{table.name} WHERE NOT _ok)
            WHERE i.reason IS NOT NULL"""
    )


def not_in_reason(file_name: str) -> str:
    """Why a reference does not resolve: the id is not in the file, or only on a row of it that was
    rejected (an analyst who finds the id in the file must not be told it is not there)."""
    return f"is not in {file_name} (or its row there was rejected)"


def _reference_warnings(table: Table) -> list[str]:
    out = []
    for column in table.columns:
        target = REFERENCES.get(column.name)
        if target is None or target == table.name:
            continue
        ref = TABLES_BY_NAME[target]
        out.append(
            f"""SELECT v._line, {quoted(column.name)}, {quoted(not_in_reason(ref.file_name))}
                FROM valid_{table.name} v ANTI JOIN valid_{ref.name} r ON v.{column.name} = r.{ref.key}
                WHERE v.{column.name} IS NOT NULL"""
        )
    return out


def future_reason(extract_date: dt.date) -> str:
    """The warning on a date after the extract's date (the contract lists it as a data-quality warning:
    loaded, listed, and counted in the load's message)."""
    return f"is after the extract date ({extract_date.isoformat()})"


def _future_warnings(table: Table, extract_date: dt.date) -> list[str]:
    day = extract_date.isoformat()
    return [
        f"""SELECT _line, {quoted(c.name)}, {quoted(future_reason(extract_date))}
            FROM valid_{table.name} WHERE CAST({c.name} AS DATE) > DATE '{day}'"""
        for c in table.columns
        if c.type in ("date", "datetime") and c.name not in table.future_ok
    ]


# An allocation open on some day after its worker's last day in post (ends are exclusive: "open at D"
# is start <= D < end, as the KPI definitions read it).
LEFT_WORKER = f"""
    SELECT a._line, 'worker_id',
           'left on ' || strftime(w.end_date, '%Y-%m-%d') || ' but this allocation is open after that date'
    FROM valid_allocations a JOIN valid_workers w ON a.worker_id = w.worker_id
    WHERE w.end_date IS NOT NULL
      AND coalesce(a.end_date, {FAR_FUTURE}) > greatest(a.start_date, w.end_date + 1)"""

# Two episodes of one child open on the same day (each open on [start, end)); listed on the later row.
OVERLAPPING_EPISODES = f"""
    SELECT e2._line, 'child_id',
           'has another episode open at the same time (episode_id "' || e1.episode_id || '", line ' || e1._line || ')'
    FROM valid_episodes e2 JOIN valid_episodes e1 ON e1.child_id = e2.child_id AND e1._line < e2._line
    WHERE e1.start_date < coalesce(e2.end_date, {FAR_FUTURE}) AND e2.start_date < coalesce(e1.end_date, {FAR_FUTURE})
      AND e1.start_date < coalesce(e1.end_date, {FAR_FUTURE}) AND e2.start_date < coalesce(e2.end_date, {FAR_FUTURE})
    QUALIFY row_number() OVER (PARTITION BY e2._line ORDER BY e1._line) = 1"""

# A real team called UNKNOWN (kpis.md's unit for records whose team is empty or not in teams.csv): at
# team level it and those records are one unit, and its manager's records scope takes them in.
RESERVED_TEAM = """
    SELECT _line, 'team_id', 'is UNKNOWN, the unit for records whose team is not recorded: at team level '
           || 'this team and those records are counted as one unit; give the team another id'
    FROM valid_teams WHERE team_id = 'UNKNOWN'"""

RULE_WARNINGS = {"allocations": [LEFT_WORKER], "episodes": [OVERLAPPING_EPISODES], "teams": [RESERVED_TEAM]}
RULE_SOURCES = {"allocations": {"workers"}}  # the other files' valid rows RULE_WARNINGS read


def warning_sources(table: Table) -> set[str]:
    """The tables whose valid rows `add_warnings` reads for `table`'s, besides its own."""
    referenced = {REFERENCES[c.name] for c in table.columns if c.name in REFERENCES}
    return (referenced | RULE_SOURCES.get(table.name, set())) - {table.name}


def add_warnings(con: duckdb.DuckDBPyConnection, table: Table, file_order: int, extract_date: dt.date,
                 issues: str = "issues") -> None:
    """List the valid rows of `table` that look wrong (into the table `issues`): unknown ids, dates after the
    extract, leavers, overlaps. Once `table` and its warning_sources are checked."""
    queries = _reference_warnings(table) + _future_warnings(table, extract_date) + RULE_WARNINGS.get(table.name, [])
    if not queries:
        return
    order = " ".join(f"WHEN {quoted(c.name)} THEN {i}" for i, c in enumerate(table.columns, start=1))
    value = " ".join(f"WHEN {quoted(c.name)} THEN s.{c.name}" for c in table.columns)
    con.execute(
        f"""INSERT INTO {issues}
            WITH w(line, col, reason) AS ({" UNION ALL ".join(queries)})
            SELECT {quoted(table.file_name)}, {file_order}, w.line, w.col, CASE w.col {order} END,
                   CASE w.col {value} END, w.reason, 'warning'
            FROM w JOIN chk_{table.name} s ON s._line = w.line"""
    )


def file_issue(
    con: duckdb.DuckDBPyConnection, file: str, file_order: int, line: int | None, column: str | None,
    col_order: int, reason_text: str, severity: str = "warning", issues: str = "issues",
) -> None:
    """Record an issue about a whole file or its header (into the table `issues`)."""
    con.execute(
        f"INSERT INTO {issues} VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
        [file, file_order, line, column, col_order, reason_text, severity],
    )
