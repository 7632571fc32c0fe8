"""Quality assurance beside the figures: the QA page's aggregates, "What audits found" for a period and
unit, and QA on a Page. Aggregates only (counts by grade, domain and action owner), open to every
signed-in user like the figures; the audits and actions behind a figure are records (GET
/kpis/{kpi}/records), scoped and audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import CurrentUser
from api.errors import BAD_INPUT, NO_DATA, SIGNED_IN
from api.live_warehouse import Version
from api.params import FromDate, LevelParam, ToDate, UnitParam, check_unit, resolve_period
from api.response_cache import Representation, cached_response
from api.routes.kpis import _kpi_layer, _version_headers
from kpis.qa import audit_findings, qa_page, qa_summary

router = APIRouter(tags=["quality assurance"], responses={**SIGNED_IN, **BAD_INPUT, **NO_DATA})

MonthParam = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="The month, YYYY-MM.")]
PageLevel = Annotated[Literal["trust", "service", "team"], Query(description="trust, service or team.")]


def _unit(version: Version, level: str, unit: str | None) -> str | None:
    return check_unit(version, level, unit) if level != "trust" else None


async def _period_view(request: Request, key: str, compute: Callable[..., dict[str, Any]], date_from: dt.date | None,
                       date_to: dt.date | None, level: str, unit: str | None) -> Response:
    """One QA aggregate (kpis.qa) for a period and unit, cached per warehouse version like the figures."""

    def make(version: Version) -> Representation:
        wh = version.warehouse
        period = resolve_period(date_from, date_to, wh.extract_date)
        body = _kpi_layer(compute, wh, *period, level, _unit(version, level, unit))
        return Representation.json(body, _version_headers(version, *period))

    return await cached_response(request, (key, date_from, date_to, level, unit), make)


@router.get("/qa/summary", response_model=dict[str, Any])
async def summary(
    request: Request, _user: CurrentUser, date_from: FromDate = None, date_to: ToDate = None,
    level: LevelParam = "trust", unit: UnitParam = None,
) -> Response:
    """The QA page for a period and unit: the QA figures with targets (and by service and team), audits
    due and done, the grade mix before and after moderation, the domains, open and overdue actions by
    owner. `note` says "no audits loaded" (or which QA file is missing) instead of giving zeros."""
    return await _period_view(request, "qa_summary", qa_summary, date_from, date_to, level, unit)


@router.get("/qa/findings", response_model=dict[str, Any])
async def findings(
    request: Request, _user: CurrentUser, date_from: FromDate = None, date_to: ToDate = None,
    level: LevelParam = "trust", unit: UnitParam = None,
) -> Response:
    """What audits found for a period and unit: audits completed, each domain's grades, and which domains
    each KPI is cross-referenced to (the KPI configuration's domain_kpis)."""
    return await _period_view(request, "qa_findings", audit_findings, date_from, date_to, level, unit)


@router.get("/qa/page", response_model=dict[str, Any])
async def page(
    request: Request, _user: CurrentUser, month: MonthParam, level: PageLevel = "trust", unit: UnitParam = None,
) -> Response:
    """QA on a Page for a month and the trust, a service or a team: the summary, the three strongest and
    weakest domains and the figures of the KPIs they are cross-referenced to."""

    def make(version: Version) -> Representation:
        body = _kpi_layer(qa_page, version.warehouse, month, level, _unit(version, level, unit))
        return Representation.json(body, _version_headers(version, None, version.warehouse.extract_date))

    return await cached_response(request, ("qa_page", month, level, unit), make)
