"""The published warehouse as the API sees it: one open version at a time, swapped when a load
publishes a new file, and never pulled from under a request that is still using the old one.

The loader replaces the file atomically (os.replace), so a new inode/mtime means a new version. The
file is stat-ed at most once a second; a changed file is opened in full before it replaces the
current version, and the old version closes when its last request lets go of it.

A changed file that cannot be read (garbage, truncated, not DuckDB) never replaces a good version:
- replaced (a new inode): the version in hand still reads its own, intact inode and is kept;
- written over in place (the same inode): the version in hand reads the damaged bytes too (blocks
  DuckDB has not cached fail their checksum; tests/api/test_live_warehouse.py shows it), so the kept
  copy of the last publish (`<db>.last-good`, see etl.publish) is served read-only instead; failing
  that, the version in hand as long as a full read of it still works.
With no version in hand (start-up), an unreadable file means the kept copy, if it opens. Either way
`warning` says what is served, and a WARNING is logged once per bad file.
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

from etl.contract import TABLES
from etl.publish import last_good_path

log = logging.getLogger("kpidash.api")


class WarehouseUnavailable(Exception):
    """No readable published warehouse: the message says what an operator should do."""


class Version:
    """One open warehouse, how many requests hold it, and lookups memoised for its lifetime."""

    def __init__(self, warehouse: Any, inode: int, kept_copy: bool = False) -> None:
        self.warehouse = warehouse
        self.inode = inode  # of the file it was opened from: written over in place, it is damaged too
        self.kept_copy = kept_copy
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
        kept_copy: Path | None = None,
        warm: Callable[[Version], Any] | None = None,
    ) -> None:
        self.path = path
        # warm(version) fills caches for a new version. With it, a new version replacing one that serves
        # is opened and warmed in a background thread and swapped in only then (no request waits for
        # it; they keep the old version meanwhile); the first version (start-up) serves at once and is
        # warmed in the background.
        self._warm = warm
        self.kept_copy = kept_copy if kept_copy is not None else last_good_path(path)
        self._open = opener
        self._on_swap = on_swap
        self._interval = check_interval
        self._current: Version | None = None
        self._signature: tuple[int, int, int] | None = None  # of the published file the version came from
        self._bad_signature: tuple[int, int, int] | None = None  # of a published file found unreadable
        self._problem = _not_published(path)
        self._warning: str | None = None
        self._checked_at = float("-inf")
        self._seen: tuple[int, int, int] | None = None  # the file as the last look found it
        self._lock = threading.Lock()  # guards _current and the users counts
        self._refreshing = threading.Lock()  # one thread at a time opens a new version

    @property
    def problem(self) -> str | None:
        """Why there is no warehouse to serve, or None when there is one."""
        self.refresh_if_due()
        return None if self._current is not None else self._problem

    @property
    def warning(self) -> str | None:
        """What is wrong with the published file while an older good version is served, or None."""
        self.refresh_if_due()
        return self._warning if self._current is not None else None

    def due(self) -> bool:
        """True when the file should be looked at again (cheap; lets async callers skip a thread hop).

        With no version in hand, also as soon as the file differs from what the last look found (one
        stat): a load that publishes is served from the next request, not after up to an interval of
        "nothing published" (the watcher looks every interval, so without this a request just after a
        publish often heard so). The same missing or unreadable file is looked at again at most once an
        interval, not on every request.
        """
        if time.monotonic() - self._checked_at >= self._interval:
            return True
        return self._current is None and _signature(self.path) != self._seen

    def must_open(self) -> bool:
        """Whether a request on the event loop must hand this check to a worker thread: True only when
        there is no version in hand or the published file changed (opening a version is a thread's work).

        When it is merely time to look again, the look is one stat of the file, done here: a hop to a
        thread for it would put every request that arrives in that moment at the back of the event
        loop's queue (measured: 7% of requests under 32 clients, which made the slowest 1% twice the
        median).
        """
        if self._current is None:
            return self.due() or self._refreshing.locked()  # locked: the first version is being opened
        if not self.due():
            return False
        if not self._refreshing.acquire(blocking=False):
            return False  # another thread is looking or opening: serve the version in hand meanwhile
        try:
            if not self.due():
                return False
            if self._unchanged(_signature(self.path)):
                self._checked_at = time.monotonic()  # nothing to do until the next interval
                return False
            return True
        finally:
            self._refreshing.release()

    def refresh_if_due(self) -> None:
        """Look at the file if it is time to; open and swap in a new version if it changed.

        With no version in hand, a look already under way (the watcher's, or another request's, which
        marks the file as looked at before it opens it) is waited for: the request then gets the version
        it opens, not "nothing published" (a container test asked while the first version opened).
        """
        if not self.due():
            if self._current is None and self._refreshing.locked():
                with self._refreshing:
                    pass
            return
        # With a version in hand, a request never waits for another thread's open: it serves the old one.
        if not self._refreshing.acquire(blocking=self._current is None):
            return
        if self._warm is not None and self._current is not None:
            threading.Thread(target=self._refresh_and_release, name="kpidash-warehouse-refresh", daemon=True).start()
            return
        self._refresh_and_release()

    def _refresh_and_release(self) -> None:
        try:
            if self.due():
                self._refresh()
        finally:
            self._refreshing.release()

    def _warm_up(self, version: Version) -> None:
        try:
            self._warm(version)  # type: ignore[misc]
        except Exception as exc:  # noqa: BLE001  warming is an optimisation: never a reason not to serve
            log.warning("warming run %s failed: %s", version.warehouse.run_id, _first_line(exc))

    def _unchanged(self, signature: tuple[int, int, int] | None) -> bool:
        """Whether the published file is, with a version in hand, the same good file or the same bad one
        already reported: nothing to open."""
        return signature is not None and self._current is not None and signature in (self._signature,
                                                                                    self._bad_signature)

    def _refresh(self) -> None:
        self._checked_at = time.monotonic()
        signature = self._seen = _signature(self.path)
        if self._unchanged(signature):
            return
        if signature is None:
            self._signature = self._bad_signature = self._warning = None
            self._problem = _not_published(self.path)
            self._swap(None)
            return
        try:
            warehouse = self._open(self.path)
        except Exception as exc:  # noqa: BLE001  any failure to open is "unreadable", never a crash
            self._unreadable(signature, _first_line(exc))
            return
        if self._warning is not None:
            log.warning("the warehouse at %s can be read again (run %s): serving it", self.path, warehouse.run_id)
        new = Version(warehouse, signature[0])
        first = self._current is None
        if self._warm is not None and not first:
            self._warm_up(new)  # before it serves (this runs in the background thread)
        self._signature, self._bad_signature, self._warning = signature, None, None
        self._swap(new)
        if self._warm is not None and first:
            with self._lock:
                new.users += 1  # held while warming, so a swap meanwhile cannot close it under the warm-up
            threading.Thread(target=self._warm_then_release, args=(new,), name="kpidash-warm", daemon=True).start()

    def _warm_then_release(self, version: Version) -> None:
        try:
            self._warm_up(version)
        finally:
            self.release(version)

    def _unreadable(self, signature: tuple[int, int, int], reason: str) -> None:
        """The published file changed and cannot be read: keep or find a good version, and say so."""
        self._bad_signature = signature
        cannot = f"The published warehouse file {self.path} cannot be read ({reason})"
        current = self._current
        if current is not None and current.inode != signature[0] and _reads_in_full(current):
            self._warning = f"{cannot}; still serving {_described(current)}."
            log.warning("%s", self._warning)
            return
        kept = self._open_kept_copy()
        if kept is not None:
            self._signature = None
            self._warning = f"{cannot}; serving {_described(kept)} read-only until a load publishes a good one."
            log.warning("%s", self._warning)
            self._swap(kept)
            return
        if current is not None and _reads_in_full(current):  # written over in place, but still reads
            self._warning = f"{cannot}; still serving {_described(current)}, which may fail: reload the extract."
            log.warning("%s", self._warning)
            return
        log.warning("%s, and there is no good kept copy (%s) to serve", cannot, self.kept_copy)
        self._signature = self._warning = None
        self._problem = f"The warehouse at {self.path} cannot be read ({reason}); the last load may need to be re-run."
        self._swap(None)

    def _open_kept_copy(self) -> Version | None:
        """The kept copy of the last publish, opened in full, or None (missing or unreadable too)."""
        kept = _signature(self.kept_copy)
        if kept is None:
            return None
        try:
            return Version(self._open(self.kept_copy), kept[0], kept_copy=True)
        except Exception as exc:  # noqa: BLE001  unreadable like the published file: nothing to serve
            log.warning("the kept copy %s cannot be read either: %s", self.kept_copy, _first_line(exc))
            return None

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
        """At shutdown: retire the current version (closed now, or by its last request). A warm-up still
        running in the background is not waited for beyond a few seconds: it holds its own version."""
        held = self._refreshing.acquire(timeout=5)
        try:
            self._swap(None)
            self._signature = self._bad_signature = self._warning = None
        finally:
            if held:
                self._refreshing.release()


def _not_published(path: Path) -> str:
    return f"No warehouse has been published at {path} yet: load an extract (kpidash load FOLDER)."


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _reads_in_full(version: Version) -> bool:
    """Whether every column of every table of the version can still be read (a damaged block fails
    DuckDB's checksum). Run only when the published file has changed and cannot be read: rare."""
    try:
        with version.warehouse.cursor() as cur:
            for table in TABLES:
                cur.execute(f"SELECT count(COLUMNS(*)) FROM wh.{table.name}").fetchall()
    except Exception as exc:  # noqa: BLE001  any failure means "damaged"
        log.warning("the warehouse version in hand (run %s) cannot be read in full: %s",
                    version.warehouse.run_id, _first_line(exc))
        return False
    return True


def _described(version: Version) -> str:
    """'the version from run R loaded at T' (or 'the last good copy ... (run R loaded at T)')."""
    try:
        with version.warehouse.cursor() as cur:
            loaded = cur.execute("SELECT max(loaded_at) FROM wh.extract_meta").fetchone()[0]
        when = f"{loaded:%Y-%m-%d %H:%M} UTC" if loaded is not None else "an unknown time"
    except Exception:  # noqa: BLE001  only the wording suffers
        when = "an unknown time"
    run = f"run {version.warehouse.run_id} loaded at {when}"
    if version.kept_copy:
        return f"the last good copy {version.warehouse.path} ({run})"
    return f"the version from {run}"


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
