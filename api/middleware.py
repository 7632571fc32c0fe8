"""What every request and answer goes through, API and dashboard alike (one pure ASGI layer, in front
of both):

1. **The client's real address.** From a trusted proxy (KPIDASH_TRUSTED_PROXIES) the client is read
   from X-Forwarded-For (and the scheme from X-Forwarded-Proto); from anyone else those headers are
   ignored. Routes and the dashboard then see the browser's address as the request's client.
2. **Requests from other sites.** A browser sends `Origin` with every POST; a state-changing request
   (sign-in, sign-out, a dashboard callback) whose Origin is not this service is refused (403), so
   another site cannot sign a user out or in, or drive the dashboard, with the user's cookie.
3. **Browser protections** on every answer: Content-Security-Policy (scripts only from the service
   itself and Dash's own inline script, by hash; no framing), X-Frame-Options, X-Content-Type-Options,
   Referrer-Policy, Strict-Transport-Security over HTTPS, and `Cache-Control: no-store` on every answer
   that does not say how it may be cached (the dashboard's callbacks carry child-level records), except
   the dashboard's static scripts and styles (plotly.js alone is 4.5 MB), which hold no data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.client_address import Network, forwarded_client, is_trusted

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
DOCS_PREFIX = "/api/docs"
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/", "/_favicon.ico")
HSTS = "max-age=31536000; includeSubDomains"

# The API's interactive docs (FastAPI's Swagger UI page) load their script and styles from a CDN and
# start with an inline script: a looser policy for that page only (it holds no data; the browser
# fetches the document itself from /api/openapi.json, which is JSON).
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
            "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")


def content_security_policy(script_hashes: Sequence[str]) -> str:
    """The dashboard's policy: scripts from this service and Dash's inline renderer script (by hash),
    no eval; styles inline too (React and AG Grid set them); data and blob images (charts, downloads)."""
    scripts = " ".join(["'self'", *script_hashes])
    return (f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


class ServiceMiddleware:
    """See the module's docstring; `trusted`: the proxies' networks, `csp`: the dashboard's policy."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network] = (), csp: str = content_security_policy(())) -> None:
        self.app = app
        self.trusted = tuple(trusted)
        self.csp = csp.encode("latin-1")
        self.docs_csp = DOCS_CSP.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        peer = scope["client"][0] if scope.get("client") else None
        forwarded_host = None
        if self.trusted and is_trusted(peer, self.trusted):
            scope = dict(scope)
            forwarded = headers.get("x-forwarded-for", [])
            if forwarded:
                scope["client"] = (forwarded_client(peer, forwarded, self.trusted), 0)  # type: ignore[arg-type]
            proto = (headers.get("x-forwarded-proto") or [""])[0].split(",")[0].strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto
            forwarded_host = (headers.get("x-forwarded-host") or [None])[0]
        if scope["method"] not in SAFE_METHODS and _from_another_site(headers, forwarded_host):
            await _refuse(send, 403, "This request came from another site: kpidash only accepts changes made from "
                                     "its own pages.")
            return
        path: str = scope["path"]
        static = path.startswith(STATIC_PREFIXES)  # the dashboard's scripts and styles: cacheable as Dash says
        extra = [(b"content-security-policy", self.docs_csp if path.startswith(DOCS_PREFIX) else self.csp),
                 (b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                 (b"referrer-policy", b"same-origin")]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
                if not static and not any(k.lower() == b"cache-control" for k, _ in raw):
                    raw.append((b"cache-control", b"no-store"))
                message = {**message, "headers": raw + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_OURS = frozenset({b"content-security-policy", b"x-frame-options", b"x-content-type-options", b"referrer-policy",
                   b"strict-transport-security"})


def _headers(scope: Scope) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in scope.get("headers", []):
        found.setdefault(key.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return found


def _from_another_site(headers: dict[str, list[str]], forwarded_host: str | None) -> bool:
    """A browser's cross-site request: an Origin whose host is not this service's (or `null`), or, from a
    browser that sent no Origin, Sec-Fetch-Site: cross-site. Clients that are not browsers send
    neither and are not refused (they cannot carry a victim's cookie). Hosts are compared without the
    scheme: behind a proxy that ends TLS without saying so, the service sees http for an https page."""
    origin = (headers.get("origin") or [None])[0]
    if origin is None:
        return (headers.get("sec-fetch-site") or [""])[0] == "cross-site"
    host = forwarded_host or (headers.get("host") or [""])[0]
    return _host(origin.partition("://")[2] or origin) != _host(host)


def _host(netloc: str) -> str:
    """host[:port] as compared: lower case, no path, no default port."""
    netloc = netloc.strip().lower().split("/")[0]
    for port in (":80", ":443"):
        if netloc.endswith(port):
            return netloc[: -len(port)]
    return netloc


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    start: dict[str, Any] = {"type": "http.response.start", "status": status,
                             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                         (b"cache-control", b"no-store")]}
    await send(start)
    await send({"type": "http.response.body", "body": body})
