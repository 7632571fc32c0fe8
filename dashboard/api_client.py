"""The dashboard's only way to the data: the HTTP API, over httpx, with the signed-in user's token.

Every refusal or failure becomes an ApiProblem carrying a sentence a reader can act on, so pages show
what happened and what to do, never a traceback.

The API sees the dashboard's calls come from 127.0.0.1, so a client made while the dashboard serves a
browser's request passes that browser's address on (X-Kpidash-Client, vouched for with the service
key: core/client_address.py): the API throttles sign-ins and audits record views by the browser's
address, not the dashboard's.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import flask
import httpx

from core import client_address as client_addresses
from core.appdb import get_engine

API = "/api/v1"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class ApiProblem(Exception):
    """The API refused or could not answer; `message` is for the reader, `status` for the code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_ADVICE = {
    401: "Your session has ended: sign in again.",
    403: "",
    503: "The figures are not available just now; try again in a few minutes or tell the data team.",
}


@dataclass
class Session:
    token: str
    user: dict[str, Any]


_shared: dict[str, httpx.Client] = {}
_making = threading.Lock()


def _http(base_url: str) -> httpx.Client:
    """One keep-alive connection pool per API address for the whole process (loopback calls are cheap
    when the TCP connection is reused). Made under a lock: Today's first calls come from several threads
    at once, and a pool made twice left one unclosed, its connections open until collected."""
    client = _shared.get(base_url)
    if client is None:
        with _making:
            client = _shared.get(base_url)
            if client is None:
                client = _shared[base_url] = httpx.Client(base_url=base_url, timeout=TIMEOUT, cookies=_no_cookies())
    return client


def _no_cookies() -> CookieJar:
    """A cookie jar that keeps nothing. The pool is shared by every browser the dashboard serves: a session
    cookie the API sets on one user's sign-in must never ride along on another's (or on a signed-out
    browser's) calls; each call carries only its own user's bearer token."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def browser_address() -> str | None:
    """The address of the browser whose request the dashboard is serving (None outside a request)."""
    return flask.request.remote_addr if flask.has_request_context() else None


class ApiClient:
    """The API as one user sees it (their bearer token on every call), on behalf of the browser being
    served when it is made (its address, captured here, also reaches calls made from worker threads)."""

    def __init__(self, base_url: str, token: str | None = None, client_address: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.client_address = client_address or browser_address()

    def _get(self, path: str, params: Sequence[tuple[str, Any]] | dict[str, Any] | None = None) -> Any:
        return self._send("GET", path, params=params).json()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if self.client_address:
            headers[client_addresses.HEADER] = client_addresses.vouch(get_engine(), self.client_address)
        if isinstance(kwargs.get("params"), dict):
            kwargs["params"] = {k: _text(v) for k, v in kwargs["params"].items() if v is not None}
        try:
            response = _http(self.base_url).request(method, API + path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiProblem(0, f"The dashboard could not reach the kpidash API ({type(exc).__name__}): try again "
                             "in a minute; if it goes on, tell the service desk.") from None
        if response.status_code == 401 and path != "/auth/login":  # never the API's how-to-sign-in words
            raise ApiProblem(401, _ADVICE[401])
        if response.status_code >= 400:
            raise ApiProblem(response.status_code, _message(response))
        return response

    # signing in
    def login(self, username: str, password: str) -> Session:
        try:
            body = self._send("POST", "/auth/login", json={"username": username, "password": password}).json()
        except ApiProblem as exc:
            if exc.status == 401:  # a wrong password, not an ended session: the API's words alone
                raise ApiProblem(401, exc.message.removesuffix(" " + _ADVICE[401])) from None
            raise
        return Session(token=body["token"], user=body["user"])

    def logout(self) -> None:
        self._send("POST", "/auth/logout")

    def me(self) -> dict[str, Any]:
        return self._get("/me")

    # figures
    def figures(self, level: str = "trust", unit: str | None = None, kpis: Sequence[str] = (),
                date_from: dt.date | None = None, date_to: dt.date | None = None) -> list[dict[str, Any]]:
        params: list[tuple[str, Any]] = [("level", level), ("fields", "all")]  # titles, targets and RAG too
        params += [(k, _text(v)) for k, v in (("unit", unit), ("from", date_from), ("to", date_to)) if v is not None]
        params += [("kpi", k) for k in kpis]
        return self._get("/kpis", params)

    def trend(self, kpi: str, by: str = "month", periods: int = 24, level: str = "trust", unit: str | None = None,
              date_to: dt.date | None = None) -> list[dict[str, Any]]:
        return self._get(f"/kpis/{kpi}/trend", {"by": by, "periods": periods, "level": level, "unit": unit,
                                                  "to": date_to})

    def daily(self, kpis: Sequence[str], days: int = 30, level: str = "trust", unit: str | None = None,
              date_to: dt.date | None = None) -> list[dict[str, Any]]:
        params: list[tuple[str, Any]] = [("days", days), ("level", level)] + [("kpi", k) for k in kpis]
        params += [(k, _text(v)) for k, v in (("unit", unit), ("to", date_to)) if v is not None]
        return self._get("/dashboard/daily", params)

    def spc(self, kpis: Sequence[str] = (), by: str = "month", periods: int = 24, level: str = "trust",
            unit: str | None = None, date_to: dt.date | None = None,
            variations: Sequence[str] = ()) -> list[dict[str, Any]]:
        """XmR charts (../shared/spec/spc.md) of the KPIs (all when none are named) for every unit of the level,
        or one, over the complete periods ending on or before date_to; only those whose latest point reads as
        one of `variations`, when named."""
        params: list[tuple[str, Any]] = [("by", by), ("periods", periods), ("level", level)] + [("kpi", k) for k in kpis]
        params += [("variation", v) for v in variations]
        params += [(k, _text(v)) for k, v in (("unit", unit), ("to", date_to)) if v is not None]
        return self._get("/spc", params)

    def last_working_day(self, date_to: dt.date | None = None) -> dt.date | None:
        """The working day before date_to by the trust's calendar (bank holidays and closure days)."""
        day = self._get("/dashboard/last-working-day", {"to": date_to})["last_working_day"]
        return dt.date.fromisoformat(day) if day else None

    def records(self, kpi: str, unit: str = "trust", level: str | None = None, date_from: dt.date | None = None,
                date_to: dt.date | None = None, page_size: int = 1000) -> dict[str, Any]:
        """Every record behind the figure: the API pages them, the lists and exports need them all."""
        path = f"/kpis/{kpi}/records"
        params = {"unit": unit, "level": level, "from": date_from, "to": date_to, "page_size": page_size}
        first = self._get(path, {**params, "page": 1})
        records = list(first["records"])
        for page in range(2, first["pages"] + 1):
            records.extend(self._get(path, {**params, "page": page})["records"])
        return {**first, "records": records}

    def records_file(self, kpi: str, file_format: str, unit: str = "trust", level: str | None = None,
                     date_from: dt.date | None = None, date_to: dt.date | None = None) -> bytes:
        """Every record behind the figure as the API's CSV or XLSX download (made spreadsheet-safe and
        audited as an export by the API)."""
        params = {"unit": unit, "level": level, "from": date_from, "to": date_to, "format": file_format}
        return self._send("GET", f"/kpis/{kpi}/records", params=params).content

    def definitions(self) -> list[dict[str, Any]]:
        return self._get("/definitions")

    def teams(self) -> list[dict[str, Any]]:
        return self._get("/teams")

    def services(self) -> list[dict[str, Any]]:
        return self._get("/services")

    def team_workers(self, team_id: str, date_to: dt.date | None = None) -> list[dict[str, Any]]:
        return self._get(f"/dashboard/teams/{team_id}/workers", {"to": date_to})

    def team_pack(self, team_id: str, as_at: dt.date | None = None) -> bytes:
        """The team's weekly pack (XLSX), built by the API: the same workbook the scheduler emails."""
        return self._send("GET", f"/teams/{team_id}/pack.xlsx", params={"as_at": as_at}).content

    def status(self) -> dict[str, Any]:
        return self._get("/status")

    # quality assurance (aggregates; the audits and actions themselves come through records)
    def qa_summary(self, level: str = "trust", unit: str | None = None, date_from: dt.date | None = None,
                   date_to: dt.date | None = None) -> dict[str, Any]:
        return self._get("/qa/summary", {"level": level, "unit": unit, "from": date_from, "to": date_to})

    def qa_findings(self, level: str = "trust", unit: str | None = None, date_from: dt.date | None = None,
                    date_to: dt.date | None = None) -> dict[str, Any]:
        return self._get("/qa/findings", {"level": level, "unit": unit, "from": date_from, "to": date_to})

    def qa_page(self, month: str, level: str = "trust", unit: str | None = None) -> dict[str, Any]:
        return self._get("/qa/page", {"month": month, "level": level, "unit": unit})

    # the board's loop: analysis, actions, published packs (writes answer 409 when someone saved first)
    def analysis(self, kpi: str, level: str, unit: str, period: str) -> dict[str, Any]:
        return self._get(f"/analysis/{kpi}/{level}/{unit}/{period}")

    def analysis_history(self, kpi: str, level: str, unit: str, period: str) -> list[dict[str, Any]]:
        return self._get(f"/analysis/{kpi}/{level}/{unit}/{period}/history")

    def save_analysis(self, kpi: str, level: str, unit: str, period: str, text: str, base_version: int) -> dict[str, Any]:
        return self._send("PUT", f"/analysis/{kpi}/{level}/{unit}/{period}",
                          json={"text": text, "base_version": base_version}).json()

    def actions(self, **filters: Any) -> list[dict[str, Any]]:
        """kpi, level, unit, status, owner, overdue, mine: as GET /actions takes them."""
        return self._get("/actions", {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in filters.items()})

    def agree_action(self, **fields: Any) -> dict[str, Any]:
        return self._send("POST", "/actions", json={k: _text(v) for k, v in fields.items()}).json()

    def change_action(self, action_id: int, base_version: int, **changes: Any) -> dict[str, Any]:
        body = {**{k: _text(v) for k, v in changes.items()}, "base_version": base_version}
        return self._send("PATCH", f"/actions/{action_id}", json=body).json()

    def action_history(self, action_id: int) -> list[dict[str, Any]]:
        return self._get(f"/actions/{action_id}/history")

    def action_children(self, action_id: int) -> list[str]:
        """The child ids an action is about (child-level: audited by the API as a records view)."""
        return self._get(f"/actions/{action_id}/children")

    def packs(self) -> list[dict[str, Any]]:
        return self._get("/packs")

    def pack_snapshot(self, pack_id: int) -> dict[str, Any]:
        return self._get(f"/packs/{pack_id}/snapshot")

    def pack_file(self, pack_id: int, kind: str) -> bytes:
        """A published pack's `html` or `pdf`, as published."""
        return self._send("GET", f"/packs/{pack_id}/pack.{kind}").content

    def publish_pack(self, board_date: dt.date, month: str, run_id: str, snapshot: dict[str, Any], html: str,
                     pdf: bytes | None) -> dict[str, Any]:
        import base64

        body = {"board_date": board_date.isoformat(), "month": month, "run_id": run_id, "snapshot": snapshot,
                "html": html, "pdf_base64": base64.b64encode(pdf).decode("ascii") if pdf else None}
        return self._send("POST", "/packs", json=body).json()

    # administration (admins only: the API checks, and audits every change)
    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        return self._get("/runs", {"limit": limit})

    def run_issues(self, run_id: str, severity: str = "all") -> dict[str, Any]:
        return self._get(f"/runs/{run_id}/rejects", {"severity": severity, "page_size": 1000})

    def users(self) -> list[dict[str, Any]]:
        return self._get("/users")

    def audit(self, limit: int = 200, username: str | None = None,
              event: str | None = None) -> list[dict[str, Any]]:
        return self._get("/audit", {"limit": limit, "username": username, "event": event})

    def add_user(self, username: str, role: str, team: str | None = None,
                 service: str | None = None) -> dict[str, Any]:
        return self._send("POST", "/users", json={"username": username, "role": role, "team": team,
                                                   "service": service}).json()

    def change_user(self, username: str, action: str) -> dict[str, Any]:
        """action: disable, enable or password (a new one, shown once)."""
        return self._send("POST", f"/users/{username}/{action}").json()

    def change_role(self, username: str, role: str, team: str | None = None,
                    service: str | None = None) -> dict[str, Any]:
        return self._send("PUT", f"/users/{username}/role", json={"role": role, "team": team, "service": service}).json()


def problem_words(what: str, exc: ApiProblem) -> Any:
    """What went wrong, for the page: "<what>: <the API's reason>", or, when the session has ended, that and a
    link to sign in again (never the API's own instructions for signing in)."""
    from dash import html

    if exc.status == 401:
        return [f"{what}: your session has ended. ", html.A("Sign in again", href="/", className="signin-again"),
                " to carry on."]
    return f"{what}: {exc.message}"


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _message(response: httpx.Response) -> str:
    """The API's own sentence (`{"detail": ...}`), with advice where the status calls for it."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):  # FastAPI validation errors
        detail = "; ".join(str(d.get("msg", d)) for d in detail[:3])
    advice = _ADVICE.get(response.status_code, "")
    if response.status_code == 401 and detail:
        return f"{detail} {advice}".strip()
    return str(detail or advice or f"The API answered {response.status_code}.")


def close_all() -> None:
    """Close the shared connection pools (a one-shot command does this before it exits)."""
    while _shared:
        _shared.popitem()[1].close()
