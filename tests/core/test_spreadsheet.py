"""Formula injection: every file a person can download is made spreadsheet-safe by one rule
(core/spreadsheet.py): the API's CSV and XLSX, the team packs, the Annex A workbook and `kpidash
rejects --format csv`. The dashboard's download is the API's file (tests/security/test_csv_download_browser.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from core.spreadsheet import csv_bytes, looks_like_formula, spreadsheet_safe
from kpis.xlsx import xlsx_bytes
from tests.etl.extract_builder import build_extract

# What the security review typed into the case system, and the other ways OWASP lists.
ATTACKS = ['=HYPERLINK("http://x.example/c","c")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\t=1", "\r=1",
           "  =1+1", " \t@SUM(1)", "\n=1"]


@pytest.mark.parametrize("text", ATTACKS)
def test_formula_like_text_gets_an_apostrophe(text: str) -> None:
    assert looks_like_formula(text)
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["C0042", "W 7", "", "a=b", "x-1", 12, -3, 1.5, None])
def test_everything_else_is_left_alone(value: object) -> None:
    assert spreadsheet_safe(value) == value


def test_the_csv_has_no_cell_a_spreadsheet_would_run() -> None:
    rows = list(csv.reader(io.StringIO(csv_bytes([{"child_id": a, "n": 1} for a in ATTACKS]).decode("utf-8-sig"))))
    assert rows[0] == ["child_id", "n"]
    assert [r[0] for r in rows[1:]] == ["'" + a for a in ATTACKS]
    assert all(r[1] == "1" for r in rows[1:])


def _sheet_xml(data: bytes) -> tuple[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        strings = z.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in z.namelist() else ""
    return sheets, strings


def test_the_xlsx_writes_formula_like_text_as_inert_text() -> None:
    sheets, strings = _sheet_xml(xlsx_bytes({"Records": [{"child_id": a, "worker_id": a} for a in ATTACKS]}))
    assert "<f>" not in sheets  # never a formula
    texts = re.findall(r"<t(?: [^>]*)?>(.*?)</t>", strings, flags=re.S)
    unescaped = [t.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
                 .replace("_x000D_", "\r") for t in texts]
    for a in ATTACKS:
        assert "'" + a in unescaped, a
        assert a not in unescaped, a


def test_the_annex_a_workbook_writes_formula_like_ids_as_inert_text(tmp_path: Path) -> None:
    """Today's main wrote `=HYPERLINK(...)` in Annex A as a live formula (xlsxwriter's default)."""
    from etl import load_extract
    from etl.annex_a.export import export_annex_a

    evil = '=HYPERLINK("http://x.example/c","c")'
    folder = build_extract(tmp_path / "x", rows={
        "children": [{"child_id": evil}], "referrals": [{"child_id": evil}], "assessments": [{"child_id": evil}],
        "s47_enquiries": [{"child_id": evil}], "episodes": [{"child_id": evil}], "allocations": [{"child_id": evil}],
        "missing_episodes": [{"child_id": evil}]})
    assert load_extract(folder).status == "published"

    out = tmp_path / "annex.xlsx"
    result = export_annex_a(get_settings().db, dt.date(2025, 11, 23), out)
    assert sum(result.rows.values()) > 0
    sheets, strings = _sheet_xml(out.read_bytes())
    assert "<f>" not in sheets
    written = (sheets + strings).replace("&quot;", '"')  # inline (constant_memory) or shared strings
    assert "<t>'=HYPERLINK(\"http://x.example/c\",\"c\")</t>" in written


def test_kpidash_rejects_csv_is_spreadsheet_safe(tmp_path: Path) -> None:
    from cli.main import app
    from etl import load_extract

    folder = build_extract(tmp_path / "x", add={"referrals": [{"referral_id": "=1+2", "nfa": "@SUM(1)"}]})
    run = load_extract(folder)
    result = CliRunner().invoke(app, ["rejects", run.run_id, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["value"] for r in rows if r["column"] == "nfa"] == ["'@SUM(1)"]
