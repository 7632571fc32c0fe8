"""Responses made once per published warehouse version, and revalidated with ETag / If-None-Match.

A key always starts with the warehouse's run_id, so a new load makes every old entry unreachable;
the live warehouse drops them when it swaps versions so memory does not grow with loads.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.errors import ApiError
from api.live_warehouse import LiveWarehouse, Version, WarehouseUnavailable
from kpis.finite import FiniteRows

# Behind sign-in: only the browser may keep a copy, and it must ask again (cheaply, with the ETag).
CACHE_CONTROL = "private, no-cache"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"cannot put {type(value).__name__} in JSON")


def json_bytes(payload: Any) -> bytes:
    """Compact JSON; NaN is refused rather than sent (it is not JSON, and would hide a wrong figure).

    orjson writes it (a tenth of json.dumps's time for a team-level answer, the larger part of an
    uncached request) but would write NaN as null, so the payload is looked over for one first,
    unless it is figure rows already seen to be finite where they were made (kpis.FiniteRows: the
    cube's, checked on its arrays; looking at a team-level answer's eight thousand values again
    cost half a millisecond). Keys that are not strings (a date) cost orjson its fast path for every
    payload: only a payload that has them is written with OPT_NON_STR_KEYS."""
    if type(payload) is not FiniteRows:
        _refuse_nan([payload])
    try:
        return orjson.dumps(payload, default=_jsonable)
    except TypeError:
        return orjson.dumps(payload, default=_jsonable, option=orjson.OPT_NON_STR_KEYS)


def _refuse_nan(value: Any) -> None:
    """ValueError on a NaN or infinity anywhere in lists, tuples and dicts (json.dumps's allow_nan=False).

    One pass with a stack, not a call per container: a team-level answer is four thousand values."""
    stack = [value]
    while stack:
        item = stack.pop()
        values = item.values() if type(item) is dict else item
        for v in values:
            kind = type(v)
            if kind is float:
                if v - v != 0.0:  # NaN and infinities only
                    raise ValueError(f"{v} is not JSON")
            elif kind is dict or kind is list or kind is tuple:
                stack.append(v)


@dataclass(frozen=True)
class Representation:
    """A finished body with its validator and headers, ready to send any number of times."""

    body: bytes
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    count: int | None = None  # how many child-level records it discloses (for the audit log)
    etag: str = ""

    @classmethod
    def of(cls, body: bytes, media_type: str = "application/json", headers: dict[str, str] | None = None,
           count: int | None = None) -> Representation:
        return cls(body, media_type, headers or {}, count, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')

    @classmethod
    def json(cls, payload: Any, headers: dict[str, str] | None = None, count: int | None = None) -> Representation:
        return cls.of(json_bytes(payload), "application/json", headers, count)

    def respond(self, request: Request, cache_control: str = CACHE_CONTROL) -> Response:
        """200 with the body, or 304 when the client already holds this version (child-level answers
        pass `no-store`: nothing keeps a copy, though a client may still revalidate by ETag)."""
        headers = {**self.headers, "ETag": self.etag, "Cache-Control": cache_control}
        if _matches(request.headers.get("if-none-match"), self.etag):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


class ResponseCache:
    """A bounded LRU of representations (by count and bytes), keyed by (run_id, route, parameters)."""

    def __init__(self, enabled: bool = True, max_entries: int = 2048, max_bytes: int = 256 * 2**20) -> None:
        self.enabled = enabled
        self._max = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[tuple[Hashable, ...], Representation] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: tuple[Hashable, ...], make: Callable[[], Representation]) -> Representation:
        """The cached representation, or a new one made (outside the lock) and kept."""
        if not self.enabled:
            return make()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
        made = make()
        if len(made.body) > self._max_bytes // 16:
            return made  # a huge export: keeping it would push out many small, often-asked figures
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes += len(made.body) - (len(old.body) if old is not None else 0)
            self._entries[key] = made
            while len(self._entries) > self._max or self._bytes > self._max_bytes:
                self._bytes -= len(self._entries.popitem(last=False)[1].body)
        return made

    def lookup(self, key: tuple[Hashable, ...]) -> Representation | None:
        """A hit without making anything (lets a route answer without leaving the event loop)."""
        if not self.enabled:
            return None
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def keep_only(self, run_id: str) -> None:
        """Forget every entry made from another warehouse version."""
        with self._lock:
            for key in [k for k in self._entries if k[0] != run_id]:
                self._bytes -= len(self._entries.pop(key).body)

    def __len__(self) -> int:
        return len(self._entries)


async def cached_response(
    request: Request, key: tuple[Hashable, ...], make: Callable[[Version], Representation],
    inline: Callable[[Version], bool] | None = None,
) -> Response:
    """The hot path of the read routes: a hit is answered on the event loop without touching the
    warehouse; a miss holds the current version in a worker thread while `make` checks the request
    and builds the answer (inline: says when `make` is cheap enough to run on the event loop instead).
    `key` is the route and its raw parameters: a request that fails its checks raises before anything
    is kept, so only valid answers are ever found. (The app's state is read
    from the request rather than injected: one dependency fewer on the busiest routes.)"""
    live: LiveWarehouse = request.app.state.kpidash.live
    cache: ResponseCache = request.app.state.kpidash.cache
    if live.must_open():
        await run_in_threadpool(live.refresh_if_due)
    run_id = live.current_run_id()
    hit = cache.lookup((run_id, *key)) if run_id is not None else None
    if hit is not None:
        return hit.respond(request)
    if inline is not None:
        # an answer read from the daily cube costs about a millisecond: made here, without the hop to a
        # worker thread (and the contention for the interpreter of thirty threads at once)
        try:
            with live.use() as version:
                if inline(version):
                    return cache.get_or_make((version.warehouse.run_id, *key), lambda: make(version)).respond(request)
        except WarehouseUnavailable as exc:
            raise ApiError(503, str(exc)) from None

    def miss() -> Representation:
        with live.use() as version:
            return cache.get_or_make((version.warehouse.run_id, *key), lambda: make(version))

    try:
        made = await run_in_threadpool(miss)
    except WarehouseUnavailable as exc:
        raise ApiError(503, str(exc)) from None
    return made.respond(request)
