"""Differential fuzzing: the DuckDB engine (kpis/) and the pandas reference agree on random extracts.

Each example is a small contract-valid extract drawn by extract_strategies.py (dates on the KPIs'
edges, a few deliberately invalid rows), written as CSV files with a manifest, published by the real
loader, and compared for two periods at every level, as test_agreement.py compares the sample trust.
The load builds the daily cube under the drawn configuration, so the figures compared are the cube's;
the cube is also compared with the facts engine for every period shape (inside, across and outside
its days) and for trends by month, week and day; two of a trend's periods (the current partial one,
and the one holding the extract date or else the one before) are compared with the reference too.
A disagreement shrinks to a minimal extract; settle it by hand against kpis.md, never by copying a side.

KPIDASH_FUZZ_EXAMPLES sets the number of examples (default sized for CI); set it to 1000 or more to hunt.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import holidays
import pandas as pd
import pytest
from extract_strategies import REAL_UNKNOWN_TEAM, DrawnExtract, extracts, shift_working_days
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from test_agreement import _differences, _reference

from benchmarks.pandas_reference import KPI_MEASURES, LEVELS, QA_MEASURES, compute_kpis_pandas, load_tables
from core.settings import get_settings
from etl import load_extract
from etl.contract import EXTRACT_TABLES, TABLES_BY_NAME
from kpis import KPIS, KpiConfig, Warehouse, compute_kpis, kpi_trend, open_warehouse
from kpis.compute import has_files
from kpis.cube_builder import cube_last_day

FUZZ_EXAMPLES = int(os.environ.get("KPIDASH_FUZZ_EXAMPLES", "20"))
# The cube is compared with the facts on three of these period shapes and one trend per example.
SHAPES = ("single day", "month to date", "year", "arbitrary span", "as-at on a weekend", "as-at on a bank holiday",
          "first day of the history", "before the history", "from before the history", "after the extract date",
          "past the cube's last day")
TRENDS = (("month", 13), ("week", 9), ("day", 15))


def write_extract(drawn: DrawnExtract, folder: Path) -> None:
    """The drawn tables as the contract's CSV files (None is an empty cell) and manifest.json."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in EXTRACT_TABLES:
        if not drawn.written(table.name):
            continue
        with (folder / table.file_name).open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(table.column_names)
            out.writerows(drawn.written_rows(table.name))
    (folder / "manifest.json").write_text(drawn.manifest(), encoding="utf-8")


def loaded_keys(db: Path) -> dict[str, list[str]]:
    """Each table's keys as published, repeats kept, so a row loaded twice shows."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {t.name: sorted(r[0] for r in con.execute(f"SELECT {t.key} FROM {t.name}").fetchall())
                for t in EXTRACT_TABLES}


@pytest.fixture
def fuzz_data(isolated_settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's data folder, shared by its examples (one app database); invalid rows may exceed 2%, and
    each example's extract replaces the last one's whatever its size (no shrink guard)."""
    monkeypatch.setenv("KPIDASH_MAX_REJECT_PCT", "100")
    monkeypatch.setenv("KPIDASH_SHRINK_MIN_FRACTION", "0")
    get_settings.cache_clear()
    return Path(get_settings().db)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(drawn=extracts(), shapes=st.lists(st.sampled_from(SHAPES), min_size=3, max_size=3, unique=True),
       trend=st.sampled_from(TRENDS), trend_to_cube_end=st.booleans())
def test_engine_and_reference_agree_on_random_extracts(
    fuzz_data: Path, drawn: DrawnExtract, shapes: list[str], trend: tuple[str, int], trend_to_cube_end: bool
) -> None:
    note(drawn.as_csv())
    with tempfile.TemporaryDirectory() as tmp:
        write_extract(drawn, Path(tmp) / "extract")
        # the load builds the daily cube under the configuration the figures are then read with
        with kpi_config_file(drawn, Path(tmp) / "kpi_config.yaml"):
            result = load_extract(Path(tmp) / "extract")
    assert result.status == "published", result.message
    assert loaded_keys(fuzz_data) == drawn.valid_keys, "the loader kept other rows than the valid ones"

    tables = load_tables(fuzz_data)
    config = KpiConfig(caseload_limit=drawn.caseload_limit, closure_days=drawn.closure_days)
    with open_warehouse(fuzz_data, config=config, cube=True) as wh, \
            open_warehouse(fuzz_data, config=config, cube=False) as facts:
        # a real team called UNKNOWN: the cube cannot keep its records apart from those of no known team
        # in the services, so the load publishes without one and every figure is counted from the facts
        real_unknown = any(t[0] == REAL_UNKNOWN_TEAM for t in drawn.tables["teams"])
        assert (wh.cube is None) == real_unknown, "the load built no cube the engine can read"
        # every KPI whose files the extract held is in the cube (QA ones too), the others nowhere
        assert real_unknown or set(wh.cube.kpis) == {k.id for k in KPIS if has_files(wh, k)}
        for start, end in drawn.periods:
            sql_rows = compute_kpis(wh, start, end, "all")
            pandas_rows = [row for level in LEVELS for row in _reference(wh, tables, start, end, level)]
            diffs = _differences(sql_rows, pandas_rows)
            assert not diffs, (f"{start}..{end} limit={drawn.caseload_limit} closures={drawn.closure_days}: "
                               f"{len(diffs)} disagreements\n" + "\n".join(diffs[:40]))
        # the cube against the facts, at every level: three period shapes and a trend drawn per example
        periods = cube_shapes(wh) if not real_unknown else {}
        for name in shapes if not real_unknown else ():
            start, end = periods[name]
            assert repr(compute_kpis(wh, start, end, "all")) == repr(compute_kpis(facts, start, end, "all")), name
        by, count = trend
        cube_last = wh.cube.last if wh.cube is not None else cube_last_day(wh.extract_date)
        date_to = cube_last if trend_to_cube_end else wh.extract_date
        trend_rows = kpi_trend(wh, None, by, count, "all", date_to=date_to)
        assert repr(trend_rows) == repr(kpi_trend(facts, None, by, count, "all", date_to=date_to)), (by, date_to)
        # the trend against the pandas reference: the last period (partial) and the one the extract date
        # falls in (or the one before the last)
        for start, end in trend_checked_periods(trend_rows, wh.extract_date):
            rows = [{k: v for k, v in r.items() if k not in ("period_start", "period_end")} for r in trend_rows
                    if r["period_start"] == start.isoformat()]
            pandas_rows = [row for level in LEVELS for row in _reference(wh, tables, start, end, level)]
            diffs = _differences(rows, pandas_rows)
            assert not diffs, (f"trend by {by} to {date_to}, period {start}..{end}: {len(diffs)} disagreements\n"
                               + "\n".join(diffs[:40]))


@contextlib.contextmanager
def kpi_config_file(drawn: DrawnExtract, path: Path) -> Iterator[None]:
    """KPIDASH_CONFIG_FILE naming the drawn caseload limit and closure days, for the block."""
    closures = "".join(f"\n  - {d.isoformat()}" for d in drawn.closure_days)
    path.write_text(f"caseload_limit: {drawn.caseload_limit}\nclosure_days:{closures or ' []'}\n", encoding="utf-8")
    old = os.environ.get("KPIDASH_CONFIG_FILE")
    os.environ["KPIDASH_CONFIG_FILE"] = str(path)
    get_settings.cache_clear()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("KPIDASH_CONFIG_FILE", None)
        else:
            os.environ["KPIDASH_CONFIG_FILE"] = old
        get_settings.cache_clear()


def trend_checked_periods(trend_rows: list[dict], extract_date: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The trend's periods compared with the reference (two, to keep the run short): the last, ending at
    the trend's date_to (partial), and the one holding the extract date, or the one before the last."""
    periods = sorted({(dt.date.fromisoformat(r["period_start"]), dt.date.fromisoformat(r["period_end"]))
                      for r in trend_rows})
    holding = [p for p in periods[:-1] if p[0] <= extract_date <= p[1]]
    return sorted({periods[-1], *(holding or periods[-2:-1])})


def cube_shapes(wh: Warehouse) -> dict[str, tuple[dt.date, dt.date]]:
    """Periods of every shape around the extract and the cube's days, inside and outside them."""
    extract, first, last = wh.extract_date, wh.cube.first, wh.cube.last
    saturday = extract - dt.timedelta(days=(extract.weekday() - 5) % 7 or 7)
    bank = max(d for d in holidays.country_holidays("GB", subdiv="ENG", years=(extract.year - 1, extract.year))
               if d < extract)
    return {
        "single day": (extract - dt.timedelta(days=3),) * 2,
        "month to date": (extract.replace(day=1), extract),
        "year": (extract - dt.timedelta(days=364), extract),
        "arbitrary span": (min(first + dt.timedelta(days=2), extract - dt.timedelta(days=17)),
                           extract - dt.timedelta(days=17)),
        "as-at on a weekend": (saturday - dt.timedelta(days=6), saturday),
        "as-at on a bank holiday": (bank - dt.timedelta(days=40), bank),
        "first day of the history": (first + dt.timedelta(days=1),) * 2,
        "before the history": (first - dt.timedelta(days=30), first - dt.timedelta(days=1)),
        "from before the history": (first - dt.timedelta(days=30), extract),
        "after the extract date": (extract + dt.timedelta(days=1), last),
        "past the cube's last day": (extract, last + dt.timedelta(days=10)),
    }


# --- the strategy itself: the draws reach the edges they are meant to ---------------------------


def test_shift_working_days_lands_on_the_threshold() -> None:
    # Mon 2024-12-23 + 1 wd = Tue 24th; + 2 = Fri 27th (25th, 26th bank holidays); - 1 from Mon = Fri 20th
    assert shift_working_days(dt.date(2024, 12, 23), 1) == dt.date(2024, 12, 24)
    assert shift_working_days(dt.date(2024, 12, 23), 2) == dt.date(2024, 12, 27)
    assert shift_working_days(dt.date(2024, 12, 23), -1) == dt.date(2024, 12, 20)
    # Sat 2025-01-04 + 1 wd: counting starts on Monday the 6th, which is day 1
    assert shift_working_days(dt.date(2025, 1, 4), 1) == dt.date(2025, 1, 6)


def _draws(n: int) -> list[DrawnExtract]:
    """The first n extracts the strategy draws (derandomized: the same ones every run)."""
    seen: list[DrawnExtract] = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(drawn=extracts())
    def collect(drawn: DrawnExtract) -> None:
        seen.append(drawn)

    collect()
    return seen[:n]


def test_draws_give_the_comparison_something_to_compare() -> None:
    """Agreement on zeros proves nothing: across 100 draws every KPI counts something, every rate
    has records in and out of its numerator, and the sharpest edges (RHI at exactly 72 hours, a re-referral exactly 12
    months on, a return at midnight, an invalid row) occur."""
    draws = _draws(100)
    numerators: dict[str, int] = {}
    left_out: set[str] = set()  # rates with a record in the denominator only
    for drawn in draws:
        frames = {name: pd.DataFrame(rows, columns=TABLES_BY_NAME[name].column_names, dtype=object)
                  for name, rows in drawn.tables.items() if drawn.written(name)}
        if "audits" in frames:  # as loaded: a grade on an audit not completed is stored empty
            audits = frames["audits"]
            frames["audits"] = audits.assign(grade=audits["grade"].where(audits["completed_date"].notna()))
        start, end = drawn.periods[0]
        for row in compute_kpis_pandas(frames, start, end, "trust", drawn.caseload_limit, drawn.closure_days):
            numerators[row["kpi"]] = numerators.get(row["kpi"], 0) + row["numerator"]
            if row["denominator"] is not None and row["numerator"] < row["denominator"]:
                left_out.add(row["kpi"])
    assert [k for k, n in numerators.items() if not n] == []
    assert set(QA_MEASURES) <= set(numerators)
    measures = {**KPI_MEASURES, **QA_MEASURES}
    assert {k for k, m in measures.items() if m == "rate"} - left_out == set()

    missing = [row for d in draws for row in d.tables["missing_episodes"]]
    assert any(r[3] and r[4] and _moment(r[4]) - _moment(r[3]) == dt.timedelta(hours=72) for r in missing)
    assert any(r[3] and r[3][11:16] == "00:00" for r in missing)
    referral_days = {(r[1], r[2]) for d in draws for r in d.tables["referrals"]}
    assert any((c, day.replace("2025-", "2024-")) in referral_days for c, day in referral_days if day[:5] == "2025-")
    assert any(d.invalid for d in draws)
    audits = [row for d in draws if d.written("audits") for row in d.tables["audits"]]
    assert any(r[10] and r[10] == r[9] for r in audits)  # completed on the due date
    assert any(r[10] and r[12] and r[12] > r[10] for r in audits)  # moderated after completion
    assert any(r[10] is None and r[11] == "not-a-grade" for r in audits)  # a grade left on an outstanding audit
    assert any(not d.written("audit_actions") and d.written("audits") for d in draws)


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_every_cube_shape_is_named() -> None:
    from types import SimpleNamespace

    wh = SimpleNamespace(extract_date=dt.date(2025, 11, 24),
                         cube=SimpleNamespace(first=dt.date(2022, 11, 23), last=dt.date(2025, 12, 31)))
    shapes = cube_shapes(wh)
    assert set(shapes) == set(SHAPES) and all(start <= end for start, end in shapes.values())
