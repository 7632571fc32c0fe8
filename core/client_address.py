"""Whose request is this, really: the address the sign-in throttle counts and the audit trail records.

Two hops can hide the browser's address:

- **A reverse proxy** (TLS termination, a load balancer) makes every request come from its own
  address. Its `X-Forwarded-For` is believed only when the request comes from an address in
  `KPIDASH_TRUSTED_PROXIES`; anyone else can write that header, so from anyone else it is ignored.
- **The dashboard** runs inside the service and reads the API over loopback HTTP, so every API request
  it makes comes from 127.0.0.1. It says whose request it is passing on in `X-Kpidash-Client`, vouched
  for with an HMAC under the service key. The key is random, made once and kept in the app database,
  so every worker process of a deployment (and every machine sharing the app database) holds the same
  key, and nobody without the app database can forge the header.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections.abc import Sequence

from sqlalchemy import Engine, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.appdb import Base
from core.networks import Network

HEADER = "X-Kpidash-Client"
KEY_NAME = "client-address"
MAX_AGE_SECONDS = 300  # a vouched address older than this is not believed (no replay days later)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class ServiceKey(Base):
    """A secret the service's own processes share (never shown, never in configuration files)."""

    __tablename__ = "service_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=_utcnow)


_keys: dict[str, bytes] = {}
_keys_lock = threading.Lock()


def service_key(engine: Engine) -> bytes:
    """The deployment's key, made on first use; every process that shares the app database gets the
    same one (two processes making it at once: the second insert fails and reads the first's)."""
    cache_key = engine.url.render_as_string(hide_password=False)
    key = _keys.get(cache_key)
    if key is not None:
        return key
    with _keys_lock:
        key = _keys.get(cache_key)
        if key is None:
            key = _keys[cache_key] = _read_or_make(engine).encode()
    return key


def _read_or_make(engine: Engine) -> str:
    query = select(ServiceKey.secret).where(ServiceKey.name == KEY_NAME)
    with Session(engine) as session:
        found = session.scalar(query)
    if found is not None:
        return found
    try:
        with Session(engine) as session, session.begin():
            session.add(ServiceKey(name=KEY_NAME, secret=secrets.token_hex(32)))
    except IntegrityError:
        pass  # another process made it first: use theirs
    with Session(engine) as session:
        return session.scalar(query)  # type: ignore[return-value]


def _proof(key: bytes, address: str, stamp: int) -> str:
    return hmac.new(key, f"{address}|{stamp}".encode(), hashlib.sha256).hexdigest()


def vouch(engine: Engine, address: str, now: float | None = None) -> str:
    """The X-Kpidash-Client value that tells the API a request is passed on for `address`."""
    stamp = int(time.time() if now is None else now)
    return f"{address} {stamp} {_proof(service_key(engine), address, stamp)}"


def vouched_address(engine: Engine, value: str | None, now: float | None = None) -> str | None:
    """The address an X-Kpidash-Client value vouches for, or None when it is absent, malformed, stale
    or not signed with this deployment's key (then the request's own address counts)."""
    if not value or len(value) > 200:
        return None
    parts = value.split(" ")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    address, stamp, proof = parts[0], int(parts[1]), parts[2]
    if abs((time.time() if now is None else now) - stamp) > MAX_AGE_SECONDS:
        return None
    if not hmac.compare_digest(proof, _proof(service_key(engine), address, stamp)):
        return None
    return address


def is_trusted(address: str | None, networks: Sequence[Network]) -> bool:
    if not address or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def forwarded_client(peer: str, forwarded_for: Sequence[str], networks: Sequence[Network]) -> str:
    """The client behind a chain of proxies: walking X-Forwarded-For from the right (the hop nearest
    us), the first address that is not a trusted proxy. A client can write anything at the left of the
    header, so only what trusted proxies appended is believed."""
    if not is_trusted(peer, networks):
        return peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return client  # garbage from here leftwards: stop at the last hop we can vouch for
        client = hop
        if not is_trusted(hop, networks):
            return hop
    return client
