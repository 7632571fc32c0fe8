"""Bad input is a 4xx with one sentence that says what to fix, never a 500 or a stack trace."""

from __future__ import annotations

import datetime as dt

import pytest

V1 = "/api/v1"


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/kpis?from=2025-13-01", 422, "from ('2025-13-01') is not a date: there is no such day in the calendar."),
        ("/kpis?to=01/04/2025", 422, "to ('01/04/2025') is not a date: use YYYY-MM-DD, e.g. 2025-04-01."),
        ("/kpis?to=2025-4-1", 422, "to ('2025-4-1') is not a date: use YYYY-MM-DD, e.g. 2025-04-01."),
        ("/kpis?from=1700000000", 422, "from ('1700000000') is not a date: use YYYY-MM-DD, e.g. 2025-04-01."),
        ("/kpis?from=2025-11-10&to=2025-11-01", 422,
         "from (2025-11-10) is after to (2025-11-01): swap them, or leave from out to start on the first of to's month."),
        ("/kpis?from=2010-01-01&to=2025-01-01", 422, "The period 2010-01-01 to 2025-01-01 is longer than 10 years"),
        ("/kpis?to=1899-12-31", 422, "to (1899-12-31) is outside the dates kpidash handles (1990-01-01 to 2099-12-31)."),
        ("/kpis?level=region", 422, "level ('region') must be one of 'trust', 'service', 'team' or 'worker'."),
        ("/kpis?level=team&unit=NO-SUCH-TEAM", 422, "unit 'NO-SUCH-TEAM' is not a team in the published extract"),
        ("/kpis?level=trust&unit=T01", 422, "unit 'T01' is not the trust: at level trust the only unit is `trust`"),
        ("/kpis?kpi=caseloads", 422, "'caseloads' is not a KPI; KPIs are: open_cases, "),
        ("/kpis?fields=some", 422, "fields ('some') must be one of 'spec' or 'all'."),
        ("/kpis/caseloads/trend", 404, "'caseloads' is not a KPI; KPIs are: open_cases, "),
        ("/kpis/open_cases/trend?periods=0", 422, "periods ('0') must be at least 1."),
        ("/kpis/open_cases/trend?periods=121", 422, "periods ('121') must be at most 120."),
        ("/kpis/open_cases/trend?periods=twelve", 422, "periods ('twelve') is not a whole number."),
        ("/kpis/open_cases/trend?by=year", 422, "by ('year') must be one of 'month' or 'week'."),
        ("/kpis/caseloads/records", 404, "'caseloads' is not a KPI"),
        ("/kpis/open_cases/records?page=0", 422, "page ('0') must be at least 1."),
        ("/kpis/open_cases/records?page_size=0", 422, "page_size ('0') must be at least 1."),
        ("/kpis/open_cases/records?page_size=5000", 422, "page_size ('5000') must be at most 1000."),
        ("/kpis/open_cases/records?page=-1&page_size=x", 422,
         "page ('-1') must be at least 1; page_size ('x') is not a whole number."),
        ("/kpis/open_cases/records?unit=NOWHERE", 422, "unit 'NOWHERE' is not `trust`, a team, a service or a worker"),
        ("/kpis/open_cases/records?unit=trust&level=team", 422, "unit 'trust' is not a team"),
        ("/kpis/open_cases/records?format=pdf", 422, "format ('pdf') must be one of 'json', 'csv' or 'xlsx'."),
        ("/workers/NOBODY/caseload", 404, "There is no worker 'NOBODY' in the published extract."),
        ("/workers/W1/caseload?to=2025-02-30", 422, "to ('2025-02-30') is not a date"),
        ("/runs/no-such-run/rejects", 404, "There is no load run 'no-such-run': see GET /api/v1/runs."),
        ("/runs?limit=0", 422, "limit ('0') must be at least 1."),
        ("/audit?event=everything", 422,
         "event ('everything') must be one of 'records', 'export', 'rejects', 'login_failed', 'prune', 'backup', 'restore', "
         "'analysis', 'action', 'pack' or 'user_change'."),
        ("/nowhere", 404, "Not Found"),
    ],
)
def test_bad_input_is_a_4xx_that_says_what_to_fix(api, path: str, status: int, message: str) -> None:
    response = api.client.get(V1 + path, headers=api.auth("admin"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"].startswith(message)


def test_a_kpi_without_worker_rows_asked_at_worker_level_is_a_422(api) -> None:
    response = api.client.get(f"{V1}/kpis/open_cases/records?unit={api.worker}", headers=api.auth("admin"))
    assert response.status_code == 422
    assert response.json()["detail"]


def test_a_login_body_that_is_not_json_is_a_422(api) -> None:
    response = api.client.post(f"{V1}/auth/login", content=b"username=x", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "is not valid JSON" in response.json()["detail"]


def test_a_parameter_the_endpoint_does_not_take_is_refused_not_ignored(api) -> None:
    response = api.client.get(f"{V1}/kpis?levl=team", headers=api.auth("admin"))
    assert response.status_code == 422
    assert response.json()["detail"] == "unknown parameter 'levl': this endpoint takes fields, from, kpi, level, to, unit."


def test_a_period_past_the_extract_date_is_answered_with_a_warning_header(api) -> None:
    """Issue 16, item 14: the same rule and sentence as the CLI's `warning:` (core.dates.projection_note)."""
    from core.dates import projection_note

    extract_date = api.client.get(f"{V1}/kpis", headers=api.auth("admin")).headers["X-Kpidash-Extract-Date"]
    for path in ("/kpis?to=2099-12-31", "/kpis/open_cases/trend?to=2099-12-31&periods=2"):
        response = api.client.get(V1 + path, headers=api.auth("admin"))
        assert response.status_code == 200, response.text
        warning = response.headers["X-Kpidash-Warning"]
        assert warning.startswith(f"2099-12-31 is after the extract date ({extract_date}): stock figures on it are "
                                  "projections")
        assert warning == projection_note(dt.date(2099, 12, 31), dt.date.fromisoformat(extract_date))
    on_the_day = api.client.get(f"{V1}/kpis?to={extract_date}", headers=api.auth("admin"))
    assert on_the_day.status_code == 200 and "X-Kpidash-Warning" not in on_the_day.headers
