"""What the QA figures add to the KPI engine's times on the sample trust (target: < 50 ms).

    .venv/bin/python -m benchmarks qa_bench [--repeat N] [--old REV [--rounds R]]

The sample trust (seed 1, scale 1, ending 2025-11-23, with its audit programme) is generated and loaded
once under data/bench/qa_sample. Each measure runs the engine twice, side by side and alternating (so a
busy machine slows both alike): the contract's 18 KPIs only, then every KPI (the 18 and the 8 QA KPIs).
The QA cost is the difference of the medians; the ratio is printed too.

With --old REV (e.g. main) the same measures run from that revision's code too, in the same run: each
version in its own process (its files written once with `git archive` under data/bench/old-REV and put
first on the path), R rounds alternating old and this, each of N runs per measure; medians over the
rounds' runs. Both versions read the same warehouse (loaded by this code: its cube must be of a format
the old code reads too).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.cli_bench import _old_code
from benchmarks.kpi_bench import BENCH_DIR, SAMPLE_END, load_settings
from kpis import KPIS, compute_kpis, kpi_trend, open_warehouse

CONTRACT = [k.id for k in KPIS if not k.family.startswith("qa_")]
MEASURES = ('one period, all 4 levels: compute_kpis(level="all")',
            '24-month trend, all 4 levels: kpi_trend(level="all")',
            "24-month trend, team level (as kpi_bench)")
ROOT = Path(__file__).resolve().parent.parent


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


def side_by_side(without: Callable[[], object], with_qa: Callable[[], object], repeat: int
                 ) -> tuple[list[float], list[float]]:
    """Times of alternating runs of the two (after one warm run each)."""
    without(), with_qa()
    a, b = [], []
    for _ in range(repeat):
        for fn, times in ((without, a), (with_qa, b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return a, b


def timings(db: Path, repeat: int) -> dict[str, tuple[list[float], list[float]]]:
    """measure -> (times of the 18 contract KPIs, times of all 26), by the engine this process imports."""
    with open_warehouse(db) as wh:
        if wh.cube is None:
            raise SystemExit(f"{db} has no daily cube this code reads: delete {db.parent} and run again")
        runs = (lambda ids: compute_kpis(wh, level="all", kpi_ids=ids),
                lambda ids: kpi_trend(wh, ids, "month", 24, "all"),
                lambda ids: kpi_trend(wh, ids, "month", 24, "team"))
        return {name: side_by_side(lambda run=run: run(CONTRACT), lambda run=run: run(None), repeat)
                for name, run in zip(MEASURES, runs)}


def _timings_in(code: Path | None, db: Path, repeat: int) -> dict[str, tuple[list[float], list[float]]]:
    """timings() in a fresh process, with another revision's code first on the path (None: this code)."""
    first = f"sys.path.insert(0, {str(code.resolve())!r}); " if code is not None else ""
    program = (f"import json, sys, importlib.util; {first}"
               f"spec = importlib.util.spec_from_file_location('qa_timings', {str(Path(__file__).resolve())!r}); "
               "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
               f"print(json.dumps(m.timings(m.Path({str(db.resolve())!r}), {repeat})))")
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the timings failed: {done.stderr[-800:]}")
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks qa_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="alternating timed runs per measure (medians)")
    parser.add_argument("--old", help="a git revision whose engine runs side by side, alternating (e.g. main)")
    parser.add_argument("--rounds", type=int, default=5, help="with --old: processes of each version, alternating")
    args = parser.parse_args(argv if argv is not None else [])
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    db = qa_sample_warehouse()
    print(f"\n### QA figures on the sample trust ({db})\n")
    if not args.old:
        print("| measure | 18 contract KPIs | all 26 KPIs | QA adds | target |")
        print("| --- | --- | --- | --- | --- |")
        for name, (a, b) in timings(db, args.repeat).items():
            base, full = statistics.median(a), statistics.median(b)
            print(f"| {name} | {base * 1000:.0f} ms | {full * 1000:.0f} ms | {(full - base) * 1000:+.0f} ms "
                  f"({full / base:.2f}x) | < 50 ms |")
        return
    versions: dict[str, Path | None] = {f"old ({args.old})": _old_code(args.old), "this": None}
    pooled = {v: {name: ([], []) for name in MEASURES} for v in versions}
    for _ in range(args.rounds):
        for version, code in versions.items():
            for name, (a, b) in _timings_in(code, db, args.repeat).items():
                pooled[version][name][0].extend(a)
                pooled[version][name][1].extend(b)
    print(f"medians of {args.rounds} x {args.repeat} runs per version and measure\n")
    print("| measure | code | 18 contract KPIs | all 26 KPIs | QA adds | target |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in MEASURES:
        for version in versions:
            a, b = pooled[version][name]
            base, full = statistics.median(a), statistics.median(b)
            print(f"| {name} | {version} | {base * 1000:.0f} ms | {full * 1000:.0f} ms | "
                  f"{(full - base) * 1000:+.0f} ms ({full / base:.2f}x) | < 50 ms |")
