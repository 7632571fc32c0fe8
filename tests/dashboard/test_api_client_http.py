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


def test_a_sign_in_leaves_no_session_in_the_shared_connection_pool(live_service) -> None:
    """The pool serves every browser: after one user signs in through it, a call without a token (a
    signed-out browser's) is refused, not answered as that user (issue 16: an ended session still saw
    records because the pool had kept the last sign-in's cookie)."""
    import pytest

    from dashboard.api_client import ApiProblem

    ApiClient(live_service.url).login(live_service.users["executive"], "correct-horse-battery-1")
    with pytest.raises(ApiProblem) as refused:
        ApiClient(live_service.url).records("open_cases", unit="trust", page_size=10)
    assert refused.value.status == 401 and "POST" not in refused.value.message
