"""Today's tiles as the dashboard builds them (dashboard.pages.today.tile_data) from the live service: each
sparkline point of a month-to-date rate is that day's month-to-date figure, as the API gives it."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.api_client import ApiClient
from dashboard.pages import today


@pytest.mark.parametrize("days_back", [0, 9])
def test_month_to_date_sparklines_count_from_the_first_of_each_month(live_service, days_back: int) -> None:
    """The sparkline's first days fall in the month before the as-at date's: their points must count that
    month from its 1st, not from the sparkline's first day (they did: a first point of one day alone)."""
    api = ApiClient(live_service.url, live_service.tokens["executive"])
    as_at = dt.date.fromisoformat(live_service.get("/api/v1/status").json()["extract_date"]) - dt.timedelta(
        days=days_back)
    first = as_at - dt.timedelta(days=today.SPARK_DAYS - 1)
    assert first.month != as_at.month or first.day > 1, "the sparkline must start after a month's 1st"
    tiles = {t["kpi"]: t for t in today.tile_data(api, "trust", None, as_at)}
    for kpi in today.MONTH_TO_DATE:
        tile = tiles[kpi]
        assert len(tile["days"]) == today.SPARK_DAYS and tile["days"][0] == first.isoformat()
        for day in (first, first + dt.timedelta(days=3)):
            [row] = live_service.get("/api/v1/kpis", kpi=kpi, level="trust", **{
                "from": day.replace(day=1).isoformat(), "to": day.isoformat()}).json()
            point = tile["series"][tile["days"].index(day.isoformat())]
            assert point == pytest.approx(row["value"]) if row["value"] is not None else point is None, (kpi, day)
        assert tile["series"][-1] == pytest.approx(tile["value"])  # and it ends on the tile's figure
