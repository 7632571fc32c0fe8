"""Responses are cached per published warehouse version and revalidated with ETags: a new load
gives new answers at once, and with the cache off the answers are the same."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import threading
from pathlib import Path

import duckdb

from kpis import compute_kpis, open_warehouse, with_targets

V1 = "/api/v1"
URLS = ["/kpis?level=team", "/kpis?level=service&from=2025-01-01&to=2025-06-30&fields=spec",
        "/kpis/referrals/trend?by=month&periods=6&level=team", "/teams", "/services",
        "/kpis/referrals/records?unit=trust&from=2025-09-01&to=2025-09-30&page_size=3&page=2"]


def _same_figures(a: object, b: object) -> bool:
    """Equal, allowing the last bits of a float to differ: DuckDB's parallel sums of fte (a DOUBLE)
    are not bit-for-bit the same from one run to the next (24.300000000000004 vs 24.299999999999997)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_figures(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_figures(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_an_answer_has_an_etag_and_the_same_etag_gets_a_304(api) -> None:
    first = api.client.get(f"{V1}/kpis?level=team", headers=api.auth("executive"))
    assert first.status_code == 200 and first.headers["etag"].startswith('"')
    assert first.headers["cache-control"] == "private, no-cache"
    again = api.client.get(f"{V1}/kpis?level=team", headers={**api.auth("executive"), "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    other = api.client.get(f"{V1}/kpis?level=team", headers={**api.auth("executive"), "If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.content == first.content


def test_the_answer_says_which_extract_and_period_it_is_from(api) -> None:
    response = api.client.get(f"{V1}/kpis?from=2025-10-01&to=2025-10-31", headers=api.auth("executive"))
    with open_warehouse(Path(api.env["KPIDASH_DB"])) as wh:
        assert response.headers["x-kpidash-run-id"] == wh.run_id
        assert response.headers["x-kpidash-extract-date"] == wh.extract_date.isoformat()
    assert response.headers["x-kpidash-period"] == "2025-10-01/2025-10-31"


def test_the_figures_are_the_kpi_layers_with_targets(api) -> None:
    response = api.client.get(f"{V1}/kpis?level=team&from=2025-06-01&to=2025-08-31&fields=all",
                              headers=api.auth("executive"))
    with open_warehouse(Path(api.env["KPIDASH_DB"])) as wh:
        expected = with_targets(compute_kpis(wh, dt.date(2025, 6, 1), dt.date(2025, 8, 31), "team"), wh.config)
    assert _same_figures(response.json(), json.loads(json.dumps(expected)))
    # the default is the spec's JSON: exactly its six keys (kpis.md), the same rows; domain_good_or_better's
    # rows also carry their domain (qa-audits.md)
    spec = api.client.get(f"{V1}/kpis?level=team&from=2025-06-01&to=2025-08-31", headers=api.auth("executive"))
    keys = ("kpi", "level", "unit", "numerator", "denominator", "value")
    with_domain = ("kpi", "level", "unit", "domain", "numerator", "denominator", "value")
    assert [list(row) for row in spec.json()] == [list(with_domain if "domain" in r else keys) for r in expected]
    assert spec.json() == [{k: row[k] for k in (with_domain if "domain" in row else keys)} for row in response.json()]


def test_with_the_cache_off_the_answers_are_the_same(api, api_without_cache) -> None:
    assert api_without_cache.client.app.state.kpidash.cache.enabled is False
    for url in URLS:
        cached = api.client.get(V1 + url, headers=api.auth("executive"))
        fresh = api_without_cache.client.get(V1 + url, headers=api_without_cache.auth("executive"))
        assert fresh.status_code == 200 and _same_figures(fresh.json(), cached.json())
        if "/kpis?" in url:
            continue  # the ETag hashes the body, whose fte sums may differ in the last bit (see _same_figures)
        revalidated = api_without_cache.client.get(
            V1 + url, headers={**api_without_cache.auth("executive"), "If-None-Match": fresh.headers["etag"]})
        assert revalidated.status_code == 304
    assert len(api_without_cache.client.app.state.kpidash.cache) == 0


def _republish(path: Path, run_id: str) -> None:
    """The same data published again as a new version (a new file swapped in, as the loader does)."""
    tmp = path.with_name(f"{path.name}.{run_id}.tmp")
    shutil.copy(path, tmp)
    with duckdb.connect(str(tmp)) as con:
        con.execute("UPDATE extract_meta SET run_id = ?", [run_id])
    os.replace(tmp, path)


def test_no_request_fails_while_new_versions_are_published(api) -> None:
    path = Path(api.env["KPIDASH_DB"])
    statuses: list[int] = []
    expected = api.client.get(f"{V1}/kpis?level=service", headers=api.auth("executive")).json()
    bodies_match: list[bool] = []

    def hammer() -> None:
        for _ in range(15):
            response = api.client.get(f"{V1}/kpis?level=service", headers=api.auth("executive"))
            statuses.append(response.status_code)
            bodies_match.append(_same_figures(response.json(), expected))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for n in range(3):
        _republish(path, f"republished-{n}")
    for t in threads:
        t.join()
    assert statuses == [200] * 60 and all(bodies_match)
    after = api.client.get(f"{V1}/kpis?level=service", headers=api.auth("executive"))
    assert after.headers["x-kpidash-run-id"] == "republished-2"


def test_a_new_load_invalidates_the_cache(api, sample_extract: Path, tmp_path: Path) -> None:
    """The same extract taken a month earlier: a new version, and the default period moves with it."""
    import etl

    url = f"{V1}/kpis?level=team&fields=all"
    before = api.client.get(url, headers=api.auth("executive"))
    extract = tmp_path / "extract"
    shutil.copytree(sample_extract, extract)
    (extract / "manifest.json").write_text(json.dumps({"extracted_at": "2025-10-31T06:30:00", "source_system": "LCS"}))
    result = etl.load_extract(extract)
    assert result.status == "published", result.message

    after = api.client.get(url, headers={**api.auth("executive"), "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["x-kpidash-run-id"] == result.run_id != before.headers["x-kpidash-run-id"]
    assert after.headers["x-kpidash-period"] == "2025-10-01/2025-10-31"
    assert after.headers["etag"] != before.headers["etag"]
    with open_warehouse(Path(api.env["KPIDASH_DB"])) as wh:
        expected = with_targets(compute_kpis(wh, dt.date(2025, 10, 1), dt.date(2025, 10, 31), "team"), wh.config)
    assert _same_figures(after.json(), json.loads(json.dumps(expected)))
    status = api.client.get(f"{V1}/status", headers=api.auth("executive")).json()
    assert status["extract_date"] == "2025-10-31" and status["last_good_load"]["run_id"] == result.run_id
