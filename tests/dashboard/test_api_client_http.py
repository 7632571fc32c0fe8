"""The dashboard's API client against the live service: a list gets every record, over every page."""

from __future__ import annotations

from dashboard.api_client import ApiClient


def test_records_gathers_every_page(live_service) -> None:
    api = ApiClient(live_service.url, live_service.tokens["executive"])
    first = live_service.get("/api/v1/kpis/open_cases/records", unit="trust", page_size=100).json()
    assert first["pages"] > 1, "the test needs a figure with more than one page of records"
    got = api.records("open_cases", unit="trust", page_size=100)
    assert got["total"] == first["total"] == len(got["records"])
    assert len({r["record_id"] for r in got["records"]}) == first["total"]
