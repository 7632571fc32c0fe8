"""The published warehouse as the API sees it: one open version at a time, swapped when a load
publishes a new file, and never pulled from under a request that is still using the old one.

The loader replaces the file atomically (os.replace), so a new inode/mtime means a new version. The
file is stat-ed at most once a second; a changed file is opened in full before it replaces the
current version, and the old version closes when its last request lets go of it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("kpidash.api")


class WarehouseUnavailable(Exception):
    """No readable published warehouse: the message says what an operator should do."""


class Version:
    """One open warehouse, how many requests hold it, and lookups memoised for its lifetime."""

    def __init__(self, warehouse: Any) -> None:
        self.warehouse = warehouse
        self.users = 0
        self.retired = False
        self.memo: dict[Any, Any] = {}
        self.memo_lock = threading.Lock()


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class LiveWarehouse:
    """Hands out the current warehouse version to requests (`with live.use() as version:`)."""

    def __init__(
        self,
        path: Path,
        opener: Callable[[Path], Any],
        on_swap: Callable[[str | None], None] = lambda run_id: None,
        check_interval: float = 1.0,
    ) -> None:
        self.path = path
        self._open = opener
        self._on_swap = on_swap
        self._interval = check_interval
        self._current: Version | None = None
        self._signature: tuple[int, int, int] | None = None
        self._problem = f"No warehouse has been published at {path} yet: load an extract (kpidash load FOLDER)."
        self._checked_at = float("-inf")
        self._lock = threading.Lock()  # guards _current and the users counts
        self._refreshing = threading.Lock()  # one thread at a time opens a new version

    @property
    def problem(self) -> str | None:
        """Why there is no warehouse to serve, or None when there is one."""
        self.refresh_if_due()
        return None if self._current is not None else self._problem

    def due(self) -> bool:
        """True when the file should be looked at again (cheap; lets async callers skip a thread hop).

        Also when there is no version: a missing or unreadable file is looked at again at most once an
        interval, not on every request.
        """
        return time.monotonic() - self._checked_at >= self._interval

    def refresh_if_due(self) -> None:
        """Look at the file if it is time to; open and swap in a new version if it changed."""
        if not self.due():
            return
        # With a version in hand, a request never waits for another thread's open: it serves the old one.
        if not self._refreshing.acquire(blocking=self._current is None):
            return
        try:
            if self.due():
                self._refresh()
        finally:
            self._refreshing.release()

    def _refresh(self) -> None:
        self._checked_at = time.monotonic()
        signature = _signature(self.path)
        if signature is not None and signature == self._signature and self._current is not None:
            return
        if signature is None:
            self._signature = None
            self._problem = f"No warehouse has been published at {self.path} yet: load an extract (kpidash load FOLDER)."
            self._swap(None)
            return
        try:
            warehouse = self._open(self.path)
        except Exception as exc:  # noqa: BLE001  any failure to open is "unreadable", never a crash
            log.warning("cannot open the warehouse at %s: %s", self.path, exc)
            self._signature = None
            self._problem = f"The warehouse at {self.path} cannot be read ({exc}); the last load may need to be re-run."
            self._swap(None)
            return
        self._signature = signature
        self._swap(Version(warehouse))

    def _swap(self, new: Version | None) -> None:
        with self._lock:
            old, self._current = self._current, new
            close_now = old is not None and old.users == 0
            if old is not None:
                old.retired = True
        republished = old is not None and new is not None and old.warehouse.run_id == new.warehouse.run_id
        if not republished:  # the same run copied in again keeps its cached answers
            self._on_swap(None if new is None else new.warehouse.run_id)
        if close_now:
            old.warehouse.close()

    def current_run_id(self) -> str | None:
        """The run id of the version in hand (no refresh, no hold): the first part of a cache key."""
        version = self._current
        return None if version is None else version.warehouse.run_id

    @contextmanager
    def use(self) -> Iterator[Version]:
        """The current version, held open until the block ends; WarehouseUnavailable when there is none."""
        version = self.acquire()
        try:
            yield version
        finally:
            self.release(version)

    def acquire(self) -> Version:
        """Hold the current version (pair with release)."""
        self.refresh_if_due()
        with self._lock:
            version = self._current
            if version is None:
                raise WarehouseUnavailable(self._problem)
            version.users += 1
            return version

    def release(self, version: Version) -> None:
        """Let go of a version; the last holder of a retired version closes it."""
        with self._lock:
            version.users -= 1
            close_now = version.retired and version.users == 0
        if close_now:
            version.warehouse.close()

    def close(self) -> None:
        """At shutdown: retire the current version (closed now, or by its last request)."""
        with self._refreshing:
            self._swap(None)
            self._signature = None


def memoised(version: Version, key: Any, make: Callable[[], Any]) -> Any:
    """A lookup computed once per warehouse version (unit lists, the worker -> team map, ...)."""
    try:
        return version.memo[key]
    except KeyError:
        pass
    with version.memo_lock:
        if key not in version.memo:
            version.memo[key] = make()
        return version.memo[key]
