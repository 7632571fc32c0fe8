"""The QA pieces as plain functions: "no audits loaded" is said, never shown as 0; "What audits found"
reads the mapped domains' grades; links and file names are safe."""

from __future__ import annotations

from dashboard.components import qa_panels
from dashboard.components.qa_html import findings_sentences, page_file_name, qa_page_html
from dashboard.pages.qa import page_link, qa_body

TEAMS = [{"team_id": "T1", "team_name": "Duckpond", "service": "Front Door"}]


def _text(component: object) -> str:
    if isinstance(component, (list, tuple)):
        return " ".join(_text(c) for c in component)
    if isinstance(component, str | int | float):
        return str(component)
    children = getattr(component, "children", None)
    return _text(children) if children is not None else ""


def test_no_audits_loaded_is_said_not_zero() -> None:
    summary = {"from": "2025-10-01", "to": "2025-10-31", "level": "trust", "unit": "trust", "note": "no audits loaded",
               "loaded": {"audits": False, "audit_domains": False, "audit_actions": False}}
    shown = _text(qa_body(summary, True, TEAMS))
    assert "No audits loaded" in shown and " 0 " not in f" {shown} "
    page = qa_page_html({**summary, "month": "2025-10", "title": "the whole trust", "extract_date": "2025-11-24"})
    assert "No audits loaded" in page and "<table" not in page
    assert findings_sentences("allocation_rate", {"note": "no audits loaded"}) == ["No audits loaded."]
    assert "No audit actions loaded" in _text(qa_panels.owners_table(None))


def test_what_audits_found_reads_the_mapped_domains() -> None:
    findings = {"from": "2025-10-01", "to": "2025-10-31", "audits_completed": 3, "note": None,
                "kpi_domains": {"allocation_rate": ["planning", "management_oversight"], "referrals": []},
                "domains": {"planning": {"graded": 4, "good_or_better": 3, "value": 75.0,
                                         "grades": {"outstanding": 1, "good": 2, "requires_improvement": 0,
                                                    "inadequate": 1}}}}
    assert findings_sentences("allocation_rate", findings) == [
        "3 audits completed.", "Planning: 3 of 4 good or better (75%; outstanding 1, good 2, inadequate 1).",
        "Management oversight: not graded in this period."]
    assert findings_sentences("referrals", findings)[-1] == "No audit domain is cross-referenced to this KPI."


def test_links_and_file_names() -> None:
    assert page_link("2025-10", "team", "T 1&x", "pdf") == "/qa-page?month=2025-10&level=team&unit=T+1%26x&format=pdf"
    assert page_link("2025-10", "trust", None, "html") == "/qa-page?month=2025-10&level=trust&format=html"
    assert page_file_name("2025-10", "service", "Care / Management", ".pdf") == \
        "kpidash-qa-on-a-page-2025-10-service-Care_Management.pdf"
    assert qa_panels.charted([{"id": "a"}, {"id": "b", "keyed_by": "domain"}]) == [{"id": "a"}]


def _domain(graded: int, good: int) -> dict:
    return {"graded": graded, "good_or_better": good, "value": 100 * good / graded,
            "grades": {"outstanding": 0, "good": good, "requires_improvement": graded - good, "inadequate": 0}}


def test_audit_percentages_round_half_up_as_every_figure_does() -> None:
    """9 of 16 is 56.25%, 13 of 16 81.25%, 15 of 24 62.5%: shown 56.3%, 81.3% and 63% (half up, as
    kpis.targets.format_figure rounds), never Python's half to even 56.2%, 81.2%, 62%."""
    from dashboard.components.qa_html import domains_section

    findings = {"from": "2024-12-01", "to": "2024-12-31", "audits_completed": 24, "note": None,
                "kpi_domains": {"allocation_rate": ["planning"]},
                "domains": {"voice_of_child": _domain(16, 9), "assessment": _domain(16, 13), "planning": _domain(24, 15)}}
    assert "(63%;" in findings_sentences("allocation_rate", findings)[1]
    book = domains_section({"id": "domain_good_or_better", "title": "Domains", "description": "d"}, findings)
    assert "<td class=\"num\">56.3%</td>" in book and "<td class=\"num\">81.3%</td>" in book
    assert "56.2%" not in book and "81.2%" not in book
    page_domains = [{"domain": "planning", **_domain(24, 15)}]
    page = qa_page_html({"month": "2024-12", "title": "the whole trust", "from": "2024-12-01", "to": "2024-12-31",
                         "extract_date": "2025-10-01", "figures": [], "due": {"due": 0, "done": 0, "done_on_time": 0},
                         "grades": {"auditor": {g: 0 for g in ("outstanding", "good", "requires_improvement",
                                                                "inadequate")},
                                    "final": {g: 0 for g in ("outstanding", "good", "requires_improvement",
                                                              "inadequate")}, "changed_by_moderation": 0},
                         "domains": {"planning": page_domains[0]}, "strongest": page_domains, "weakest": page_domains})
    assert "<td class=\"num\">63%</td>" in page and "62%" not in page
    # each ranked list's caption says how many it holds (here one each), never "Three" over one row
    assert "<caption>The strongest domain</caption>" in page and "<caption>The weakest domain</caption>" in page
    assert "63%" in _text(qa_panels.domains_table({"planning": _domain(24, 15)}, None))


def test_a_linked_kpi_with_a_target_but_no_value_is_not_rated_not_without_a_target() -> None:
    """An SPC and QA audit: "Cases allocated: no cases, target 100.0%" read "– No target" on QA on a Page."""
    grades = {g: 0 for g in ("outstanding", "good", "requires_improvement", "inadequate")}
    linked = {"kpi": "allocation_rate", "title": "Cases allocated", "value": None, "unit_of_measure": "%",
              "target": 100.0, "rag": None, "domains": ["planning"]}
    page = qa_page_html({"month": "2025-10", "title": "Duckpond", "from": "2025-10-01", "to": "2025-10-31",
                         "extract_date": "2025-11-24", "note": None, "figures": [],
                         "due": {"due": 0, "done": 0, "done_on_time": 0}, "actions": None, "domains": None,
                         "grades": {"auditor": grades, "final": grades, "changed_by_moderation": 0},
                         "linked": [linked, {**linked, "title": "Referrals", "target": None}]})
    row, other = page.split("Cases allocated</th>")[1], page.split("Referrals</th>")[1]
    assert "Not rated" in row.split("</tr>")[0] and "No target" not in row.split("</tr>")[0]
    assert "No target" in other.split("</tr>")[0]


def test_a_rate_tile_says_what_its_base_counts() -> None:
    """A dashboard audit: "Audits due 51, 50 done, 44 on time" sat beside "41 of 48" on time with nothing to
    say that one counts by due date and the other by completion date."""
    row = {"kpi": "audits_on_time", "title": "Audits completed on time", "unit_of_measure": "%", "value": 85.4,
           "numerator": 41, "denominator": 48, "target": 90.0, "rag": "amber"}
    shown = _text(qa_panels.figure_tiles([row], False, "trust", "trust"))
    assert "41 of 48 completed in the period" in shown
    due = _text(qa_body({"from": "2025-10-01", "to": "2025-10-31", "level": "trust", "unit": "trust", "note": None,
                         "figures": [row], "due": {"due": 51, "done": 50, "done_on_time": 44},
                         "grades": {"auditor": dict.fromkeys(("outstanding", "good", "requires_improvement",
                                                              "inadequate"), 0),
                                    "final": dict.fromkeys(("outstanding", "good", "requires_improvement",
                                                            "inadequate"), 0), "changed_by_moderation": 0},
                         "actions": None,
                         "domains": None, "by_unit": []}, False, TEAMS))
    assert "Of these: 50 done by the period's end, 44 on time (counted by due date" in due
