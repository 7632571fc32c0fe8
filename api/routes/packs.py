"""A team's weekly pack as XLSX: the same workbook the scheduler writes and emails (kpis/team_pack.py),
so the dashboard's download and the Monday email never disagree. The figures are open to every
signed-in user; the action lists are child-level records, scoped and audited as the records routes are."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api import audit
from api.deps import CurrentUser, StateDep, WarehouseVersion, request_origin
from api.errors import BAD_INPUT, FORBIDDEN, NO_DATA, NOT_FOUND, SIGNED_IN, ApiError
from api.params import IsoDate, resolve_as_at, team_services, worker_teams
from api.routes.kpis import _kpi_layer, _version_headers
from api.scopes import records_refusal
from kpis.team_pack import ACTION_LISTS, WITHHELD, team_pack_xlsx, team_week, week_bounds

router = APIRouter(tags=["team packs"], responses={**SIGNED_IN, **BAD_INPUT, **NO_DATA})

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCOPED_ROLES = frozenset({"team_manager", "head_of_service"})


@router.get(
    "/teams/{team_id}/pack.xlsx",
    response_class=Response,
    responses={**FORBIDDEN, **NOT_FOUND, 200: {"content": {XLSX: {}}, "description": "The pack as a workbook."}},
)
def team_pack(
    request: Request,
    team_id: Annotated[str, Path(max_length=200, description="A team_id (GET /api/v1/teams).")],
    user: CurrentUser,
    version: WarehouseVersion,
    state: StateDep,
    as_at: Annotated[IsoDate | None, Query(description="Last day of the week (YYYY-MM-DD); the week runs from its "
                                           "Monday. Default: the extract date.")] = None,
) -> Response:
    """The team's weekly pack: Summary (every KPI this week, last week, the trust this week, RAG,
    target), Workers (caseloads), one sheet per action list, About.

    A team manager gets their own team's pack only, a head of service their service's teams' (403
    otherwise); a role that sees no child-level records gets each action list as its count and a note.
    Every pack holding child-level records is written to the audit log (as an `export`).
    """
    wh = version.warehouse
    trail = {"username": user.username, "role": user.role, "kpi": "team_pack", "level": "team",
             "unit": team_id, **request_origin(request)}
    try:
        day = resolve_as_at(as_at, wh.extract_date)
        trail.update(date_from=week_bounds(day)[0], date_to=day)
        if not wh.has_unit("team", team_id):
            raise ApiError(404, f"There is no team {team_id!r} in the published extract: see GET /api/v1/teams.")
        refusal = records_refusal(user, "team", team_id, team_services(version), worker_teams(version))
        if refusal and user.role in SCOPED_ROLES:
            raise ApiError(403, refusal.replace("The figures themselves are open to you at every level.",
                                                "The figures of every team are open to you on the KPI pages."))
    except ApiError as exc:
        if exc.status == 403:
            audit.record(state.engine, "export", "forbidden", detail=exc.detail, **trail)
        raise
    week = _kpi_layer(team_week, wh, team_id, day, records=refusal is None, note=refusal or WITHHELD)
    body = team_pack_xlsx(week)
    if refusal is None:
        listed = sum(week["lists"][kpi]["count"] for _, kpi, _, _ in ACTION_LISTS)
        audit.record(state.engine, "export", "ok", record_count=listed, detail="team pack (xlsx)", **trail)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"kpidash-team-pack-{team_id}-{day.isoformat()}")[:150] + ".xlsx"
    headers = {**_version_headers(version, trail["date_from"], day),
               "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(body, media_type=XLSX, headers=headers)
