"""The FastAPI app: /api/v1 behind sign-in (except health), OpenAPI docs at /api/docs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from a2wsgi import WSGIMiddleware
from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from api import revocations
from api.deps import ApiState, audit_unread_write
from api.errors import install_api_fallback, install_error_handlers
from api.live_warehouse import LiveWarehouse
from api.middleware import ServiceMiddleware, content_security_policy
from api.params import known_query_parameters
from api.request_log import RequestLog
from api.response_cache import ResponseCache
from api.routes import admin, auth, dashboard_support, health, history, kpis, organisation, packs, qa, runs
from api.routes import spc as spc_routes
from api.routes import board, board_packs
from api.token_cache import TokenCache
from dashboard.app import create_dash_app
from core.appdb import get_engine
from core.networks import trusted_networks
from core.settings import get_settings

API_PREFIX = "/api/v1"
log = logging.getLogger("kpidash.api")


def _open_warehouse(path: Path):  # noqa: ANN202  (kpis.Warehouse)
    from kpis import open_warehouse

    return open_warehouse(path)


def create_app(check_interval: float = 1.0, freeze_gc: bool = False, warm: bool = False) -> FastAPI:
    """A new app reading today's settings (KPIDASH_*). check_interval: how often, in seconds, the
    published warehouse file is looked at for a new version; freeze_gc: see create_server_app; warm:
    make the dashboard's first views of each new version before it serves (api.warm)."""
    settings = get_settings()
    cache = ResponseCache(enabled=settings.api_cache)
    warm_up = None
    if warm and settings.api_cache:
        from api.warm import warm as warm_views

        def warm_up(version):  # noqa: ANN001, ANN202
            return warm_views(cache, version)

    live = LiveWarehouse(settings.db, _open_warehouse, on_swap=cache.keep_only, check_interval=check_interval,
                         warm=warm_up)
    state = ApiState(settings=settings, engine=get_engine(), live=live, cache=cache,
                     tokens=TokenCache(settings.token_cache_seconds, stamp=revocations.stamp_path(settings.db)))

    async def watch() -> None:
        """Look at the published file every check_interval though no request comes: a new publish is then
        opened (and warmed) as it lands, so the first request after a quiet spell (the morning's) gets the
        new figures, not the version in hand while the new one is warmed (an audit saw one 72 s late)."""
        while True:
            await asyncio.sleep(check_interval)
            try:
                if live.must_open():
                    await run_in_threadpool(live.refresh_if_due)
            except Exception as exc:  # noqa: BLE001  the next request looks again; never a reason to stop
                log.warning("looking at the published warehouse failed: %s", exc)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        live.refresh_if_due()  # open the warehouse before the first request, not during it
        if freeze_gc:
            gc.freeze()
        watcher = asyncio.create_task(watch()) if check_interval > 0 else None  # 0: every request looks
        yield
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        live.close()
        if (request_log := getattr(_app.state, "request_log", None)) is not None:
            request_log.flush()

    app = FastAPI(
        title="kpidash API",
        version="1",
        summary="Children's social care KPIs, their trends and the children behind them, scoped by role.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
        lifespan=lifespan,
    )
    app.state.kpidash = state
    install_error_handlers(app, audit_unread_write)
    for router in (health.router, auth.router, auth.me_router, kpis.router, organisation.router, runs.router,
                   admin.router):
        app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(known_query_parameters)])
    app.include_router(dashboard_support.router, prefix=API_PREFIX, dependencies=[Depends(known_query_parameters)])
    app.include_router(history.router, prefix=API_PREFIX, dependencies=[Depends(known_query_parameters)])
    app.include_router(packs.router, prefix=API_PREFIX, dependencies=[Depends(known_query_parameters)])
    app.include_router(qa.router, prefix=API_PREFIX, dependencies=[Depends(known_query_parameters)])
    app.include_router(spc_routes.router, prefix=API_PREFIX, dependencies=[Depends(known_query_parameters)])
    for router in (board.router, board_packs.router):  # the board's loop: analysis, actions, published packs
        app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(known_query_parameters)])
    install_api_fallback(app)  # 405 for a known API path with another method, JSON 404 for an unknown one
    dash_app = create_dash_app()
    app.mount("/", WSGIMiddleware(dash_app.server))  # the dashboard (dashboard/), after every API route
    # Real client address, cross-site refusals, security headers (CSP allows Dash's inline script by hash)
    app.add_middleware(ServiceMiddleware, trusted=trusted_networks(settings.trusted_proxies),
                       csp=content_security_policy(dash_app.csp_hashes()))
    app.add_middleware(RequestLog, keeper=app.state)  # every request in the log, a summary a minute
    return app


def create_server_app() -> FastAPI:
    """The app as `kpidash serve` runs it, in a process of its own: after start-up the garbage
    collector's full passes skip everything start-up made (the libraries, the open warehouse), which
    keeps their pauses out of the slowest requests. Each new load is warmed before it serves
    (KPIDASH_WARM_AFTER_LOAD)."""
    return create_app(freeze_gc=True, warm=get_settings().warm_after_load)
