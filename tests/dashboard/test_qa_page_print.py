"""QA on a Page: `kpidash qa-page` from the published warehouse, as HTML and as a one-page A4 PDF (read back
with pypdf), the same page from the dashboard's download, and clear errors when it cannot be made."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from cli.main import app
from core.settings import get_settings
from dashboard.print_pdf import PdfUnavailable, find_chromium, html_to_pdf

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium to print PDFs (apt-get install chromium)")
A4 = (595, 842)  # points, as Chromium rounds them


@pytest.fixture
def published(sample_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KPIDASH_DB", str(sample_warehouse))
    get_settings.cache_clear()
    return sample_warehouse


def _pdf_text(data: bytes) -> tuple[int, str, tuple[int, int]]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    box = reader.pages[0].mediabox
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages), (round(box.width), round(box.height))


def test_qa_page_html_for_a_team(published: Path, tmp_path: Path) -> None:
    from kpis import compute_kpis, open_warehouse

    out = tmp_path / "qa.html"
    result = CliRunner().invoke(app, ["qa-page", "--month", "2025-10", "--level", "team", "--unit", "T01",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "QA on a Page:" in html and "(T01), October 2025" in html and "<script" not in html
    with open_warehouse(published) as wh:
        import datetime as dt

        rows = {r["kpi"]: r for r in compute_kpis(wh, dt.date(2025, 10, 1), dt.date(2025, 10, 31), "team", "T01")}
    assert f"<th scope=\"row\">Audits completed</th><td class=\"num\">{rows['audits_completed']['value']}</td>" in html
    assert "Three strongest domains" in html and "Cross-reference to the performance indicators" in html


@needs_chromium
@pytest.mark.parametrize("level, unit", [("trust", None), ("service", "Care Management"), ("team", "T05")])
def test_qa_page_pdf_is_one_a4_page(published: Path, tmp_path: Path, level: str, unit: str | None) -> None:
    out = tmp_path / "qa.pdf"
    args = ["qa-page", "--month", "2025-10", "--level", level, "--out", str(out)] + (["--unit", unit] if unit else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    pages, text, size = _pdf_text(out.read_bytes())
    assert pages == 1 and size == A4
    assert "QA on a Page" in text and "October 2025" in text
    always = ("Audits done against due", "Grade mix before and after moderation",
              "Cross-reference to the performance indicators")
    busy = ("Three weakest domains", "Overdue actions by owner") if level != "team" else ()  # a team may have none
    for words in always + busy:
        assert words in " ".join(text.split()), words


def test_qa_page_refuses_what_it_cannot_do(published: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad_month = runner.invoke(app, ["qa-page", "--month", "2025-13", "--out", str(tmp_path / "a.html")])
    assert bad_month.exit_code == 2 and "YYYY-MM" in bad_month.output
    worker = runner.invoke(app, ["qa-page", "--month", "2025-10", "--level", "worker", "--unit", "W0001",
                                 "--out", str(tmp_path / "a.html")])
    assert worker.exit_code == 1 and "trust, a service or a team" in worker.output
    bad_out = runner.invoke(app, ["qa-page", "--month", "2025-10", "--out", str(tmp_path / "a.docx")])
    assert bad_out.exit_code == 2 and ".html or .pdf" in bad_out.output
    assert not list(tmp_path.iterdir())


def test_no_renderer_is_a_clear_error(published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIDASH_CHROMIUM", str(tmp_path / "no-such-chromium"))
    get_settings.cache_clear()
    assert find_chromium() is None
    with pytest.raises(PdfUnavailable, match="No PDF renderer: KPIDASH_CHROMIUM .* is not a program"):
        html_to_pdf("<p>x</p>")
    result = CliRunner().invoke(app, ["qa-page", "--month", "2025-10", "--out", str(tmp_path / "qa.pdf")])
    assert result.exit_code == 1 and "apt-get install chromium" in result.output and ".html" in result.output
    assert not (tmp_path / "qa.pdf").exists()


def test_qa_page_says_no_audits_loaded_without_audits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kpis"))
    from warehouse_builder import build_warehouse

    db = build_warehouse(tmp_path / "wh.duckdb", {}, extracted_at="2025-11-24T06:30:00")
    monkeypatch.setenv("KPIDASH_DB", str(db))
    get_settings.cache_clear()
    out = tmp_path / "qa.html"
    result = CliRunner().invoke(app, ["qa-page", "--month", "2025-10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "No audits loaded" in html and "<td class=\"num\">0</td>" not in html


@needs_chromium
def test_the_dashboard_download_is_the_same_page(live_service) -> None:
    import httpx

    headers = {"Cookie": f"kpidash_session={live_service.tokens['team_manager']}"}  # the dashboard reads the cookie
    query = {"month": "2025-10", "level": "team", "unit": live_service.team}
    html = httpx.get(live_service.url + "/qa-page", params=query, headers=headers, timeout=60)
    assert html.status_code == 200 and f"({live_service.team}), October 2025" in html.text
    pdf = httpx.get(live_service.url + "/qa-page", params={**query, "format": "pdf"}, headers=headers, timeout=120)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert f"kpidash-qa-on-a-page-2025-10-team-{live_service.team}.pdf" in pdf.headers["content-disposition"]
    pages, text, _ = _pdf_text(pdf.content)
    assert pages == 1 and live_service.team in text
    bad = httpx.get(live_service.url + "/qa-page", params={"month": "2025-10", "level": "team", "unit": "NOPE"},
                    headers=headers, timeout=60)
    assert bad.status_code == 422 and "NOPE" in bad.text
