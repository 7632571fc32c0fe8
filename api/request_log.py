"""Requests in the structured log, at a cost no request notices: one summary a minute, not a line each.

uvicorn's access log formatted and wrote a line for every request on the event loop (about a twelfth
of a cached request's cost). `kpidash serve` turns it off; this middleware counts each request in
memory (its status and time: a few microseconds) and logs, at most once a `interval`:
- kpidash.access INFO "requests": how many, by status, and the median, 99th percentile and slowest
  time of the interval (`detail`, a JSON object in the JSON log);
- at once, WARNING for each request that failed on the server (5xx) or took longer than `slow`
  seconds, with its method, path (no query string: it may name a unit) and time.
Child-level records are audited in the app database (api/audit.py), not here.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("kpidash.access")


class RequestLog:
    """Pure ASGI middleware (no per-request objects beyond one closure) that summarises requests."""

    def __init__(self, app: ASGIApp, interval: float = 60.0, slow: float = 1.0, keeper: Any = None) -> None:
        """keeper: an object (the app's state) given `request_log`, so the app can flush it at shutdown."""
        self.app = app
        if keeper is not None:
            keeper.request_log = self
        self.interval = interval
        self.slow = slow
        self._since = time.monotonic()
        self._times: list[float] = []
        self._statuses: Counter[int] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]  # what a request that raises before answering counts as

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._count(scope, status[0], time.perf_counter() - started)

    def _count(self, scope: Scope, status: int, seconds: float) -> None:
        self._times.append(seconds)
        self._statuses[status] += 1
        if status >= 500 or seconds > self.slow:
            log.warning("%s %s %d in %.0f ms", scope.get("method"), scope.get("path"), status, seconds * 1000,
                        extra={"detail": {"method": scope.get("method"), "path": scope.get("path"), "status": status,
                                          "ms": round(seconds * 1000, 1)}})
        now = time.monotonic()
        if now - self._since >= self.interval:
            self.flush(now)

    def flush(self, now: float | None = None) -> dict[str, Any] | None:
        """Log the requests counted since the last summary (also at shutdown); returns what it logged."""
        now = time.monotonic() if now is None else now
        times, statuses = sorted(self._times), self._statuses
        self._times, self._statuses, self._since = [], Counter(), now
        if not times:
            return None
        detail = {
            "requests": len(times),
            "by_status": {str(k): v for k, v in sorted(statuses.items())},
            "p50_ms": round(times[len(times) // 2] * 1000, 1),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))] * 1000, 1),
            "max_ms": round(times[-1] * 1000, 1),
        }
        log.info("%d requests, p50 %.1f ms, p99 %.1f ms", detail["requests"], detail["p50_ms"], detail["p99_ms"],
                 extra={"detail": detail})
        return detail
