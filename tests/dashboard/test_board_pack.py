"""The book as the board pack: cover, analysis, actions with their status, changes since the last board;
its PDF (A4, page numbers, read back with pypdf); and published packs frozen: a reload of the warehouse
with other figures and an edit of the analysis leave a published pack exactly as it was."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import time
from pathlib import Path

import duckdb
import httpx
import pypdf
import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.dashboard.conftest import LiveService, serve_sample
from tests.dashboard.test_qa_page_print import needs_chromium

KPI = "assessments_within_45wd"
MONTH = "2025-10"


def _call(live: LiveService, method: str, path: str, role: str = "analyst", **kwargs) -> httpx.Response:
    return httpx.request(method, live.url + path, headers={"Authorization": f"Bearer {live.tokens[role]}"},
                         timeout=60, **kwargs)


def _write_analysis(live: LiveService, text: str, role: str = "analyst", kpi: str = KPI) -> dict:
    path = f"/api/v1/analysis/{kpi}/trust/trust/{MONTH}"
    current = _call(live, "GET", path, role).json()
    answer = _call(live, "PUT", path, role, json={"text": text, "base_version": current["version"]})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _agree(live: LiveService, what: str, due: str, role: str = "executive") -> dict:
    body = {"kpi": KPI, "level": "trust", "unit": "trust", "period": MONTH, "what": what,
            "owner_name": "Director of Children's Services (fictional)", "due_date": due, "origin": "board"}
    answer = _call(live, "POST", "/api/v1/actions", role, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _book(live: LiveService, out: Path, *extra: str, role: str = "analyst"):  # noqa: ANN202
    return CliRunner().invoke(app, ["book", "--month", MONTH, "--out", str(out), "--token", live.tokens[role],
                                    "--api-url", live.url, *extra])


def _pdf(data: bytes) -> tuple[int, list[str], tuple[int, int]]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    box = reader.pages[0].mediabox
    return len(reader.pages), [p.extract_text() for p in reader.pages], (round(box.width), round(box.height))


@pytest.fixture(scope="module")
def board_service(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory):
    """A service of its own: these tests publish packs and reload its warehouse."""
    yield from serve_sample(sample_warehouse, tmp_path_factory.mktemp("board") / "data")


def test_the_book_shows_the_analysis_and_actions_with_their_status(board_service: LiveService, tmp_path: Path) -> None:
    _write_analysis(board_service, "Timeliness **fell** in October.\n\n- agency cover agreed\n- <script>x</script>")
    _write_analysis(board_service, "Planning was the weakest domain.", kpi="domain_good_or_better")
    late = _agree(board_service, "Weekly review of assessments past day 35", "2025-11-01")
    out = tmp_path / "book.html"
    result = _book(board_service, out)
    assert result.exit_code == 0, result.output
    html = out.read_text()
    cover = html.split("</header>")[0]
    assert "Performance book: October 2025" in cover and "Freshness" in cover and "Extract" in cover
    assert "Overdue actions" in cover and "Weekly review of assessments past day 35" in cover
    section = html.split(f'<section id="{KPI}">')[1].split("</section>")[0]
    assert "Timeliness <strong>fell</strong> in October." in section
    assert "<li>agency cover agreed</li>" in section and "&lt;script&gt;" in section and "<script" not in html
    assert f"<td>{late['id']}</td>" in section and "Open, OVERDUE" in section
    assert "No earlier board pack was published" in section
    assert "national comparator 85.7%: England 2024-25, DfE Children in need statistics" in section  # source and year
    referrals = html.split('<section id="referrals">')[1].split("</section>")[0]
    assert "no national comparator recorded" in referrals
    # the audit domains' KPI (a table, not a chart) has its analysis and actions too: a board audit found none
    domains = html.split('<section id="domain_good_or_better">')[1].split("</section>")[0]
    assert "Planning was the weakest domain." in domains and "No actions agreed for this KPI." in domains


@needs_chromium
def test_the_pack_pdf_is_a4_with_page_numbers_and_the_text(board_service: LiveService, tmp_path: Path) -> None:
    out = tmp_path / "pack.pdf"
    result = _book(board_service, out)
    assert result.exit_code == 0, result.output
    pages, texts, size = _pdf(out.read_bytes())
    charted = [d for d in _call(board_service, "GET", "/api/v1/definitions").json() if not d.get("keyed_by")]
    assert size == (595, 842)
    assert pages >= len(charted) + 1  # the cover, then each KPI from a new page
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {pages}" in text
    whole = " ".join(" ".join(texts).split())  # lines wrap in table cells
    assert "Performance book: October 2025" in texts[0]
    assert "Timeliness fell in October." in whole and "Weekly review of assessments past day 35" in whole
    assert "OVERDUE" in whole  # lateness in words, readable in black and white


def _reload_with_other_figures(live: LiveService) -> str:
    """Publish a changed copy of the warehouse (half October's assessments gone, a new run id, no cube) and wait
    until the service serves it."""
    db = Path(live.env["KPIDASH_DB"])
    copy = db.with_name("reloaded.duckdb")
    shutil.copy(db, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("DELETE FROM assessments WHERE start_date >= DATE '2025-09-01' AND hash(assessment_id) % 2 = 0")
        con.execute("UPDATE extract_meta SET run_id = 'reloaded-for-the-test'")
        con.execute("DROP TABLE IF EXISTS kpi_cube_meta")  # the daily cube held the old figures: count from the facts
    os.replace(copy, db)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = _call(live, "GET", "/api/v1/status").json()["warehouse"]["run_id"]
        if run == "reloaded-for-the-test":
            return run
        time.sleep(0.3)
    raise AssertionError("the service did not pick up the reloaded warehouse")


@needs_chromium
def test_a_published_pack_is_frozen_through_a_reload_and_an_edit(board_service: LiveService, tmp_path: Path) -> None:
    _write_analysis(board_service, "As the board read it.")
    action = _agree(board_service, "Recruit two permanent social workers", "2026-03-31")
    # only executives, analysts and admins publish
    refused = _book(board_service, tmp_path / "tm.html", "--publish", "2025-11-20", role="team_manager")
    assert refused.exit_code == 1 and "published by executives, analysts and admins" in refused.output
    result = _book(board_service, tmp_path / "pack.html", "--publish", "2025-11-20")
    assert result.exit_code == 0, result.output
    listed = _call(board_service, "GET", "/api/v1/packs", "board").json()
    pack = next(p for p in listed if p["board_date"] == "2025-11-20")
    files = {kind: _call(board_service, "GET", f"/api/v1/packs/{pack['id']}/pack.{kind}", "board").content
             for kind in ("html", "pdf")}
    snapshot = _call(board_service, "GET", f"/api/v1/packs/{pack['id']}/snapshot", "board").json()
    assert "As the board read it." in files["html"].decode() and files["pdf"].startswith(b"%PDF-")
    assert snapshot["analysis"][KPI]["text"] == "As the board read it."
    october = next(r for r in snapshot["trends"][KPI] if r["period_start"] == "2025-10-01")

    # the warehouse is reloaded with other figures, the analysis is edited, the action is closed
    _reload_with_other_figures(board_service)
    _write_analysis(board_service, "Rewritten after the board.")
    closed = _call(board_service, "PATCH", f"/api/v1/actions/{action['id']}", "executive",
                   json={"status": "done", "status_note": "Both started", "base_version": action["version"]})
    assert closed.status_code == 200, closed.text
    now = _call(board_service, "GET", f"/api/v1/kpis/{KPI}/trend", params={"to": "2025-10-31"}).json()[-1]
    assert now["denominator"] != october["denominator"]  # the figures really changed

    again = {kind: _call(board_service, "GET", f"/api/v1/packs/{pack['id']}/pack.{kind}", "board").content
             for kind in ("html", "pdf")}
    assert again == files
    assert _call(board_service, "GET", f"/api/v1/packs/{pack['id']}/snapshot", "board").json() == snapshot
    assert pack in _call(board_service, "GET", "/api/v1/packs", "board").json()
    # a second pack for the same board is refused; the next board's pack says what changed since
    assert _book(board_service, tmp_path / "again.html", "--publish", "2025-11-20").exit_code == 1
    later = tmp_path / "later.html"
    assert _book(board_service, later).exit_code == 0
    section = later.read_text().split(f'<section id="{KPI}">')[1].split("</section>")[0]
    assert "Since the board of 2025-11-20:" in section and f"No. {action['id']} done" in section
    assert "Rewritten after the board." in section


def test_publishing_refuses_a_pack_drawn_from_figures_since_replaced(board_service: LiveService) -> None:
    body = {"board_date": "2030-01-01", "month": MONTH, "run_id": "not-the-current-run", "snapshot": {},
            "html": "<p>x</p>"}
    answer = _call(board_service, "POST", "/api/v1/packs", json=body)
    assert answer.status_code == 409 and "draw the pack again" in answer.json()["detail"]
    assert _call(board_service, "POST", "/api/v1/packs", "board", json=body).status_code == 403
    assert _call(board_service, "GET", "/api/v1/packs/99999/pack.pdf", "board").status_code == 404
    assert dt.date.fromisoformat(body["board_date"])


def test_publishing_refuses_a_snapshot_that_is_not_the_packs(board_service: LiveService) -> None:
    """A board audit stored as this load's pack a snapshot drawn from an earlier load, and one of junk: the
    snapshot must say it was drawn from this run, month and board date."""
    run_id = _call(board_service, "GET", "/api/v1/status").json()["warehouse"]["run_id"]
    body = {"board_date": "2031-02-03", "month": MONTH, "run_id": run_id, "html": "<p>x</p>",
            "snapshot": {"run_id": "20250101T000000-dead", "month": MONTH, "board_date": "2031-02-03"}}
    old = _call(board_service, "POST", "/api/v1/packs", json=body)
    assert old.status_code == 422 and "its run_id '20250101T000000-dead'" in old.json()["detail"]
    junk = _call(board_service, "POST", "/api/v1/packs", json={**body, "snapshot": {"x": 1}})
    assert junk.status_code == 422 and "its month None" in junk.json()["detail"]
    far = {**body, "board_date": "2100-01-01", "snapshot": {"run_id": run_id, "month": MONTH, "board_date": "2100-01-01"}}
    refused = _call(board_service, "POST", "/api/v1/packs", json=far)
    assert refused.status_code == 422 and "outside the dates" in refused.json()["detail"]
    assert "2031-02-03" not in [p["board_date"] for p in _call(board_service, "GET", "/api/v1/packs").json()]
