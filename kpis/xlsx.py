"""Workbooks from lists of rows: shared by the API's downloads (records, team pack) and the
scheduler's weekly packs, so every XLSX kpidash hands out is written the same (safe) way."""

from __future__ import annotations

import io
import re
from typing import Any

import xlsxwriter

from core.spreadsheet import spreadsheet_safe


# Excel's number formats for kpidash's units of measure: a rate keeps its value (97.5, as the API gives it)
# and reads "97.5%"; a count is a whole number with thousands separated; a ratio has one decimal.
NUMBER_FORMATS = {"%": '0.0"%"', "count": "#,##0", "cases per FTE": "0.0", "ratio": "0.0", "FTE": "0.0#"}
SHEET_NAME_LIMIT = 31  # Excel's


def xlsx_bytes(sheets: dict[str, list[dict[str, Any]]], row_units: dict[str, list[str | None]] | None = None,
               column_units: dict[str, dict[str, str]] | None = None) -> bytes:
    """One worksheet per named list of rows; text is always written as text (never a formula or a link)
    and formula-like text gets core.spreadsheet's apostrophe, as in every CSV kpidash writes, so a name
    typed as `=HYPERLINK(...)` in the case system cannot run in a manager's spreadsheet, even after it
    is saved again as CSV.

    Numbers are formatted by their unit of measure (NUMBER_FORMATS): per row (`row_units`: sheet -> each
    row's unit, e.g. a summary of KPIs) or per column (`column_units`: sheet -> column -> unit). Sheet
    names must fit Excel's 31 characters: a longer name is a mistake of the caller, refused, never cut."""
    too_long = [name for name in sheets if len(name) > SHEET_NAME_LIMIT]
    if too_long:
        raise ValueError(f"sheet names longer than Excel's {SHEET_NAME_LIMIT} characters: {too_long}")
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    formats = {unit: book.add_format({"num_format": code}) for unit, code in NUMBER_FORMATS.items()}
    for name, rows in sheets.items():
        sheet = book.add_worksheet(re.sub(r"[\[\]:*?/\\]", " ", name))
        units_by_row = (row_units or {}).get(name) or []
        units_by_column = (column_units or {}).get(name) or {}
        columns = list(dict.fromkeys(k for r in rows for k in r))
        if not rows:
            sheet.write(0, 0, "Nothing to list.")
        for col, key in enumerate(columns):
            sheet.write(0, col, spreadsheet_safe(key), bold)
            sheet.set_column(col, col, max(12, len(key) + 2))
            for line, row in enumerate(rows, start=1):
                value = row.get(key)
                unit = units_by_column.get(key) or (units_by_row[line - 1] if line - 1 < len(units_by_row) else None)
                if isinstance(value, int | float) and not isinstance(value, bool) and unit in formats:
                    sheet.write_number(line, col, value, formats[unit])
                else:
                    sheet.write(line, col, "" if value is None else spreadsheet_safe(value))
    book.close()
    return out.getvalue()
