"""The sign-out stamp: a small file every process of one deployment touches after it revokes tokens, so
every API worker's token cache (api/token_cache.py) stops trusting what it checked before at once.

Revoking (a sign-out on any worker, `kpidash tokens revoke`, `kpidash users disable`) commits in the
app database, then appends a byte to `<KPIDASH_DB>.revocations` beside the warehouse every process
of the deployment reads. A cache entry keeps the stamp's signature (inode, size, modification time)
read before its token was checked, and is trusted only while the stamp still has it: one stat per
request, against a database look-up. Appending makes the size grow with every revocation, so two in
the same clock tick still differ. A process on another machine (the app database on a server, the
warehouse folder not shared) does not see the stamp: there a revocation takes effect within
KPIDASH_TOKEN_CACHE_SECONDS, as it would without it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("kpidash.api")

# past this size the stamp starts again from empty (still a change every reader sees)
_MAX_BYTES = 4096

Signature = tuple[int, int, int] | None


def stamp_path(db: Path) -> Path:
    """The stamp of the deployment whose warehouse is db."""
    return Path(db).with_name(f"{Path(db).name}.revocations")


def signature(path: Path) -> Signature:
    """What the stamp looks like now (None: not there yet)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def announce(path: Path | None = None) -> None:
    """Tell every worker's token cache that tokens were revoked (after the revocation is committed).
    path: the stamp (default: the configured deployment's). A stamp that cannot be written is logged:
    the revocation then takes effect within the cache's seconds."""
    if path is None:
        from core.settings import get_settings

        path = stamp_path(get_settings().db)
    try:
        with open(path, "ab") as f:
            if f.tell() >= _MAX_BYTES:
                f.truncate(0)
            f.write(b".")
    except OSError as exc:
        log.warning("could not write the sign-out stamp %s (%s): API workers stop trusting revoked tokens "
                    "within KPIDASH_TOKEN_CACHE_SECONDS instead of at once", path, exc)
