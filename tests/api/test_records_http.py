"""The children behind a figure: they add up to it, page cleanly, export safely as CSV, and every
request for them (allowed or not) is in the audit log."""

from __future__ import annotations

import csv
import io

import pytest

from api import audit
from api.routes.kpis import _csv_bytes, spreadsheet_safe

V1 = "/api/v1"
PERIOD = "from=2025-04-01&to=2025-11-23"


def _figure(api, kpi: str, unit: str, level: str) -> dict:
    rows = api.client.get(f"{V1}/kpis?level={level}&unit={unit}&kpi={kpi}&{PERIOD}", headers=api.auth("analyst")).json()
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("kpi", ["assessments_within_45wd", "referrals", "open_cases", "average_caseload"])
def test_the_records_add_up_to_the_figure(api, kpi: str) -> None:
    figure = _figure(api, kpi, api.team, "team")
    page = api.client.get(f"{V1}/kpis/{kpi}/records?unit={api.team}&page_size=1000&{PERIOD}",
                          headers=api.auth("team_manager")).json()
    assert page["total"] == len(page["records"]) and page["pages"] == 1
    in_numerator = [r for r in page["records"] if r["counted_in"] == "numerator"]
    if figure["denominator"] is None:  # a count
        assert len(in_numerator) == figure["numerator"] == figure["value"]
    elif kpi == "average_caseload":  # numerator: children held (a child held by two workers counts twice)
        assert len(in_numerator) == figure["numerator"]
    else:  # a rate: numerator records, plus the ones counted only in the denominator
        assert (len(in_numerator), page["total"]) == (figure["numerator"], figure["denominator"])
    assert {r["team_unit"] for r in page["records"]} <= {api.team}


def test_pages_are_consecutive_slices_of_the_whole(api) -> None:
    url = f"{V1}/kpis/referrals/records?unit={api.team}&{PERIOD}"
    whole = api.client.get(f"{url}&page_size=1000", headers=api.auth("executive")).json()
    assert 7 < whole["total"] <= 1000, "the sample team should have a few pages of referrals since April"
    pages, seen, page = None, [], 1
    while pages is None or page <= pages:
        body = api.client.get(f"{url}&page_size=7&page={page}", headers=api.auth("executive")).json()
        pages = body["pages"]
        seen += body["records"]
        page += 1
    assert pages == -(-whole["total"] // 7)
    assert seen == whole["records"]


def test_a_page_past_the_end_says_where_the_end_is(api) -> None:
    total = api.client.get(f"{V1}/kpis/referrals/records?unit=trust&{PERIOD}", headers=api.auth("executive")).json()["total"]
    response = api.client.get(f"{V1}/kpis/referrals/records?unit=trust&{PERIOD}&page_size=1000&page=99",
                              headers=api.auth("executive"))
    assert response.status_code == 422
    assert response.json()["detail"] == (
        f"page 99 is past the last page ({-(-total // 1000)}) of {total} records at page_size 1000.")


def test_csv_gives_every_record_as_an_attachment(api) -> None:
    json_body = api.client.get(f"{V1}/kpis/referrals/records?unit={api.team}&page_size=1000&{PERIOD}",
                               headers=api.auth("executive")).json()
    response = api.client.get(f"{V1}/kpis/referrals/records?unit={api.team}&format=csv&page_size=2&{PERIOD}",
                              headers=api.auth("executive"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="kpidash-referrals-{api.team}-2025-04-01-2025-11-23.csv"')
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == json_body["total"]  # paging does not apply to the export
    assert [r["record_id"] for r in rows] == [r["record_id"] for r in json_body["records"]]


@pytest.mark.parametrize(
    ("cell", "safe"),
    [("=1+1", "'=1+1"), ("+441632960000", "'+441632960000"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\t=1", "'\t=1"), ("C0042", "C0042"), ("", ""), (12, 12), (-3, -3), (None, None)],
)
def test_text_that_a_spreadsheet_would_run_is_made_inert(cell: object, safe: object) -> None:
    assert spreadsheet_safe(cell) == safe


def test_the_csv_export_neutralises_formulas_in_any_column() -> None:
    records = [{"record_id": "=HYPERLINK(\"http://evil.example\")", "child_id": "@C1", "working_days": 3}]
    rows = list(csv.reader(io.StringIO(_csv_bytes(records).decode("utf-8-sig"))))
    assert rows == [["record_id", "child_id", "working_days"], ["'=HYPERLINK(\"http://evil.example\")", "'@C1", "3"]]


def _audit_count(api) -> int:
    return len(audit.entries(api.engine, limit=100_000, event="records"))


def test_every_records_request_is_audited_with_who_what_when_and_how_many(api) -> None:
    before = _audit_count(api)
    url = f"{V1}/kpis/referrals/records?unit={api.team}&{PERIOD}&page_size=5"
    first = api.client.get(url, headers=api.auth("team_manager"))
    again = api.client.get(url, headers=api.auth("team_manager"))  # a cache hit is still a disclosure
    assert first.status_code == again.status_code == 200
    assert _audit_count(api) == before + 2
    entry = audit.entries(api.engine, limit=1, event="records")[0]
    assert (entry.username, entry.role, entry.kpi, entry.level, entry.unit, str(entry.date_from), str(entry.date_to),
            entry.record_count, entry.client_address, entry.outcome) == (
        "test_team_manager", "team_manager", "referrals", "team", api.team, "2025-04-01", "2025-11-23",
        len(first.json()["records"]), "testclient", "ok")


def test_a_refused_records_request_is_audited_too(api) -> None:
    before = _audit_count(api)
    response = api.client.get(f"{V1}/kpis/referrals/records?unit=trust", headers=api.auth("head_of_service"))
    assert response.status_code == 403
    assert _audit_count(api) == before + 1
    entry = audit.entries(api.engine, limit=1, event="records")[0]
    assert (entry.username, entry.unit, entry.level, entry.outcome, entry.record_count) == (
        "test_head_of_service", "trust", "trust", "forbidden", None)
    assert entry.detail.startswith("As head of service for")


def test_a_revalidated_records_request_is_audited(api) -> None:
    url = f"{V1}/kpis/referrals/records?unit={api.team}&{PERIOD}"
    etag = api.client.get(url, headers=api.auth("analyst")).headers["etag"]
    before = _audit_count(api)
    response = api.client.get(url, headers={**api.auth("analyst"), "If-None-Match": etag})
    assert response.status_code == 304
    assert _audit_count(api) == before + 1
