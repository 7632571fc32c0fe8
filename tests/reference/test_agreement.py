"""The DuckDB engine (kpis/) and the independent pandas reference agree, on the sample trust and on
the hand-made trust (hand_made_trust.py, edge cases by design) published through the real loader.

Two readings of kpis.md, written apart, must give the same figure for every KPI, level, unit and
period; a disagreement is settled against the spec with a hand-made case, never by copying one side.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path

import holidays
import pandas as pd
import pytest
from hand_made_trust import JAN1, JAN31, hand_made_tables

from benchmarks.pandas_reference import KPI_MEASURES, LEVELS, QA_MEASURES, compute_kpis_pandas, load_tables
from core.settings import get_settings
from kpis import KpiConfig, Warehouse, compute_kpis, open_warehouse

REL = 1e-9
CLOSURE_LIMIT = 12.0
PERIODS = (
    "month_to_date",
    "past_month",
    "single_day",
    "whole_year",
    "christmas_new_year",
    "d_on_weekend",
    "d_on_bank_holiday",
)


def period(name: str, extract_date: dt.date) -> tuple[dt.date, dt.date]:
    """The named period relative to the extract date, so the test follows the sample wherever it ends."""
    first = extract_date.replace(day=1)
    if name == "month_to_date":
        return first, extract_date
    if name == "past_month":
        last = first - dt.timedelta(days=1)
        return last.replace(day=1), last
    if name == "single_day":
        day = extract_date - dt.timedelta(days=10)
        return day, day
    if name == "whole_year":
        return extract_date - dt.timedelta(days=364), extract_date
    if name == "christmas_new_year":
        year = extract_date.year - (1 if extract_date >= dt.date(extract_date.year, 1, 6) else 2)
        return dt.date(year, 12, 15), dt.date(year + 1, 1, 6)  # the last one wholly before the extract
    if name == "d_on_weekend":
        saturday = extract_date - dt.timedelta(days=(extract_date.weekday() - 5) % 7 or 7)
        return saturday - dt.timedelta(days=20), saturday
    if name == "d_on_bank_holiday":
        years = (extract_date.year - 1, extract_date.year)
        bank = max(d for d in holidays.country_holidays("GB", subdiv="ENG", years=years) if d < extract_date)
        return bank.replace(day=1), bank
    raise ValueError(name)


@pytest.fixture(scope="module")
def engine(sample_warehouse: Path) -> Iterator[Warehouse]:
    wh = open_warehouse(sample_warehouse)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def engine_with_closures(sample_warehouse: Path) -> Iterator[Warehouse]:
    """The engine under a non-default configuration: closure days in every period tested, a low limit."""
    probe = open_warehouse(sample_warehouse)
    extract_date = probe.extract_date
    probe.close()
    last_christmas = period("christmas_new_year", extract_date)[0].year
    closures = {extract_date - dt.timedelta(days=n) for n in range(1, 400, 9)}
    closures |= {dt.date(last_christmas, 12, 24), dt.date(last_christmas, 12, 31)}
    config = KpiConfig(caseload_limit=CLOSURE_LIMIT, closure_days=sorted(closures))
    wh = open_warehouse(sample_warehouse, config=config)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def reference_tables(sample_warehouse: Path) -> dict[str, pd.DataFrame]:
    return load_tables(sample_warehouse)


def _reference(
    engine: Warehouse, tables: dict[str, pd.DataFrame], start: dt.date, end: dt.date, level: str
) -> list[dict]:
    """The pandas figures under the engine's own configuration (caseload limit, closure days)."""
    config = engine.config
    return compute_kpis_pandas(
        tables,
        start,
        end,
        level,
        caseload_limit=config.caseload_limit,
        closure_days=tuple(config.closure_days),
    )


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=REL, abs_tol=0.0) if isinstance(a, float) or isinstance(b, float) else a == b


def _differences(sql_rows: list[dict], pandas_rows: list[dict]) -> list[str]:
    """Every disagreement, listed, so one run shows the whole picture."""
    sql = {(r["kpi"], r["level"], r["unit"], r.get("domain")): r for r in sql_rows}
    ref = {(r["kpi"], r["level"], r["unit"], r.get("domain")): r for r in pandas_rows}
    out = [f"row only in kpis/: {k} {sql[k]}" for k in sorted(sql.keys() - ref.keys())]
    out += [f"row only in pandas: {k} {ref[k]}" for k in sorted(ref.keys() - sql.keys())]
    for key in sorted(sql.keys() & ref.keys()):
        s, p = sql[key], ref[key]
        if set(s) != {"kpi", "level", "unit", "numerator", "denominator", "value"} | ({"domain"} if key[3] else set()):
            out.append(f"{key}: keys {sorted(s)}")
        elif not all(_same(s[f], p[f]) for f in ("numerator", "denominator", "value")):
            out.append(f"{key}: kpis/ {s['numerator']}/{s['denominator']}={s['value']}"
                       f"  pandas {p['numerator']}/{p['denominator']}={p['value']}")
    return out


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", PERIODS)
def test_engine_agrees_with_pandas_reference(
    engine: Warehouse, reference_tables: dict[str, pd.DataFrame], name: str, level: str
) -> None:
    start, end = period(name, engine.extract_date)
    sql_rows = compute_kpis(engine, start, end, level)
    pandas_rows = _reference(engine, reference_tables, start, end, level)
    diffs = _differences(sql_rows, pandas_rows)
    assert not diffs, f"{name} {start}..{end} level={level}: {len(diffs)} disagreements\n" + "\n".join(diffs[:40])


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", ["christmas_new_year", "whole_year"])
def test_engine_agrees_under_closure_days_and_another_limit(
    engine_with_closures: Warehouse, reference_tables: dict[str, pd.DataFrame], name: str, level: str
) -> None:
    wh = engine_with_closures
    assert wh.config.caseload_limit == CLOSURE_LIMIT and wh.config.closure_days
    start, end = period(name, wh.extract_date)
    diffs = _differences(compute_kpis(wh, start, end, level), _reference(wh, reference_tables, start, end, level))
    assert not diffs, f"{name} {start}..{end} level={level}: {len(diffs)} disagreements\n" + "\n".join(diffs[:40])


def test_sample_gives_the_cross_check_something_to_compare(
    engine: Warehouse, reference_tables: dict[str, pd.DataFrame]
) -> None:
    """Agreement on zeros proves nothing: the sample's past year must exercise every KPI."""
    start, end = period("whole_year", engine.extract_date)
    rows = _reference(engine, reference_tables, start, end, "trust")
    empty = [r["kpi"] for r in rows if not r["numerator"] and r["kpi"] != "workers_over_caseload_limit"]
    assert list(dict.fromkeys(r["kpi"] for r in rows)) == list(KPI_MEASURES) + list(QA_MEASURES)
    assert not empty, f"the sample trust has nothing for {empty}"


def test_engine_json_types_follow_the_spec(engine: Warehouse) -> None:
    """Counts are integers with no denominator; rates have integer parts; average_caseload a float fte."""
    start, end = period("past_month", engine.extract_date)
    for row in compute_kpis(engine, start, end, "team"):
        measure = {**KPI_MEASURES, **QA_MEASURES}[row["kpi"]]
        assert type(row["numerator"]) is int, row
        if measure == "count":
            assert row["denominator"] is None and type(row["value"]) is int, row
        elif measure == "rate":
            assert type(row["denominator"]) is int, row
        else:
            assert type(row["denominator"]) is float, row
        if measure != "count":
            assert row["value"] is None or type(row["value"]) is float, row


def test_periods_are_what_their_names_say() -> None:
    sunday = dt.date(2025, 11, 23)
    assert period("month_to_date", sunday) == (dt.date(2025, 11, 1), sunday)
    assert period("past_month", sunday) == (dt.date(2025, 10, 1), dt.date(2025, 10, 31))
    assert period("christmas_new_year", sunday) == (dt.date(2024, 12, 15), dt.date(2025, 1, 6))
    assert period("christmas_new_year", dt.date(2026, 1, 5)) == (dt.date(2024, 12, 15), dt.date(2025, 1, 6))
    assert period("christmas_new_year", dt.date(2026, 1, 6)) == (dt.date(2025, 12, 15), dt.date(2026, 1, 6))
    assert period("d_on_weekend", sunday) == (dt.date(2025, 11, 2), dt.date(2025, 11, 22))
    assert period("d_on_bank_holiday", sunday) == (dt.date(2025, 8, 1), dt.date(2025, 8, 25))


# --- the hand-made trust (hand_made_trust.py: edge cases by design) through the real loader ---------

HAND_MADE_PERIODS = (
    (JAN1, JAN31),                                # the month the answers were worked out for
    (dt.date(2024, 2, 1), dt.date(2024, 2, 29)),  # leap day: 12 months back is 2023-02-28
    (JAN1, JAN1),                                 # a single day, a bank holiday
    (dt.date(2024, 12, 20), dt.date(2025, 1, 5)), # Christmas and New Year, D a Sunday
    (dt.date(2024, 2, 1), JAN31),                 # a whole year
)


@pytest.fixture(scope="module")
def hand_made_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made trust written as CSV files and published by etl.load_extract."""
    from etl import load_extract

    root = tmp_path_factory.mktemp("hand_made")
    extract = root / "extract"
    extract.mkdir()
    for name, table in hand_made_tables().items():
        table.to_csv(extract / f"{name}.csv", index=False)
    (extract / "manifest.json").write_text('{"extracted_at": "2025-01-31T06:30:00", "source_system": "LCS"}')
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KPIDASH_DB", str(root / "warehouse.duckdb"))
        env.setenv("KPIDASH_ARCHIVE_DIR", str(root / "archive"))
        env.setenv("KPIDASH_APP_DB", f"sqlite:///{root / 'app.db'}")
        get_settings.cache_clear()
        try:
            result = load_extract(extract)
        finally:
            get_settings.cache_clear()
    assert result.status == "published", result.message
    return root / "warehouse.duckdb"


HAND_MADE_CONFIGS = {"default": (20.0, ()), "closure_and_low_limit": (1.5, (dt.date(2025, 1, 6),))}


@pytest.fixture(scope="module")
def hand_made_engines(hand_made_warehouse: Path) -> Iterator[dict[str, Warehouse]]:
    """The engine on the hand-made trust under each configuration, opened once."""
    engines = {
        name: open_warehouse(hand_made_warehouse, config=KpiConfig(caseload_limit=limit, closure_days=closures))
        for name, (limit, closures) in HAND_MADE_CONFIGS.items()
    }
    yield engines
    for wh in engines.values():
        wh.close()


def test_loader_kept_every_hand_made_row(hand_made_warehouse: Path) -> None:
    loaded = load_tables(hand_made_warehouse)
    assert {k: len(v) for k, v in loaded.items()} == {k: len(v) for k, v in hand_made_tables().items()}


@pytest.mark.parametrize(
    "start, end, config",
    [(start, end, "default") for start, end in HAND_MADE_PERIODS]
    + [(start, end, "closure_and_low_limit") for start, end in (HAND_MADE_PERIODS[0], HAND_MADE_PERIODS[-1])],
)
def test_engine_agrees_on_the_hand_made_trust(
    hand_made_warehouse: Path, hand_made_engines: dict[str, Warehouse], start: dt.date, end: dt.date, config: str
) -> None:
    wh = hand_made_engines[config]
    tables = load_tables(hand_made_warehouse)
    diffs = [d for level in LEVELS for d in _differences(
        compute_kpis(wh, start, end, level), _reference(wh, tables, start, end, level))]
    assert not diffs, f"hand-made trust {start}..{end}: {len(diffs)} disagreements\n" + "\n".join(diffs[:40])
