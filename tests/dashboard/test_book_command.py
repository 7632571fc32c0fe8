"""`kpidash book` against the live service: one section per KPI, the month's figures as the API gives them."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from cli.main import app
from dashboard.components.formatting import format_value


def _book(live_service, out: Path, month: str = "2025-10", token: str | None = None) -> Result:
    """`kpidash book` for `month` from the live service, as its analyst unless another token is given."""
    return CliRunner().invoke(app, ["book", "--month", month, "--out", str(out), "--token",
                                    token or live_service.tokens["analyst"], "--api-url", live_service.url])


def test_book_has_a_section_per_kpi_with_the_api_figures(live_service, tmp_path: Path) -> None:
    out = tmp_path / "book.html"
    result = _book(live_service, out)
    assert result.exit_code == 0, result.output
    html = out.read_text()
    definitions = live_service.get("/api/v1/definitions").json()
    assert html.count("<section id=") == len(definitions)
    october = live_service.get("/api/v1/kpis/allocation_rate/trend", to="2025-10-31").json()[-1]
    assert october["period_start"] == "2025-10-01"
    section = html.split('<section id="allocation_rate">')[1].split("</section>")[0]
    assert f"<th scope=\"row\">2025-10</th><td class=\"num\">{october['numerator']}</td>" in section
    assert format_value(october["value"], "%") in section and "<script" not in html


def test_book_refuses_a_bad_month_and_a_bad_token(live_service, tmp_path: Path) -> None:
    bad_month = _book(live_service, tmp_path / "b.html", month="2025-13")
    assert bad_month.exit_code == 2 and "YYYY-MM" in bad_month.output
    # a month after the extract's says so (a board audit: it said "write it YYYY-MM" of a well-written month)
    extract = live_service.get("/api/v1/status").json()["extract_date"]
    later = f"{int(extract[:4]) + 1}-01"
    after = _book(live_service, tmp_path / "b.html", month=later)
    assert after.exit_code == 2 and f"{later} is after the extract's month ({extract[:7]})" in after.output
    bad_token = _book(live_service, tmp_path / "b.html", token="nope")
    assert bad_token.exit_code == 1 and "sign in" in bad_token.output.lower()
    assert not (tmp_path / "b.html").exists()


def test_book_has_the_summary_grid_and_an_xmr_chart_per_kpi(live_service, tmp_path: Path) -> None:
    out = tmp_path / "book.html"
    result = _book(live_service, out)
    assert result.exit_code == 0, result.output
    html = out.read_text()
    # a KPI keyed by audit domain is the book's domains table, not a chart
    charts = [c for c in live_service.get("/api/v1/spc", to="2025-10-31").json() if "domain" not in c]
    summary = html.split('<table class="spc-grid">')[1].split("</table>")[0]
    assert summary.count("<tr><th scope=\"row\">") == len(charts)
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 230" width="100%" role="img" '
                      'class="xmr"') == len(charts)
    overdue = next(c for c in charts if c["kpi"] == "assessments_overdue")
    section = html.split('<section id="assessments_overdue">')[1].split("</section>")[0]
    words = {"common_cause": "Common cause variation", "special_cause_concern": "Special cause of concern",
             "special_cause_improvement": "Special cause of improvement"}[overdue["variation"]]
    assert words in section and ("Fails the target" if overdue["assurance"] == "fail" else "") in section
    assert overdue["points"][-1]["period_start"] == "2025-10-01"  # October is complete: no partial month drawn
    assert 'class="point partial"' not in html
