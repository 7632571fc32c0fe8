"""Liveness and readiness, for the load balancer and the operator: no sign-in needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.deps import StateDep
from api.errors import BAD_INPUT

router = APIRouter(tags=["health"], responses=BAD_INPUT)  # 422: a query parameter it does not take


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    warehouse: str
    app_db: str


@router.get("/health", response_model=Health)
async def health() -> Health:
    """The process is up (says nothing about the data)."""
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness, "description": "Not ready."}})
async def ready(state: StateDep) -> JSONResponse:
    """Ready to serve figures: a readable published warehouse and a reachable app database."""

    def check() -> Readiness:
        problem = state.live.problem
        try:
            with state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            app_db = "ok"
        except Exception as exc:  # noqa: BLE001  any failure means "not ready", reported, not raised
            app_db = f"The app database cannot be reached: {type(exc).__name__}."
        return Readiness(ready=problem is None and app_db == "ok", warehouse=problem or "ok", app_db=app_db)

    result = await run_in_threadpool(check)
    return JSONResponse(result.model_dump(), status_code=200 if result.ready else 503)
