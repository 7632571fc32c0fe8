"""What the QA figures add to the KPI engine's times on the sample trust (target: < 50 ms).

    .venv/bin/python -m benchmarks qa_bench [--repeat N]

The sample trust (seed 1, scale 1, ending 2025-11-23, with its audit programme) is generated and loaded
once under data/bench/qa_sample. Each measure runs the engine twice, side by side and alternating (so a
busy machine slows both alike): the contract's 18 KPIs only, then every KPI (the 18 and the 8 QA KPIs).
The QA cost is the difference of the medians; the ratio is printed too.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.kpi_bench import BENCH_DIR, SAMPLE_END, load_settings
from kpis import KPIS, compute_kpis, kpi_trend, open_warehouse

CONTRACT = [k.id for k in KPIS if not k.family.startswith("qa_")]


def qa_sample_warehouse(bench_dir: Path = BENCH_DIR) -> Path:
    """The sample trust with its QA files, generated and loaded once."""
    root = bench_dir / "qa_sample"
    db = root / "warehouse.duckdb"
    if db.exists():
        return db
    from etl import load_extract
    from sample_data import generate_sample

    generate_sample(root / "extract", seed=1, scale=1.0, end_date=SAMPLE_END)
    with load_settings(db, root / "archive", root / "app.db"):
        result = load_extract(root / "extract")
    if result.status != "published":
        raise SystemExit(f"the sample trust did not load: {result.message}")
    return db


def side_by_side(without: Callable[[], object], with_qa: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Medians of alternating runs of the two (after one warm run each)."""
    without(), with_qa()
    a, b = [], []
    for _ in range(repeat):
        for fn, times in ((without, a), (with_qa, b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks qa_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="alternating timed runs per measure (medians)")
    args = parser.parse_args(argv if argv is not None else [])
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    db = qa_sample_warehouse()
    print(f"\n### QA figures on the sample trust ({db})\n")
    print("| measure | 18 contract KPIs | all 26 KPIs | QA adds | target |")
    print("| --- | --- | --- | --- | --- |")
    with open_warehouse(db) as wh:
        measures = [
            ('one period, all 4 levels: compute_kpis(level="all")',
             lambda ids: compute_kpis(wh, level="all", kpi_ids=ids)),
            ('24-month trend, all 4 levels: kpi_trend(level="all")',
             lambda ids: kpi_trend(wh, ids, "month", 24, "all")),
            ("24-month trend, team level (as kpi_bench)", lambda ids: kpi_trend(wh, ids, "month", 24, "team")),
        ]
        for name, run in measures:
            base, full = side_by_side(lambda run=run: run(CONTRACT), lambda run=run: run(None), args.repeat)
            print(f"| {name} | {base * 1000:.0f} ms | {full * 1000:.0f} ms | {(full - base) * 1000:+.0f} ms "
                  f"({full / base:.2f}x) | < 50 ms |")
