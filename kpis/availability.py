"""Which KPIs a source can support: a figure the source cannot give is "not available", never 0.

An Ofsted Annex A workbook (extract_meta.source_system = "annex_a") lists children, not a case
history: it has no missing-episode times, no worker FTE or allocation history, no date a section 47
enquiry ended and only six months of referrals. The Standard Safeguarding Dataset (source_system
"ssd") says whether a return home interview was offered, not when. A KPI that needs any of these would
be computed from empty or partial tables and show a wrong number, so callers mark it unavailable instead.
"""

from __future__ import annotations

from collections.abc import Iterable


NOT_AVAILABLE = "not available from this source"

_ANNEX_A_CASELOAD = "Annex A has no worker FTE or allocation history, and care leavers have no episode dates"
SOURCE_GAPS: dict[str, dict[str, str]] = {
    "annex_a": {
        "open_cases": _ANNEX_A_CASELOAD,
        "unallocated_cases": _ANNEX_A_CASELOAD,
        "allocation_rate": _ANNEX_A_CASELOAD,
        "average_caseload": _ANNEX_A_CASELOAD,
        "workers_over_caseload_limit": _ANNEX_A_CASELOAD,
        "s47_open_over_15wd": "Annex A List 5 has no date the section 47 enquiry ended",
        "children_missing_now": "Annex A List 8 counts missing episodes but gives no times",
        "missing_episodes_started": "Annex A List 8 counts missing episodes but gives no times",
        "rhi_offered_within_72h": "Annex A List 8 gives no return interview times",
        "re_referral_rate": "Annex A List 3 holds six months of referrals, not the twelve months before each",
    },
    "ssd": {
        "rhi_offered_within_72h": "the SSD records whether a return home interview was offered, not when",
    },
}


def unavailable_kpis(source_system: str | None) -> dict[str, str]:
    """KPI id -> why the source cannot support it (empty for a full case-management extract)."""
    return dict(SOURCE_GAPS.get((source_system or "").lower(), {}))


def apply_availability(rows: list[dict], source_system: str | None) -> list[dict]:
    """Rows as they are for a full extract; for a source with gaps, marked by mark_unavailable."""
    return mark_unavailable(rows, source_system) if unavailable_kpis(source_system) else rows


def mark_unavailable(rows: Iterable[dict], source_system: str | None) -> list[dict]:
    """KPI rows with an unavailable KPI's numerator, denominator and value null, `available` false and
    the `note`; every other row as it was, with exactly the spec's keys (kpis.md: "exactly these keys")."""
    gaps = unavailable_kpis(source_system)
    return [{**row, "numerator": None, "denominator": None, "value": None, "available": False, "note": NOT_AVAILABLE}
            if row["kpi"] in gaps else row for row in rows]
