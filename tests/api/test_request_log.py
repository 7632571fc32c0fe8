"""Requests are summarised in the log (api/request_log.py): counts, statuses and times per interval, and a
line at once for a server error or a slow request, never a line per ordinary request."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.request_log import RequestLog


# the slow line's threshold: far above an ordinary request's time on a busy shared machine (a test with
# 50 ms failed at load 12), the slow endpoint well past it
SLOW = 0.5


def _app(**options: float) -> tuple[FastAPI, dict]:
    app = FastAPI()
    kept: dict = {}

    @app.get("/ok")
    def ok() -> dict:
        return {"ok": True}

    @app.get("/slow")
    def slow() -> dict:
        time.sleep(SLOW + 0.1)
        return {"ok": True}

    @app.get("/missing")
    def missing() -> None:
        from fastapi import HTTPException

        raise HTTPException(404)

    @app.get("/broken")
    def broken() -> None:
        raise RuntimeError("boom")

    class Keeper:
        pass

    keeper = Keeper()
    app.add_middleware(RequestLog, keeper=keeper, **options)
    kept["keeper"] = keeper
    return app, kept


def test_requests_are_summarised_not_logged_one_by_one(caplog: pytest.LogCaptureFixture) -> None:
    app, kept = _app(interval=3600, slow=SLOW)
    caplog.set_level(logging.INFO, logger="kpidash.access")
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(20):
            assert client.get("/ok").status_code == 200
        assert client.get("/missing").status_code == 404
        assert caplog.records == []  # ordinary requests: nothing yet
        assert client.get("/slow").status_code == 200
        assert client.get("/broken").status_code == 500
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [(r.detail["path"], r.detail["status"]) for r in warnings] == [("/slow", 200), ("/broken", 500)]
    summary = kept["keeper"].request_log.flush()
    assert summary["requests"] == 23
    assert summary["by_status"] == {"200": 21, "404": 1, "500": 1}
    assert summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"] and summary["max_ms"] >= SLOW * 1000
    assert caplog.records[-1].message.startswith("23 requests") and caplog.records[-1].detail == summary
    assert kept["keeper"].request_log.flush() is None  # counted once


def test_a_summary_is_logged_once_an_interval_has_passed(caplog: pytest.LogCaptureFixture) -> None:
    app, _ = _app(interval=0.0)
    caplog.set_level(logging.INFO, logger="kpidash.access")
    with TestClient(app) as client:
        client.get("/ok")
        client.get("/ok")
    summaries = [r for r in caplog.records if r.levelno == logging.INFO]
    assert [r.detail["requests"] for r in summaries] == [1, 1]
