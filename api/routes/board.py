"""The board's loop over HTTP: the analysis written about a figure (every version kept) and the actions
agreed from it (every change kept, CSV export). Reading is open to every signed-in user, as the figures
are; writing is scoped (api/board.py) and every write, allowed or refused, is in the audit trail.

Concurrent edits: each answer carries `ETag: "v<version>"`; a write sends it back as If-Match (or the
body's `base_version`) and gets 409 when someone else saved first."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api import audit
from api import board as rules
from api.accounts import Principal
from api.board_models import ACTION_ORIGINS, ACTION_STATUSES
from api.deps import CurrentUser, StateDep, WarehouseVersion, audited, request_origin
from api.errors import BAD_INPUT, FORBIDDEN, NO_DATA, NOT_FOUND, SIGNED_IN, ApiError, _response
from api.live_warehouse import Version
from api.params import check_unit, team_services, worker_teams
from api.response_cache import Representation
from api.routes.kpis import _kpi_layer, _known_kpi
from api.scopes import records_refusal
from core.spreadsheet import csv_bytes
from kpis import get_kpi, kpi_records

BAD_BODY = {400: _response("The body could not be read as JSON.")}
router = APIRouter(tags=["board: analysis and actions"], responses={**SIGNED_IN, **BAD_INPUT})
NO_STORE = "no-store"

CONFLICT = {409: _response("Someone else saved first (the version you started from is not the newest): reload, "
                           "merge and save again. Nothing of theirs or yours was overwritten.")}
PRECONDITION = {428: _response("Say which version you started from: If-Match: \"v<version>\" or base_version.")}
BoardLevel = Literal["trust", "service", "team"]
KpiPath = Annotated[str, Path(max_length=64, description="A KPI id, e.g. `assessments_within_45wd`.")]
UnitPath = Annotated[str, Path(max_length=200, description="`trust`, a service's name or a team_id.")]
PeriodPath = Annotated[str, Path(max_length=8, description="A month, YYYY-MM; for a team also an ISO week, YYYY-Www.")]
IfMatch = Annotated[str | None, Header(max_length=100, description='The ETag you started from, `"v<version>"`.')]
ACTION_CSV_COLUMNS = ("id", "kpi", "level", "unit", "period", "what", "owner", "due_date", "status", "status_note",
                      "overdue", "closed_at", "child_count", "created_by", "created_at", "updated_by", "updated_at",
                      "version")


class Analysis(BaseModel):
    kpi: str
    level: BoardLevel
    unit: str
    period: str
    version: int = Field(description="0 when nothing has been written yet.")
    text: str = Field(description="Plain text: blank lines part paragraphs, `- ` starts a bullet, **bold**.")
    author: str | None
    author_role: str | None
    written_at: str | None


class AnalysisWrite(BaseModel):
    text: str = Field(max_length=rules.MAX_TEXT)
    base_version: int | None = Field(None, ge=0, le=1_000_000, description="The version you started from (0 for "
                                     "new); or send If-Match.")


class ActionOut(BaseModel):
    id: int
    kpi: str
    level: BoardLevel
    unit: str
    period: str | None
    what: str
    owner: str
    owner_user: str | None
    owner_name: str | None
    due_date: dt.date
    status: Literal["open", "done", "dropped"]
    status_note: str | None
    overdue: bool
    closed_at: str | None
    origin: str | None
    version: int
    child_count: int = Field(description="Children the action is about (ids: GET /actions/{id}/children, scoped).")
    created_by: str
    created_at: str
    updated_by: str
    updated_at: str


class ActionNew(BaseModel):
    kpi: str = Field(max_length=64)
    level: BoardLevel
    unit: str = Field(max_length=200)
    period: str | None = Field(None, max_length=8, description="The month (or a team's week) it was agreed from.")
    what: str = Field(min_length=1, max_length=4000)
    owner_user: str | None = Field(None, max_length=64, description="A kpidash username ...")
    owner_name: str | None = Field(None, max_length=200, description="... or a named person without an account.")
    due_date: dt.date
    origin: Literal[ACTION_ORIGINS] | None = None  # type: ignore[valid-type]
    child_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=500)


class ActionChange(BaseModel):
    what: str | None = Field(None, min_length=1, max_length=4000)
    owner_user: str | None = Field(None, max_length=64)
    owner_name: str | None = Field(None, max_length=200)
    due_date: dt.date | None = None
    status: Literal[ACTION_STATUSES] | None = None  # type: ignore[valid-type]
    status_note: str | None = Field(None, max_length=4000)
    base_version: int | None = Field(None, ge=1, le=1_000_000, description="The version you started from; or "
                                     "send If-Match.")


class ActionVersionOut(BaseModel):
    version: int
    changed_by: str
    changed_by_role: str
    changed_at: str
    change: str
    state: dict[str, Any]


def _trail(request: Request, user: Principal, **fields: Any) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, **request_origin(request), **fields}


def _base(if_match: str | None, base_version: int | None, new: str = "") -> int:
    """The version a write started from; new: how to say it of a thing not yet written (analysis: 0)."""
    if base_version is not None:
        return base_version
    if if_match:
        found = re.fullmatch(r'\s*(?:W/)?"v(\d{1,7})"\s*', if_match)
        if not found:
            raise ApiError(422, f'If-Match {if_match!r} is not an ETag of this API: send the ETag you read, "v<n>".')
        return int(found.group(1))
    raise ApiError(428, 'Say which version you started from: send If-Match: "v<version>" (the ETag you read) or '
                   f"base_version in the body{new}, so nobody's change is overwritten.")


def _check_target(version: Version, kpi: str, level: str, unit: str, period: str | None = None,
                  unknown_kpi: int = 422) -> str:
    """unknown_kpi: 404 for a KPI in the path (an address that names nothing), 422 for one in a body."""
    kpi = _known_kpi(kpi, unknown_kpi)
    check_unit(version, level, unit)
    if period is not None:
        try:
            rules.check_period(level, period)
        except rules.BoardError as exc:
            raise ApiError(exc.status, exc.message) from None
    return kpi


def _respond(payload: Any, request: Request, version: int | None = None, status: int = 200,
             headers: dict[str, str] | None = None) -> Response:
    rep = Representation.json(payload, headers)
    if version is not None:
        rep = Representation(rep.body, rep.media_type, rep.headers, None, f'"v{version}"')
    if status != 200:
        return Response(rep.body, status_code=status, media_type=rep.media_type,
                        headers={**rep.headers, "ETag": rep.etag, "Cache-Control": NO_STORE})
    return rep.respond(request, cache_control="private, no-cache")


def _audited_write(state: Any, trail: dict[str, Any], event: str, call: Any) -> Any:
    """Run a write; its outcome, allowed or refused, goes to the audit trail."""
    try:
        result = call()
    except rules.BoardError as exc:
        outcome = {403: "forbidden", 404: "not_found", 409: "conflict", 422: "invalid"}.get(exc.status, "refused")
        audit.record(state.engine, event, outcome, **{**trail, "detail": f"{trail.get('detail')}: {exc.message}"})
        raise ApiError(exc.status, exc.message) from None
    except ApiError as exc:
        outcome = {403: "forbidden", 404: "not_found", 409: "conflict", 422: "invalid", 428: "invalid"}.get(
            exc.status, "refused")
        audit.record(state.engine, event, outcome, **{**trail, "detail": f"{trail.get('detail')}: {exc.detail}"})
        raise
    return result


# ---------------------------------------------------------------------------- analysis


@router.get("/analysis/{kpi}/{level}/{unit}/{period}", response_model=Analysis, responses={**NO_DATA, **NOT_FOUND})
def read_analysis(request: Request, kpi: KpiPath, level: BoardLevel, unit: UnitPath, period: PeriodPath,
                  _user: CurrentUser, version: WarehouseVersion, state: StateDep) -> Response:
    """The analysis of a KPI for a unit and period now (version 0, empty, when none is written). Its ETag
    is what to send back as If-Match when saving."""
    kpi = _check_target(version, kpi, level, unit, period, 404)
    found = rules.latest_analysis(state.engine, kpi, level, unit, period)
    return _respond(found, request, found["version"])


@router.get("/analysis/{kpi}/{level}/{unit}/{period}/history", response_model=list[Analysis],
            responses={**NO_DATA, **NOT_FOUND})
def read_analysis_history(request: Request, kpi: KpiPath, level: BoardLevel, unit: UnitPath, period: PeriodPath,
                          _user: CurrentUser, version: WarehouseVersion, state: StateDep) -> Response:
    """Every version of the analysis, newest first: nothing is ever overwritten."""
    kpi = _check_target(version, kpi, level, unit, period, 404)
    return _respond(rules.analysis_history(state.engine, kpi, level, unit, period), request)


@router.put("/analysis/{kpi}/{level}/{unit}/{period}", response_model=Analysis,
            responses={**FORBIDDEN, **NOT_FOUND, **CONFLICT, **PRECONDITION, **NO_DATA, **BAD_BODY})
@audited("analysis")
def write_analysis(request: Request, kpi: KpiPath, level: BoardLevel, unit: UnitPath, period: PeriodPath,
                   body: AnalysisWrite, user: CurrentUser, version: WarehouseVersion, state: StateDep,
                   if_match: IfMatch = None) -> Response:
    """Save a new version of the analysis. Team managers write for their team, heads of service for their
    service and its teams, executives and analysts for every unit (403 otherwise). Say which version you
    started from (If-Match or base_version): when someone saved since, 409 and nothing is overwritten."""
    trail = _trail(request, user, kpi=kpi, level=level, unit=unit, detail=f"analysis {period}")

    def write() -> dict[str, Any]:
        checked = _check_target(version, kpi, level, unit, period, 404)
        refusal = rules.write_refusal(user, level, unit, team_services(version))
        if refusal:
            raise ApiError(403, refusal)
        return rules.write_analysis(state.engine, user, checked, level, unit, period, body.text,
                                    _base(if_match, body.base_version, " (0 for a new analysis)"))

    saved = _audited_write(state, trail, "analysis", write)
    audit.record(state.engine, "analysis", "ok", **{**trail, "detail": f"analysis {period} version {saved['version']}"})
    return _respond(saved, request, saved["version"])


# ---------------------------------------------------------------------------- actions


def action_filters(
    user: CurrentUser, version: WarehouseVersion,
    kpi: Annotated[str | None, Query(max_length=64)] = None,
    level: Annotated[BoardLevel | None, Query()] = None,
    unit: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[Literal[ACTION_STATUSES] | None, Query()] = None,  # type: ignore[valid-type]
    owner: Annotated[str | None, Query(max_length=200, description="A username or a named owner.")] = None,
    overdue: Annotated[bool, Query(description="Only open actions past their due date.")] = False,
    mine: Annotated[bool, Query(description="Only those you own or oversee (your team's, your service's and its "
                                "teams'; an executive oversees all).")] = False,
) -> rules.ActionFilter:
    """The list's filters, shared by the JSON and the CSV."""
    return rules.ActionFilter(kpi=kpi, level=level, unit=unit, status=status, owner=owner, overdue=overdue,
                              for_user=user if mine else None, team_service=team_services(version) if mine else None)


ActionFilters = Annotated[rules.ActionFilter, Depends(action_filters)]


@router.get("/actions", response_model=list[ActionOut], responses={**NO_DATA})
def actions(request: Request, filters: ActionFilters, state: StateDep) -> Response:
    """The actions agreed from the figures, soonest due first. Open to every signed-in user, as the figures
    are; the children an action is about are counted here and listed only by GET /actions/{id}/children."""
    return _respond(rules.list_actions(state.engine, filters), request)


@router.get("/actions.csv", response_class=Response, responses={
    **NO_DATA, 200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The actions as CSV."}})
def actions_csv(filters: ActionFilters, state: StateDep) -> Response:
    """The same list as a CSV download (every cell spreadsheet-safe: text that a spreadsheet would run as a
    formula is written with a leading apostrophe)."""
    body = csv_bytes(rules.list_actions(state.engine, filters), ACTION_CSV_COLUMNS)
    name = f"kpidash-actions-{dt.date.today().isoformat()}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": NO_STORE})


@router.post("/actions", status_code=201, response_model=ActionOut, responses={**FORBIDDEN, **NO_DATA, **BAD_BODY})
@audited("action")
def agree_action(request: Request, body: ActionNew, user: CurrentUser, version: WarehouseVersion,
                 state: StateDep) -> Response:
    """Agree an action from a figure or trend: what, one owner (a user or a named person), due date,
    optionally the children behind it. Who may: as for analysis (403 otherwise)."""
    trail = _trail(request, user, kpi=body.kpi, level=body.level, unit=body.unit, detail="agree action")

    def create() -> dict[str, Any]:
        kpi = _check_target(version, body.kpi, body.level, body.unit, body.period)
        services = team_services(version)
        refusal = rules.write_refusal(user, body.level, body.unit, services)
        if refusal:
            raise ApiError(403, refusal)
        if body.child_ids:
            records = records_refusal(user, body.level, body.unit, services, worker_teams(version))
            if records:
                raise ApiError(403, records)
            _check_children(version, kpi, body.level, body.unit, body.period, body.child_ids)
        new = rules.NewAction(kpi=kpi, level=body.level, unit=body.unit, period=body.period, what=body.what,
                              owner_user=body.owner_user, owner_name=body.owner_name, due_date=body.due_date,
                              origin=body.origin, child_ids=body.child_ids)
        return rules.create_action(state.engine, user, new)

    made = _audited_write(state, trail, "action", create)
    audit.record(state.engine, "action", "ok", record_count=made["child_count"] or None,
                 **{**trail, "detail": f"agreed action {made['id']}"})
    return _respond(made, request, made["version"], status=201, headers={"Location": f"/api/v1/actions/{made['id']}"})


def _check_children(version: Version, kpi: str, level: str, unit: str, period: str | None,
                    child_ids: list[str]) -> None:
    """422 unless every child is behind the figure the action is agreed from (the KPI's records for its unit
    and period): its children are then given to whoever may see that unit's records, and to no one else."""
    wh = version.warehouse
    first, last = rules.period_dates(period, wh.extract_date)
    behind = {r.get("child_id") for r in _kpi_layer(kpi_records, wh, kpi, unit, first, last, level=level)}
    strangers = sorted(set(child_ids) - behind)
    if strangers:
        shown = ", ".join(strangers[:5]) + (f" and {len(strangers) - 5} more" if len(strangers) > 5 else "")
        figure = get_kpi(kpi)
        when = f"at the end of {last}" if figure.kind == "stock" else f"from {first} to {last}"
        raise ApiError(422, f"{len(strangers)} of the children given {'is' if len(strangers) == 1 else 'are'} not "
                       f"among the records behind {figure.title} ({level} {unit}, {when}): {shown}. Give children "
                       "from the figure's own list (its drill-down).")


ActionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The action's id.")]


def _found(state: Any, action_id: int) -> Any:
    try:
        return rules.get_action(state.engine, action_id)
    except rules.BoardError as exc:
        raise ApiError(exc.status, exc.message) from None


@router.get("/actions/{action_id}", response_model=ActionOut, responses={**NOT_FOUND})
def action(request: Request, action_id: ActionId, _user: CurrentUser, state: StateDep) -> Response:
    """One action now. Its ETag is what to send back as If-Match when changing it."""
    found = _found(state, action_id)
    return _respond(rules.action_as_dict(found, len(rules.child_ids(state.engine, action_id))), request, found.version)


@router.patch("/actions/{action_id}", response_model=ActionOut,
              responses={**FORBIDDEN, **NOT_FOUND, **CONFLICT, **PRECONDITION, **NO_DATA, **BAD_BODY})
@audited("action")
def change_action(request: Request, action_id: ActionId, body: Annotated[ActionChange, Body()], user: CurrentUser,
                  version: WarehouseVersion, state: StateDep, if_match: IfMatch = None) -> Response:
    """Change an action (status open/done/dropped with a note, owner, due date, wording). Whoever may write
    for its unit, an admin, or its owner (status and note only); 403 otherwise. Say which version you
    started from (If-Match or base_version): 409 when someone changed it since."""
    trail = _trail(request, user, detail=f"change action {action_id}")

    def change() -> dict[str, Any]:
        current = _found(state, action_id)
        trail.update(kpi=current.kpi, level=current.level, unit=current.unit)
        changes = body.model_dump(exclude_unset=True, exclude={"base_version"})
        changes = {k: v for k, v in changes.items() if v is not None or k in ("status_note",)}
        if not changes:
            raise ApiError(422, "Nothing to change: give what, owner_user or owner_name, due_date, status or "
                           "status_note.")
        refusal = rules.action_refusal(user, current, team_services(version), set(changes))
        if refusal:
            raise ApiError(403, refusal)
        return rules.update_action(state.engine, user, action_id, _base(if_match, body.base_version), changes)

    changed = _audited_write(state, trail, "action", change)
    audit.record(state.engine, "action", "ok", **{**trail, "detail": f"changed action {action_id} to version "
                                                   f"{changed['version']}"})
    return _respond(changed, request, changed["version"])


@router.get("/actions/{action_id}/history", response_model=list[ActionVersionOut], responses={**NOT_FOUND})
def action_history(request: Request, action_id: ActionId, _user: CurrentUser, state: StateDep) -> Response:
    """Every state of the action, newest first, with who changed what and when."""
    _found(state, action_id)
    return _respond(rules.action_history(state.engine, action_id), request)


@router.get("/actions/{action_id}/children", response_model=list[str], responses={**FORBIDDEN, **NOT_FOUND, **NO_DATA})
def action_children(request: Request, action_id: ActionId, user: CurrentUser, version: WarehouseVersion,
                    state: StateDep) -> Response:
    """The child ids the action is about: child-level data, so only within your records scope, and
    written to the audit trail as `records`."""
    trail = _trail(request, user, detail=f"children of action {action_id}")
    try:
        found = _found(state, action_id)
        trail.update(kpi=found.kpi, level=found.level, unit=found.unit)
        refusal = records_refusal(user, found.level, found.unit, team_services(version), worker_teams(version))
        if refusal:
            raise ApiError(403, refusal)
    except ApiError as exc:
        audit.record(state.engine, "records", {403: "forbidden", 404: "not_found"}.get(exc.status, "refused"),
                     **{**trail, "detail": f"{trail['detail']}: {exc.detail}"})
        raise
    ids = rules.child_ids(state.engine, action_id)
    audit.record(state.engine, "records", "ok", record_count=len(ids), **trail)
    return Representation.json(ids).respond(request, cache_control=NO_STORE)
