"""The daily cube gives exactly the facts engine's figures: every KPI, level and period shape, on the
sample trust (as a load builds it) and under another configuration; periods outside its days and
warehouses whose cube does not match this code or configuration are counted from the facts.

Rows are compared by repr, so 3 and 3.0 differ: the JSON types must match as well as the numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import holidays
import pytest

from kpis import KPIS, KpiConfig, Warehouse, compute_kpis, kpi_trend, open_warehouse
from kpis import cube as cube_module
from kpis.cube_builder import build_cube, cube_last_day
from kpis.families import FAMILIES, FAMILIES_BY_NAME, Measure
from kpis.registry import KPIS_BY_ID
from warehouse_builder import build_warehouse

D = dt.date.fromisoformat
ONE_DAY = dt.timedelta(days=1)
ALL_LEVELS = ("trust", "service", "team", "worker")


def _same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    diffs = [(x, y) for x, y in zip(a, b) if repr(x) != repr(y)]
    assert not diffs, f"{len(diffs)} rows differ, e.g. {diffs[:3]}"


def _served(wh: Warehouse, start: dt.date, end: dt.date) -> set[str]:
    return {k.id for k in KPIS if wh.cube.serves(k, [(start, end)])}


@pytest.fixture(scope="module")
def engines(sample_warehouse: Path) -> Iterator[tuple[Warehouse, Warehouse]]:
    """The sample trust read from its cube, and counted from the facts."""
    with open_warehouse(sample_warehouse, cube=True) as cube, open_warehouse(sample_warehouse, cube=False) as facts:
        assert cube.cube is not None and facts.cube is None
        yield cube, facts


def _periods(extract: dt.date, first: dt.date, last: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    saturday = extract - dt.timedelta(days=(extract.weekday() - 5) % 7 or 7)
    bank = max(d for d in holidays.country_holidays("GB", subdiv="ENG", years=(extract.year - 1, extract.year))
               if d < extract)
    return {
        "single day": (extract - dt.timedelta(days=10),) * 2,
        "as-at only": (extract, extract),
        "month to date": (extract.replace(day=1), extract),
        "past month": ((extract.replace(day=1) - ONE_DAY).replace(day=1), extract.replace(day=1) - ONE_DAY),
        "year": (extract - dt.timedelta(days=364), extract),
        "arbitrary span": (D("2023-03-03"), D("2024-07-19")),
        "christmas": (D("2024-12-15"), D("2025-01-06")),
        "as-at on a weekend": (saturday - dt.timedelta(days=20), saturday),
        "as-at on a bank holiday": (bank.replace(day=1), bank),
        "first day of the history": (first + ONE_DAY, first + ONE_DAY),
        "after the extract date": (extract + ONE_DAY, last),
        "whole cube": (first + ONE_DAY, last),
    }


@pytest.mark.parametrize("shape", ["single day", "as-at only", "month to date", "past month", "year",
                                   "arbitrary span", "christmas", "as-at on a weekend", "as-at on a bank holiday",
                                   "first day of the history", "after the extract date", "whole cube"])
def test_cube_gives_the_facts_figures_for_every_period_shape(engines: tuple[Warehouse, Warehouse], shape: str) -> None:
    cube, facts = engines
    start, end = _periods(cube.extract_date, cube.cube.first, cube.cube.last)[shape]
    assert _served(cube, start, end) == {k.id for k in KPIS}  # the cube answers all of it
    _same(compute_kpis(cube, start, end, "all"), compute_kpis(facts, start, end, "all"))


@pytest.mark.parametrize(("start", "end", "served"), [
    (D("2020-01-01"), D("2020-03-31"), set()),                      # before the history: all from the facts
    (D("2022-10-01"), D("2023-01-31"), {"stock"}),                  # starts before it: flow from the facts
    (D("2025-11-01"), D("2026-02-15"), set()),                      # ends after the cube's last day
])
def test_periods_outside_the_cube_are_counted_from_the_facts(
    engines: tuple[Warehouse, Warehouse], start: dt.date, end: dt.date, served: set[str]
) -> None:
    cube, facts = engines
    assert cube.cube.first < D("2023-01-31") < cube.cube.last < D("2026-02-15")
    assert _served(cube, start, end) == {k.id for k in KPIS if k.kind in served}
    _same(compute_kpis(cube, start, end, "all"), compute_kpis(facts, start, end, "all"))


@pytest.mark.slow
@pytest.mark.parametrize(("by", "periods", "to"), [
    ("month", 24, None), ("week", 53, None), ("day", 30, None), ("month", 40, None),  # 40 months: before the history
    ("week", 9, D("2025-12-28")), ("day", 45, D("2025-12-31")), ("month", 2, D("2026-01-31")),
])
def test_trends_from_the_cube_are_the_facts_trends(
    engines: tuple[Warehouse, Warehouse], by: str, periods: int, to: dt.date | None
) -> None:
    cube, facts = engines
    _same(kpi_trend(cube, None, by, periods, ALL_LEVELS, date_to=to),
          kpi_trend(facts, None, by, periods, ALL_LEVELS, date_to=to))


def test_one_unit_is_the_unit_of_the_whole_level(engines: tuple[Warehouse, Warehouse]) -> None:
    cube, facts = engines
    team, service = cube.teams()[0]["team_id"], cube.teams()[0]["service"]
    for level, unit in (("team", team), ("service", service), ("trust", "trust"), ("team", "UNKNOWN"),
                        ("service", "UNKNOWN")):
        every = [r for r in compute_kpis(cube, level=level) if r["unit"] == unit]
        _same(compute_kpis(cube, level=level, unit=unit), every)
        _same(kpi_trend(cube, None, "month", 6, level, unit), kpi_trend(facts, None, "month", 6, level, unit))


def test_average_caseload_denominators_are_the_same_doubles(engines: tuple[Warehouse, Warehouse]) -> None:
    """FTE sums added day by day in the cube are the engine's decimal sums, to the last bit."""
    cube, facts = engines
    rows = kpi_trend(cube, ["average_caseload"], "day", 60, ("trust", "service", "team"))
    expected = kpi_trend(facts, ["average_caseload"], "day", 60, ("trust", "service", "team"))
    assert [r["denominator"].hex() for r in rows] == [r["denominator"].hex() for r in expected]
    assert any(r["denominator"] % 1 for r in rows)  # part-time workers in the sums


def test_fte_sums_that_floats_would_get_wrong(tmp_path: Path) -> None:
    """Thirds and tenths: added as floats in another order they give other doubles (0.1 + 0.2 is not
    0.3); the cube adds the engine's decimals, so every day's sum is the engine's double."""
    ftes = ["0.1", "0.2", "0.3333333333333333", "0.6666666666666666", "0.7", "0.1", "0.25"]
    workers = [{"worker_id": f"W{i}", "worker_name": f"Worker {i}", "team_id": "T1", "role": "social_worker",
                "qualified": "Y", "fte": fte, "start_date": f"2025-10-{10 + i:02d}", "end_date": None}
               for i, fte in enumerate(ftes)]
    path = build_warehouse(tmp_path / "wh.duckdb", {
        "workers": workers,
        "referrals": [{"referral_id": "R1", "child_id": "C1", "referral_date": "2025-10-01", "team_id": "T1"}],
    })
    build_cube(path, KpiConfig())
    with open_warehouse(path, cube=True) as cube, open_warehouse(path, cube=False) as facts:
        rows = kpi_trend(cube, ["average_caseload"], "day", 30, ("trust", "team"), date_to=D("2025-10-30"))
        expected = kpi_trend(facts, ["average_caseload"], "day", 30, ("trust", "team"), date_to=D("2025-10-30"))
    assert [r["denominator"].hex() for r in rows] == [r["denominator"].hex() for r in expected]
    last = [r["denominator"] for r in rows if r["level"] == "trust" and r["period_end"] == "2025-10-30"]
    assert last == [2.35]  # 0.1 + 0.2 + 1/3 + 2/3 + 0.7 + 0.1 + 0.25 to 9 places, the nearest double
    assert sum(float(f) for f in ftes) != 2.35


def test_a_real_team_called_unknown_builds_no_cube(tmp_path: Path) -> None:
    """docs/kpis.md: a team of teams.csv whose team_id is UNKNOWN shares its row with the unit of records of
    no known team, but not its service; the cube adds each team into one service, so none is built, even
    with no record in that team (a fuzz draw: the check that a team's changes go to its own service then
    found nothing to refuse, and a cube was built against what the docs say)."""
    teams = [{"team_id": "T1", "team_name": "Team 1", "service": "Service A"},
             {"team_id": "UNKNOWN", "team_name": "Team 2", "service": "Service A"}]
    path = build_warehouse(tmp_path / "wh.duckdb", {
        "referrals": [{"referral_id": "R1", "child_id": "C1", "referral_date": "2025-10-01", "team_id": "T9"}],
    }, teams=teams)
    with pytest.raises(ValueError, match='teams.csv has a team whose team_id is "UNKNOWN"'):
        build_cube(path, KpiConfig())
    with open_warehouse(path, cube=True) as wh:
        assert wh.cube is None


@pytest.fixture(scope="module")
def closures_engines(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[tuple[Warehouse, Warehouse]]:
    """The sample's cube rebuilt under closure days in every month and a low caseload limit."""
    path = tmp_path_factory.mktemp("closures") / "warehouse.duckdb"
    shutil.copyfile(sample_warehouse, path)
    with open_warehouse(path, cube=False) as probe:
        extract = probe.extract_date
    config = KpiConfig(caseload_limit=12.0, closure_days=[extract - dt.timedelta(days=n) for n in range(1, 700, 13)])
    build_cube(path, config)
    with open_warehouse(path, config, cube=True) as cube, open_warehouse(path, config, cube=False) as facts:
        assert cube.cube is not None
        yield cube, facts


@pytest.mark.parametrize("shape", ["month to date", "year", "christmas", "as-at on a bank holiday"])
def test_cube_under_another_configuration(closures_engines: tuple[Warehouse, Warehouse], shape: str) -> None:
    cube, facts = closures_engines
    start, end = _periods(cube.extract_date, cube.cube.first, cube.cube.last)[shape]
    assert _served(cube, start, end) == {k.id for k in KPIS}
    _same(compute_kpis(cube, start, end, "all"), compute_kpis(facts, start, end, "all"))
    _same(kpi_trend(cube, None, "week", 20, ALL_LEVELS, date_to=end),
          kpi_trend(facts, None, "week", 20, ALL_LEVELS, date_to=end))


def test_a_cube_built_under_another_configuration_is_not_read(sample_warehouse: Path) -> None:
    for config in (KpiConfig(caseload_limit=19.5), KpiConfig(closure_days=[D("2025-11-03")])):
        with open_warehouse(sample_warehouse, config, cube=True) as wh:
            assert wh.cube is None
            assert compute_kpis(wh, level="team")  # counted from the facts


def test_a_changed_definition_is_counted_from_the_facts(sample_warehouse: Path, monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """A warehouse published by another version of a family's definition: that family from the facts."""
    changed = dataclasses.replace(FAMILIES_BY_NAME["missing"], facts=FAMILIES_BY_NAME["missing"].facts + "\n-- v2")
    monkeypatch.setattr(cube_module, "FAMILIES", tuple(changed if f.name == "missing" else f for f in FAMILIES))
    with open_warehouse(sample_warehouse, cube=True) as wh, open_warehouse(sample_warehouse, cube=False) as facts:
        assert set(wh.cube.kpis) == {k.id for k in KPIS if k.family != "missing"}
        _same(compute_kpis(wh, level="all"), compute_kpis(facts, level="all"))


def _copy(sample_warehouse: Path, tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(sample_warehouse, path)
    return path


def test_a_cube_of_another_format_or_damaged_is_not_read(sample_warehouse: Path, tmp_path: Path) -> None:
    path = _copy(sample_warehouse, tmp_path)
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE kpi_cube_meta SET format = format + 1")
    with open_warehouse(path, cube=True) as wh:
        assert wh.cube is None and compute_kpis(wh)
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE kpi_cube_meta SET format = format - 1")
        con.execute("ALTER TABLE kpi_cube DROP COLUMN n_referrals")
    with open_warehouse(path, cube=True) as wh, open_warehouse(path, cube=False) as facts:
        assert wh.cube is not None and "referrals" not in wh.cube.kpis and "re_referral_rate" in wh.cube.kpis
        _same(compute_kpis(wh, level="all"), compute_kpis(facts, level="all"))


def test_a_family_without_cube_declarations_is_counted_from_the_facts(sample_warehouse: Path, tmp_path: Path) -> None:
    """The cube derives from the families' declarations: one that declares nothing for it (a new
    family, say) is left out, and its KPIs are counted from the facts."""
    path = _copy(sample_warehouse, tmp_path)
    plain = tuple(dataclasses.replace(f, flow_day=None, daily_stock=None) if f.name == "referrals" else f
                  for f in FAMILIES)
    summary = build_cube(path, families=plain)
    assert set(summary.kpis) == {k.id for k in KPIS if k.family != "referrals"}
    with open_warehouse(path, cube=True) as wh, open_warehouse(path, cube=False) as facts:
        assert "referrals" not in wh.cube.kpis
        _same(compute_kpis(wh, level="all"), compute_kpis(facts, level="all"))


def test_measures_the_cube_cannot_add_up_are_left_to_the_facts() -> None:
    @dataclasses.dataclass(frozen=True)
    class SplitMeasure(Measure):  # a declaration added later, e.g. rows split by a further key
        by: tuple[str, ...] = ()

    referrals = FAMILIES_BY_NAME["referrals"]
    distinct = dataclasses.replace(referrals, measures=(
        Measure("referrals", "event = 'referral'", numerator_sql="count(DISTINCT child_id)"),
        SplitMeasure("re_referral_rate", "event = 'referral' AND re_referral", "event = 'referral'", by=("domain",)),
    ))
    assert cube_module.cube_measures(referrals) == list(referrals.measures)
    assert cube_module.cube_measures(distinct) == []  # a distinct count over days; an unknown declaration
    missing = FAMILIES_BY_NAME["missing"]  # a distinct count at each day's end is a stock: it is held
    assert "children_missing_now" in {m.kpi_id for m in cube_module.cube_measures(missing)}
    assert KPIS_BY_ID["children_missing_now"].kind == "stock"


def test_the_cube_covers_the_history_and_the_month_after_the_extract(engines: tuple[Warehouse, Warehouse]) -> None:
    cube, _ = engines
    assert cube.cube.first == D("2022-11-23")  # the day before the sample's first event
    assert cube.cube.last == cube_last_day(cube.extract_date) == D("2025-12-31")
    assert cube_last_day(D("2025-12-05")) == D("2026-01-31") and cube_last_day(D("2024-01-31")) == D("2024-02-29")


@pytest.mark.parametrize("step", ["count_cube", "store_cube"])
def test_a_load_publishes_its_cube_and_a_failed_cube_does_not_stop_it(
    sample_extract: Path, isolated_settings, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    from etl import load_extract

    def broken(*_: object, **__: object) -> None:
        raise duckdb.OutOfMemoryException("out of memory")

    monkeypatch.setattr(f"kpis.cube_builder.{step}", broken)
    result = load_extract(sample_extract)
    assert result.status == "published" and "cube could not be built (out of memory)" in result.message
    with open_warehouse(cube=True) as wh:
        assert wh.cube is None and compute_kpis(wh)
    monkeypatch.undo()
    assert load_extract(sample_extract).status == "published"
    with open_warehouse(cube=True) as wh:
        assert wh.cube is not None and set(wh.cube.kpis) == {k.id for k in KPIS}


_CUBE_TABLES = ("kpi_cube", "kpi_cube_units", "kpi_cube_kpis", "kpi_cube_keys", "kpi_bank_holidays")
_NO_DIFFERENCES = dict.fromkeys([*_CUBE_TABLES, "kpi_cube_meta"], 0)  # what _cube_differences gives for equal cubes


def _cube_differences(a: Path, b: Path) -> dict[str, int]:
    """Rows of each cube table (kpi_cube_meta: all but built_at) in one file and not the other, repeats counted."""
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        out = {}
        for table, columns in [*((t, "*") for t in _CUBE_TABLES), ("kpi_cube_meta", "* EXCLUDE (built_at)")]:
            out[table] = sum(con.execute(f"SELECT count(*) FROM (SELECT {columns} FROM {x}.{table} EXCEPT ALL "
                                         f"SELECT {columns} FROM {y}.{table})").fetchone()[0]
                             for x, y in (("a", "b"), ("b", "a")))
        return out


def test_the_cube_counted_from_the_rows_as_checked_is_the_cube_of_the_file(
    sample_warehouse: Path, sample_extract: Path, isolated_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load counts its cube from the rows as checked (views named as the warehouse's tables), while it
    writes them (a small extract) or after (a large one): either is the cube build_cube counts from the
    published file's own tables, to the last row. Views that let a rejected row through, or gave a column
    another type than the file's (fte as DOUBLE, say), would show here."""
    import etl.loader as loader
    from etl import load_extract

    recounted = tmp_path / "recounted.duckdb"
    shutil.copyfile(sample_warehouse, recounted)
    build_cube(recounted, holidays_from=sample_warehouse)  # replaces the load's cube with one from the file
    assert _cube_differences(sample_warehouse, recounted) == _NO_DIFFERENCES

    monkeypatch.setattr(loader, "SMALL_EXTRACT_BYTES", 100)  # a "large" extract: counted after its rows
    assert load_extract(sample_extract).status == "published"
    assert _cube_differences(isolated_settings.db, recounted) == _NO_DIFFERENCES
    with duckdb.connect(str(recounted), read_only=True) as con:  # (and the comparison sees a cube)
        assert con.execute("SELECT count(*) FROM kpi_cube").fetchone()[0] > 1000


def test_a_write_that_fails_while_the_cube_is_counted_publishes_nothing_and_leaves_no_thread(
    sample_extract: Path, isolated_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import etl.publish as publish
    from etl import load_extract

    assert load_extract(sample_extract).status == "published"
    before = isolated_settings.db.read_bytes()
    counted = threading.Event()
    real_cube = __import__("etl.loader", fromlist=["_cube"])._cube

    def slow_cube(*args: object) -> publish.Derived:
        derived = real_cube(*args)

        def count(cur: duckdb.DuckDBPyConnection) -> object:
            result = derived.count(cur)
            counted.set()
            return result
        return dataclasses.replace(derived, count=count)

    monkeypatch.setattr("etl.loader._cube", slow_cube)
    monkeypatch.setattr(publish, "ISSUES_DDL", "CREATE TABLE load_issues (")  # the last write into the file fails
    result = load_extract(sample_extract)
    assert result.status == "failed" and "the new warehouse could not be written" in result.message
    assert "published one is unchanged" in result.message
    assert isolated_settings.db.read_bytes() == before
    assert counted.is_set()  # the count ran (and was waited for: no thread of it is left)
    assert not [t for t in threading.enumerate() if t.name.startswith("kpidash-derived")]
    assert not list(isolated_settings.db.parent.glob("*.tmp"))
    monkeypatch.undo()
    assert load_extract(sample_extract).status == "published"


def test_no_cube_with_kpidash_cube_false(sample_extract: Path, isolated_settings, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    from core.settings import get_settings
    from etl import load_extract

    monkeypatch.setenv("KPIDASH_CUBE", "false")
    get_settings.cache_clear()
    assert load_extract(sample_extract).status == "published"
    with duckdb.connect(str(get_settings().db), read_only=True) as con:
        assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'kpi_cube%'").fetchone()[0]


def _worker(wid: str, team: str, fte: str, start: str | None = None, end: str | None = None,
            role: str = "social_worker") -> dict:
    return {"worker_id": wid, "worker_name": f"Worker {wid}", "team_id": team, "role": role, "qualified": "Y",
            "fte": fte, "start_date": start, "end_date": end}


def test_caseload_sweeps_on_hand_made_edges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The caseload KPIs swept day by day (kpis/caseload_daily.py) against the facts, every day of four
    months, on allocations nested in, touching and overlapping each other, a worker leaving in the
    middle of an allocation and one joining late, episodes touching and overlapping, co-working, a
    part-time worker crossing the limit and back, teams unknown to teams.csv."""
    workers = [_worker("W1", "T1", "0.5"), _worker("W2", "T1", "1", end="2025-03-14"),
               _worker("W3", "T2", "0.3333333333333333", start="2025-02-10"), _worker("W4", "TX", "0.1"),
               _worker("W5", "T3", "1", role="team_manager")]
    episodes = [("E1", "C1", "T1", "2025-01-01", "2025-02-01"), ("E2", "C1", "T1", "2025-02-01", None),
                ("E3", "C2", "T2", "2025-01-15", "2025-03-01"), ("E4", "C2", "T3", "2025-02-15", "2025-04-10"),
                ("E5", "C3", "TZ", "2025-01-01", None), ("E6", "C4", "T1", "2025-03-01", "2025-03-02"),
                *[(f"E9{i}", f"C9{i}", "T2", "2025-02-01", "2025-03-20") for i in range(12)]]
    allocations = [("A1", "C1", "W1", "2025-01-05", "2025-03-01"), ("A2", "C1", "W1", "2025-01-10", "2025-01-20"),
                   ("A3", "C1", "W1", "2025-03-01", None), ("A4", "C2", "W2", "2025-01-15", None),
                   ("A5", "C2", "W3", "2025-01-20", "2025-02-20"), ("A6", "C3", "W4", "2025-01-01", None),
                   ("A7", "C4", "W5", "2025-03-01", None), ("A8", "C2", "WX", "2025-01-01", None),
                   *[(f"A9{i}", f"C9{i}", "W1", f"2025-02-{10 + i:02d}", "2025-03-10") for i in range(12)]]
    path = build_warehouse(tmp_path / "wh.duckdb", {
        "workers": workers,
        "episodes": [dict(zip(("episode_id", "child_id", "team_id", "start_date", "end_date"), e), episode_type="CIN")
                     for e in episodes],
        "allocations": [dict(zip(("allocation_id", "child_id", "worker_id", "start_date", "end_date"), a))
                        for a in allocations],
        "referrals": [{"referral_id": "R1", "child_id": "C1", "referral_date": "2024-12-01", "team_id": "T1"}],
    }, extracted_at="2025-04-30T06:30:00")
    config = KpiConfig(caseload_limit=10.0)
    explicit = tmp_path / "explicit.duckdb"  # every column counted from its own stretches
    shutil.copyfile(path, explicit)
    build_cube(path, config)
    monkeypatch.setattr("kpis.caseload_daily.SAME", ())
    build_cube(explicit, config)
    assert _cube_differences(path, explicit) == _NO_DIFFERENCES
    kpis = [k.id for k in KPIS if k.family == "caseload"]
    with open_warehouse(path, config, cube=True) as cube, open_warehouse(path, config, cube=False) as facts:
        rows = kpi_trend(cube, kpis, "day", 130, ("trust", "service", "team"), date_to=D("2025-04-30"))
        _same(rows, kpi_trend(facts, kpis, "day", 130, ("trust", "service", "team"), date_to=D("2025-04-30")))
    over = {r["period_end"] for r in rows if r["kpi"] == "workers_over_caseload_limit" and r["level"] == "trust"
            and r["numerator"]}
    assert "2025-02-21" in over and "2025-03-10" not in over  # W1 (0.5 FTE) over 10 per FTE, then not
    assert any(r["kpi"] == "unallocated_cases" and r["numerator"] for r in rows)


def test_a_publish_keeps_its_bank_holidays_and_readers_and_the_next_load_use_them(
    sample_extract: Path, isolated_settings, tmp_path: Path
) -> None:
    """The calendar a version is counted with travels with it: readers (and the next load) take the
    bank holidays from the warehouse, without importing the holidays package."""
    import subprocess
    import sys

    from etl import load_extract
    from kpis.working_days import bank_holidays, stored_bank_holidays

    assert load_extract(sample_extract).status == "published"
    with open_warehouse(cube=True) as wh, wh.cursor() as cur:
        years = wh.calendar_years
        assert stored_bank_holidays(cur, "wh", *years) == bank_holidays(*years)
        assert stored_bank_holidays(cur, "wh", years[0] - 1, years[1]) is None  # not kept: the package
    env = {**__import__("os").environ, "KPIDASH_DB": str(isolated_settings.db),
           "KPIDASH_ARCHIVE_DIR": str(tmp_path / "archive2"), "KPIDASH_APP_DB": isolated_settings.app_db}
    code = ("import sys\nfrom pathlib import Path\nfrom etl import load_extract\nfrom kpis import compute_kpis, "
            "open_warehouse\nassert load_extract(Path(sys.argv[1])).status == 'published'\n"
            "with open_warehouse() as wh:\n    assert wh.cube is not None and compute_kpis(wh, level='all')\n"
            "print('holidays' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(sample_extract)], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False"]


def test_answered_from_cube_says_when_no_figure_is_counted(engines: tuple[Warehouse, Warehouse]) -> None:
    from kpis import answered_from_cube

    cube, facts = engines
    assert answered_from_cube(cube, level="team") and answered_from_cube(cube, level=("trust", "service"))
    assert answered_from_cube(cube, D("2024-01-01"), D("2024-03-31"), "team", ["referrals", "open_cases"])
    assert not answered_from_cube(cube, level="worker") and not answered_from_cube(cube, level="all")
    assert not answered_from_cube(cube, D("2020-01-01"), D("2020-01-31"), "team")  # before the history
    assert not answered_from_cube(cube, level="nonsense") and not answered_from_cube(cube, kpi_ids=["nope"])
    assert not answered_from_cube(facts, level="team")


QA_KPIS = [k.id for k in KPIS if k.family in ("qa_audits", "qa_domains")]


def _qa_rows() -> dict[str, list[dict]]:
    import test_kpi_qa as qa

    return {"audits": qa.AUDITS, "audit_domains": qa.DOMAINS, "audit_actions": qa.ACTIONS}


def test_qa_kpis_and_the_domain_kpi_from_the_cube_every_day(tmp_path: Path) -> None:
    """The audits' flows and stocks, and domain_good_or_better's rows per unit and domain: a domain
    has rows (every listed unit's) only in the periods some audit completed in them graded it, so a
    day with no graded audit has no domain rows, and one with only `assessment` graded has only its."""
    path = build_warehouse(tmp_path / "wh.duckdb", _qa_rows())
    build_cube(path, KpiConfig())
    with open_warehouse(path, cube=True) as cube, open_warehouse(path, cube=False) as facts:
        assert set(QA_KPIS) <= set(cube.cube.kpis)
        assert cube.cube.keyed["domain_good_or_better"].values == ("assessment", "planning")  # AUDIT_DOMAINS order
        for by, n in (("day", 75), ("week", 12), ("month", 3)):
            rows = kpi_trend(cube, QA_KPIS, by, n, ("trust", "service", "team"), date_to=D("2025-11-30"))
            _same(rows, kpi_trend(facts, QA_KPIS, by, n, ("trust", "service", "team"), date_to=D("2025-11-30")))
        domains = {(r["period_end"], r["domain"]) for r in rows if r["kpi"] == "domain_good_or_better"}
        # September: SEPT graded assessment only; October: DUE, LATE and NOTEAM; November: none graded
        assert domains == {("2025-09-30", "assessment"), ("2025-10-31", "assessment"), ("2025-10-31", "planning")}
        days = kpi_trend(cube, ["domain_good_or_better"], "day", 31, "team", date_to=D("2025-10-31"))
        graded = {(r["period_end"], r["domain"]) for r in days}
        assert graded == {("2025-10-05", "assessment"), ("2025-10-15", "assessment"), ("2025-10-15", "planning"),
                          ("2025-10-16", "assessment")}
        assert {r["unit"] for r in days if r["period_end"] == "2025-10-05"} == {"T1", "T2", "T3", "UNKNOWN"}
        for start, end in ((D("2025-10-01"), D("2025-10-31")), (D("2025-10-16"), D("2025-10-16")),
                           (D("2025-10-17"), D("2025-11-30")), (D("2025-09-01"), D("2025-12-31"))):
            _same(compute_kpis(cube, start, end, "all", kpi_ids=QA_KPIS), compute_kpis(facts, start, end, "all",
                                                                                        kpi_ids=QA_KPIS))
            for level, unit in (("team", "UNKNOWN"), ("team", "T1"), ("service", "UNKNOWN"), ("trust", "trust")):
                _same(compute_kpis(cube, start, end, level, unit, QA_KPIS),
                      compute_kpis(facts, start, end, level, unit, QA_KPIS))


@pytest.mark.parametrize("files", [(), ("audits",), ("audits", "audit_domains"), ("audits", "audit_actions")])
def test_kpis_whose_files_the_extract_did_not_hold_have_no_rows_from_either(tmp_path: Path, files: tuple) -> None:
    from kpis import answered_from_cube

    path = build_warehouse(tmp_path / "wh.duckdb", {name: rows for name, rows in _qa_rows().items() if name in files})
    build_cube(path, KpiConfig())
    absent = {"audit_actions_overdue"} if "audit_actions" not in files else set()
    absent |= {"domain_good_or_better"} if "audit_domains" not in files else set()
    absent |= set(QA_KPIS) if "audits" not in files else set()
    with open_warehouse(path, cube=True) as cube, open_warehouse(path, cube=False) as facts:
        assert set(cube.cube.kpis) == {k.id for k in KPIS} - absent
        rows = compute_kpis(cube, D("2025-10-01"), D("2025-10-31"), "all")
        _same(rows, compute_kpis(facts, D("2025-10-01"), D("2025-10-31"), "all"))
        assert not {r["kpi"] for r in rows} & absent
        _same(kpi_trend(cube, None, "week", 8, ALL_LEVELS, date_to=D("2025-11-30")),
              kpi_trend(facts, None, "week", 8, ALL_LEVELS, date_to=D("2025-11-30")))
        # nothing left to count (the history starts with the audits' first event, or at the extract date)
        assert answered_from_cube(cube, D("2025-11-24"), D("2025-11-30"), "team")


def test_a_keyed_family_the_cube_cannot_follow_is_counted_from_the_facts(tmp_path: Path) -> None:
    """A keyed family with facts rows its flow_day does not date: which domains have rows in a period
    would not be the ones dated in it, so the builder leaves its KPI to the facts."""
    path = build_warehouse(tmp_path / "wh.duckdb", _qa_rows())
    undated = dataclasses.replace(FAMILIES_BY_NAME["qa_domains"],
                                  flow_day="CASE WHEN domain = 'planning' THEN NULL ELSE completed_date END")
    summary = build_cube(path, families=tuple(undated if f.name == "qa_domains" else f for f in FAMILIES))
    assert "domain_good_or_better" not in summary.kpis and "audits_completed" in summary.kpis
    with open_warehouse(path, cube=True) as cube, open_warehouse(path, cube=False) as facts:
        assert "domain_good_or_better" not in cube.cube.kpis
        _same(compute_kpis(cube, D("2025-10-01"), D("2025-10-31"), "all"),
              compute_kpis(facts, D("2025-10-01"), D("2025-10-31"), "all"))


@pytest.mark.parametrize("other", ["'elsewhere'", "NULL"])
def test_a_keyed_family_with_a_key_value_the_engine_does_not_order_is_counted_from_the_facts(
        tmp_path: Path, other: str) -> None:
    """A key value outside the contract's AUDIT_DOMAINS (or none): the cube would not know where its rows go
    in the engine's order, so the builder leaves the KPI to the facts and holds the others."""
    path = build_warehouse(tmp_path / "wh.duckdb", _qa_rows())
    strange = dataclasses.replace(FAMILIES_BY_NAME["qa_domains"],
                                  extra_key=f"CASE WHEN domain = 'planning' THEN {other} ELSE domain END")
    summary = build_cube(path, families=tuple(strange if f.name == "qa_domains" else f for f in FAMILIES))
    assert "domain_good_or_better" not in summary.kpis and "audits_completed" in summary.kpis
    with open_warehouse(path, cube=True) as cube:
        assert "domain_good_or_better" not in cube.cube.kpis


@pytest.mark.parametrize(("by", "periods"), [("month", 24), ("week", 26)])
def test_spc_from_the_cube_is_spc_from_the_facts(engines: tuple[Warehouse, Warehouse], by: str, periods: int) -> None:
    """SPC is built on kpi_trend's rows: its charts (every KPI, QA and domains too) are the same from either."""
    from kpis import kpi_spc

    cube, facts = engines
    charts = kpi_spc(cube, None, by, periods, ("trust", "service", "team"))
    assert repr(charts) == repr(kpi_spc(facts, None, by, periods, ("trust", "service", "team")))
    assert {c["kpi"] for c in charts} == {k.id for k in KPIS}
    assert any(c["kpi"] == "domain_good_or_better" and c.get("domain") == "planning" for c in charts)


def test_a_cube_too_big_to_hold_is_queried_and_gives_the_same_figures(
        engines: tuple[Warehouse, Warehouse], monkeypatch: pytest.MonkeyPatch) -> None:
    """A national cube is not read into memory but queried day by day: the same rows either way."""
    cube, facts = engines
    start, end = cube.extract_date - dt.timedelta(days=40), cube.extract_date
    held = (compute_kpis(cube, start, end, ("trust", "service", "team")),
            kpi_trend(cube, None, "month", 13, ("trust", "service", "team")))
    monkeypatch.setattr(cube_module, "IN_MEMORY_BYTES", 0)
    assert cube.cube._in_memory(None) is None  # noqa: SLF001  (the query path, never the held arrays)
    queried = (compute_kpis(cube, start, end, ("trust", "service", "team")),
               kpi_trend(cube, None, "month", 13, ("trust", "service", "team")))
    _same(queried[0], held[0])
    _same(queried[1], held[1])
    _same(queried[0], compute_kpis(facts, start, end, ("trust", "service", "team")))
    team = cube.teams()[0]["team_id"]
    _same(compute_kpis(cube, start, end, "team", team), compute_kpis(facts, start, end, "team", team))


def test_figures_from_the_cube_promise_finite_numbers_only_when_they_are(sample_warehouse: Path, tmp_path: Path
                                                                          ) -> None:
    """Rows read wholly from the cube come as FiniteRows (their numbers seen to be finite on the arrays:
    a JSON writer need not look again); a NaN in the cube, or any figure counted from the facts, and the
    promise is not made, so the API's writer looks at every value and refuses the NaN."""
    from api.response_cache import json_bytes
    from kpis.finite import FiniteRows

    path = _copy(sample_warehouse, tmp_path)
    with open_warehouse(path, cube=True) as wh:
        assert type(compute_kpis(wh, level="team")) is FiniteRows
        assert type(kpi_trend(wh, None, "month", 6, "service")) is FiniteRows
        assert type(compute_kpis(wh, level="worker")) is list  # workers are counted from the facts
        assert type(compute_kpis(wh, level="all")) is list
    with duckdb.connect(str(path)) as con:  # a damaged cube: one FTE sum not a number
        con.execute("UPDATE kpi_cube SET d_average_caseload = 'nan' WHERE u = 0")
    with open_warehouse(path, cube=True) as wh:
        rows = compute_kpis(wh, level="trust")
        assert type(rows) is list
        with pytest.raises(ValueError, match="not JSON"):
            json_bytes(rows)


def test_large_results_made_kpi_by_kpi_are_the_same_rows(engines: tuple[Warehouse, Warehouse],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A national result is made KPI by KPI (cube.PER_KPI_FROM), a request's few hundred rows all KPIs at
    once: the same rows and the same promise of finite numbers either way."""
    from kpis.finite import FiniteRows

    cube, facts = engines
    start, end = cube.extract_date - dt.timedelta(days=40), cube.extract_date
    levels = ("trust", "service", "team")
    at_once = (compute_kpis(cube, start, end, levels), kpi_trend(cube, None, "week", 9, levels))
    monkeypatch.setattr(cube_module, "PER_KPI_FROM", 0)
    by_kpi = (compute_kpis(cube, start, end, levels), kpi_trend(cube, None, "week", 9, levels))
    for a, b in zip(by_kpi, at_once):
        assert type(a) is type(b) is FiniteRows
        _same(a, b)
    _same(by_kpi[1], kpi_trend(facts, None, "week", 9, levels))


def test_a_keyed_family_with_no_facts_rows_has_no_cells(tmp_path: Path) -> None:
    """audit_domains.csv held but empty: domain_good_or_better has no key values, so no column pairs; the
    build does not fail on it (the fuzz test's case) and its figures are the facts' (none)."""
    path = build_warehouse(tmp_path / "wh.duckdb", {**_qa_rows(), "audit_domains": []})
    summary = build_cube(path, KpiConfig())
    assert "domain_good_or_better" in summary.kpis and "audits_completed" in summary.kpis
    with open_warehouse(path, cube=True) as cube, open_warehouse(path, cube=False) as facts:
        assert cube.cube.keyed["domain_good_or_better"].values == ()
        rows = compute_kpis(cube, D("2025-10-01"), D("2025-10-31"), "all")
        assert not [r for r in rows if r["kpi"] == "domain_good_or_better"]
        _same(rows, compute_kpis(facts, D("2025-10-01"), D("2025-10-31"), "all"))


def test_a_load_builds_its_cube_on_its_own_duckdb_connection(
    sample_extract: Path, isolated_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cube is built on the load's connection, which has just written the new file (no second database
    opened for the bank holidays or the cube), and the file is checkpointed once, cube and all."""
    from etl import load_extract

    assert load_extract(sample_extract).status == "published"  # a published file with bank holidays to keep
    opened, real_connect = [], duckdb.connect

    def counted(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        opened.append(args[:1])
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counted)
    result = load_extract(sample_extract)
    monkeypatch.undo()
    assert result.status == "published" and "cube" not in result.message
    assert opened == [()]  # the load's own in-memory database, nothing else
    with open_warehouse(cube=True) as wh:
        assert wh.cube is not None and set(wh.cube.kpis) == {k.id for k in KPIS}


def test_a_cube_that_fails_half_way_on_the_loads_connection_leaves_the_new_file_whole(
    sample_extract: Path, isolated_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after some of the cube's tables are written (in its transaction, on the load's connection)
    rolls them back: the data is published without a cube, and figures are counted from the records."""
    import kpis.cube_builder as builder
    from etl import load_extract

    real_write = builder._write

    def write_then_fail(wh: Warehouse, cur: duckdb.DuckDBPyConnection, *args: object) -> D:
        real_write(wh, cur, *args)  # every cube table written, not committed
        raise duckdb.IOException("disk full")

    monkeypatch.setattr(builder, "_write", write_then_fail)
    result = load_extract(sample_extract)
    monkeypatch.undo()
    assert result.status == "published" and "the daily KPI cube could not be built (disk full)" in result.message
    with duckdb.connect(str(isolated_settings.db), read_only=True) as con:
        assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'kpi_cube%'").fetchone()[0]
        assert con.execute("SELECT count(*) FROM referrals").fetchone()[0] > 0
    with open_warehouse(cube=True) as wh:
        assert wh.cube is None and compute_kpis(wh)


def test_running_totals_by_hand() -> None:
    """The builder's arithmetic on changes worked out by hand: a flow event before the first day is in it,
    a team's changes add into its service and the trust, a trust-only stretch stays in the trust, a
    count's denominator is not stored, and a column whose sizes reach 2**31 is counted in int64."""
    import numpy as np

    from kpis.cube_builder import _running_totals

    # units: trust 0, services A 1 and B 2, teams a1 3 (A), b1 4 (B), a2 5 (A); days 100 to 103
    service_of_unit = np.array([-1, -1, -1, 1, 2, 1])
    cells = [("referrals", FAMILIES_BY_NAME["referrals"], KPIS_BY_ID["referrals"]),  # a count
             ("re_referral_rate", FAMILIES_BY_NAME["referrals"], KPIS_BY_ID["re_referral_rate"])]  # a rate

    def part(**columns: list[int]) -> dict[str, np.ndarray]:
        return {name: np.array(values, np.int64) for name, values in columns.items()}

    flow = [part(k=[0, 0, 1, 1], lv=[0, 0, 0, 0], team_u=[3, 5, 4, 3], service_u=[1, 1, 2, 1], day=[99, 101, 102, 103],
                 n=[1, 2, 1, 1], d=[5, 0, 1, 2])]
    stock = [part(k=[0, 1], lv=[1, 0], team_u=[-1, 4], service_u=[-1, 2], f=[101, 50], u=[103, 200], n=[7, 0],
                  d=[0, 2**31])]
    got = _running_totals(cells, flow, stock, service_of_unit, 100, 103)

    big = 2**31
    assert list(got) == ["n_referrals", "n_re_referral_rate", "d_re_referral_rate"]
    expected = {  # day by day: trust, A, B, a1, b1, a2
        "n_referrals": [[1, 1, 0, 1, 0, 0], [10, 3, 0, 1, 0, 2], [10, 3, 0, 1, 0, 2], [3, 3, 0, 1, 0, 2]],
        "n_re_referral_rate": [[0] * 6, [0] * 6, [1, 0, 1, 0, 1, 0], [2, 1, 1, 1, 1, 0]],
        "d_re_referral_rate": [[big, 0, big, 0, big, 0], [big, 0, big, 0, big, 0],
                               [big + 1, 0, big + 1, 0, big + 1, 0], [big + 3, 2, big + 1, 2, big + 1, 0]],
    }
    for name, rows in expected.items():
        assert got[name].tolist() == [v for row in rows for v in row], name
    assert [got[name].dtype for name in expected] == [np.int32, np.int32, np.int64]

    # a column made from others (DailyStock.compute's same): n_referrals - n_re_referral_rate, in its place
    no_d = [flow[0] | {"d": np.array([5, 0, 0, 0])}]  # (a count's d, 5, is not stored)
    made = _running_totals(cells, no_d, [], service_of_unit, 100, 103,
                           {"d_re_referral_rate": [("n_referrals", 1), ("n_re_referral_rate", -1)]})
    assert list(made) == ["n_referrals", "n_re_referral_rate", "d_re_referral_rate"]
    assert made["n_referrals"].tolist() == [1, 1, 0, 1, 0, 0, 3, 3, 0, 1, 0, 2, 3, 3, 0, 1, 0, 2, 3, 3, 0, 1, 0, 2]
    assert made["d_re_referral_rate"].tolist() == [  # day by day, n_referrals less n_re_referral_rate (above)
        1, 1, 0, 1, 0, 0, 3, 3, 0, 1, 0, 2, 2, 3, -1, 1, -1, 2, 1, 2, -1, 0, -1, 2]
    assert made["d_re_referral_rate"].dtype == np.int32
    with pytest.raises(ValueError, match="made from others"):  # a change given for it is not dropped unsaid
        _running_totals(cells, flow, [], service_of_unit, 100, 103,
                        {"d_re_referral_rate": [("n_referrals", 1)]})
