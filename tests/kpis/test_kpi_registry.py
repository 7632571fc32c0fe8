"""The registry reads like the specs: kpis.md's 18 KPIs in its order, then qa-audits.md's 8, each counted by
exactly one measure."""

from __future__ import annotations

import pytest

import kpis
from kpis import KPIS, UnknownKpi, get_kpi
from kpis.families import FAMILIES, MEASURES

SPEC_ORDER = [
    "open_cases", "unallocated_cases", "allocation_rate", "average_caseload", "workers_over_caseload_limit",
    "assessments_completed", "assessments_within_45wd", "assessments_overdue", "assessments_due_soon",
    "s47_started", "icpcs_held", "icpc_within_15wd", "s47_open_over_15wd",
    "children_missing_now", "missing_episodes_started", "rhi_offered_within_72h",
    "referrals", "re_referral_rate",
]
QA_ORDER = ["audits_completed", "audits_on_time", "audits_overdue", "audits_good_or_better", "audits_inadequate",
            "moderation_agreement", "audit_actions_overdue", "domain_good_or_better"]


def test_the_eighteen_kpis_of_the_spec_in_its_order() -> None:
    assert [k.id for k in KPIS] == SPEC_ORDER + QA_ORDER


def test_every_kpi_has_one_measure_in_its_family() -> None:
    assert set(MEASURES) == set(SPEC_ORDER + QA_ORDER)
    for family in FAMILIES:
        assert {m.kpi_id for m in family.measures} == {k.id for k in KPIS if k.family == family.name}


def test_worker_rows_only_where_the_spec_names_a_worker() -> None:
    worker = {k.id for k in KPIS if k.worker_level}
    assert worker == {k.id for k in KPIS if k.family in ("referrals", "assessments", "s47")} | {"average_caseload"} | set(
        QA_ORDER)


def test_kinds_units_and_polarity_follow_the_spec() -> None:
    assert {k.id for k in KPIS if k.measure == "rate"} == {
        "allocation_rate", "assessments_within_45wd", "icpc_within_15wd", "rhi_offered_within_72h", "re_referral_rate",
        "audits_on_time", "audits_good_or_better", "moderation_agreement", "domain_good_or_better"}
    assert all(k.unit_of_measure == "%" for k in KPIS if k.measure == "rate")
    assert get_kpi("average_caseload").measure == "ratio"
    assert {k.id for k in KPIS if k.kind == "stock"} == {
        "open_cases", "unallocated_cases", "allocation_rate", "average_caseload", "workers_over_caseload_limit",
        "assessments_overdue", "assessments_due_soon", "s47_open_over_15wd", "children_missing_now",
        "audits_overdue", "audit_actions_overdue"}
    assert {k.id for k in KPIS if k.polarity is None} == {
        "open_cases", "assessments_completed", "s47_started", "icpcs_held", "missing_episodes_started", "referrals",
        "audits_completed"}
    assert get_kpi("re_referral_rate").polarity == "lower"
    assert {k.id: k.national_comparator for k in KPIS if k.national_comparator is not None} == {
        "average_caseload": 15.4, "assessments_within_45wd": 85.7, "icpc_within_15wd": 81.4, "re_referral_rate": 22.6}
    assert all(k.description and len(k.description) < 120 and "\n" not in k.description for k in KPIS)


def test_unknown_kpi_lists_the_known_ones() -> None:
    with pytest.raises(UnknownKpi, match='"caseload" is not a KPI; known KPIs: open_cases, '):
        get_kpi("caseload")


def test_public_surface_is_what_was_agreed() -> None:
    assert sorted(kpis.__all__) == sorted([
        "KPIS", "Kpi", "get_kpi", "Warehouse", "open_warehouse", "compute_kpis", "kpi_records", "kpi_trend", "kpi_spc",
        "KpiConfig", "load_kpi_config", "with_targets", "rag_status", "KpiError", "UnknownKpi", "UnknownUnit",
        "InvalidPeriod", "answered_from_cube"])
    assert all(hasattr(kpis, name) for name in kpis.__all__)
