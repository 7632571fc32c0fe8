"""Findings 7 and 9: browser protections on every answer (a CSP that Dash works under, no framing, no
sniffing, no referrer to other sites, HSTS over HTTPS), nothing child-level kept by a browser or proxy,
state-changing requests only from the service's own pages, and the API's refusals as documented (405 with
Allow, 422 declared, 404 for a Dash file that does not exist)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import JSONResponse

from api.middleware import ServiceMiddleware
from core.networks import trusted_networks

V1 = "/api/v1"
PROTECTIONS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "same-origin"}


@pytest.mark.parametrize("path", ["/", "/today", "/_dash-layout", "/assets/kpidash.css", f"{V1}/health", f"{V1}/kpis",
                                  f"{V1}/nowhere"])
def test_every_answer_carries_the_browser_protections(api, path: str) -> None:
    response = api.client.get(path, headers=api.auth("executive"))
    assert {k: response.headers.get(k) for k in PROTECTIONS} == PROTECTIONS
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "strict-transport-security" not in response.headers  # plain HTTP: HSTS would be ignored anyway


def test_the_csp_lets_dashs_own_inline_script_run_and_nothing_else_inline(api) -> None:
    page = api.client.get("/")
    script_src = re.search(r"script-src ([^;]+)", page.headers["content-security-policy"]).group(1).split()
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    inline = re.findall(r'<script id="_dash-renderer" type="application/javascript">(.*?)</script>', page.text, re.S)
    assert inline, "Dash's renderer script is inline"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src


def test_hsts_is_sent_over_https(api) -> None:
    secure = TestClient(api.client.app, base_url="https://testserver")
    assert secure.get(f"{V1}/health").headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def _echo_app(trusted: str) -> FastAPI:
    app = FastAPI()

    @app.get("/echo")
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"client": request.client.host, "scheme": request.url.scheme})

    app.add_middleware(ServiceMiddleware, trusted=trusted_networks(trusted))
    return app


def test_forwarded_headers_are_believed_from_a_trusted_proxy_only() -> None:
    app = _echo_app("10.0.0.5, 10.1.0.0/16")
    headers = {"X-Forwarded-For": "6.6.6.6, 198.51.100.1", "X-Forwarded-Proto": "https"}
    proxied = TestClient(app, client=("10.0.0.5", 4000)).get("/echo", headers=headers)
    assert proxied.json() == {"client": "198.51.100.1", "scheme": "https"}
    assert "strict-transport-security" in proxied.headers
    two_proxies = TestClient(app, client=("10.0.0.5", 4000)).get(
        "/echo", headers={"X-Forwarded-For": "198.51.100.2, 10.1.2.3"})
    assert two_proxies.json()["client"] == "198.51.100.2"  # both hops are ours: the client is before them
    direct = TestClient(app, client=("10.0.0.6", 4000)).get("/echo", headers=headers)
    assert direct.json() == {"client": "10.0.0.6", "scheme": "http"}
    assert "strict-transport-security" not in direct.headers


def test_a_bad_trusted_proxies_setting_is_refused_plainly() -> None:
    with pytest.raises(ValueError, match="KPIDASH_TRUSTED_PROXIES: 'proxy.example' is not an IP address or network"):
        trusted_networks("10.0.0.5, proxy.example")


def test_child_level_answers_are_never_stored(api) -> None:
    records = api.client.get(f"{V1}/kpis/referrals/records?unit={api.team}", headers=api.auth("executive"))
    run_id = api.client.get(f"{V1}/runs", headers=api.auth("analyst")).json()[0]["run_id"]
    rejects = api.client.get(f"{V1}/runs/{run_id}/rejects", headers=api.auth("analyst"))
    layout = api.client.get("/_dash-layout")
    assert {records.headers["cache-control"], rejects.headers["cache-control"], layout.headers["cache-control"]} == {
        "no-store"}
    figures = api.client.get(f"{V1}/kpis", headers=api.auth("executive"))
    assert figures.headers["cache-control"] == "private, no-cache"  # aggregates: revalidated by ETag
    script = api.client.get("/_dash-component-suites/plotly/package_data/plotly.min.js")
    assert script.status_code == 200 and "no-store" not in script.headers.get("cache-control", "")  # no data


def test_signing_out_from_another_site_is_refused(api) -> None:
    client = api.client
    try:
        login = client.post(f"{V1}/auth/login", json={"username": "test_analyst", "password": "analyst-password-123"})
        assert login.status_code == 200
        evil = client.post(f"{V1}/auth/logout", headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403 and "another site" in evil.json()["detail"]
        assert client.get(f"{V1}/me").status_code == 200  # the session still works
        hidden = client.post(f"{V1}/auth/logout", headers={"Sec-Fetch-Site": "cross-site"})
        assert hidden.status_code == 403
        own = client.post(f"{V1}/auth/logout", headers={"Origin": "http://testserver"})
        assert own.status_code == 200 and client.get(f"{V1}/me").status_code == 401
    finally:
        client.cookies.clear()


@pytest.mark.parametrize("path", [f"{V1}/auth/login", "/_dash-update-component"])
def test_other_state_changes_from_another_site_are_refused(api, path: str) -> None:
    response = api.client.post(path, json={"username": "test_analyst", "password": "analyst-password-123"},
                               headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_clients_that_are_not_browsers_may_still_sign_in(api) -> None:
    """No Origin, no Sec-Fetch-Site: a script or the dashboard's own loopback call, not a browser."""
    response = api.client.post(f"{V1}/auth/login", json={"username": "test_analyst", "password": "analyst-password-123"})
    assert response.status_code == 200
    api.client.cookies.clear()


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "X1", path)


def test_an_undeclared_method_is_a_405_that_names_the_declared_ones(api) -> None:
    paths = api.client.get("/api/openapi.json").json()["paths"]
    wrong = []
    for path, operations in paths.items():
        declared = {m.upper() for m in operations}
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - declared:
            response = api.client.request(method, _concrete(path), headers=api.auth("admin"))
            allow = set((response.headers.get("allow") or "").replace(" ", "").split(",")) - {""}
            if response.status_code != 405 or allow != declared:
                wrong.append((method, path, response.status_code, allow))
    assert not wrong


def test_an_unknown_api_path_is_a_json_404(api) -> None:
    response = api.client.delete(f"{V1}/no/such/thing", headers=api.auth("admin"))
    assert response.status_code == 404 and response.json()["detail"].startswith("Not Found")


def test_every_operation_declares_the_422_it_gives_for_an_unknown_parameter(api) -> None:
    paths = api.client.get("/api/openapi.json").json()["paths"]
    undeclared = [f"{m} {p}" for p, ops in paths.items() for m, op in ops.items() if "422" not in op["responses"]]
    assert not undeclared
    for path, ops in paths.items():
        if "get" in ops and "{" not in path:
            response = api.client.get(path + "?levl=team", headers=api.auth("admin"))
            assert response.status_code == 422, path
            assert response.json()["detail"].startswith("unknown parameter 'levl'"), path


@pytest.mark.parametrize("path", ["/_dash-component-suites/dash/nope.js", "/_dash-component-suites/nopkg/x.js",
                                  "/_dash-component-suites/dash/deps/react@18.v4_4_1m1.js"])
def test_a_missing_dash_file_is_a_404_not_a_500(api, path: str) -> None:
    response = api.client.get(path)
    assert response.status_code == 404
    assert "Internal Server Error" not in response.text and "Traceback" not in response.text


# the records dialog's callback with one of its three inputs left out (a crafted request Dash would crash on)
_DRAWER = ("..drawer.style...drawer-title.children...drawer-message.children...drawer-grid.rowData..."
           "drawer-grid.columnDefs...drawer-request.data..")
_SHORT = {"output": _DRAWER, "outputs": [], "inputs": [[], {"id": "drawer-close", "property": "n_clicks", "value": 1}],
          "state": [{"id": "today-date", "property": "data", "value": None}]}


@pytest.mark.parametrize("body", [{"username": "x"}, [1, 2], {"output": "nope.children", "outputs": {}, "inputs": []},
                                  _SHORT])
def test_a_crafted_dashboard_callback_is_a_400_not_a_500(api, body: object) -> None:
    response = api.client.post("/_dash-update-component", json=body)
    assert response.status_code == 400 and response.json()["detail"].startswith("This is not a request the dashboard")


def _callback_body(api, output_part: str, values: dict[str, object]) -> dict:
    """A request of the shape the page sends for the callback whose output names output_part, with values
    (`id.property` -> value; None for the rest)."""
    found = next(d for d in api.client.get("/_dash-dependencies").json() if output_part in d["output"])
    out = found["output"]
    parts = out[2:-2].split("...") if out.startswith("..") else [out]
    outputs = [dict(zip(("id", "property"), p.split("@")[0].rsplit(".", 1), strict=True)) for p in parts]

    def given(items: list[dict]) -> list[dict]:
        return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in items]

    first = found["inputs"][0]
    return {"output": out, "outputs": outputs if out.startswith("..") else outputs[0],
            "inputs": given(found["inputs"]), "state": given(found["state"]),
            "changedPropIds": [f"{first['id']}.{first['property']}"]}


@pytest.mark.parametrize(("output", "values"), [
    ("team-body.children", {"team-picker.value": "T02", "today-date.data": "2026-02-30"}),  # not a date
    ("team-body.children", {"team-picker.value": "T02", "today-date.data": {"a": 1}}),
    ("signin-message.children", {"signin-button.n_clicks": 1, "signin-username.value": ["a"],  # not a text
                                 "signin-password.value": "x"}),
])
def test_a_callback_given_values_its_page_never_sends_is_a_400_in_one_log_line(
        api, output: str, values: dict, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="kpidash.dashboard")
    response = api.client.post("/_dash-update-component", json=_callback_body(api, output, values))  # signed in or not
    assert response.status_code == 400 and response.json()["detail"].startswith("This is not a request the dashboard")
    refused = [r for r in caplog.records if r.name == "kpidash.dashboard"]
    assert len(refused) == 1 and "refused the values it was sent" in refused[0].getMessage()
    assert not refused[0].exc_info  # no traceback in the log for a crafted request


@pytest.mark.parametrize(("origin", "status"), [
    ("http://testserver", 401), ("https://testserver", 401),  # the same host, whatever the scheme (TLS ended by a proxy)
    ("http://TestServer:80", 401), ("http://testserver:8000", 403), ("http://testserver.evil.example", 403),
    ("null", 403),
])
def test_the_origin_must_name_this_services_host(api, origin: str, status: int) -> None:
    response = api.client.post(f"{V1}/auth/login", json={"username": "origin-check", "password": "wrong"},
                               headers={"Origin": origin})
    assert response.status_code == status
