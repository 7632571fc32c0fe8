"""Recently checked tokens, so a busy client is not looked up in the app database on every request.

A token's check (api.accounts.authenticate: one indexed read, through SQLAlchemy) is about a fifth of a
cached figure's cost. Its answer is kept for `seconds` (KPIDASH_TOKEN_CACHE_SECONDS, default 5), so:
- a token revoked, or a user disabled, by another process (`kpidash tokens revoke`, `users disable`,
  another worker) stops working within `seconds`: after that its next request is checked again;
- signing out through this process stops the session at once (the route forgets the token here);
- a token that expires stops at its expiry, cached or not;
- only tokens that passed are kept (a refused one is checked every time), under their SHA-256, never
  as the token itself; 0 seconds checks every request.
"""

from __future__ import annotations

import threading
import time

from api.accounts import Principal
from api.models import utcnow
from api.security import token_digest


class TokenCache:
    """token digest -> (who it stands for, when that was checked), for a few seconds."""

    def __init__(self, seconds: float = 5.0, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self._max = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        """Who the token stands for, if it was checked less than `seconds` ago and has not expired."""
        if self.seconds <= 0:
            return None
        hit = self._entries.get(token_digest(token))
        if hit is None:
            return None
        principal, checked = hit
        if time.monotonic() - checked >= self.seconds or principal.expires_at <= utcnow():
            return None
        return principal

    def put(self, token: str, principal: Principal) -> None:
        """Keep a token that was just checked and passed."""
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self._max:  # a flood of distinct tokens: drop the older half
                for key in list(self._entries)[: self._max // 2]:
                    del self._entries[key]
            self._entries[token_digest(token)] = (principal, time.monotonic())

    def forget(self, token_id: int) -> None:
        """Stop trusting a token at once (this process signed it out)."""
        with self._lock:
            for key in [k for k, (p, _) in self._entries.items() if p.token_id == token_id]:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
