"""Crafted dashboard callbacks from a signed-in browser: values or shapes the pages never send are a 400
in one log line, never a 500 with a traceback (docs/security.md). A security audit's fuzzing found two
that were 500s: an unknown KPI on Trends' by-service view, and several outputs given as one object's list."""

from __future__ import annotations

from tests.security.conftest import Dashboard, Service

BROWSER = "127.0.0.22"
NOT_OURS = "This is not a request the dashboard"


def test_crafted_callbacks_of_a_signed_in_browser_are_a_400(secure_service: Service) -> None:
    browser = Dashboard(secure_service, BROWSER)
    try:
        browser.sign_in_as("executive")
        month = secure_service.extract_date[:7]
        good = browser.call("trends-services.children", [("trends-kpi", "value", "referrals"),
                                                         ("trends-month", "value", month),
                                                         ("trends-by", "value", "month")],
                            [("today-date", "data", secure_service.extract_date)], ["trends-kpi.value"])
        assert good.status_code == 200  # the same callback with a KPI the page offers
        unknown = browser.call("trends-services.children", [("trends-kpi", "value", "nope"),
                                                            ("trends-month", "value", month),
                                                            ("trends-by", "value", "month")],
                               [("today-date", "data", secure_service.extract_date)], ["trends-kpi.value"])
        assert unknown.status_code == 400 and unknown.json()["detail"].startswith(NOT_OURS)
        # one output's callback with its outputs as a list (a callback with several takes a list, not this one)
        entry = next(c for c in browser.callbacks if c["output"].startswith("team-body.children"))
        body = {"output": entry["output"], "outputs": [{"id": "team-body", "property": "children"}],
                "inputs": [{"id": "team-picker", "property": "value", "value": None}]
                + [{"id": i["id"], "property": i["property"], "value": None} for i in entry["inputs"][1:]],
                "state": [{"id": s["id"], "property": s["property"], "value": None} for s in entry["state"]],
                "changedPropIds": ["team-picker.value"]}
        listed = browser.http.post("/_dash-update-component", json=body)
        assert listed.status_code == 400 and listed.json()["detail"].startswith(NOT_OURS)
        # the address note's output matches any number of components (a list, here of none); not an object
        entry = next(c for c in browser.callbacks if '"address-note"' in c["output"])
        note = {"output": entry["output"], "outputs": [],
                "inputs": [{"id": "url", "property": "search", "value": "?scope=trust"}],
                "state": [{"id": "shown-search", "property": "data", "value": "?scope=trust"}, []],
                "changedPropIds": ["url.search"]}
        assert browser.http.post("/_dash-update-component", json=note).status_code == 204  # nothing to clear
        one = browser.http.post("/_dash-update-component", json={**note, "outputs": {"id": "x", "property": "y"}})
        assert one.status_code == 400 and one.json()["detail"].startswith(NOT_OURS)
    finally:
        browser.close()
