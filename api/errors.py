"""Every refusal as `{"detail": "..."}` with a sentence that says what to fix, never a traceback."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.dates import ISO_DATE, NO_SUCH_DAY, NO_SUCH_MONTH

log = logging.getLogger("kpidash.api")


class ErrorMessage(BaseModel):
    """The body of every 4xx/5xx answer."""

    detail: str


class ApiError(Exception):
    """A refusal raised anywhere below a route: status, message, optional extra headers."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def _response(description: str) -> dict[str, Any]:
    return {"model": ErrorMessage, "description": description}


# The error answers each route may give, for the OpenAPI document (and so for schemathesis).
SIGNED_IN = {401: _response("Not signed in, or the token is expired or revoked.")}
BAD_INPUT = {422: _response("A parameter is invalid; the message says which and how to fix it.")}
NOT_FOUND = {404: _response("No such KPI, worker or run.")}
FORBIDDEN = {403: _response("Outside what your role may see.")}
NO_DATA = {503: _response("No readable warehouse has been published yet.")}

_FIXES = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "missing": "is required",
    "string_too_long": "is too long",
    "string_too_short": "is too short",
    "json_invalid": "is not valid JSON",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "string_type": "must be text",
}


def _describe(error: dict[str, Any]) -> str:
    """One pydantic error as a sentence: which parameter, what was wrong, what to send instead."""
    loc = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body", "header", "cookie")]
    name = ".".join(loc) or "the request body"
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if isinstance(given, str) and len(given) > 60:
        given = given[:57] + "..."
    shown = f" ({given!r})" if isinstance(given, (str, int, float)) and kind != "missing" else ""
    if kind.startswith("date") or (kind == "value_error" and "YYYY-MM-DD" in str(ctx.get("error", ""))):
        if isinstance(given, str) and ISO_DATE.fullmatch(given.strip()):  # written right, but no such day
            return f"{name}{shown} {NO_SUCH_DAY}"
        return f"{name}{shown} is not a date: use YYYY-MM-DD, e.g. 2025-04-01"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "")
        words = {"greater_than_equal": "at least", "greater_than": "more than",
                 "less_than_equal": "at most", "less_than": "less than"}[kind]
        return f"{name}{shown} must be {words} {bound}"
    if kind in ("literal_error", "enum"):
        return f"{name}{shown} must be one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        if name.split(".")[-1] == "month":
            return f"{name}{shown} {NO_SUCH_MONTH}"
        return f"{name}{shown} has characters that are not allowed"
    if kind in _FIXES:
        return f"{name}{shown} {_FIXES[kind]}"
    return f"{name}{shown}: {error.get('msg', 'is not valid')}"


def install_error_handlers(app: FastAPI,
                           on_invalid: Callable[[Request, str], Awaitable[None]] | None = None) -> None:
    """Shape every error the same way, including FastAPI's own validation errors and crashes. on_invalid:
    told of each request FastAPI refused as unreadable (api.deps.audit_unread_write: an audited write's
    refusal is on the audit trail, even though its route never ran)."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(dict.fromkeys(_describe(e) for e in exc.errors())) + "."
        if on_invalid is not None:
            await on_invalid(request, detail)
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(ApiError)
    async def _refused(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(SQLAlchemyError)
    async def _app_db_down(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error("app database error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": "The app database cannot be reached just now; try again shortly."},
                            status_code=503)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "Something went wrong on the server; it has been logged. Please tell the kpidash team."},
            status_code=500,
        )


_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
NO_SUCH_ENDPOINT = "Not Found: there is no such API endpoint (see /api/docs)."


def install_api_fallback(app: FastAPI, prefix: str = "/api") -> None:
    """After every API route: an API path asked with a method it does not take is a 405 naming the
    methods it takes (Allow, from the OpenAPI document), and an unknown API path a JSON 404 (rather than
    the dashboard's page, which is mounted at `/` behind the API)."""
    methods_by_path: list[tuple[re.Pattern[str], list[str]]] = []

    def declared(path: str) -> list[str]:
        if not methods_by_path:
            for template, operations in app.openapi()["paths"].items():
                pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
                methods_by_path.append((pattern, sorted(m.upper() for m in operations)))
        return next((methods for pattern, methods in methods_by_path if pattern.match(path)), [])

    @app.api_route(prefix + "/{rest:path}", methods=_ALL_METHODS, include_in_schema=False)
    async def _fallback(request: Request) -> JSONResponse:
        path = request.url.path
        allowed = declared(path)
        if allowed:
            return JSONResponse({"detail": f"{request.method} is not a method of {path}: use {', '.join(allowed)}."},
                                status_code=405, headers={"Allow": ", ".join(allowed)})
        return JSONResponse({"detail": NO_SUCH_ENDPOINT}, status_code=404)
