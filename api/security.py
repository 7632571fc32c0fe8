"""Passwords and tokens: argon2 for what people type, SHA-256 for what machines hold.

A token is 32 random bytes, so a fast hash is enough: nobody can guess one to test against it. A
password is low-entropy, so it gets argon2id (memory-hard) and is re-hashed when the parameters age.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so a wrong name costs as long as a wrong password.
    Made on first use: an argon2 hash costs tens of milliseconds, which no command should pay at import."""
    return _hasher.hash(secrets.token_urlsafe(16))


SESSION_PREFIX = "kps_"
API_PREFIX = "kpa_"


def hash_password(password: str) -> str:
    """An argon2id hash in PHC string form (it carries its own salt and parameters)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends an argon2 verification, even with no hash."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def new_password() -> str:
    """A random password people can still copy: 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def new_token(prefix: str) -> str:
    """A bearer token; the prefix says what it is when one turns up in a log or a leak scanner."""
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
