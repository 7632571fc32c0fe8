"""Recently checked tokens, so a busy client is not looked up in the app database on every request.

A token's check (api.accounts.authenticate: one indexed read, through SQLAlchemy) is about a fifth of a
cached figure's cost. Its answer is kept for `seconds` (KPIDASH_TOKEN_CACHE_SECONDS, default 5), so:
- a token revoked, or a user disabled, by another process of the deployment (another worker signing
  it out, `kpidash tokens revoke`, `users disable`) stops working at once: they touch the sign-out
  stamp (api/revocations.py), and an entry is trusted only while the stamp is as it was before its
  token was checked; where the stamp is not shared (another machine), within `seconds`;
- signing out through this process stops the session at once (the route forgets the token here);
- a token that expires stops at its expiry, cached or not;
- only tokens that passed are kept (a refused one is checked every time), under their SHA-256, never
  as the token itself; 0 seconds checks every request.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from api import revocations
from api.accounts import Principal
from api.models import utcnow
from api.security import token_digest


class TokenCache:
    """token digest -> (who it stands for, when that was checked, the sign-out stamp before the check),
    for a few seconds. stamp: the deployment's sign-out stamp (None: revocations elsewhere are seen
    within `seconds` only)."""

    def __init__(self, seconds: float = 5.0, max_entries: int = 10_000, stamp: Path | None = None) -> None:
        self.seconds = seconds
        self._max = max_entries
        self._stamp = stamp
        self._entries: dict[str, tuple[Principal, float, revocations.Signature]] = {}
        self._lock = threading.Lock()

    def stamp(self) -> revocations.Signature:
        """The sign-out stamp as it is now: read it before checking a token, and give it to put()."""
        return revocations.signature(self._stamp) if self._stamp is not None else None

    def get(self, token: str) -> Principal | None:
        """Who the token stands for, if it was checked less than `seconds` ago, has not expired, and no
        token was revoked in the deployment since."""
        if self.seconds <= 0:
            return None
        hit = self._entries.get(token_digest(token))
        if hit is None:
            return None
        principal, checked, stamp = hit
        if time.monotonic() - checked >= self.seconds or principal.expires_at <= utcnow() or stamp != self.stamp():
            return None
        return principal

    def put(self, token: str, principal: Principal, stamp: revocations.Signature = None) -> None:
        """Keep a token that was just checked and passed; stamp: self.stamp() from before the check."""
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self._max:  # a flood of distinct tokens: drop the older half
                for key in list(self._entries)[: self._max // 2]:
                    del self._entries[key]
            self._entries[token_digest(token)] = (principal, time.monotonic(), stamp)

    def forget(self, token_id: int) -> None:
        """Stop trusting a token at once (this process signed it out)."""
        with self._lock:
            for key in [k for k, (p, _, _) in self._entries.items() if p.token_id == token_id]:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
