"""The figures (open to every signed-in user), their trends, and the children behind them (scoped
by role, audited)."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api import audit
from api.deps import CurrentUser, StateDep, WarehouseVersion, request_origin
from api.errors import BAD_INPUT, FORBIDDEN, NO_DATA, NOT_FOUND, SIGNED_IN, ApiError
from api.params import (
    FromDate,
    MAX_PERIODS,
    Level,
    LevelParam,
    ToDate,
    UnitParam,
    check_unit,
    infer_level,
    resolve_as_at,
    resolve_period,
    team_services,
    worker_teams,
)
from api.figures_json import FiguresJson
from api.live_warehouse import Version, memoised
from api.response_cache import Representation, cached_response
from api.scopes import records_refusal
from core.dates import projection_note
from core.spreadsheet import csv_bytes, spreadsheet_safe  # noqa: F401  (spreadsheet_safe: the rule, re-exported)
from kpis import (
    KPIS,
    KpiError,
    UnknownKpi,
    answered_from_cube,
    compute_kpis,
    get_kpi,
    kpi_records,
    kpi_trend,
    with_targets,
)
from kpis.compute import compute_kpi_columns
from kpis.families import FAMILIES_BY_NAME
from kpis.xlsx import xlsx_bytes

router = APIRouter(tags=["KPIs"], responses={**SIGNED_IN, **BAD_INPUT, **NO_DATA})

KpiPath = Annotated[str, Path(max_length=64, description="A KPI id, e.g. `assessments_within_45wd`.")]


class KpiRow(BaseModel):
    """One figure: the spec's six keys, then what a reader needs beside the number."""

    kpi: str
    level: Level
    unit: str
    domain: str | None = Field(None, description="Only on domain_good_or_better's rows: the audit domain.")
    numerator: int | None
    denominator: float | None
    value: float | None
    title: str | None = None
    unit_of_measure: str | None = None
    target: float | None = None
    tolerance: float | None = None
    rag: Literal["green", "amber", "red"] | None = None
    national_comparator: float | None = None


class TrendRow(KpiRow):
    period_start: dt.date
    period_end: dt.date


class RecordsPage(BaseModel):
    kpi: str
    level: Level
    unit: str
    from_: dt.date = Field(alias="from")
    to: dt.date
    total: int = Field(description="Records behind the figure, over every page.")
    page: int
    page_size: int
    pages: int
    withheld: int = Field(0, description="Records of this worker that belong to a team outside your scope, not "
                          "listed (a team manager sees only their team's children, whoever holds them).")
    records: list[dict[str, Any]] = Field(
        description="record_type, record_id, child_id, team_id, team_unit, service_unit, worker_id, the KPI's "
        "dates, working_days or hours where the KPI uses them, and counted_in (numerator or denominator)."
    )


class KpiDefinition(BaseModel):
    id: str
    title: str
    description: str
    kind: Literal["flow", "stock"]
    measure: Literal["count", "rate", "ratio"]
    unit_of_measure: str
    polarity: Literal["higher", "lower"] | None
    family: str
    worker_level: bool
    national_comparator: float | None
    comparator_note: str | None
    target: float | None
    tolerance: float | None
    keyed_by: str | None = Field(None, description="A further key of the KPI's rows (domain_good_or_better: "
                                 "`domain`), or null.")


def _known_kpi(kpi_id: str, status: int = 404) -> str:
    try:
        return get_kpi(kpi_id).id
    except UnknownKpi:
        raise ApiError(status, f"{kpi_id!r} is not a KPI; KPIs are: {', '.join(k.id for k in KPIS)}.") from None


def _version_headers(version: Version, date_from: dt.date | None, date_to: dt.date) -> dict[str, str]:
    """Which warehouse and period answered; X-Kpidash-Warning when the period runs past the extract date
    (its stock figures are projections: core.dates.projection_note, which the CLI prints too)."""
    wh = version.warehouse
    headers = {"X-Kpidash-Run-Id": wh.run_id, "X-Kpidash-Extract-Date": wh.extract_date.isoformat()}
    if date_from is not None:
        headers["X-Kpidash-Period"] = f"{date_from.isoformat()}/{date_to.isoformat()}"
    note = projection_note(date_to, wh.extract_date)
    if note:
        headers["X-Kpidash-Warning"] = note
    return headers


def _kpi_layer(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the KPI layer; its refusals (worded for analysts) become 422s."""
    try:
        return call(*args, **kwargs)
    except KpiError as exc:
        raise ApiError(422, str(exc)) from None


@router.get("/definitions", response_model=list[KpiDefinition])
def definitions(_user: CurrentUser, version: WarehouseVersion) -> list[KpiDefinition]:
    """Every KPI: what it means, how to read it and its target (from the trust's configuration)."""
    targets = version.warehouse.config.targets
    return [
        KpiDefinition(
            id=k.id, title=k.title, description=k.description, kind=k.kind, measure=k.measure,
            unit_of_measure=k.unit_of_measure, polarity=k.polarity, family=k.family, worker_level=k.worker_level,
            national_comparator=k.national_comparator, comparator_note=k.comparator_note,
            target=targets[k.id].target if k.id in targets else None,
            tolerance=targets[k.id].tolerance if k.id in targets else None,
            keyed_by=FAMILIES_BY_NAME[k.family].extra_key,
        )
        for k in KPIS
    ]


@router.get("/kpis", response_model=list[KpiRow])
async def figures(
    request: Request,
    _user: CurrentUser,
    date_from: FromDate = None,
    date_to: ToDate = None,
    level: LevelParam = "trust",
    unit: UnitParam = None,
    kpi: Annotated[list[str] | None, Query(max_length=40, description="Only these KPI ids (repeat the parameter).")] = None,
    fields: Annotated[
        Literal["spec", "all"],
        Query(description="`spec` (the default): exactly the spec's six keys (kpi, level, unit, numerator, "
              "denominator, value). `all` adds title, unit of measure, target, tolerance, RAG and comparator."),
    ] = "spec",
) -> Response:
    """Every KPI (or those named) for a period, at a level: one row per KPI and unit, ordered as the spec."""
    key, make = figures_view(date_from, date_to, level, unit, kpi, fields)
    # read from the daily cube, an answer costs about a millisecond: made on the event loop
    return await cached_response(request, key, make, inline=lambda version: answered_from_cube(
        version.warehouse, date_from, date_to, level, tuple(kpi) if kpi else None))


def figures_view(date_from: dt.date | None, date_to: dt.date | None, level: str, unit: str | None,
                 kpi: list[str] | tuple[str, ...] | None, fields: str) -> tuple[tuple, Callable[[Version], Representation]]:
    """GET /kpis as its cache key and the function that makes its answer (api.warm makes it ahead of time)."""

    def make(version: Version) -> Representation:
        wh = version.warehouse
        period = resolve_period(date_from, date_to, wh.extract_date)
        checked_unit = check_unit(version, level, unit)
        kpi_ids = tuple(dict.fromkeys(_known_kpi(k, 422) for k in kpi)) if kpi else None
        headers = _version_headers(version, *period)
        # read from the daily cube: written from its columns, the same bytes without a dict per row
        columns = _kpi_layer(compute_kpi_columns, wh, *period, level, checked_unit, kpi_ids)
        if columns is not None:
            writer = memoised(version, "figures_json", lambda: FiguresJson(wh.config))
            body = writer.write(*columns, targets=fields == "all")
            if body is not None:
                return Representation.of(body, "application/json", headers)
        rows = _kpi_layer(compute_kpis, wh, *period, level, checked_unit, kpi_ids)
        if fields == "all":
            rows = with_targets(rows, wh.config)
        return Representation.json(rows, headers)

    return ("kpis", date_from, date_to, level, unit, tuple(kpi or ()), fields), make


@router.get("/kpis/{kpi}/trend", response_model=list[TrendRow], responses=NOT_FOUND)
async def trend(
    request: Request,
    kpi: KpiPath,
    _user: CurrentUser,
    by: Annotated[Literal["month", "week"], Query(description="Calendar months, or weeks Monday to Sunday.")] = "month",
    periods: Annotated[
        int, Query(ge=1, le=MAX_PERIODS, description="How many periods, ending with the one holding `to`.")
    ] = 24,
    level: LevelParam = "trust",
    unit: UnitParam = None,
    date_to: ToDate = None,
) -> Response:
    """One KPI per month or week (flow: events in the period; stock: at its end), the last period
    ending on `to`."""
    return await cached_response(request, *trend_view(kpi, by, periods, level, unit, date_to))


def trend_view(kpi: str, by: str, periods: int, level: str, unit: str | None, date_to: dt.date | None
               ) -> tuple[tuple, Callable[[Version], Representation]]:
    """GET /kpis/{kpi}/trend as its cache key and the function that makes its answer."""

    def make(version: Version) -> Representation:
        wh = version.warehouse
        kpi_id = _known_kpi(kpi)
        as_at = resolve_as_at(date_to, wh.extract_date)
        checked_unit = check_unit(version, level, unit)
        rows = _kpi_layer(kpi_trend, wh, [kpi_id], by=by, periods=periods, level=level, unit=checked_unit,
                          date_to=as_at)
        return Representation.json(with_targets(rows, wh.config), _version_headers(version, None, as_at))

    return ("trend", kpi, by, periods, level, unit, date_to), make


_BASE_COLUMNS = ["record_type", "record_id", "child_id", "team_id", "team_unit", "service_unit", "worker_id",
                 "counted_in"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Child-level answers are never kept by a browser or a proxy (they may still be revalidated by ETag).
NO_STORE = "no-store"


def _csv_bytes(records: list[dict[str, Any]]) -> bytes:
    """The CSV download: every cell spreadsheet-safe (core.spreadsheet), as every export is."""
    return csv_bytes(records, None if records else _BASE_COLUMNS)


def _filename(*parts: object, extension: str = "csv") -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(str(p) for p in parts))[:150] + "." + extension


_OUTCOMES = {403: "forbidden", 404: "not_found", 422: "invalid", 503: "unavailable"}


def scope_filter(user: Any) -> tuple[str, str] | None:
    """The team or service a scoped reader's records must belong to themselves (None: every record).

    A worker's records can belong to another team than the worker's (or to a team teams.csv does not
    know): a team manager sees only their own team's children, whoever holds them."""
    if user.role == "team_manager":
        return ("team", user.team)
    if user.role == "head_of_service":
        return ("service", user.service)
    return None


@router.get(
    "/kpis/{kpi}/records",
    response_model=RecordsPage,
    responses={
        **FORBIDDEN,
        **NOT_FOUND,
        200: {"content": {"text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string"}}},
              "description": "JSON page, or every record as a CSV or XLSX download."},
    },
)
def records(
    request: Request,
    kpi: KpiPath,
    user: CurrentUser,
    version: WarehouseVersion,
    state: StateDep,
    unit: Annotated[str, Query(max_length=200, description="`trust`, a team_id, a service or a worker_id.")] = "trust",
    level: Annotated[Level | None, Query(description="The unit's level; default: worked out from the unit.")] = None,
    date_from: FromDate = None,
    date_to: ToDate = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
    format: Annotated[Literal["json", "csv", "xlsx"], Query(
        description="json: a page. csv or xlsx: every record at once as a download (paging ignored), every cell "
        "spreadsheet-safe.")] = "json",
    domain: Annotated[str | None, Query(max_length=40, description="domain_good_or_better only: the audit domain "
                                        "whose figure the records count to.")] = None,
) -> Response:
    """The child-level records behind one figure, each counted in the numerator or only the denominator.

    Only within the user's scope (403 otherwise; a scoped reader's worker-level records are only those
    of their own team or service), and every request is written to the audit log: a page as `records`,
    a download as `export`.
    """
    wh = version.warehouse
    event = "records" if format == "json" else "export"
    trail: dict[str, Any] = {"username": user.username, "role": user.role, "kpi": kpi, "unit": unit,
                             "level": level, **request_origin(request)}
    try:
        kpi = _known_kpi(kpi)
        date_from, date_to = resolve_period(date_from, date_to, wh.extract_date)
        trail.update(date_from=date_from, date_to=date_to)
        level = level or infer_level(version, unit)
        trail["level"] = level
        check_unit(version, level, unit)
        refusal = records_refusal(user, level, unit, team_services(version), worker_teams(version))
        if refusal:
            raise ApiError(403, refusal)
        within = scope_filter(user)
        rep = state.cache.get_or_make(
            (wh.run_id, "records", kpi, level, unit, date_from, date_to, format, page, page_size, domain, within),
            lambda: _records_representation(version, kpi, level, unit, date_from, date_to, format, page, page_size,
                                            domain, within),
        )
    except ApiError as exc:
        audit.record(state.engine, event, _OUTCOMES.get(exc.status, str(exc.status)), detail=exc.detail, **trail)
        raise
    detail = f"format={format}" + (f" page={page}" if format == "json" else "") + (f" domain={domain}" if domain else "")
    audit.record(state.engine, event, "ok", record_count=rep.count, detail=detail, **trail)
    return rep.respond(request, cache_control=NO_STORE)


def _records_representation(
    version: Version, kpi: str, level: str, unit: str, date_from: dt.date, date_to: dt.date,
    format: str, page: int, page_size: int, domain: str | None, within: tuple[str, str] | None,
) -> Representation:
    wh = version.warehouse
    rows = _kpi_layer(kpi_records, wh, kpi, unit, date_from, date_to, level=level, domain=domain, within=within)
    headers = _version_headers(version, date_from, date_to)
    if format in ("csv", "xlsx"):
        name = _filename("kpidash", kpi, unit, date_from, date_to, extension=format)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        if format == "csv":
            return Representation.of(_csv_bytes(rows), "text/csv; charset=utf-8", headers, count=len(rows))
        return Representation.of(xlsx_bytes({kpi: rows}), XLSX, headers, count=len(rows))
    pages = max(1, math.ceil(len(rows) / page_size))
    if page > pages:
        raise ApiError(422, f"page {page} is past the last page ({pages}) of {len(rows)} records at page_size "
                       f"{page_size}.")
    withheld = 0
    if within is not None and level == "worker":  # the worker's records that belong to other teams
        withheld = len(_kpi_layer(kpi_records, wh, kpi, unit, date_from, date_to, level=level)) - len(rows)
    chunk = rows[(page - 1) * page_size : page * page_size]
    body = {"kpi": kpi, "level": level, "unit": unit, "from": date_from, "to": date_to, "total": len(rows),
            "page": page, "page_size": page_size, "pages": pages, "withheld": withheld, "records": chunk}
    return Representation.json(body, headers, count=len(chunk))
