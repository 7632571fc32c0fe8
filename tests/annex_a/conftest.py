"""Annex A test helpers: hand-made workbooks written with xlsxwriter, and the external samples."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import xlsxwriter

from etl.annex_a.reader import normalise_header

def _external() -> Path:
    """shared/external/annex_a beside the checkout (/work/main) or beside its worktrees' folder (/work/wt/x)."""
    here = Path(__file__).resolve()
    for folder in here.parents[3:5]:
        if (folder / "shared" / "external" / "annex_a").is_dir():
            return folder / "shared" / "external" / "annex_a"
    return here.parents[3] / "shared" / "external" / "annex_a"


EXTERNAL = _external()
EXTERNAL_FILES = ("liia-tools_Annex_A.xlsx", "liia-tools-pipeline_Annex_A_2024_Jan.xlsx")


@pytest.fixture
def external_dir() -> Path:
    """The folder of workbooks made outside this project (never copied into the repository)."""
    if not EXTERNAL.is_dir():
        pytest.skip(f"{EXTERNAL} is absent: the external Annex A samples are not on this machine")
    return EXTERNAL


Cell = object  # a value, or ("formula", "=G3+10", cached value)

# The lists Annex A's figures come from, as a workbook with none of their rows holds them: the header alone
EMPTY_LISTS: dict[str, list[list[Cell]]] = {
    "List 3": [["Child Unique ID", "Date of Referral"]],
    "List 4": [["Child Unique ID", "Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation"]],
    "List 5": [["Child Unique ID", "Strategy discussion initiating Section 47 Enquiry Start Date",
                "Date of Initial Child Protection Conference"]],
}


def write_workbook(path: Path, sheets: dict[str, list[list[Cell]]], complete: bool = True) -> Path:
    """A workbook with one sheet per name, rows as given; dates are written as Excel dates. complete: Lists 3
    to 5 that sheets does not name are added empty (EMPTY_LISTS), as a workbook must hold them."""
    book = xlsxwriter.Workbook(str(path), {"default_date_format": "dd/mm/yyyy"})
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    named = {m.group(1) for m in (re.match(r"list\s*(\d{1,2})\b", normalise_header(n)) for n in sheets) if m}
    extra = {n: rows for n, rows in EMPTY_LISTS.items() if complete and n.split()[1] not in named}
    for name, rows in {**sheets, **extra}.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, tuple) and value[0] == "formula":
                    sheet.write_formula(r, c, value[1], date_format, value[2])
                elif isinstance(value, tuple) and value[0] == "number_as_date":
                    sheet.write_number(r, c, value[1], date_format)
                elif isinstance(value, str):
                    sheet.write_string(r, c, value)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(r, c, value, date_format)
                elif value is not None:
                    sheet.write(r, c, value)
    book.close()
    return path
