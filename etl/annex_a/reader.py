"""Read the List sheets of an Annex A workbook into DuckDB, tolerating what real exporters write.

python-calamine reads the cells (formulas give their cached values). Each List becomes a DuckDB
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

import duckdb
import pyarrow as pa
from python_calamine import CalamineError, CalamineWorkbook

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
    7: "child protection", 8: "children in care", 9: "care leavers",
}
_SHEET = re.compile(r"list\s*(\d{1,2})\b")


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
    rows: int = 0

    @property
    def label(self) -> str:
        return f"Annex A List {self.number}"


def normalise_header(text: object) -> str:
    """Fold what exporters vary: case, NBSP and runs of spaces, curly quotes, a trailing `?` or `:`."""
    folded = unicodedata.normalize("NFKC", str(text)).replace("\u2018", "'").replace("\u2019", "'")
    return re.sub(r"\s+", " ", folded).strip().rstrip("?:. ").strip().lower()


def _wanted(number: int) -> dict[str, str]:
    """Normalised header variant -> meaning, for one list."""
    variants = {**_COMMON, **LIST_COLUMNS.get(number, {})}
    return {v: meaning for meaning, names in variants.items() for v in names}


def read_workbook(path: Path, con: duckdb.DuckDBPyConnection) -> dict[int, ListSheet]:
    """Register `list3` .. `list9` in con for the List sheets the workbook has; AnnexAError if unreadable.

    Sheets are parsed in parallel threads (calamine releases the GIL while it parses), each into an
    Arrow table of only the columns kpidash uses, so a 50,000-row list never lives long as Python rows.
    """
    try:
        names = CalamineWorkbook.from_path(str(path)).sheet_names
    except (CalamineError, OSError, ValueError) as err:
        raise AnnexAError(f"{path.name} cannot be read as an Excel workbook ({err})") from None
    chosen: dict[int, str] = {}
    for name in names:
        match = _SHEET.match(normalise_header(name))
        if match and int(match.group(1)) in LIST_COLUMNS and int(match.group(1)) not in chosen:
            chosen[int(match.group(1))] = name
    with ThreadPoolExecutor(max_workers=max(1, min(len(chosen), os.cpu_count() or 1))) as pool:
        parsed = dict(zip(chosen, pool.map(lambda item: _parse(path, *item), chosen.items())))
    found: dict[int, ListSheet] = {}
    for number, (sheet, table) in parsed.items():
        con.register(f"raw_list{number}", table)
        con.execute(f"CREATE OR REPLACE TEMP TABLE list{number} AS SELECT * FROM raw_list{number}")
        con.unregister(f"raw_list{number}")
        found[number] = sheet
    return found


def _parse(path: Path, number: int, name: str) -> tuple[ListSheet, pa.Table]:
    try:
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError) as err:
        raise AnnexAError(f'{path.name}: sheet "{name}" cannot be read ({err})') from None
    return _register(number, name, rows)


def _register(number: int, name: str, rows: list[list]) -> tuple[ListSheet, pa.Table]:
    wanted = _wanted(number)
    header_at = next(
        (i for i, row in enumerate(rows[:HEADER_SEARCH_ROWS])
         if any(wanted.get(normalise_header(c)) == "child_id" for c in row)),
        None,
    )
    if header_at is None:
        raise AnnexAError(
            f'sheet "{name}" (Annex A List {number}) has no "Child Unique ID" column in its first '
            f"{HEADER_SEARCH_ROWS} rows: is it an Annex A list?"
        )
    header = rows[header_at]
    sheet = ListSheet(number, name, header_at + 1, {})
    positions: dict[str, int] = {}
    for position, cell in enumerate(header):
        text = str(cell).strip()
        meaning = wanted.get(normalise_header(cell))
        if meaning and meaning not in positions:
            positions[meaning] = position
            sheet.columns[meaning] = text
        elif text:
            sheet.unused.append(text)
    data = rows[header_at + 1:]
    sheet.rows = len(data)
    used = [m for m in {**_COMMON, **LIST_COLUMNS[number]} if m in positions]
    # only the used columns, picked in C (itemgetter) rather than row by row in Python
    getter = itemgetter(*(positions[m] for m in used), positions["child_id"])  # always 2+ items: tuples
    picked = list(zip(*map(getter, data)))[:-1] if data else []
    arrays = {"_row": pa.array(range(header_at + 2, header_at + 2 + len(data)), pa.int64())}
    values = dict(zip(used, picked))
    for meaning in {**_COMMON, **LIST_COLUMNS[number]}:
        if meaning in values:
            arrays[meaning] = pa.array(list(map(str, values[meaning])), pa.string())
        else:
            arrays[meaning] = pa.nulls(len(data), pa.string())
    return sheet, pa.table(arrays)
