"""`kpidash export annex-a`: Lists 1 to 9 of the Ofsted ILACS Annex A workbook, from the warehouse.

Each list is one DuckDB query over the published warehouse, as things stood at the end of `to`
(an assessment authorised or an episode ended after `to` shows as still open), for the six months
ending on `to` (window_start). Columns the warehouse cannot fill (e.g. "Primary Need Code") are left
blank; Lists 1 (contacts) and 2 (early help) have headers only, since the extract contract holds neither.
Coded columns are written as Ofsted's template writes them, letter first ("a) WBRI", "q) 6: Police").
docs/annex-a.md says what each filled column is.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import xlsxwriter
import xlsxwriter.exceptions

from core.spreadsheet import safe_cells
from etl.sql import quoted

WINDOW_MONTHS = 6
YEAR_MONTHS = 12  # the "last 12 months" columns

_COMMON = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)"]
_DISABILITY = "Does the Child have a Disability"
_TEAM_WORKER = ["Allocated Team", "Allocated Worker"]

HEADERS: dict[int, list[str]] = {
    1: [*_COMMON, "Date of Contact", "Contact Source"],
    2: [*_COMMON, "Assessment start date", "Assessment completion date", "Organisation completing assessment"],
    3: [*_COMMON, "Date of Referral", "Referral Source", "Referral NFA?", "Number of Referrals in Last 12 Months",
        *_TEAM_WORKER],
    4: [*_COMMON, _DISABILITY, "Continuous Assessment Start Date", "Child Seen During Continuous Assessment",
        "Continuous Assessment Date of Authorisation",
        "Was the child assessed as requiring LA children's social care support?", *_TEAM_WORKER],
    5: [*_COMMON, _DISABILITY, "Strategy discussion initiating Section 47 Enquiry Start Date",
        "Was an Initial Child Protection Conference deemed unnecessary?",
        "Date of Initial Child Protection Conference",
        "Did the Initial Child Protection Conference Result in a Child Protection Plan",
        "Number of Section 47 Enquiries in the last 12 months", "Number of ICPCs in the last 12 months",
        *_TEAM_WORKER],
    6: [*_COMMON, _DISABILITY, "CIN Start Date", "Primary Need Code", "Date Child Was Last Seen", "CIN Closure Date",
        "Reason for Closure", "Case Status", *_TEAM_WORKER],
    7: [*_COMMON, _DISABILITY, "Child Protection Plan Start Date", "Initial Category of Abuse",
        "Latest Category of Abuse", "Date of the Last Statutory Visit", "Was the Child Seen Alone?",
        "Date of latest review conference", "Child Protection Plan End Date",
        "Subject to Emergency Protection Order or Protected Under Police Powers in Last Six Months (Y/N)",
        "Number of Previous Child Protection Plans", *_TEAM_WORKER],
    8: [*_COMMON, "Unaccompanied Asylum Seeking Child (UASC) within the Last 12 Months (Y/N))", _DISABILITY,
        "Date Started to be Looked After", "Child's Category of Need",
        "Is this a second or subsequent period of being a Looked After Child within the last 12 months (Y/N)",
        "Start date of current legal status", "Child's Legal Status", "Date of Latest Statutory Review",
        "Date of Last Social Work Visit", "What is the permanence plan for this child?",
        "Date of Last IRO Visit / Contact to the Child", "Date of Last Health Assessment",
        "Date of Last Dental Check", "Number of Placements in the Last 12 months", "Date Ceased to be Looked After",
        "Reason Ceased to be Looked After", "Start Date of Most Recent Placement", "Placement Type",
        "Placement Provider", "Placement postcode", "URN of Placement", "Placement Location", "LA of Placement",
        "Number of Episodes the Child has been \u2018Missing\u2019 from their Placement in the last 12 months",
        "Number of Episodes the Child has been \u2018Absent\u2019 from their Placement in the last 12 months",
        "Was the child offered a Return Interview after their last missing episode (Y/N)?",
        "Did the child accept a Return Interview after their last missing episode (Y/N)?", *_TEAM_WORKER],
    9: [*_COMMON, "Unaccompanied Asylum Seeking Child (UASC), or formerly UASC if 18 or over (Y/N)", _DISABILITY,
        "Allocated Team", "Allocated Worker", "Allocated Personal Advisor", "Eligibility Category",
        "Latest Pathway Plan Review Date", "LA in Touch", "Latest Date of Contact", "Type of Accommodation",
        "Suitability of Accommodation", "Activity Status"],
}

# Ofsted's template writes coded values letter first, as the reference workbooks (docs/annex-a.md) do:
# ethnicity "a) WBRI" .. "s) NOBT" (REFU, which they do not show, after it), referral source "q) 6: Police"
# (5D, early help, is "p1)" in templates that have it). A value not in the list is written as it is.
ETHNICITY = {code: f"{letter}) {code}" for letter, code in zip("abcdefghijklmnopqrst", (
    "WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN", "AOTH",
    "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "NOBT", "REFU"), strict=True)}
REFERRAL_SOURCE = {code: f"{letter}) {code}: {name}" for letter, code, name in (
    ("a", "1A", "Individual"), ("b", "1B", "Individual"), ("c", "1C", "Individual"), ("d", "1D", "Individual"),
    ("e", "2A", "Schools"), ("f", "2B", "Education services"), ("g", "3A", "Health services"),
    ("h", "3B", "Health services"), ("i", "3C", "Health services"), ("j", "3D", "Health services"),
    ("k", "3E", "Health services"), ("l", "3F", "Health services"), ("m", "4", "Housing"),
    ("n", "5A", "LA services"), ("o", "5B", "LA services"), ("p", "5C", "LA services"), ("p1", "5D", "LA services"),
    ("q", "6", "Police"), ("r", "7", "Other legal agency"), ("s", "8", "Other"), ("t", "9", "Anonymous"),
    ("u", "10", "Unknown"))}


def _coded(column: str, codes: dict[str, str]) -> str:
    """The template's lettered form of a code (matched ignoring case and spaces); anything else as it is."""
    arms = " ".join(f"WHEN {quoted(code)} THEN {quoted(text)}" for code, text in codes.items())
    return f"CASE upper(trim({column})) {arms} ELSE {column} END"


_PERSON = {
    "Child Unique ID": "x.child_id",
    "Gender": """CASE c.gender WHEN 'M' THEN 'a) Male' WHEN 'F' THEN 'b) Female'
                 WHEN 'U' THEN 'c) Not stated/recorded' WHEN 'N' THEN 'd) Neither' END""",
    "Ethnicity": _coded("c.ethnicity", ETHNICITY),
    "Date of Birth": "c.date_of_birth",
    "Age of Child (Years)": "CASE WHEN c.date_of_birth <= $to THEN date_sub('year', c.date_of_birth, $to) END",
    _DISABILITY: "CASE c.disability WHEN true THEN 'a) Yes' WHEN false THEN 'b) No' END",
    "Allocated Team": "t.team_name",
    "Allocated Worker": "w.worker_name",
}


def _as_at(column: str) -> str:
    """A date after `to` had not happened yet when the list was run."""
    return f"CASE WHEN {column} <= $to THEN {column} END"


def _yes_no(expr: str) -> str:
    return f"CASE {expr} WHEN true THEN 'Yes' WHEN false THEN 'No' END"


def _episodes(kind: str, start: str, end: str, *, open_at_to: bool = False,
              advisers_apart: bool = False) -> tuple[dict[str, str], str]:
    """An episode list: episodes of `kind` open at some time in the window (open_at_to: open at the end of
    `to`), each with its allocated worker as the caseload KPIs see one (kpis.md): an allocation open at the
    episode's end (at `to` while it is open, so one ending on `to` is over) to a worker of workers.csv who
    is active then (kpis.md); a worker who had left by then holds nobody, so the cell is blank, as the child
    counts as unallocated. advisers_apart: personal advisers go to `pa_id` (List 9's own column), not `worker_id`."""
    fields = {start: "x.start_date", end: _as_at("x.end_date")} if start else {}
    open_in = "e.end_date IS NULL OR e.end_date > $to" if open_at_to else "e.end_date IS NULL OR e.end_date >= $from"
    adviser = "w.role = 'personal_advisor'" if advisers_apart else "false"
    latest = "strftime(a.start_date, '%Y%m%d') || a.allocation_id"  # the latest allocation, ties by id
    source = f"""(WITH eps AS (
                      SELECT e.*, least(coalesce(e.end_date, $to), $to) AS as_at FROM wh.episodes e
                      WHERE e.episode_type = '{kind}' AND e.start_date <= $to AND ({open_in})
                  ), held AS (
                      SELECT e.episode_id, arg_max(a.worker_id, {latest}) FILTER (WHERE NOT {adviser}) AS worker_id,
                             arg_max(a.worker_id, {latest}) FILTER (WHERE {adviser}) AS pa_id
                      FROM eps e
                      JOIN wh.allocations a ON a.child_id = e.child_id AND a.start_date <= e.as_at
                       AND (a.end_date IS NULL OR a.end_date > e.as_at OR (e.end_date <= $to AND a.end_date = e.as_at))
                      JOIN wh.workers w ON w.worker_id = a.worker_id
                       AND coalesce(w.start_date, e.as_at) <= e.as_at AND (w.end_date IS NULL OR w.end_date >= e.as_at)
                      GROUP BY e.episode_id
                  )
                  SELECT eps.* EXCLUDE (as_at), held.worker_id, held.pa_id FROM eps LEFT JOIN held USING (episode_id))"""
    return fields, source


# List 8's missing columns: the child's missing episodes that started in the 12 months ending on `to`
# ($year_start = window_start(to, 12)), and the last of them as it stood at the end of `to`.
_MISSING_SOURCE = """SELECT child_id, count(*) AS missing,
                            arg_max({'ended': end_time < $to + INTERVAL 1 DAY,
                                     'offered': rhi_offered_time < $to + INTERVAL 1 DAY, 'accepted': rhi_accepted},
                                    strftime(start_time, '%Y%m%d%H%M%S') || missing_id) AS last_missing
                     FROM wh.missing_episodes
                     WHERE start_time >= $year_start AND start_time < $to + INTERVAL 1 DAY GROUP BY child_id"""
_MISSING = {
    "Number of Episodes the Child has been \u2018Missing\u2019 from their Placement in the last 12 months":
        "coalesce(x.missing, 0)",
    # offered by the end of `to`: Yes; not offered though back by then: No; still missing: not yet asked
    "Was the child offered a Return Interview after their last missing episode (Y/N)?":
        """CASE WHEN x.last_missing.offered THEN 'a) Yes' WHEN x.last_missing.ended THEN 'b) No' END""",
    "Did the child accept a Return Interview after their last missing episode (Y/N)?":
        """CASE WHEN x.last_missing.offered THEN CASE x.last_missing.accepted WHEN true THEN 'a) Yes'
                                                     WHEN false THEN 'b) No' END END""",
}


def _lists() -> dict[int, tuple[dict[str, str], str, str]]:
    """List number -> (header -> SQL, FROM clause, ORDER BY) over the attached warehouse `wh`."""
    cin = _episodes("CIN", "CIN Start Date", "CIN Closure Date")
    cp = _episodes("CP", "Child Protection Plan Start Date", "Child Protection Plan End Date")
    cla = _episodes("CLA", "Date Started to be Looked After", "Date Ceased to be Looked After")
    leaver_fields, leaver_source = _episodes("CARE_LEAVER", "", "", open_at_to=True, advisers_apart=True)
    return {
        3: ({"Date of Referral": "x.referral_date", "Referral Source": _coded("x.source", REFERRAL_SOURCE),
             "Referral NFA?": _yes_no("x.nfa"),
             "Number of Referrals in Last 12 Months": """(SELECT count(*) FROM wh.referrals r
                 WHERE r.child_id = x.child_id AND r.referral_date < x.referral_date
                   AND r.referral_date >= x.referral_date - INTERVAL 12 MONTH)"""},
            "(SELECT * FROM wh.referrals WHERE referral_date BETWEEN $from AND $to)", "x.referral_date"),
        4: ({"Continuous Assessment Start Date": "x.start_date",
             "Continuous Assessment Date of Authorisation": _as_at("x.authorised_date")},
            """(SELECT * FROM wh.assessments WHERE start_date <= $to
                AND (authorised_date IS NULL OR authorised_date >= $from))""", "x.start_date"),
        5: ({"Strategy discussion initiating Section 47 Enquiry Start Date": "x.strategy_date",
             "Was an Initial Child Protection Conference deemed unnecessary?": _yes_no("NOT x.icpc_required"),
             "Date of Initial Child Protection Conference": _as_at("x.icpc_date"),
             # as List 3's referrals: the child's others in the 12 months before this one's strategy discussion
             "Number of Section 47 Enquiries in the last 12 months": """(SELECT count(*) FROM wh.s47_enquiries s
                 WHERE s.child_id = x.child_id AND s.strategy_date < x.strategy_date
                   AND s.strategy_date >= x.strategy_date - INTERVAL 12 MONTH)""",
             "Number of ICPCs in the last 12 months": """(SELECT count(*) FROM wh.s47_enquiries s
                 WHERE s.child_id = x.child_id AND s.icpc_date < x.strategy_date
                   AND s.icpc_date >= x.strategy_date - INTERVAL 12 MONTH)"""},
            """(SELECT * FROM wh.s47_enquiries WHERE strategy_date <= $to
                AND (strategy_date >= $from OR icpc_date BETWEEN $from AND $to))""", "x.strategy_date"),
        6: (*cin, "x.start_date"),
        7: ({**cp[0], "Number of Previous Child Protection Plans": """(SELECT count(*) FROM wh.episodes p
                 WHERE p.child_id = x.child_id AND p.episode_type = 'CP' AND p.start_date < x.start_date)"""},
            cp[1], "x.start_date"),
        8: ({**cla[0], **_MISSING}, f"""(SELECT e.*, m.missing, m.last_missing FROM {cla[1]} e
                                        LEFT JOIN ({_MISSING_SOURCE}) m ON m.child_id = e.child_id)""", "x.start_date"),
        9: ({**leaver_fields,
             "Allocated Personal Advisor": "(SELECT p.worker_name FROM wh.workers p WHERE p.worker_id = x.pa_id)"},
            leaver_source, "x.start_date"),
    }


class ExportDateError(ValueError):
    """A --to the warehouse cannot give lists for (after its extract date, or before its first record): the
    lists would show the future as still open, or be empty. The message is for the analyst."""


def _check_date(con: duckdb.DuckDBPyConnection, date_to: dt.date) -> None:
    """ExportDateError for a date_to after the extract date or before the warehouse's earliest event."""
    extracted, earliest = con.execute(
        """SELECT (SELECT extracted_at::DATE FROM wh.extract_meta ORDER BY loaded_at DESC NULLS LAST LIMIT 1),
                  (SELECT min(d) FROM (SELECT min(referral_date) FROM wh.referrals
                                       UNION ALL SELECT min(start_date) FROM wh.assessments
                                       UNION ALL SELECT min(strategy_date) FROM wh.s47_enquiries
                                       UNION ALL SELECT min(start_date) FROM wh.episodes) AS t(d))""").fetchone()
    if extracted is not None and date_to > extracted:
        raise ExportDateError(f"--to {date_to} is after the extract date ({extracted}): write a date up to it, "
                              f"e.g. {extracted}.")
    if earliest is not None and date_to < earliest:
        raise ExportDateError(f"--to {date_to} is before the warehouse's first record ({earliest}): write a date "
                              f"from {earliest} to {extracted or 'the extract date'}.")


@dataclass(frozen=True)
class ExportResult:
    """What was written: rows per list and the window they cover."""

    path: Path
    date_from: dt.date
    date_to: dt.date
    rows: dict[int, int]


def window_start(date_to: dt.date, months: int = WINDOW_MONTHS) -> dt.date:
    """The first day of the `months` months ending on date_to: (date_to + 1 day) less `months` calendar months,
    so the months end where Ofsted's do and a window ending on a month's last day starts on a 1st
    (2025-06-30 -> 2025-01-01, 2025-02-28 -> 2024-09-01, 2025-10-15 -> 2025-04-16); a day the month
    lacks is its last day."""
    after = date_to + dt.timedelta(days=1)
    month = after.month - months
    year = after.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.date(year, month, min(after.day, calendar.monthrange(year, month)[1]))


def export_annex_a(db: Path, date_to: dt.date, out: Path) -> ExportResult:
    """Write Lists 1 to 9 for the six months ending on date_to from the warehouse db into the workbook out."""
    date_from, year_start = window_start(date_to), window_start(date_to, YEAR_MONTHS)
    counts: dict[int, int] = {}
    with duckdb.connect(":memory:") as con:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"ATTACH {quoted(str(db))} AS wh (READ_ONLY)")
        _check_date(con, date_to)  # before the workbook is made: a refused date writes nothing
        # Text is always text (never a formula or a link), and formula-like text is made inert as in every
        # export (core.spreadsheet): a child id typed as =HYPERLINK(...) must not run in an inspector's Excel.
        book = xlsxwriter.Workbook(str(out), {"default_date_format": "dd/mm/yyyy", "constant_memory": True,
                                              "strings_to_formulas": False, "strings_to_urls": False})
        try:
            bold = book.add_format({"bold": True})
            specs = _lists()
            for number, headers in HEADERS.items():
                sheet = book.add_worksheet(f"List {number}")
                sheet.write_row(0, 0, headers, bold)
                if number not in specs:
                    counts[number] = 0
                    continue
                fields, source, order = specs[number]
                exprs = {**_PERSON, **fields}
                select = ", ".join(f"{exprs.get(h, 'NULL')}" for h in headers)
                sql = f"""SELECT {select} FROM {source} AS x
                          LEFT JOIN wh.children c ON c.child_id = x.child_id
                          LEFT JOIN wh.teams t ON t.team_id = x.team_id
                          LEFT JOIN wh.workers w ON w.worker_id = x.worker_id
                          ORDER BY {order}, x.child_id"""
                params = {k: v for k, v in (("from", date_from), ("to", date_to), ("year_start", year_start))
                          if f"${k}" in sql}
                rows = con.execute(sql, params).fetchall()
                for i, row in enumerate(rows, start=1):
                    sheet.write_row(i, 0, safe_cells(row))
                counts[number] = len(rows)
        finally:
            _close(book, out)
    return ExportResult(out, date_from, date_to, counts)


def _close(book: xlsxwriter.Workbook, out: Path) -> None:
    """Write the workbook; a file that cannot be made (no such folder, no permission) is an OSError like
    any other, not xlsxwriter's own exception."""
    try:
        book.close()
    except xlsxwriter.exceptions.FileCreateError as err:
        for sheet in book.worksheets():  # constant_memory keeps each sheet's rows in a temporary file until close
            if sheet.row_data_fh is not None and not sheet.row_data_fh.closed:
                sheet.row_data_fh.close()
        cause = err.args[0] if err.args and isinstance(err.args[0], OSError) else None
        raise OSError(getattr(cause, "errno", None), getattr(cause, "strerror", None) or str(err), str(out)) from None
