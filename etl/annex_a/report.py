"""The contract's rejects and warnings of an Annex A load, said where the analyst finds them: the list,
the sheet's row and the column as headed in the workbook.

The loader checks the contract files a workbook became (etl.annex_a.mapping), so what it finds is about
`episodes.csv line 4`, a file the analyst never wrote. Each such issue is moved to the workbook row it
came from (`rowmap.parquet`: each contract line's list and row), its column to that list's header (an
episode's `end_date` is List 4's "Date of Authorisation" and List 6's "CIN Closure Date"), and the
columns its reason names likewise. One workbook row gives several contract rows (a List 4 row is an
assessment, an episode and an allocation), so the same problem found in each is listed once, and a
reject says what of the row is not loaded. What the workbook cannot give by nature (no missing episodes)
is not listed as a fault of its own.
"""

from __future__ import annotations

import duckdb

from etl.annex_a.mapping import END_DATES, EPISODE_LISTS, FILE_ORDER_OFFSET
from etl.annex_a.reader import LIST_NAMES, ListSheet
from etl.contract import TABLES
from etl.sql import quoted
from etl.validation import not_in_reason

WORKBOOK_ORDER = FILE_ORDER_OFFSET + 10  # the workbook as a whole ("Annex A"), after its lists
# what one contract row of a workbook row is, for a reject that does not take the whole row
ROW_NAMES = {"referrals.csv": "referral", "assessments.csv": "assessment", "s47_enquiries.csv": "section 47 enquiry",
             "episodes.csv": "episode", "allocations.csv": "allocation", "children.csv": "child"}
# a contract column's meaning (etl.annex_a.reader.LIST_COLUMNS) where it is not the column's own name
_MEANINGS = {"team_id": "team", "worker_id": "worker", "icpc_required": "icpc_unnecessary"}
_SHOWN = {"team": "Allocated Team", "worker": "Allocated Worker"}  # a header the list does not have
_ONE_LIST = {"referrals.csv": 3, "assessments.csv": 4, "s47_enquiries.csv": 5}
_EPISODE_LISTS = ", ".join(str(n) for n in list(EPISODE_LISTS)[:-1]) + f" or {list(EPISODE_LISTS)[-1]}"
# a contract file with no rows at all, said of the workbook: (column, reason); None: not said (Annex A has none)
_EMPTY = {
    "teams.csv": ("Allocated Team", "is empty in every row: every case counts in team UNKNOWN"),
    "workers.csv": ("Allocated Worker", "is empty in every row: no child counts as allocated"),
    "allocations.csv": ("Allocated Worker", "is empty in every row: no child counts as allocated"),
    "children.csv": (None, "no list has a row that can be loaded"),
    "episodes.csv": (None, f"no row of Lists {_EPISODE_LISTS} can be loaded: there are no open cases"),
    "missing_episodes.csv": None,
}
_NO_TEAM = not_in_reason("teams.csv")


def translate(con: duckdb.DuckDBPyConnection, rowmap: str, lists: dict[int, ListSheet]) -> None:
    """Rewrite the contract files' issues in `issues` (the loader's) as issues of the workbook's rows."""
    headers = " UNION ALL ".join(
        f"SELECT {number} AS list, {quoted(meaning)} AS meaning, {quoted(header)} AS header, {position} AS col_order"
        for number, sheet in lists.items() for position, (meaning, header) in enumerate(sheet.columns.items(), 1)
    ) or "SELECT NULL::INTEGER AS list, NULL AS meaning, NULL AS header, NULL::INTEGER AS col_order WHERE false"
    contract = ", ".join(quoted(t.file_name) for t in TABLES)
    ends = " ".join(f"WHEN {n} THEN {quoted(m)}" for n, m in END_DATES.items())
    con.execute(f"""CREATE OR REPLACE TEMP MACRO ax_meaning(col, list) AS CASE
        WHEN col = 'end_date' THEN CASE list {ends} END
        {" ".join(f"WHEN col = {quoted(c)} THEN {quoted(m)}" for c, m in _MEANINGS.items())}
        ELSE col END""")
    # the origins of the lines the issues name (a workbook's rows are many, its issues few), then every
    # contract row of those workbook rows (which of them a reject leaves out)
    overlap = '^has another episode open at the same time \\(episode_id "[^"]*", line (\\d+)\\)$'
    con.execute(f"""CREATE OR REPLACE TEMP TABLE ax_lines AS
        SELECT DISTINCT file, line FROM issues WHERE file IN ({contract}) AND line IS NOT NULL
        UNION SELECT 'episodes.csv', TRY_CAST(regexp_extract(reason, '{overlap}', 1) AS BIGINT) FROM issues
              WHERE file = 'episodes.csv' AND regexp_matches(reason, '{overlap}')""")
    rows = "SELECT * FROM read_parquet({}) WHERE false".format(quoted(rowmap))
    if con.execute("SELECT count(*) FROM ax_lines").fetchone()[0]:
        rows = f"""SELECT m.* FROM read_parquet({quoted(rowmap)}) m SEMI JOIN (
                       SELECT DISTINCT list, row FROM read_parquet({quoted(rowmap)}) SEMI JOIN ax_lines USING (file, line))
                   USING (list, row)"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE ax_rowmap AS {rows}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE ax_headers AS {headers}")
    shown = " ".join(f"WHEN {quoted(m)} THEN {quoted(h)}" for m, h in _SHOWN.items())
    names = " ".join(f"WHEN {quoted(f)} THEN {quoted(n)}" for f, n in ROW_NAMES.items())
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ax_issues AS
        WITH rejected AS (  -- per workbook row, which of its contract rows are rejected, and how many it has
            SELECT m.list, m.row, list(DISTINCT m.file ORDER BY m.file) FILTER (WHERE r.line IS NOT NULL) AS files,
                   count(DISTINCT m.file) FILTER (WHERE m.file <> 'children.csv') AS of_files,
                   count(DISTINCT m.file) FILTER (WHERE r.line IS NOT NULL AND m.file <> 'children.csv') AS n
            FROM ax_rowmap m
            LEFT JOIN (SELECT DISTINCT file, line FROM issues WHERE severity = 'reject') r USING (file, line)
            GROUP BY m.list, m.row),
        located AS (
            SELECT i.*, m.list, m.row, ax_meaning(i."column", m.list) AS meaning,
                   regexp_extract(i.reason, '^is before (\\w+) "', 1) AS before_col,
                   other.list AS other_list, other.row AS other_row
            FROM issues i
            JOIN ax_rowmap m ON m.file = i.file AND m.line = i.line
            LEFT JOIN ax_rowmap other ON other.file = 'episodes.csv' AND i.file = 'episodes.csv'
                 AND other.line = TRY_CAST(regexp_extract(i.reason, '{overlap}', 1) AS BIGINT)),
        moved AS (
            SELECT 'Annex A List ' || l.list AS file, l.list + {FILE_ORDER_OFFSET} AS file_order,
                   CASE WHEN no_team AND h.header IS NULL THEN NULL ELSE l.row END AS line,
                   CASE WHEN no_team AND h.header IS NULL THEN NULL
                        ELSE coalesce(h.header, CASE l.meaning {shown} ELSE replace(l.meaning, '_', ' ') END) END
                       AS "column",
                   CASE WHEN no_team AND h.header IS NULL THEN 0 ELSE coalesce(h.col_order, 0) END AS col_order,
                   CASE WHEN no_team THEN NULL ELSE l.value END AS value,
                   CASE WHEN no_team AND h.header IS NULL
                            THEN 'has no Allocated Team column: its cases count in team UNKNOWN'
                        WHEN no_team THEN 'is empty: the case counts in team UNKNOWN'
                        WHEN l.other_row IS NOT NULL
                            THEN 'has another episode open at the same time (Annex A List ' || l.other_list || ' line '
                                 || l.other_row || ')'
                        WHEN bh.header IS NOT NULL
                            THEN replace(l.reason, 'is before ' || l.before_col || ' "', 'is before ' || bh.header || ' "')
                        ELSE l.reason END
                   || CASE WHEN l.severity <> 'reject' THEN ''
                           WHEN r.n = r.of_files THEN '; the row is not loaded'
                           ELSE '; its ' || list_aggregate(list_transform(r.files, lambda f: CASE f {names} ELSE f END),
                                                           'string_agg', ' and ')
                                || CASE WHEN r.n = 1 THEN ' is' ELSE ' are' END || ' not loaded' END AS reason,
                   l.severity
            FROM (SELECT *, file = 'episodes.csv' AND "column" = 'team_id' AND value = 'UNKNOWN'
                            AND reason = {quoted(_NO_TEAM)} AS no_team FROM located) l
            LEFT JOIN ax_headers h ON h.list = l.list AND h.meaning = l.meaning
            LEFT JOIN ax_headers bh ON bh.list = l.list AND bh.meaning = ax_meaning(l.before_col, l.list)
            LEFT JOIN rejected r ON r.list = l.list AND r.row = l.row),
        whole AS (  -- a contract file's issue of no row (a header but no rows), said of the workbook
            SELECT CASE WHEN one.list IS NOT NULL THEN 'Annex A List ' || one.list ELSE 'Annex A' END AS file,
                   coalesce(one.list + {FILE_ORDER_OFFSET}, {WORKBOOK_ORDER}) AS file_order, NULL::BIGINT AS line,
                   e."column", 0 AS col_order, NULL AS value,
                   CASE WHEN one.list IS NOT NULL THEN 'has no rows that can be loaded: no ' || one.name || ' are loaded'
                        ELSE e.reason END AS reason,
                   i.severity
            FROM issues i
            LEFT JOIN (VALUES {", ".join(f"({quoted(f)}, {n}, {quoted(LIST_NAMES[n])})" for f, n in _ONE_LIST.items())})
                 one(file, list, name) ON one.file = i.file
            LEFT JOIN (VALUES {", ".join(f"({quoted(f)}, {quoted(e[0])}, {quoted(e[1])})" for f, e in _EMPTY.items()
                                         if e is not None)}) e(file, "column", reason) ON e.file = i.file
            WHERE i.line IS NULL AND i.reason = 'has a header but no rows' AND (one.list IS NOT NULL OR e.file IS NOT NULL))
        SELECT DISTINCT * FROM moved
        UNION ALL
        SELECT DISTINCT * FROM whole
        UNION ALL  -- the rest as found: the workbook's own issues, and any a contract file's row cannot be traced from
        SELECT i.* FROM issues i
        WHERE NOT (i.file IN ({contract}) AND i.line IS NOT NULL
                   AND EXISTS (SELECT 1 FROM ax_rowmap m WHERE m.file = i.file AND m.line = i.line))
          AND NOT (i.file IN ({contract}) AND i.line IS NULL AND i.reason = 'has a header but no rows')""")
    con.execute("DELETE FROM issues")
    con.execute("INSERT INTO issues SELECT * FROM ax_issues")
    for table in ("ax_issues", "ax_rowmap", "ax_headers", "ax_lines"):
        con.execute(f"DROP TABLE {table}")
