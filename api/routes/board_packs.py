"""Published board packs: what the board was shown for a board date, frozen. The pack is drawn from this
API by the publisher's client (`kpidash book --publish`, or the dashboard's book page), rendered to HTML
and PDF there, and stored here as sent with the data it was drawn from; it is never changed after, so a
later reload or edit cannot change what the board read. Readable by every signed-in user (a pack holds
trust figures, analysis and actions, no child-level records); published by executives, analysts and
admins, each publication in the audit trail."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from api import audit
from api import board as rules
from api.board_models import BoardPack
from api.deps import CurrentUser, StateDep, WarehouseVersion, audited, request_origin
from api.errors import BAD_INPUT, FORBIDDEN, NO_DATA, NOT_FOUND, SIGNED_IN, ApiError, _response
from api.response_cache import Representation

BAD_BODY = {400: _response("The body could not be read as JSON.")}
router = APIRouter(tags=["board packs"], responses={**SIGNED_IN, **BAD_INPUT})

MAX_HTML = 20 * 2**20
MAX_PDF = 40 * 2**20
CONFLICT = {409: _response("A pack is already published for that board date, or the figures changed while "
                           "the pack was drawn.")}
PackId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The pack's id (GET /api/v1/packs).")]


class PackOut(BaseModel):
    id: int
    board_date: dt.date
    month: str
    run_id: str
    extract_date: dt.date
    published_at: str
    published_by: str
    html_sha256: str
    pdf_sha256: str | None
    html_bytes: int
    pdf_bytes: int | None


class PackNew(BaseModel):
    board_date: dt.date = Field(description="The date of the board meeting the pack is for (one pack per date).")
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="The month the pack reports, YYYY-MM.")
    run_id: str = Field(max_length=40, description="The load the figures were drawn from (GET /api/v1/status).")
    snapshot: dict[str, Any] = Field(description="The data the pack was drawn from: figures, analysis, actions.")
    html: str = Field(min_length=1, max_length=MAX_HTML)
    pdf_base64: str | None = Field(None, max_length=MAX_PDF * 4 // 3 + 4)


def _as_dict(p: BoardPack) -> dict[str, Any]:
    return {"id": p.id, "board_date": p.board_date.isoformat(), "month": p.month, "run_id": p.run_id,
            "extract_date": p.extract_date.isoformat(), "published_at": p.published_at.isoformat(timespec="seconds")
            + "Z", "published_by": p.published_by, "html_sha256": p.html_sha256, "pdf_sha256": p.pdf_sha256,
            "html_bytes": p.html_bytes, "pdf_bytes": p.pdf_bytes}


@router.get("/packs", response_model=list[PackOut])
def packs(request: Request, _user: CurrentUser, state: StateDep) -> Response:
    """Every published pack, newest board date first."""
    with Session(state.engine) as session:
        found = [_as_dict(p) for p in session.scalars(select(BoardPack).order_by(BoardPack.board_date.desc()))]
    return Representation.json(found).respond(request, cache_control="private, no-cache")


@router.post("/packs", status_code=201, response_model=PackOut,
             responses={**FORBIDDEN, **CONFLICT, **NO_DATA, **BAD_BODY})
@audited("pack")
def publish(request: Request, body: PackNew, user: CurrentUser, version: WarehouseVersion, state: StateDep) -> Response:
    """Publish the pack for a board date: stored as sent and never changed. Executives, analysts and admins
    only (403 otherwise); 409 when that date has a pack already, or when the published figures are no
    longer the ones the pack was drawn from (draw it again)."""
    trail = {"username": user.username, "role": user.role, "kpi": "board_pack", "level": "trust", "unit": "trust",
             **request_origin(request), "detail": f"board pack for {body.board_date.isoformat()}"}
    try:
        if user.role not in rules.PUBLISH_ROLES:
            raise ApiError(403, f"Board packs are published by executives, analysts and admins; your role is "
                           f"{user.role}. You can read every published pack.")
        if not rules.MONTH.fullmatch(body.month):
            raise ApiError(422, f"month {body.month!r} is not YYYY-MM.")
        wh = version.warehouse
        if body.run_id != wh.run_id:
            raise ApiError(409, f"The figures were reloaded (run {wh.run_id}) after this pack was drawn from run "
                           f"{body.run_id}: draw the pack again and publish that.")
        try:
            rules.check_day("board_date", body.board_date)
        except rules.BoardError as exc:
            raise ApiError(exc.status, exc.message) from None
        # the snapshot says what it was drawn from (dashboard/book.pack_data): it must be this run, month
        # and board, or a pack of other figures (or none) would be stored as this load's
        drawn = {"run_id": body.run_id, "month": body.month, "board_date": body.board_date.isoformat()}
        differ = [f"{key} {body.snapshot.get(key)!r} (the pack says {value!r})" for key, value in drawn.items()
                  if body.snapshot.get(key) != value]
        if differ:
            raise ApiError(422, "The snapshot is not the one this pack was drawn from: its " + "; its ".join(differ)
                           + ". Publish the pack as `kpidash book --publish` or the Board page draws it.")
        try:
            pdf = base64.b64decode(body.pdf_base64, validate=True) if body.pdf_base64 else None
        except (binascii.Error, ValueError):
            raise ApiError(422, "pdf_base64 is not base64.") from None
        if pdf is not None and not pdf.startswith(b"%PDF-"):
            raise ApiError(422, "pdf_base64 does not hold a PDF.")
        html = body.html.encode("utf-8")
        pack = BoardPack(board_date=body.board_date, month=body.month, run_id=wh.run_id, extract_date=wh.extract_date,
                         published_by=user.username, html_sha256=hashlib.sha256(html).hexdigest(),
                         pdf_sha256=hashlib.sha256(pdf).hexdigest() if pdf else None, html_bytes=len(html),
                         pdf_bytes=len(pdf) if pdf else None,
                         snapshot=json.dumps(body.snapshot, sort_keys=True, separators=(",", ":")), html=html, pdf=pdf)
        try:
            with Session(state.engine, expire_on_commit=False) as session, session.begin():
                session.add(pack)
        except IntegrityError:
            raise ApiError(409, f"A pack is already published for the board of {body.board_date.isoformat()}: "
                           "published packs are never replaced (see GET /api/v1/packs).") from None
    except ApiError as exc:
        audit.record(state.engine, "pack", {403: "forbidden", 409: "conflict"}.get(exc.status, "invalid"),
                     detail=exc.detail, **{k: v for k, v in trail.items() if k != "detail"})
        raise
    audit.record(state.engine, "pack", "ok", **{**trail, "detail": f"published pack {pack.id} for "
                                                  f"{body.board_date.isoformat()} html {pack.html_sha256[:12]}"})
    out = _as_dict(pack)
    return Response(json.dumps(out), status_code=201, media_type="application/json",
                    headers={"Location": f"/api/v1/packs/{pack.id}", "Cache-Control": "no-store"})


def _pack(state: Any, pack_id: int, column: Any) -> BoardPack:
    with Session(state.engine) as session:
        found = session.scalars(select(BoardPack).where(BoardPack.id == pack_id).options(undefer(column))).first()
        if found is None:
            raise ApiError(404, f"There is no published pack {pack_id}: see GET /api/v1/packs.")
        session.expunge(found)
        return found


def _download(request: Request, body: bytes, media_type: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}  # the site's CSP runs no script in it
    return Representation.of(body, media_type, headers).respond(request, cache_control="private, max-age=86400, immutable")


@router.get("/packs/{pack_id}", response_model=PackOut, responses={**NOT_FOUND})
def pack(request: Request, pack_id: PackId, _user: CurrentUser, state: StateDep) -> Response:
    """One published pack's facts (when, by whom, from which load, the files' SHA-256)."""
    return Representation.json(_as_dict(_pack(state, pack_id, BoardPack.html_sha256))).respond(request)


@router.get("/packs/{pack_id}/pack.html", response_class=Response, responses={
    **NOT_FOUND, 200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The pack as published."}})
def pack_html(request: Request, pack_id: PackId, _user: CurrentUser, state: StateDep) -> Response:
    """The pack's HTML exactly as published."""
    found = _pack(state, pack_id, BoardPack.html)
    return _download(request, found.html, "text/html; charset=utf-8", f"board-pack-{found.board_date}.html")


@router.get("/packs/{pack_id}/pack.pdf", response_class=Response, responses={
    **NOT_FOUND, 200: {"content": {"application/pdf": {"schema": {"type": "string"}}},
                       "description": "The pack's PDF as published."}})
def pack_pdf(request: Request, pack_id: PackId, _user: CurrentUser, state: StateDep) -> Response:
    """The pack's PDF exactly as published (404 when it was published without one)."""
    found = _pack(state, pack_id, BoardPack.pdf)
    if found.pdf is None:
        raise ApiError(404, f"Pack {pack_id} was published without a PDF: download pack.html and print it.")
    return _download(request, found.pdf, "application/pdf", f"board-pack-{found.board_date}.pdf")


@router.get("/packs/{pack_id}/snapshot", response_model=dict[str, Any], responses={**NOT_FOUND})
def pack_snapshot(request: Request, pack_id: PackId, _user: CurrentUser, state: StateDep) -> Response:
    """The data the pack was drawn from, as published: its figures, analysis and actions."""
    found = _pack(state, pack_id, BoardPack.snapshot)
    return Representation.of(found.snapshot.encode("utf-8")).respond(request, cache_control="private, max-age=86400, "
                                                                     "immutable")
