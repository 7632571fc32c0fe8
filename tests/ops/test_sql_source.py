"""The SQL source: one SELECT per contract table from a reporting database, loaded when the results change.

Against a real SQLite file always, and PostgreSQL where KPIDASH_TEST_PG names one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml
from extract_builder import DEFAULT_ROWS
from sqlalchemy import Column, MetaData, Table, Text, create_engine, insert, text, update

import etl
from core.settings import get_settings
from etl.contract import TABLES
from etl.refresh import refresh
from etl.sources import SourceError, read_sql_source_config

PG_URL = os.environ.get("KPIDASH_TEST_PG")


def _reporting_db(url: str) -> None:
    """The case-management reporting database: cms_<table>, text columns, the minimal extract's rows."""
    engine = create_engine(url)
    meta = MetaData()
    tables = {t.name: Table(f"cms_{t.name}", meta, *(Column(c, Text) for c in t.column_names)) for t in TABLES}
    meta.drop_all(engine)
    meta.create_all(engine)
    with engine.begin() as conn:
        for name, table in tables.items():
            conn.execute(insert(table), [{k: (v or None) for k, v in DEFAULT_ROWS[name].items()}])
    engine.dispose()


def _config(path: Path, url: str, queries: dict[str, str] | None = None) -> Path:
    queries = queries or {t.name: f"SELECT {', '.join(t.column_names)} FROM cms_{t.name}" for t in TABLES}
    path.write_text(yaml.safe_dump({"url": url, "source_system": "Fictional CMS", "queries": queries}), encoding="utf-8")
    return path


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
        PG_URL is None, reason="KPIDASH_TEST_PG does not name a PostgreSQL server"))]
)
def sql_source(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cms.db'}" if request.param == "sqlite" else PG_URL
    _reporting_db(url)  # type: ignore[arg-type]
    monkeypatch.setenv("KPIDASH_SQL_SOURCE_CONFIG", str(_config(tmp_path / "source.yaml", url)))  # type: ignore[arg-type]
    get_settings.cache_clear()
    yield url  # type: ignore[misc]


def test_the_sql_source_is_loaded_and_reloaded_only_when_its_results_change(sql_source: str) -> None:
    db = get_settings().db
    first = refresh()
    assert first.action == "loaded", first.message
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT team_name FROM teams").fetchall() == [("Team Bramblewick",)]
        assert con.execute("SELECT qualified, fte FROM workers").fetchall() == [(True, 1.0)]
        assert con.execute("SELECT source_system FROM extract_meta").fetchone() == ("Fictional CMS",)
    assert refresh().action == "unchanged"
    engine = create_engine(sql_source)
    with engine.begin() as conn:
        conn.execute(text("UPDATE cms_teams SET team_name = 'Team Mossbank'"))
    engine.dispose()
    assert refresh().action == "loaded"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT team_name FROM teams").fetchall() == [("Team Mossbank",)]
    assert [r.status for r in etl.list_runs(10)] == ["published", "published"]
    assert not db.with_name(db.name + ".staging").exists()


def test_a_failing_select_names_its_table(sql_source: str, tmp_path: Path, monkeypatch) -> None:
    queries = {t.name: f"SELECT {', '.join(t.column_names)} FROM cms_{t.name}" for t in TABLES}
    queries["referrals"] = "SELECT * FROM no_such_table"
    monkeypatch.setenv("KPIDASH_SQL_SOURCE_CONFIG", str(_config(tmp_path / "bad.yaml", sql_source, queries)))
    get_settings.cache_clear()
    outcome = refresh()
    assert outcome.action == "unreachable"
    assert outcome.message.startswith("the SELECT for referrals failed") and "no_such_table" in outcome.message
    assert etl.list_runs(10) == []


def test_an_unreachable_database_is_reported(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'no_such_folder' / 'cms.db'}"
    monkeypatch.setenv("KPIDASH_SQL_SOURCE_CONFIG", str(_config(tmp_path / "s.yaml", url)))
    get_settings.cache_clear()
    outcome = refresh()
    assert outcome.action == "unreachable" and "cannot be reached" in outcome.message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("url: [", "not valid YAML"),
        ("queries: {}", "needs `url`"),
        ("url: sqlite://\nqueries:\n  teams: SELECT 1\n  pets: SELECT 2", "no SELECT for workers, children"),
        ("url: sqlite://\nqueries:\n  teams: SELECT 1\n  pets: SELECT 2", "pets is not a contract table"),
    ],
)
def test_a_bad_config_says_what_is_wrong(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "source.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError, match=words):
        read_sql_source_config(path)
