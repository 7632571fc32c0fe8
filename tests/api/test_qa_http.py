"""Quality assurance over HTTP: the QA figures like any KPI (domain rows carry `domain`), their records
scoped and audited, and the QA page, findings and QA on a Page agreeing with the figures."""

from __future__ import annotations

from api import audit

V1 = "/api/v1"
OCT = "from=2025-10-01&to=2025-10-31"


def test_qa_figures_are_kpis_and_domain_rows_carry_the_domain(api) -> None:
    rows = api.client.get(f"{V1}/kpis?level=trust&{OCT}", headers=api.auth("analyst")).json()
    kpis = [r["kpi"] for r in rows]
    assert {"audits_completed", "audits_on_time", "moderation_agreement", "audit_actions_overdue"} <= set(kpis)
    domains = [r for r in rows if r["kpi"] == "domain_good_or_better"]
    assert domains and all(list(r) == ["kpi", "level", "unit", "domain", "numerator", "denominator", "value"]
                           for r in domains)
    assert all(len(r) == 6 for r in rows if r["kpi"] != "domain_good_or_better")


def test_domain_records_count_to_their_figure_and_are_audited(api) -> None:
    row = next(r for r in api.client.get(f"{V1}/kpis?level=team&unit={api.team}&kpi=domain_good_or_better&{OCT}",
                                         headers=api.auth("analyst")).json() if r["denominator"])
    page = api.client.get(f"{V1}/kpis/domain_good_or_better/records?unit={api.team}&domain={row['domain']}"
                          f"&page_size=1000&{OCT}", headers=api.auth("team_manager")).json()
    assert page["total"] == row["denominator"]
    assert sum(r["counted_in"] == "numerator" for r in page["records"]) == row["numerator"]
    assert {r["domain"] for r in page["records"]} == {row["domain"]}
    trail = audit.entries(api.engine, limit=1, event="records")[0]
    assert (trail.username, trail.kpi, trail.outcome) == ("test_team_manager", "domain_good_or_better", "ok")
    assert f"domain={row['domain']}" in trail.detail
    refused = api.client.get(f"{V1}/kpis/audits_overdue/records?unit={api.other_team}&{OCT}",
                             headers=api.auth("team_manager"))
    assert refused.status_code == 403


def test_records_of_any_kpi_show_the_childs_latest_audit_grade(api) -> None:
    page = api.client.get(f"{V1}/kpis/open_cases/records?unit={api.team}&page_size=1000",
                          headers=api.auth("analyst")).json()
    graded = [r for r in page["records"] if r["latest_audit_grade"]]
    assert graded and all(r["latest_audit_grade"] in ("outstanding", "good", "requires_improvement", "inadequate")
                          for r in graded)


def test_summary_agrees_with_the_figures(api) -> None:
    summary = api.client.get(f"{V1}/qa/summary?level=team&unit={api.team}&{OCT}", headers=api.auth("analyst")).json()
    figures = {r["kpi"]: r for r in api.client.get(f"{V1}/kpis?level=team&unit={api.team}&{OCT}",
                                                   headers=api.auth("analyst")).json()}
    shown = {r["kpi"]: r["value"] for r in summary["figures"]}
    assert shown["audits_completed"] == figures["audits_completed"]["value"]
    assert sum(summary["grades"]["auditor"].values()) == sum(summary["grades"]["final"].values()) == \
        figures["audits_completed"]["value"]
    good = summary["grades"]["final"]["outstanding"] + summary["grades"]["final"]["good"]
    assert good == figures["audits_good_or_better"]["numerator"]
    assert summary["actions"]["overdue"] == figures["audit_actions_overdue"]["value"]
    assert summary["note"] is None and summary["loaded"] == {"audits": True, "audit_domains": True,
                                                             "audit_actions": True}


def test_findings_and_qa_on_a_page(api) -> None:
    findings = api.client.get(f"{V1}/qa/findings?{OCT}", headers=api.auth("executive")).json()
    assert findings["kpi_domains"]["assessments_within_45wd"] == ["assessment"]
    assert findings["kpi_domains"]["allocation_rate"] == ["planning", "management_oversight"]
    domain_rows = {r["domain"]: r for r in api.client.get(f"{V1}/kpis?kpi=domain_good_or_better&{OCT}",
                                                          headers=api.auth("executive")).json()}
    assert {d: v["graded"] for d, v in findings["domains"].items()} == {
        d: r["denominator"] for d, r in domain_rows.items()}
    page = api.client.get(f"{V1}/qa/page?month=2025-10&level=service&unit={api.service}",
                          headers=api.auth("executive")).json()
    assert page["title"] == api.service and len(page["strongest"]) == 3
    values = [d["value"] for d in page["strongest"]]
    assert values == sorted(values, reverse=True)
    assert page["linked"] and all(r["domains"] for r in page["linked"])


def test_bad_qa_requests_say_what_to_send(api) -> None:
    bad_month = api.client.get(f"{V1}/qa/page?month=2025-13", headers=api.auth("analyst"))
    assert bad_month.status_code == 422 and "YYYY-MM" in bad_month.json()["detail"]
    for month in ("bad", "2025-1", "2025-100"):  # a dashboard audit: "month ('bad') is too short"
        said = api.client.get(f"{V1}/qa/page?month={month}", headers=api.auth("analyst")).json()["detail"]
        assert said.startswith(f"month ('{month}') is not a month: write it YYYY-MM"), said
    worker_page = api.client.get(f"{V1}/qa/page?month=2025-10&level=worker", headers=api.auth("analyst"))
    assert worker_page.status_code == 422
    bad_domain = api.client.get(f"{V1}/kpis/domain_good_or_better/records?domain=timeliness",
                                headers=api.auth("analyst"))
    assert bad_domain.status_code == 422 and "not an audit domain" in bad_domain.json()["detail"]
    assert api.client.get(f"{V1}/qa/summary").status_code == 401
