"""The book's "last 12 months" table as a plain function, on hand-made trend rows: what a month with no
figure says, a KPI the source cannot supply, and the month the figures stop in."""

from __future__ import annotations

from typing import Any

from dashboard.book import months_table

RATE = {"id": "icpc_within_15wd", "title": "ICPCs within 15 working days", "unit_of_measure": "%", "target": 90.0,
        "tolerance": 5.0}
COUNT = {"id": "referrals", "title": "Referrals", "unit_of_measure": "count", "target": None}


def _row(month: str, numerator: int | None, denominator: int | None, value: float | None, rag: str | None,
         end: str | None = None, **extra: Any) -> dict[str, Any]:
    last = {"2025-09": "30", "2025-10": "31", "2025-02": "28"}[month]
    return {"kpi": "icpc_within_15wd", "level": "trust", "unit": "trust", "period_start": f"{month}-01",
            "period_end": end or f"{month}-{last}", "numerator": numerator, "denominator": denominator,
            "value": value, "rag": rag, **extra}


def _cells(html: str) -> list[str]:
    return [row.split("</tr>")[0] for row in html.split("<tbody>")[1].split("<tr>")[1:]]


def test_a_month_with_no_cases_is_not_rated_when_the_kpi_has_a_target() -> None:
    """The header says "Target 90.0%": a month with no denominator reads "Not rated", never "No target"."""
    html = months_table(RATE, [_row("2025-09", 9, 10, 90.0, "green"), _row("2025-10", 0, 0, None, None)])
    empty = _cells(html)[1]
    assert "no cases" in empty and "Not rated" in empty and "No target" not in html
    # a KPI with no target still says so
    assert "No target" in months_table(COUNT, [_row("2025-09", 4, None, 4, None)])


def test_a_kpi_the_source_cannot_supply_says_so_in_every_month() -> None:
    """An SSD load has no RHI offer times: each month reads "not available from this source", never "no cases"."""
    rows = [_row(m, None, None, None, None, available=False, note="not available from this source")
            for m in ("2025-09", "2025-10")]
    html = months_table(RATE, rows)
    assert all("not available from this source" in cells for cells in _cells(html))
    assert "no cases" not in html


def test_the_month_the_figures_stop_in_is_marked_as_partial() -> None:
    """--month 2025-10 from an extract of 1 October: the October row covers one day, so it says so, with the
    chart's words ("so far"); full months are their month alone."""
    html = months_table(RATE, [_row("2025-09", 9, 10, 90.0, "green"), _row("2025-10", 1, 1, 100.0, "green",
                                                                             end="2025-10-01")])
    september, october = _cells(html)
    assert '<th scope="row">2025-09</th>' in september
    assert '<th scope="row">2025-10 so far (to 1 Oct 2025)</th>' in october
    # a full February ends on the 28th, not partial
    assert '<th scope="row">2025-02</th>' in months_table(RATE, [_row("2025-02", 1, 1, 100.0, "green")])
