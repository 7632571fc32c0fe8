"""Workbooks from lists of rows: shared by the API's downloads (records, team pack) and the
scheduler's weekly packs, so every XLSX kpidash hands out is written the same (safe) way."""

from __future__ import annotations

import io
import re
from typing import Any

import xlsxwriter

from core.spreadsheet import spreadsheet_safe


def xlsx_bytes(sheets: dict[str, list[dict[str, Any]]]) -> bytes:
    """One worksheet per named list of rows; text is always written as text (never a formula or a link)
    and formula-like text gets core.spreadsheet's apostrophe, as in every CSV kpidash writes, so a name
    typed as `=HYPERLINK(...)` in the case system cannot run in a manager's spreadsheet, even after it
    is saved again as CSV."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(re.sub(r"[\[\]:*?/\\]", " ", name)[:31])
        columns = list(dict.fromkeys(k for r in rows for k in r))
        if not rows:
            sheet.write(0, 0, "Nothing to list.")
        for col, key in enumerate(columns):
            sheet.write(0, col, spreadsheet_safe(key), bold)
            sheet.set_column(col, col, max(12, len(key) + 2))
            for line, row in enumerate(rows, start=1):
                value = row.get(key)
                sheet.write(line, col, "" if value is None else spreadsheet_safe(value))
    book.close()
    return out.getvalue()
