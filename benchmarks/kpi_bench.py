"""KPI engine benchmark: the sample trust and a national-scale extract, against plain pandas.

    .venv/bin/python -m benchmarks kpi_bench [--repeat N] [--factor N] [--no-pandas-national]

Every measure is timed twice in the same run, side by side: counted from the facts (the engine as it
was before the daily cube, `open_warehouse(cube=False)`) and read from the daily cube.

Builds (once, cached under data/bench/) the sample trust (seed 1, scale 1, ending 2025-11-23) and
a national-scale warehouse made by replicating the sample warehouse `factor` times in DuckDB SQL
with suffixed ids (171 copies: about 650,000 referrals a year for three years). Times are medians
of repeated runs on a warm warehouse; the pandas reference (benchmarks/pandas_reference.py, the
same definitions written plainly) runs the same figures in the same process, and its figures are
compared with the engine's before its time counts.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import duckdb

from core.settings import get_settings
from etl.contract import META_DDL, TABLES, warehouse_ddl
from kpis import KPIS, Warehouse, compute_kpis, kpi_trend, open_warehouse

BENCH_DIR = Path("data/bench")
SAMPLE_END = dt.date(2025, 11, 23)
NATIONAL_FACTOR = 171  # 171 x ~3,800 referrals a year = ~650,000 a year
LEVELS = ("trust", "service", "team", "worker")


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm: the first call reads the file's pages and builds nothing else
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sample_warehouse(bench_dir: Path = BENCH_DIR) -> Path:
    """The sample trust's published warehouse, generated and loaded once."""
    db = bench_dir / "sample" / "warehouse.duckdb"
    if db.exists():
        return db
    from etl import load_extract
    from sample_data import generate_sample

    extract = bench_dir / "sample" / "extract"
    generate_sample(extract, seed=1, scale=1.0, end_date=SAMPLE_END)
    with load_settings(db, bench_dir / "sample" / "archive", bench_dir / "sample" / "app.db"):
        result = load_extract(extract)
    if result.status != "published":
        raise SystemExit(f"the sample trust did not load: {result.message}")
    return db


@contextlib.contextmanager
def load_settings(db: Path, archive: Path, app_db: Path) -> Iterator[None]:
    """Loads (and the app database's engine) inside the block go to these files, not to the settings of the
    shell that ran the bench."""
    from core.appdb import get_engine

    env = {"KPIDASH_DB": str(db), "KPIDASH_ARCHIVE_DIR": str(archive), "KPIDASH_APP_DB": f"sqlite:///{app_db}"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        yield
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        get_settings.cache_clear()
        get_engine.cache_clear()


def national_warehouse(sample: Path, factor: int, bench_dir: Path = BENCH_DIR) -> Path:
    """The sample warehouse replicated `factor` times with suffixed ids (every *_id column), once."""
    db = bench_dir / f"national_x{factor}.duckdb"
    if db.exists() and db.stat().st_mtime >= sample.stat().st_mtime:
        return db
    tmp = db.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"ATTACH '{sample}' AS src (READ_ONLY)")
        for table in TABLES:
            con.execute(warehouse_ddl(table))
            cols = ", ".join(f"{c.name} || '-' || k" if c.name.endswith("_id") else c.name for c in table.columns)
            con.execute(f"INSERT INTO {table.name} SELECT {cols} FROM src.{table.name}, range({factor}) r(k)")
        con.execute(META_DDL)
        con.execute("INSERT INTO extract_meta SELECT * FROM src.extract_meta")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, db)
    return db


def _same(engine_rows: Sequence[dict], pandas_rows: Sequence[dict]) -> bool:
    """The two implementations give the same figures (floats to 1e-9)."""
    def key(r: dict) -> tuple:  # domain_good_or_better has a row per unit and domain
        return (r["kpi"], r["level"], r["unit"], r.get("domain"))

    a, b = {key(r): r for r in engine_rows}, {key(r): r for r in pandas_rows}
    if a.keys() != b.keys():
        return False
    for k, r in a.items():
        for field in ("numerator", "denominator", "value"):
            x, y = r[field], b[k][field]
            if (x is None) != (y is None) or (x is not None and not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)):
                return False
    return True


def _pandas(path: Path, wh: Warehouse, levels: Sequence[str], repeat: int) -> tuple[float, bool] | None:
    try:
        from benchmarks.pandas_reference import compute_kpis_pandas, load_tables
    except ImportError:
        return None
    tables = load_tables(path)
    start, end = wh.extract_date.replace(day=1), wh.extract_date
    config = wh.config

    def run() -> list[dict]:
        return [r for lv in levels for r in compute_kpis_pandas(
            tables, start, end, lv, caseload_limit=config.caseload_limit, closure_days=config.closure_days)]

    agree = _same(compute_kpis(wh, start, end, levels), run())
    return _median_time(run, repeat), agree


def with_cube(path: Path) -> Path:
    """The warehouse at path with a daily cube this code reads (built now if it has none, or an old one):
    one holding every KPI whose files the warehouse has (the national one has no QA files)."""
    from kpis.compute import has_files
    from kpis.cube_builder import build_cube

    with open_warehouse(path, cube=True) as wh:
        current = wh.cube is not None and set(wh.cube.kpis) == {k.id for k in KPIS if has_files(wh, k)}
    if not current:
        started = time.perf_counter()
        summary = build_cube(path)
        print(f"built the daily cube of {path} ({summary.units:,} units x {(summary.last - summary.first).days + 1:,} "
              f"days) in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def _side_by_side(title: str, rows: list[tuple[str, float, float, str]]) -> None:
    """Each measure timed from the facts (the engine before the cube) and from the cube, in one run."""
    print(f"\n### {title}\n")
    print("| measure | facts engine | cube | facts / cube | target (cube) |")
    print("| --- | --- | --- | --- | --- |")
    for name, facts, cube, target in rows:
        print(f"| {name} | {facts * 1000:,.0f} ms | {cube * 1000:,.1f} ms | {facts / cube:,.0f}x | {target} |")


def _pandas_row(path: Path, wh: Warehouse, repeat: int, engine_time: float, aim: str) -> str:
    pandas = _pandas(path, wh, ("trust", "team"), repeat)
    if pandas is None:
        return "pandas reference: not installed"
    seconds, agree = pandas
    return (f"pandas reference, trust + team: {seconds * 1000:,.0f} ms (figures agree with the cube: "
            f"{'yes' if agree else 'NO'}); ratio to the cube **{seconds / engine_time:,.0f}x** ({aim})")


def main(argv: list[str] | None = None) -> None:
    """Run the KPI benchmarks and print their tables (markdown, for docs/benchmarks.md)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks kpi_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measure (median reported)")
    parser.add_argument("--factor", type=int, default=NATIONAL_FACTOR, help="copies of the sample for national scale")
    parser.add_argument("--no-pandas-national", action="store_true", help="skip pandas at national scale (slow)")
    args = parser.parse_args(argv if argv is not None else [])
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    print(f"duckdb {duckdb.__version__}, {os.cpu_count()} CPUs")

    sample = with_cube(sample_warehouse())
    with open_warehouse(sample, cube=False) as facts, open_warehouse(sample, cube=True) as cube:
        def both(fn: Callable[[Warehouse], object], repeat: int) -> tuple[float, float]:
            return _median_time(lambda: fn(facts), repeat), _median_time(lambda: fn(cube), repeat)

        rows = [
            ('all KPIs, all 4 levels, one period: compute_kpis(level="all")',
             *both(lambda wh: compute_kpis(wh, level="all"), args.repeat), "< 100 ms"),
            ("all KPIs, trust + team, one period",
             *both(lambda wh: compute_kpis(wh, level=("trust", "team")), args.repeat), "-"),
            ("all KPIs, team level, a new period each call (as the uncached API)",
             *both(_new_periods(cube), args.repeat), "-"),
            ("24-month trend, every KPI, team level",
             *both(lambda wh: kpi_trend(wh, None, "month", 24, "team"), args.repeat), "< 500 ms"),
            ("24-month trend, every KPI, trust + team",
             *both(lambda wh: kpi_trend(wh, None, "month", 24, ("trust", "team")), args.repeat), "-"),
        ]
        _side_by_side(f"Sample trust ({sample})", rows)
        print("\n" + _pandas_row(sample, cube, args.repeat, rows[1][2], "aim >= 20x"))

    national = with_cube(national_warehouse(sample, args.factor))
    with open_warehouse(national, cube=False) as facts, open_warehouse(national, cube=True) as cube:
        with cube.cursor() as cur:
            referrals = cur.execute("SELECT count(*) FROM wh.referrals").fetchone()[0]
        repeat = max(1, min(args.repeat, 3))

        def both(fn: Callable[[Warehouse], object], repeat: int) -> tuple[float, float]:  # noqa: F811
            return _median_time(lambda: fn(facts), repeat), _median_time(lambda: fn(cube), max(repeat, 5))

        rows = [
            ("all KPIs, trust + team, one period",
             *both(lambda wh: compute_kpis(wh, level=("trust", "team")), repeat), "< 200 ms"),
            ("24-month trend, every KPI, trust + team",
             *both(lambda wh: kpi_trend(wh, None, "month", 24, ("trust", "team")), repeat), "< 1 s"),
            ("all KPIs, team level, a new period each call",
             *both(_new_periods(cube), repeat), "-"),
        ]
        _side_by_side(f"National scale: {args.factor} x the sample, {referrals:,} referrals", rows)
        if not args.no_pandas_national:
            print("\n" + _pandas_row(national, cube, 1, rows[0][2], "aim >= 50x"))


def _new_periods(wh: Warehouse) -> Callable[[Warehouse], object]:
    """A call that asks each time for a period not asked before (no cache could have it)."""
    days = itertools.count()
    end = wh.extract_date

    def call(w: Warehouse) -> object:
        start = end - dt.timedelta(days=40 + next(days) % 600)
        return compute_kpis(w, start, start + dt.timedelta(days=27), "team")

    return call
