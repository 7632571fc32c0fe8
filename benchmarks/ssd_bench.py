"""SSD source benchmark: the sample trust loaded from SSD CSV files, from a PostgreSQL SSD, and at 10x.

    .venv/bin/python -m benchmarks ssd_bench [--repeat N] [--pg URL] [--no-x10]

Builds once, under data/bench/: the sample trust (seed 1, history ending 2025-11-23) as SSD tables at
scale 1 and 10 (`kpidash sample --format ssd`) and, for a side-by-side reference, the same trust in the
contract's format (`--ssd-compatible`). Then times, each the median of --repeat rounds taken in turn
(so the machine's load falls on all of them alike), `load_extract` into a scratch warehouse:
- contract, scale 1: the reference (the same trust from the contract's nine files);
- SSD CSV, scale 1: the issue's target, under 2 s;
- SSD from PostgreSQL, scale 1: `refresh(force=True)` with KPIDASH_SSD_URL, i.e. read the tables
  (one SELECT each) into CSV files, then load them: the target is under 3 s. Runs when --pg or
  KPIDASH_TEST_PG names a server; the tables go in a schema of their own (kpidash_ssd_bench), dropped after;
- SSD CSV, scale 10: under 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.kpi_bench import load_settings

BENCH_DIR = Path("data/bench")
END = dt.date(2025, 11, 23)
PG_SCHEMA = "kpidash_ssd_bench"


def _sample(name: str, scale: float, **kwargs: object) -> Path:
    from sample_data import generate_sample

    out = BENCH_DIR / name
    if not (out / "manifest.json").exists():
        start = time.perf_counter()
        generate_sample(out, seed=1, scale=scale, end_date=END, **kwargs)  # type: ignore[arg-type]
        print(f"built {out} in {time.perf_counter() - start:.1f} s")
    return out


def _fill_postgres(url: str, folder: Path) -> None:
    """The SSD CSV files as text tables in their own schema, with PostgreSQL's COPY."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA}")
        for path in sorted(folder.glob("ssd_*.csv")):
            header = path.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
            cur.execute(f"CREATE TABLE {PG_SCHEMA}.{path.stem} ({', '.join(f'{c} text' for c in header)})")
            with path.open("rb") as fh, cur.copy(f"COPY {PG_SCHEMA}.{path.stem} FROM STDIN (FORMAT csv, HEADER true)") as copy:
                copy.write(fh.read())
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def _drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    engine.dispose()


def _timed_load(folder: Path | None, env: dict[str, str] | None = None) -> float:
    """One load (a folder, or the configured SSD database when folder is None) into a scratch warehouse."""
    from core.settings import get_settings
    from etl.loader import load_extract
    from etl.refresh import refresh

    with tempfile.TemporaryDirectory(prefix="ssd-bench-") as scratch:
        s = Path(scratch)
        with load_settings(s / "warehouse.duckdb", s / "archive", s / "app.db"):
            old = {k: os.environ.get(k) for k in (env or {})}
            os.environ.update(env or {})
            get_settings.cache_clear()
            try:
                load_extract(BENCH_DIR / "ssd_contract_x1")  # the app database's schema is made outside the timing
                start = time.perf_counter()
                if folder is None:
                    outcome = refresh(force=True)
                    ok, message = outcome.action == "loaded", outcome.message
                else:
                    result = load_extract(folder)
                    ok, message = result.status == "published", result.message
                seconds = time.perf_counter() - start
            finally:
                for k, v in old.items():
                    os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
                get_settings.cache_clear()
    if not ok:
        raise SystemExit(f"the benchmark load failed: {message}")
    return seconds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ssd_bench")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("KPIDASH_TEST_PG"),
                        help="a PostgreSQL URL to put the SSD in (default: KPIDASH_TEST_PG)")
    parser.add_argument("--no-x10", action="store_true", help="skip the 10x trust")
    args = parser.parse_args(argv)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    contract = _sample("ssd_contract_x1", 1.0, ssd_compatible=True)
    ssd = _sample("ssd_sample_x1", 1.0, fmt="ssd")
    runs: dict[str, Callable[[], float]] = {
        "contract CSV files, scale 1 (reference)": lambda: _timed_load(contract),
        "SSD CSV files, scale 1 (target < 2 s)": lambda: _timed_load(ssd),
    }
    if args.pg:
        _fill_postgres(args.pg, ssd)
        runs["SSD from PostgreSQL, scale 1: read + load (target < 3 s)"] = lambda: _timed_load(
            None, {"KPIDASH_SSD_URL": args.pg, "KPIDASH_SSD_SCHEMA": PG_SCHEMA})
    else:
        print("no PostgreSQL (--pg or KPIDASH_TEST_PG): the PostgreSQL SSD is not timed")
    if not args.no_x10:
        ssd10 = _sample("ssd_sample_x10", 10.0, fmt="ssd")
        runs["SSD CSV files, scale 10 (target < 10 s)"] = lambda: _timed_load(ssd10)
    times: dict[str, list[float]] = {name: [] for name in runs}
    try:
        for _ in range(args.repeat):
            for name, run in runs.items():
                times[name].append(run())
    finally:
        if args.pg:
            _drop_postgres(args.pg)
    reference = statistics.median(times[next(iter(runs))])
    for name, ts in times.items():
        median = statistics.median(ts)
        print(f"{name}: median {median:.2f} s over {len(ts)} rounds (min {min(ts):.2f}, max {max(ts):.2f}); "
              f"{median / reference:.2f}x the contract load")
