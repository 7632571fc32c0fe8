"""The KPI registry: what each KPI of ../shared/spec/kpis.md is, in the spec's order.

One declaration read by the engine (kind, measure, levels), the API and dashboard (titles, units,
polarity, national comparators) and the docs test (docs/kpis.md lists the same ids). How a KPI is
counted lives beside its family's SQL in kpis/families.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kpis.errors import UnknownKpi

Kind = Literal["flow", "stock"]
Measure = Literal["count", "rate", "ratio"]
UnitOfMeasure = Literal["count", "%", "cases per FTE"]
Polarity = Literal["higher", "lower"]


@dataclass(frozen=True)
class Kpi:
    """One KPI: its identity and how to read it; the numbers come from kpis/families.py."""

    id: str
    title: str
    description: str
    kind: Kind
    measure: Measure
    unit_of_measure: UnitOfMeasure
    polarity: Polarity | None
    family: str
    worker_level: bool
    record_type: str
    national_comparator: float | None = None
    comparator_note: str | None = None


_CIN_2025 = "England 2024-25, DfE Children in need statistics"

KPIS: tuple[Kpi, ...] = (
    # Caseload allocation (stock, at the as-at date)
    Kpi("open_cases", "Open cases", "Children's cases open on the as-at date.",
        "stock", "count", "count", None, "caseload", False, "episode"),
    Kpi("unallocated_cases", "Unallocated cases",
        "Open cases whose child has no current worker on the as-at date.",
        "stock", "count", "count", "lower", "caseload", False, "episode"),
    Kpi("allocation_rate", "Cases allocated", "Share of open cases whose child has a current worker.",
        "stock", "rate", "%", "higher", "caseload", False, "episode"),
    Kpi("average_caseload", "Average caseload",
        "Children held per full-time-equivalent case-holding worker on the as-at date.",
        "stock", "ratio", "cases per FTE", "lower", "caseload", True, "allocation",
        15.4, "England, September 2024, DfE Children's social work workforce"),
    Kpi("workers_over_caseload_limit", "Workers over the caseload limit",
        "Case-holding workers holding more children per FTE than the agreed limit.",
        "stock", "count", "count", "lower", "caseload", False, "worker"),
    # Single assessments
    Kpi("assessments_completed", "Assessments completed",
        "Single assessments authorised in the period.",
        "flow", "count", "count", None, "assessments", True, "assessment"),
    Kpi("assessments_within_45wd", "Assessments within 45 working days",
        "Share of assessments authorised in the period that took 45 working days or fewer.",
        "flow", "rate", "%", "higher", "assessments", True, "assessment", 85.7, _CIN_2025),
    Kpi("assessments_overdue", "Assessments overdue",
        "Assessments still open on the as-at date after more than 45 working days.",
        "stock", "count", "count", "lower", "assessments", True, "assessment"),
    Kpi("assessments_due_soon", "Assessments due soon",
        "Assessments open on the as-at date that reach 45 working days within the next 5.",
        "stock", "count", "count", "lower", "assessments", True, "assessment"),
    # Section 47 enquiries
    Kpi("s47_started", "Section 47 enquiries started",
        "Child protection enquiries started (strategy discussion held) in the period.",
        "flow", "count", "count", None, "s47", True, "s47_enquiry"),
    Kpi("icpcs_held", "Initial child protection conferences",
        "Initial child protection conferences held in the period.",
        "flow", "count", "count", None, "s47", True, "s47_enquiry"),
    Kpi("icpc_within_15wd", "Conferences within 15 working days",
        "Share of conferences held within 15 working days of the strategy discussion.",
        "flow", "rate", "%", "higher", "s47", True, "s47_enquiry", 81.4, _CIN_2025),
    Kpi("s47_open_over_15wd", "Enquiries open over 15 working days",
        "Enquiries still open without a conference more than 15 working days after they began.",
        "stock", "count", "count", "lower", "s47", True, "s47_enquiry"),
    # Children missing
    Kpi("children_missing_now", "Children missing now",
        "Children recorded as missing at the end of the as-at date.",
        "stock", "count", "count", "lower", "missing", False, "missing_episode"),
    Kpi("missing_episodes_started", "Missing episodes",
        "Times children went missing in the period.",
        "flow", "count", "count", None, "missing", False, "missing_episode"),
    Kpi("rhi_offered_within_72h", "Return interviews offered within 72 hours",
        "Share of returns in the period where a return home interview was offered within 72 hours.",
        "flow", "rate", "%", "higher", "missing", False, "missing_episode"),
    # Referrals
    Kpi("referrals", "Referrals", "Referrals accepted in the period.",
        "flow", "count", "count", None, "referrals", True, "referral"),
    Kpi("re_referral_rate", "Re-referrals within 12 months",
        "Share of referrals in the period for a child already referred in the previous 12 months.",
        "flow", "rate", "%", "lower", "referrals", True, "referral", 22.6, _CIN_2025),
    # Quality assurance: case-file audits, their moderation and actions (../shared/spec/qa-audits.md)
    Kpi("audits_completed", "Audits completed", "Case-file audits submitted by their auditors in the period.",
        "flow", "count", "count", None, "qa_audits", True, "audit"),
    Kpi("audits_on_time", "Audits completed on time",
        "Share of audits completed in the period on or before their due date.",
        "flow", "rate", "%", "higher", "qa_audits", True, "audit"),
    Kpi("audits_overdue", "Audits overdue",
        "Audits past their due date and not completed at the end of the as-at date.",
        "stock", "count", "count", "lower", "qa_audits", True, "audit"),
    Kpi("audits_good_or_better", "Audits graded good or better",
        "Share of audits completed in the period whose final grade (after moderation) is good or outstanding.",
        "flow", "rate", "%", "higher", "qa_audits", True, "audit"),
    Kpi("audits_inadequate", "Audits graded inadequate",
        "Audits completed in the period whose final grade (after moderation) is inadequate.",
        "flow", "count", "count", "lower", "qa_audits", True, "audit"),
    Kpi("moderation_agreement", "Moderation agreement",
        "Share of audits moderated in the period where the moderator gave the auditor's grade.",
        "flow", "rate", "%", "higher", "qa_audits", True, "audit"),
    Kpi("audit_actions_overdue", "Audit actions overdue",
        "Actions from audits past their due date and not completed at the end of the as-at date.",
        "stock", "count", "count", "lower", "qa_audits", True, "audit_action"),
    Kpi("domain_good_or_better", "Audit domains good or better",
        "For each audit domain, the share of audits completed in the period that graded it good or outstanding.",
        "flow", "rate", "%", "higher", "qa_domains", True, "audit_domain"),
)

KPIS_BY_ID: dict[str, Kpi] = {k.id: k for k in KPIS}


def get_kpi(kpi_id: str) -> Kpi:
    """The registry entry for an id, or an error that lists the ids an analyst can use."""
    try:
        return KPIS_BY_ID[kpi_id]
    except KeyError:
        raise UnknownKpi(f'"{kpi_id}" is not a KPI; known KPIs: {", ".join(KPIS_BY_ID)}') from None
