"""Read the List sheets of an Annex A workbook into DuckDB, tolerating what real exporters write.

fastexcel (calamine underneath) reads each sheet straight into Arrow as text (formulas give their cached
values; Excel dates come as `yyyy-mm-dd hh:mm:ss`, error cells as empty). Each List becomes a DuckDB
table `list<N>` of text columns named by what they mean (`child_id`, `referral_date`, ...) plus
`_row`, the sheet's row number as Excel shows it, so every problem can be reported where an analyst
finds it. Headers are matched after folding case, spaces, non-breaking spaces and curly quotes, and
through known variants ("Age" or "Age of Child (Years)"). Cell values are only turned into text here;
the SQL in `etl.annex_a.mapping` does the cleaning (codes, dates, `#N/A`) over whole columns.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import fastexcel
import pyarrow as pa

HEADER_SEARCH_ROWS = 10  # a title block above the header row is tolerated

_COMMON = {
    "child_id": ("child unique id", "unique child id", "child id", "child's unique id"),
    "gender": ("gender", "sex"),
    "ethnicity": ("ethnicity",),
    "date_of_birth": ("date of birth", "dob"),
    "age": ("age", "age of child (years)", "age of child"),
    "disability": ("does the child have a disability", "disability", "disabled"),
    "team": ("allocated team", "team"),
    "worker": ("allocated worker", "worker", "allocated social worker"),
}

# Per list: the columns kpidash uses, each with the header variants it accepts (already normalised).
LIST_COLUMNS: dict[int, dict[str, tuple[str, ...]]] = {
    3: {
        "referral_date": ("date of referral", "referral date"),
        "source": ("referral source", "source of referral"),
        "nfa": ("referral nfa", "referral nfa (y/n)", "was the referral nfa"),
    },
    4: {
        "start_date": ("continuous assessment start date", "assessment start date"),
        "authorised_date": (
            "continuous assessment date of authorisation", "assessment date of authorisation",
            "assessment authorisation date", "date of authorisation",
        ),
    },
    5: {
        "strategy_date": (
            "strategy discussion initiating section 47 enquiry start date", "section 47 enquiry start date",
            "strategy discussion date",
        ),
        "icpc_unnecessary": ("was an initial child protection conference deemed unnecessary",),
        "icpc_date": ("date of initial child protection conference", "icpc date"),
    },
    6: {"start_date": ("cin start date",), "end_date": ("cin closure date", "cin end date")},
    7: {
        "start_date": ("child protection plan start date", "cp plan start date"),
        "end_date": ("child protection plan end date", "cp plan end date"),
    },
    8: {
        "start_date": ("date started to be looked after", "date started to be looked after (current episode)"),
        "end_date": ("date ceased to be looked after",),
        "missing_count": (
            "number of episodes the child has been 'missing' from their placement in the last 12 months",
        ),
        "rhi_offered": ("was the child offered a return interview after their last missing episode (y/n)",),
        "rhi_accepted": ("did the child accept a return interview after their last missing episode (y/n)",),
    },
    9: {"personal_advisor": ("allocated personal advisor",)},
}
LIST_NAMES = {
    3: "referrals", 4: "assessments", 5: "section 47 enquiries and ICPCs", 6: "children in need",
    7: "child protection plans", 8: "children in care", 9: "care leavers",
}
_SHEET = re.compile(r"list\s*(\d{1,2})\b")
# calamine's names for Excel's error values, as Excel shows them
EXCEL_ERRORS = {"NA": "#N/A", "Div0": "#DIV/0!", "Ref": "#REF!", "Value": "#VALUE!", "Name": "#NAME?",
                "Null": "#NULL!", "Num": "#NUM!", "GettingData": "#GETTING_DATA"}
_ERROR = re.compile(r"Error\((\w+)\)")


class AnnexAError(Exception):
    """A workbook that cannot be read at all; the message is for the analyst."""


@dataclass
class ListSheet:
    """What reading one List sheet found out."""

    number: int
    sheet: str
    header_row: int  # as Excel numbers rows
    columns: dict[str, str]  # meaning -> the header as written
    unused: list[str] = field(default_factory=list)  # headers kpidash does not use
    unheaded: list[str] = field(default_factory=list)  # columns with values but no header (e.g. a merged cell)
    rows: int = 0  # below the header; the mapping then counts only those holding anything (the reject limit's)

    @property
    def label(self) -> str:
        return f"Annex A List {self.number}"


def normalise_header(text: object) -> str:
    """Fold what exporters vary: case, NBSP and runs of spaces, curly quotes, a trailing `?` or `:`."""
    folded = unicodedata.normalize("NFKC", str(text)).replace("\u2018", "'").replace("\u2019", "'")
    return re.sub(r"\s+", " ", folded).strip().rstrip("?:. ").strip().lower()


def meanings(number: int) -> list[str]:
    """The columns kpidash reads from a list, by meaning, in the order `list<N>` tables have them."""
    return [*_COMMON, *LIST_COLUMNS[number]]


def _wanted(number: int) -> dict[str, str]:
    """Normalised header variant -> meaning, for one list."""
    variants = {**_COMMON, **LIST_COLUMNS.get(number, {})}
    return {v: meaning for meaning, names in variants.items() for v in names}


def read_workbook(
    path: Path, con: duckdb.DuckDBPyConnection, then: Callable[[duckdb.DuckDBPyConnection, int], None] | None = None,
) -> dict[int, ListSheet]:
    """Create tables `list3` .. `list9` in con's database for the List sheets the workbook has, then run
    `then(cursor, number)` on each; AnnexAError if the workbook is unreadable.

    One thread per sheet (as many as there are cores): calamine parses the sheet straight into Arrow
    text columns and DuckDB then runs `then` on that list, both without the GIL, so one list is parsed
    while another is cleaned. The tables are ordinary (not TEMP) because each thread has its own cursor.
    """
    try:
        names = fastexcel.read_excel(path).sheet_names
    except (fastexcel.FastExcelError, OSError, ValueError):
        # (calamine's own words name zip archives and EOCD records: not the analyst's)
        raise AnnexAError(f"{path.name} cannot be read as an Excel workbook: it is damaged, protected by a "
                          "password, or another kind of file named .xlsx (an .xls, or a CSV file); open it in Excel, "
                          "save it as an Excel workbook (.xlsx) and load it again") from None
    chosen: dict[int, str] = {}
    for name in names:
        match = _SHEET.match(normalise_header(name))
        if match and int(match.group(1)) in LIST_COLUMNS:
            number = int(match.group(1))
            if number in chosen:  # which one holds the list is the analyst's to say, not a guess
                raise AnnexAError(f'{path.name}: the sheets "{chosen[number]}" and "{name}" are both Annex A List '
                                  f"{number}; keep one (rename or remove the other) and load it again")
            chosen[number] = name

    def load(number: int, name: str) -> ListSheet:
        sheet, table = _parse(path, number, name)  # a fastexcel reader is not shared between threads
        with con.cursor() as cur:
            cur.register("raw_list", table)
            cur.execute(f"CREATE OR REPLACE TABLE list{number} AS SELECT * FROM raw_list")
            cur.unregister("raw_list")
            if then is not None:
                then(cur, number)
        return sheet

    with ThreadPoolExecutor(max_workers=max(1, min(len(chosen), os.cpu_count() or 1))) as pool:
        return dict(zip(chosen, pool.map(lambda item: load(*item), chosen.items())))


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _parse(path: Path, number: int, name: str) -> tuple[ListSheet, pa.Table]:
    try:
        # skip_rows=0 keeps leading empty rows, so row i of the batch is the sheet's row i + 1
        sheet = fastexcel.read_excel(path).load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
        batch, errors = sheet.to_arrow_with_errors()
    except (fastexcel.FastExcelError, OSError, ValueError) as err:
        raise AnnexAError(f'{path.name}: sheet "{name}" cannot be read ({_first_line(err)})') from None
    return _register(number, name, _with_error_text(batch, errors))


def _with_error_text(batch: pa.RecordBatch, errors: object) -> pa.RecordBatch:
    """Put Excel's text (`#N/A`, `#REF!` ...) back into the error cells the text reader left empty, so
    the mapping reports them where they are, like an `#N/A` typed as text."""
    found = getattr(errors, "errors", None) or []
    by_column: dict[int, dict[int, str]] = {}
    for error in found:
        row, column = error.position
        kind = _ERROR.search(error.detail)
        by_column.setdefault(column, {})[row] = EXCEL_ERRORS.get(kind.group(1) if kind else "", "#VALUE!")
    if not by_column:
        return batch
    columns = list(batch.columns)
    for column, cells in by_column.items():
        values = columns[column].to_pylist()
        for row, text in cells.items():
            values[row] = text
        columns[column] = pa.array(values, pa.string())
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _letters(position: int) -> str:
    """A column's letters as Excel shows them (0 -> A, 26 -> AA)."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _register(number: int, name: str, batch: pa.RecordBatch) -> tuple[ListSheet, pa.Table]:
    wanted = _wanted(number)
    top = [list(row.values()) for row in batch.slice(0, HEADER_SEARCH_ROWS).to_pylist()]
    header_at = next(
        (i for i, row in enumerate(top) if any(c is not None and wanted.get(normalise_header(c)) == "child_id" for c in row)),
        None,
    )
    if header_at is None:
        raise AnnexAError(
            f'sheet "{name}" (Annex A List {number}) has no "Child Unique ID" column in its first '
            f"{HEADER_SEARCH_ROWS} rows: is it an Annex A list?"
        )
    sheet = ListSheet(number, name, header_at + 1, {})
    positions: dict[str, int] = {}
    data = batch.slice(header_at + 1)
    for position, cell in enumerate(top[header_at]):
        text = "" if cell is None else cell.strip()
        meaning = wanted.get(normalise_header(text))
        if meaning and meaning not in positions:
            positions[meaning] = position
            sheet.columns[meaning] = text
        elif text:
            sheet.unused.append(text)
        elif data.column(position).null_count < data.num_rows:  # values under no header: said, not lost unseen
            sheet.unheaded.append(f"column {_letters(position)}")
    sheet.rows = data.num_rows
    arrays = {"_row": pa.array(range(header_at + 2, header_at + 2 + data.num_rows), pa.int64())}
    for meaning in meanings(number):
        arrays[meaning] = (data.column(positions[meaning]).cast(pa.string()) if meaning in positions
                           else pa.nulls(data.num_rows, pa.string()))
    return sheet, pa.table(arrays)
