"""The one rule for every file a person can download and open in a spreadsheet (CSV or XLSX, from the
API, the dashboard, the CLI or the scheduler): text that a spreadsheet would run as a formula is made
inert. A child or worker id typed in the case system as `=HYPERLINK("http://x.example","c")`,
`+cmd|' /C calc'!A0` or `@SUM(1)` must reach a manager's spreadsheet as text.

OWASP's advice (CSV injection): a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return, also after leading blanks (spreadsheets skip them), gets a leading apostrophe, which every
spreadsheet shows as "this is text". Numbers stay numbers: only text is changed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str) -> bool:
    """True for text a spreadsheet could take as a formula (or a DDE command)."""
    return text.startswith(FORMULA_START) or text.lstrip().startswith(FORMULA_START)


def spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet will show, not run: formula-like text gets a leading apostrophe."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Every cell of a row made spreadsheet-safe."""
    return {k: spreadsheet_safe(v) for k, v in row.items()}


def csv_bytes(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> bytes:
    """Rows as a downloadable CSV: UTF-8 with a BOM (so Excel reads UTF-8), CRLF, every cell safe.

    columns: the header (default: every key of the rows, in first-seen order)."""
    header = list(columns) if columns is not None else list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, header, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(safe_row(r) for r in rows)
    return out.getvalue().encode("utf-8-sig")


def safe_cells(cells: Iterable[Any]) -> list[Any]:
    """A row given as a list of cells, each made spreadsheet-safe."""
    return [spreadsheet_safe(c) for c in cells]
