"""Lists 3 to 9 of an Annex A workbook onto the extract contract's tables, as a folder the loader checks.

Annex A is child-level lists, not a case-management extract, so the mapping builds what the contract
needs: children from every list; teams and workers from the "Allocated Team" / "Allocated Worker"
columns, with ids that stay the same from one workbook to the next (a hash of the folded name);
referrals (List 3), assessments (List 4), section 47 enquiries (List 5), episodes (Lists 4, 6, 7, 8)
and allocations (the allocated worker over each episode). What cannot be mapped is written to
`mapping_issues.parquet` beside the CSV files, per list, row and column, for the loader to merge into
the run's rejects and warnings. docs/annex-a.md lists every column and what is not available.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from etl.annex_a.reader import LIST_COLUMNS, LIST_NAMES, AnnexAError, ListSheet, meanings, read_workbook
from etl.contract import TABLES
from etl.sql import quoted

SOURCE_SYSTEM = "annex_a"
ISSUES_FILE = "mapping_issues.parquet"
ROWMAP_FILE = "rowmap.parquet"  # each contract file's line -> the list and row it comes from (etl.annex_a.report)
ROWMAP_TABLE = "annex_rowmap"
FILE_ORDER_OFFSET = -20  # the workbook's issues sort before the contract files' (List 3 -> -17)
ERROR_VALUES = ("#N/A", "#NA", "N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!")
SERVICES = {
    3: "Assessment and MASH", 4: "Assessment and MASH", 5: "Assessment and MASH",
    6: "Care Management", 7: "Care Management", 8: "Children in Care", 9: "Care Leavers",
}
EPISODE_LISTS = {4: "ASSESSMENT", 6: "CIN", 7: "CP", 8: "CLA"}
# The date that makes a row of each list an event; a row without it cannot be used.
KEY_DATES = {3: "referral_date", 4: "start_date", 5: "strategy_date", 6: "start_date", 7: "start_date", 8: "start_date"}
END_DATES = {4: "authorised_date", 6: "end_date", 7: "end_date", 8: "end_date"}
# The lists whose figures Annex A gives, and the columns those figures are counted from: without one the
# figures would be 0 (or every assessment open), not unknown, so the workbook is refused, saying which.
FIGURE_COLUMNS = {3: ("referral_date",), 4: ("start_date", "authorised_date"), 5: ("strategy_date", "icpc_date")}

# ax_text cleans a raw cell once (NBSP, runs of spaces, Excel error values); the others read text
# that ax_text has already cleaned, so no cell is cleaned twice.
_MACROS = [
    f"""CREATE OR REPLACE MACRO ax_text(v) AS
        CASE WHEN (contains(v, '#') OR contains(upper(v), 'N/A'))
                  AND upper(trim(replace(v, chr(160), ' '))) IN ({", ".join(f"'{e}'" for e in ERROR_VALUES)}) THEN NULL
             WHEN contains(v, '  ') OR contains(v, chr(160)) OR contains(v, chr(9)) OR contains(v, chr(10))
                  OR contains(v, chr(12)) OR contains(v, chr(13))  -- the regex only where it has work to do
                 THEN nullif(trim(regexp_replace(replace(v, chr(160), ' '), '\\s+', ' ', 'g')), '')
             ELSE nullif(trim(v), '') END""",
    "CREATE OR REPLACE MACRO ax_code(v) AS regexp_replace(v, '^[A-Za-z]{1,2}\\d?\\)\\s*', '')",
    # the DfE code of a referral source written as the template does ("q) 6: Police" -> 6, "p1) 5D: ..." -> 5D)
    """CREATE OR REPLACE MACRO ax_source(v) AS CASE
        WHEN regexp_matches(ax_code(v), '^\\d{1,2}[A-Fa-f]?\\s*:') THEN upper(regexp_extract(ax_code(v), '^(\\d{1,2}[A-Fa-f]?)', 1))
        ELSE ax_code(v) END""",
    "CREATE OR REPLACE MACRO ax_id(v) AS regexp_replace(v, '^(\\d+)\\.0+$', '\\1')",
    """CREATE OR REPLACE MACRO ax_date(v) AS CASE
        WHEN regexp_full_match(v, '\\d{4}-\\d{2}-\\d{2}([ T]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)?')
            THEN try_strptime(left(v, 10), '%Y-%m-%d')::DATE
        WHEN regexp_full_match(v, '\\d{1,2}/\\d{1,2}/\\d{4}') THEN try_strptime(v, '%d/%m/%Y')::DATE
        WHEN regexp_full_match(v, '\\d{3,5}(\\.\\d+)?')
            THEN DATE '1899-12-30' + CAST(floor(CAST(v AS DOUBLE)) AS INTEGER)
        END""",
    """CREATE OR REPLACE MACRO ax_bool(v) AS CASE
        WHEN lower(ax_code(v)) IN ('yes', 'y', 'true', '1') THEN 'Y'
        WHEN lower(ax_code(v)) IN ('no', 'n', 'false', '0') THEN 'N' END""",
    """CREATE OR REPLACE MACRO ax_gender(v) AS CASE
        WHEN lower(ax_code(v)) IN ('male', 'm', '1') THEN 'M'
        WHEN lower(ax_code(v)) IN ('female', 'f', '2') THEN 'F'
        WHEN lower(ax_code(v)) IN ('not stated/recorded', 'not stated', 'not recorded', 'not known', 'unknown',
                                   'u', '0', '9') THEN 'U'
        WHEN lower(ax_code(v)) IN ('neither', 'indeterminate', 'n') THEN 'N' END""",
]

# How each column is read: the SQL macro, and the reason an analyst reads when a value does not fit.
_PARSERS = {
    "date": ("ax_date", "is not a date (expected an Excel date, dd/mm/yyyy or yyyy-mm-dd)"),
    "bool": ("ax_bool", "is not Yes or No"),
    "gender": ("ax_gender", "is not a gender kpidash knows (Male, Female, Not stated/recorded, Neither)"),
}
_KINDS = {
    "date_of_birth": "date", "disability": "bool", "gender": "gender", "referral_date": "date", "nfa": "bool",
    "start_date": "date", "authorised_date": "date", "end_date": "date", "strategy_date": "date",
    "icpc_unnecessary": "bool", "icpc_date": "date", "rhi_offered": "bool", "rhi_accepted": "bool",
}


@dataclass(frozen=True)
class MappingIssue:
    """One thing the mapping could not carry over, where the analyst finds it in the workbook."""

    file: str  # e.g. "Annex A List 3"
    line: int | None  # the sheet's row as Excel numbers it; None for a whole list or column
    column: str | None  # the header as written in the workbook
    value: str | None
    reason: str
    severity: str  # reject | warning


@dataclass(frozen=True)
class Conversion:
    """The extract folder a workbook became."""

    folder: Path
    extracted_at: dt.datetime
    issues_path: Path
    lists: dict[int, ListSheet]

    @property
    def rowmap_path(self) -> Path:
        """Each contract file's line -> the list and row it comes from (etl.annex_a.report.translate)."""
        return self.folder / ROWMAP_FILE


def convert_workbook(workbook: Path, out: Path) -> Conversion:
    """Write the contract's nine CSV files, manifest.json and mapping_issues.parquet into `out`.

    Raises AnnexAError for a workbook that cannot be used at all (not a workbook, no List sheet).
    """
    out.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        for macro in _MACROS:
            con.execute(macro)
        lists = read_workbook(workbook, con, then=_prepare)
        if not lists:
            raise AnnexAError(
                f"{workbook.name} has none of the sheets List 3 to List 9: is it an Ofsted Annex A workbook?"
            )
        con.execute(
            """CREATE TEMP TABLE mapping_issues (file VARCHAR, file_order INTEGER, line BIGINT, "column" VARCHAR,
               col_order INTEGER, value VARCHAR, reason VARCHAR, severity VARCHAR)"""
        )
        usable = _check_lists(con, lists)
        _clean(con, usable)
        _write_tables(con, usable, out)
        _check_workers(con)
        extracted = _extract_date(con, usable)
        (out / "manifest.json").write_text(
            json.dumps({"extracted_at": extracted.isoformat(), "source_system": SOURCE_SYSTEM}), encoding="utf-8"
        )
        issues_path = out / ISSUES_FILE
        con.execute(f"COPY mapping_issues TO {quoted(str(issues_path))} (FORMAT parquet)")
    return Conversion(out, extracted, issues_path, lists)


def mapping_issues(path: Path) -> list[MappingIssue]:
    """The issues a conversion wrote, in workbook order (for tests and reports)."""
    with duckdb.connect() as con:
        rows = con.execute(
            f"""SELECT file, line, "column", value, reason, severity FROM read_parquet({quoted(str(path))})
                ORDER BY file_order, line NULLS FIRST, col_order"""
        ).fetchall()
    return [MappingIssue(*row) for row in rows]


def _issue(con: duckdb.DuckDBPyConnection, sheet: ListSheet | int, column: str | None, reason: str,
           col_order: int = 0, line: int | None = None, value: str | None = None) -> None:
    """A warning about a list (or one of its cells, given its row `line` and `value`)."""
    number = sheet if isinstance(sheet, int) else sheet.number
    con.execute(
        "INSERT INTO mapping_issues VALUES (?, ?, ?, ?, ?, ?, ?, 'warning')",
        [f"Annex A List {number}", number + FILE_ORDER_OFFSET, line, column, col_order, value, reason],
    )


def _prepare(con: duckdb.DuckDBPyConnection, number: int) -> None:
    """p<N>: each row of list<N> with every cell as written (`<m>__raw`), cleaned (`<m>`) and, for the
    columns that have a type, parsed (`<m>__v`); every cell is cleaned and parsed once, in two passes."""
    columns = meanings(number)
    raw = ", ".join(f'"{m}" AS "{m}__raw", ax_text("{m}") AS "{m}"' for m in columns)
    con.execute(f"CREATE OR REPLACE TABLE t{number} AS SELECT _row, {raw} FROM list{number}")
    typed = ", ".join(f'{_PARSERS[_KINDS[m]][0]}("{m}") AS "{m}__v"' for m in columns if m in _KINDS)
    con.execute(f"""CREATE OR REPLACE TABLE p{number} AS
                    SELECT *, ax_id(child_id) AS child_id__v{", " + typed if typed else ""} FROM t{number}""")
    con.execute(f"DROP TABLE t{number}")


def _check_lists(con: duckdb.DuckDBPyConnection, lists: dict[int, ListSheet]) -> dict[int, ListSheet]:
    """Record per-list and per-cell problems; the lists whose rows can be used."""
    _check_figure_columns(lists)
    usable: dict[int, ListSheet] = {}
    for number in LIST_COLUMNS:
        if number not in lists:
            _issue(con, number, None, f"is not in the workbook: no {LIST_NAMES[number]} are loaded")
            continue
        sheet = lists[number]
        for position, header in enumerate(sheet.unused):
            _issue(con, sheet, header, "is not used by kpidash (the extract contract has nowhere to keep it)",
                   1000 + position)
        for position, column in enumerate(sheet.unheaded):
            _issue(con, sheet, column, "has values but no header (a blank or merged header cell?): they are not "
                   "loaded; give the column its header as Ofsted's template has it and load again", 2000 + position)
        key = KEY_DATES.get(number)
        if key and key not in sheet.columns:
            _issue(con, sheet, None, f"has no {key.replace('_', ' ')} column: the list is not loaded")
            continue
        usable[number] = sheet
        # its rows for the reject limit: those with anything in them (a sheet's blank rows are not rows)
        filled = " OR ".join(f'"{m}" IS NOT NULL' for m in meanings(number))
        sheet.rows = con.execute(f"SELECT count(*) FROM p{number} WHERE {filled}").fetchone()[0]
        present = list(sheet.columns)
        checks = []
        for meaning in dict.fromkeys(("child_id", *present)):
            if meaning not in sheet.columns:
                continue
            col_order = present.index(meaning) + 1
            header = quoted(sheet.columns[meaning])
            raw = f'"{meaning}__raw"'
            # a figure's date that cannot be read rejects its row, as the contract's dates do: taken as empty,
            # an unreadable Date of Authorisation would make a completed assessment open (and overdue). An
            # Excel error value (#N/A, #REF! ...) is unreadable; "N/A" typed is the analyst saying "none".
            required = meaning == key or meaning in FIGURE_COLUMNS.get(number, ())
            error = ("CASE WHEN contains({raw}, '#') THEN 'is an Excel error value; the row is not loaded' ELSE "
                     "'is N/A: taken as empty (no value)' END, CASE WHEN contains({raw}, '#') THEN 'reject' ELSE "
                     "'warning' END" if required else
                     "'is an error value or N/A: taken as empty (no value); if the cell should hold one, correct it "
                     "and load again', 'warning'").format(raw=raw)
            checks.append(
                f"""SELECT _row, {header}, {col_order}, {raw}, {error}
                    FROM p{number} WHERE "{meaning}" IS NULL AND upper(trim(replace({raw}, chr(160), ' ')))
                                         IN ({", ".join(f"'{e}'" for e in ERROR_VALUES)})"""
            )
            kind = _KINDS.get(meaning)
            if kind:
                reason = _PARSERS[kind][1]
                severity = "reject" if required else "warning"
                reason += "; the row is not loaded" if required else "; taken as empty"
                checks.append(
                    f"""SELECT _row, {header}, {col_order}, {raw}, '{reason}', '{severity}' FROM p{number}
                        WHERE "{meaning}" IS NOT NULL AND "{meaning}__v" IS NULL"""
                )
        if key:
            header = quoted(sheet.columns[key])
            checks.append(
                f"""SELECT _row, {header}, {present.index(key) + 1}, NULL, 'is empty; the row is not loaded', 'reject'
                    FROM p{number} WHERE {key} IS NULL AND child_id__v IS NOT NULL"""
            )
        child_header = quoted(sheet.columns["child_id"])
        others = [f'"{m}"' for m in present if m != "child_id"] or ["NULL"]
        checks.append(
            f"""SELECT _row, {child_header}, {present.index("child_id") + 1}, NULL,
                       'is empty; the row is not loaded', 'reject'
                FROM p{number} WHERE child_id__v IS NULL AND coalesce({", ".join(others)}) IS NOT NULL"""
        )
        con.execute(
            f"""INSERT INTO mapping_issues
                SELECT 'Annex A List {number}', {number + FILE_ORDER_OFFSET}, _row, c2, c3, c4, c5, c6
                FROM ({" UNION ALL ".join(checks)}) AS t(_row, c2, c3, c4, c5, c6)"""
        )
    if 8 in usable and "missing_count" in usable[8].columns:
        _issue(
            con, 8, usable[8].columns["missing_count"],
            "is not loaded: Annex A gives no missing-episode times, so the missing-children KPIs are not "
            "available from this source", 900,
        )
    if 9 in usable:
        _issue(con, 9, None, "has no start or end dates: care leavers are loaded as children, teams and workers, "
               "not as open episodes", 0)
    return usable


def _check_figure_columns(lists: dict[int, ListSheet]) -> None:
    """AnnexAError naming every list (3 to 5) or column its figures are counted from that the workbook lacks."""
    problems = []
    for number, needed in FIGURE_COLUMNS.items():
        if number not in lists:
            problems.append(f"List {number} ({LIST_NAMES[number]}) is not in it")
            continue
        for meaning in needed:
            if meaning not in lists[number].columns:
                names = " or ".join(f'"{v}"' for v in LIST_COLUMNS[number][meaning][:2])
                problems.append(f'List {number} ("{lists[number].sheet}") has no {meaning.replace("_", " ")} column '
                                f"(headed {names}, in any case)")
    if problems:
        raise AnnexAError(
            "the workbook cannot give its figures, which would show as 0 rather than unknown: " + "; ".join(problems)
            + ". Add the sheet (its header row alone if the list is empty) or head the column as Ofsted's template "
            "does, and load it again"
        )


def _clean(con: duckdb.DuckDBPyConnection, usable: dict[int, ListSheet]) -> None:
    """Typed views `c<N>` of the rows that can be used, with team and worker ids."""
    for number in usable:
        key = KEY_DATES.get(number)
        extra = [f'"{m}__v" AS {m}' if m in _KINDS else f"{'ax_source' if m == 'source' else 'ax_code'}({m}) AS {m}"
                 for m in LIST_COLUMNS[number]]
        unreadable = "".join(f' AND NOT ("{m}" IS NOT NULL AND "{m}__v" IS NULL)'
                             f' AND NOT coalesce(contains("{m}__raw", \'#\') AND "{m}" IS NULL, false)'
                             for m in FIGURE_COLUMNS.get(number, ()) if m != key and m in _KINDS)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE c{number} AS
                SELECT _row, child_id__v AS child_id, gender__v AS gender, ax_code(ethnicity) AS ethnicity,
                       date_of_birth__v AS date_of_birth, disability__v AS disability,
                       team AS team_name, worker AS worker_name,
                       'T' || left(md5(lower(team)), 8) AS team_id, 'W' || left(md5(lower(worker)), 8) AS worker_id,
                       {", ".join(extra)}
                FROM p{number}
                WHERE child_id__v IS NOT NULL {f"AND {key}__v IS NOT NULL" if key else ""}{unreadable}"""
        )


def _write_tables(con: duckdb.DuckDBPyConnection, usable: dict[int, ListSheet], out: Path) -> None:
    def union(select: str, lists: list[int]) -> str:
        parts = [select.format(n=n) for n in lists if n in usable]
        return " UNION ALL ".join(parts) if parts else None  # type: ignore[return-value]

    every = sorted(usable)
    people = union(
        "SELECT {n} AS l, _row, child_id, gender, ethnicity, date_of_birth, disability, team_id, team_name, worker_id, "
        "worker_name FROM c{n}", every,
    )
    if 9 in usable:
        people += (
            " UNION ALL SELECT 9, _row, child_id, NULL, NULL, NULL, NULL, team_id, team_name, "
            "'W' || left(md5(lower(personal_advisor)), 8), personal_advisor FROM c9"
            if "personal_advisor" in usable[9].columns else ""
        )
    con.execute(f"CREATE TEMP TABLE people AS {people}")
    services = " ".join(f"WHEN {n} THEN '{s}'" for n, s in SERVICES.items())
    queries = {
        # each value from the child's first row that holds one (by list, then row); the row that gave the
        # date of birth (else the child's first row) is where the child's issues are reported
        "children": ("""SELECT child_id,
                              arg_min(date_of_birth, (l, _row)) FILTER (WHERE date_of_birth IS NOT NULL) AS date_of_birth,
                              arg_min(gender, (l, _row)) FILTER (WHERE gender IS NOT NULL) AS gender,
                              arg_min(ethnicity, (l, _row)) FILTER (WHERE ethnicity IS NOT NULL) AS ethnicity,
                              arg_min(disability, (l, _row)) FILTER (WHERE disability IS NOT NULL) AS disability,
                              coalesce(min({'l': l, 'r': _row}) FILTER (WHERE date_of_birth IS NOT NULL), min({'l': l, 'r': _row})) AS _at
                       FROM people GROUP BY child_id""", "child_id"),
        "teams": (f"""SELECT team_id, min(team_name) AS team_name, arg_max(service, n) AS service
                     FROM (SELECT team_id, team_name, CASE l {services} END AS service, count(*) OVER
                           (PARTITION BY team_id, l) AS n FROM people WHERE team_name IS NOT NULL)
                     GROUP BY team_id""", "team_id"),
        "workers": ("""SELECT worker_id, min(worker_name) AS worker_name,
                             coalesce(mode(team_id) FILTER (WHERE team_name IS NOT NULL), 'UNKNOWN') AS team_id,
                             CASE WHEN bool_and(l = 9) THEN 'personal_advisor' ELSE 'social_worker' END AS role,
                             CASE WHEN bool_and(l = 9) THEN 'N' ELSE 'Y' END AS qualified,
                             1 AS fte, NULL AS agency, NULL AS start_date, NULL AS end_date
                      FROM people WHERE worker_name IS NOT NULL GROUP BY worker_id""", "worker_id"),
    }
    def ids(prefix: str, date: str) -> str:
        return (f"'{prefix}-' || child_id || '-' || strftime({date}, '%Y%m%d') || "
                f"CASE WHEN row_number() OVER (PARTITION BY child_id, {date} ORDER BY _row) > 1 "
                f"THEN '-' || row_number() OVER (PARTITION BY child_id, {date} ORDER BY _row) ELSE '' END")

    def team(n: int) -> str:
        return "CASE WHEN team_name IS NOT NULL THEN team_id END"

    def worker(n: int) -> str:
        return "CASE WHEN worker_name IS NOT NULL THEN worker_id END"

    if 3 in usable:
        queries["referrals"] = (f"""SELECT {ids('R', 'referral_date')} AS referral_id, child_id, referral_date, source,
                                   nfa, {team(3)} AS team_id, {worker(3)} AS worker_id, {{'l': 3, 'r': _row}} AS _at
                                   FROM c3""", "_at")
    if 4 in usable:
        queries["assessments"] = (f"""SELECT {ids('A', 'start_date')} AS assessment_id, child_id, NULL AS referral_id,
                                     start_date, authorised_date, {team(4)} AS team_id, {worker(4)} AS worker_id,
                                     {{'l': 4, 'r': _row}} AS _at FROM c4""", "_at")
    if 5 in usable:
        queries["s47_enquiries"] = (f"""SELECT {ids('S', 'strategy_date')} AS s47_id, child_id, strategy_date,
                                       NULL AS completed_date,
                                       CASE icpc_unnecessary WHEN 'Y' THEN 'N' WHEN 'N' THEN 'Y'
                                            ELSE CASE WHEN icpc_date IS NOT NULL THEN 'Y' END END AS icpc_required,
                                       icpc_date, {team(5)} AS team_id, {worker(5)} AS worker_id, {{'l': 5, 'r': _row}} AS _at
                                       FROM c5""", "_at")
    episode_lists = [n for n in EPISODE_LISTS if n in usable]
    if episode_lists:
        con.execute(
            "CREATE TEMP TABLE eps AS " + " UNION ALL ".join(
                f"""SELECT {ids('E' + str(n), 'start_date')} AS episode_id, child_id, '{EPISODE_LISTS[n]}' AS episode_type,
                           start_date, {END_DATES[n]} AS end_date, coalesce({team(n)}, 'UNKNOWN') AS team_id,
                           {worker(n)} AS worker_id, {n} AS l, _row FROM c{n}"""
                for n in episode_lists
            )
        )
        queries["episodes"] = ("SELECT * EXCLUDE (worker_id, l, _row), {'l': l, 'r': _row} AS _at FROM eps", "_at")
        queries["allocations"] = ("""SELECT 'L' || episode_id AS allocation_id, child_id, worker_id, start_date,
                                            end_date, {'l': l, 'r': _row} AS _at
                                     FROM eps WHERE worker_id IS NOT NULL""", "_at")
    # each query: (its rows, each with _at: the list and row of the workbook row it comes from; the file's order)
    con.execute(f"CREATE TEMP TABLE {ROWMAP_TABLE} (file VARCHAR, line BIGINT, list INTEGER, row BIGINT)")
    for table in TABLES:
        query, order = queries.get(table.name, (None, None))
        if query is None:
            columns = ", ".join(f"NULL::VARCHAR AS {c}" for c in table.column_names)
            con.execute(f"COPY (SELECT {columns} LIMIT 0) TO {quoted(str(out / table.file_name))} (FORMAT csv, HEADER)")
            continue
        con.execute(f"COPY (SELECT {', '.join(table.column_names)} FROM ({query}) ORDER BY {order}) "
                    f"TO {quoted(str(out / table.file_name))} (FORMAT csv, HEADER, DATEFORMAT '%Y-%m-%d')")
        if table.name in ("teams", "workers"):
            continue  # each named in many rows: no one row to report its issues at
        # the file's line of each row (the header is line 1), as the loader numbers them: the same query
        # again, of which DuckDB computes only the order and the origin
        con.execute(f"INSERT INTO {ROWMAP_TABLE} SELECT {quoted(table.file_name)}, "
                    f"row_number() OVER (ORDER BY {order}) + 1, _at.l, _at.r FROM ({query})")
    con.execute(f"COPY {ROWMAP_TABLE} TO {quoted(str(out / ROWMAP_FILE))} (FORMAT parquet)")


def _check_workers(con: duckdb.DuckDBPyConnection) -> None:
    """Warn where one worker name is allocated in several teams: Annex A gives names, not worker ids, so
    namesakes in different teams become one worker, and the analyst should know where."""
    con.execute(
        f"""INSERT INTO mapping_issues
            SELECT 'Annex A', {FILE_ORDER_OFFSET + 10}, NULL, 'Allocated Worker', 0, worker_name,
                   'is the allocated worker in ' || count(*) || ' teams (' || string_agg(team_name, ', ' ORDER BY team_name)
                   || '): Annex A has no worker ids, so kpidash counts one name as one worker, in the team with most '
                   || 'of their children; if these are different people, their caseloads are added together', 'warning'
            FROM (SELECT worker_id, min(worker_name) AS worker_name, team_id, min(team_name) AS team_name FROM people
                  WHERE worker_name IS NOT NULL AND team_name IS NOT NULL GROUP BY worker_id, team_id)
            GROUP BY worker_id, worker_name HAVING count(*) > 1 ORDER BY worker_name"""
    )


def _extract_date(con: duckdb.DuckDBPyConnection, usable: dict[int, ListSheet]) -> dt.datetime:
    """The workbook's latest event date: Annex A does not say when it was run. Where it was found is a
    warning, so that a mistyped year (2205 for 2025), which would move every view's default date, is seen."""
    sources = [(n, KEY_DATES[n]) for n in usable if n in KEY_DATES]
    sources += [(n, END_DATES[n]) for n in usable if n in END_DATES] + ([(5, "icpc_date")] if 5 in usable else [])
    sources = [(n, m) for n, m in sources if m in usable[n].columns]
    dates = " UNION ALL ".join(  # each header as a parameter: it is the workbook's text
        f"SELECT {n}, _row, ?, {list(usable[n].columns).index(m) + 1}, {m} FROM c{n}" for n, m in sources)
    found = con.execute(f"""SELECT * FROM ({dates}) AS t(n, line, header, col_order, d) WHERE d IS NOT NULL
                            ORDER BY d DESC, n, line LIMIT 1""",
                        [usable[n].columns[m] for n, m in sources]).fetchone() if sources else None
    if found is None:
        return dt.datetime.now().replace(microsecond=0)
    number, line, header, col_order, latest = found
    _issue(con, number, header, "is the workbook's latest date, so it is taken as the extract date (Annex A does "
           "not say when it was run); if it is mistyped, correct it and load again", col_order, line,
           latest.isoformat())
    return dt.datetime.combine(latest, dt.time())
