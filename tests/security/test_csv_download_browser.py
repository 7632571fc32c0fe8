"""Finding 1 in a real browser: the records dialog's "Download CSV" (and XLSX) gives a file in which no
cell can run as a formula, whatever ids the case system holds, and the download is audited as an export
with the browser's address (given here by a trusted proxy's X-Forwarded-For). The page runs under the
service's Content-Security-Policy with no console error.

On today's main the grid built the CSV in the browser and escaped only quotes: these ids reached the
file raw, and no audit entry was written."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl import load_extract
from tests.chromium import BROWSER_TESTS, browser, sign_in  # noqa: F401  (browser: a fixture)
from tests.etl.extract_builder import build_extract
from tests.etl.load_support import own_settings
from tests.security.conftest import Service, prepare, serve, stop

ATTACKS = ['=HYPERLINK("http://x.example/c","c")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", " =1+1", "\t=1"]
BROWSER_ADDRESS = "198.51.100.23"

pytestmark = BROWSER_TESTS


@pytest.fixture(scope="module")
def formula_trust(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A trust whose unallocated children have formula-like ids, served with 127.0.0.1 as a trusted proxy."""
    folder = tmp_path_factory.mktemp("formulas")
    extract = build_extract(folder / "extract", rows={
        "children": [{"child_id": c} for c in ["C1", *ATTACKS]],
        "episodes": [{"episode_id": "E1", "child_id": "C1"}] + [
            {"episode_id": f"E{i}", "child_id": c} for i, c in enumerate(ATTACKS, start=2)],
    })
    with own_settings(folder / "wh") as db:
        assert load_extract(extract).status == "published"
    svc = prepare(folder / "service", db, KPIDASH_TRUSTED_PROXIES="127.0.0.1")
    proc = serve(svc)
    try:
        yield svc
    finally:
        stop(proc)


def test_the_downloaded_csv_and_xlsx_hold_no_live_formula(browser, formula_trust: Service, tmp_path: Path) -> None:
    svc = formula_trust
    context = browser.new_context(accept_downloads=True, extra_http_headers={"X-Forwarded-For": BROWSER_ADDRESS})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, svc.url, svc.users["executive"], timeout=30_000)
        page.click("#tile-unallocated_cases button")
        page.wait_for_selector("#drawer .ag-row", timeout=30_000)
        assert page.inner_text("#drawer-message").startswith(f"{len(ATTACKS)} records")
        before = len(svc.audit(event="export"))
        with page.expect_download(timeout=30_000) as csv_download:
            page.click("#drawer-csv")
        with page.expect_download(timeout=30_000) as xlsx_download:
            page.click("#drawer-xlsx")
        csv_file, xlsx_file = tmp_path / "records.csv", tmp_path / "records.xlsx"
        csv_download.value.save_as(csv_file)
        xlsx_download.value.save_as(xlsx_file)
    finally:
        context.close()

    raw = csv_file.read_bytes()
    lines = io.StringIO(raw.decode("utf-8-sig"), newline="").read().split("\r\n", 4)  # the marking, title, count
    assert lines[0].startswith("OFFICIAL-SENSITIVE") and lines[3] == ""
    rows = list(csv.DictReader(io.StringIO(lines[4], newline="")))
    for row in rows:  # no cell of the file starts like a formula
        for value in row.values():
            assert not value.lstrip().startswith(("=", "+", "-", "@")) and not value.startswith(("\t", "\r")), value
    assert sorted(r["Child"] for r in rows) == sorted("'" + a for a in ATTACKS)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for Excel

    with zipfile.ZipFile(xlsx_file) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode().replace("&quot;", '"')
    assert "<f>" not in sheet
    assert "<t>'=HYPERLINK(\"http://x.example/c\",\"c\")</t>" in strings

    exports = svc.audit(event="export")[before:]
    assert [(e["kpi"], e["detail"], e["record_count"], e["client_address"], e["channel"], e["username"]) for e in exports] == [
        ("unallocated_cases", "format=csv", len(ATTACKS), BROWSER_ADDRESS, "dashboard", svc.users["executive"]),
        ("unallocated_cases", "format=xlsx", len(ATTACKS), BROWSER_ADDRESS, "dashboard", svc.users["executive"])]
    views = svc.audit(event="records", kpi="unallocated_cases")
    assert views and {v["client_address"] for v in views} == {BROWSER_ADDRESS}
    assert not errors, errors  # nothing the Content-Security-Policy blocked, no script error
