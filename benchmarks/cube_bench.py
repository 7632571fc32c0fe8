"""What the daily KPI cube costs a load: publishing the sample trust at scale 10 with and without it.

    .venv/bin/python -m benchmarks cube_bench [--scale 10] [--rounds 3]

Writes (once, cached under data/bench/scale<N>/) the sample trust at that scale, then, alternating in
one process, --rounds times each: a full load with the cube off (KPIDASH_CUBE=false: the load as it
was), a full load with it on, and the cube built alone on a copy of the published file
(kpis.cube_builder.build_cube). Medians of wall and CPU seconds (process_time: every thread of the
process). The aim is a cube that costs under 30% of the load: measured both as the cube built alone
against the load without it, and as the extra wall and CPU time a load takes with the cube on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import time
from pathlib import Path

from benchmarks.kpi_bench import BENCH_DIR, SAMPLE_END, load_settings


def _extract(scale: float) -> Path:
    folder = BENCH_DIR / f"scale{scale:g}" / "extract"
    if not (folder / "manifest.json").exists():
        from sample_data import generate_sample

        generate_sample(folder, seed=1, scale=scale, end_date=SAMPLE_END)
    return folder


def _load(extract: Path, work: Path, cube: bool) -> tuple[float, float]:
    from etl import load_extract

    shutil.rmtree(work, ignore_errors=True)
    os.environ["KPIDASH_CUBE"] = "true" if cube else "false"
    try:
        with load_settings(work / "warehouse.duckdb", work / "archive", work / "app.db"):
            started, cpu = time.perf_counter(), time.process_time()
            result = load_extract(extract)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        os.environ.pop("KPIDASH_CUBE", None)
    if result.status != "published":
        raise SystemExit(f"the load failed: {result.message}")
    return seconds, cpu


def main(argv: list[str] | None = None) -> None:
    """Print a table of medians: load without the cube, with it, and the cube alone."""
    from kpis.cube_builder import build_cube

    parser = argparse.ArgumentParser(prog="python -m benchmarks cube_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0, help="size of the sample trust (1: Sandwell)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each measure (medians reported)")
    args = parser.parse_args(argv if argv is not None else [])
    extract = _extract(args.scale)
    work = BENCH_DIR / f"scale{args.scale:g}" / "run"
    without, with_cube, alone = [], [], []
    _load(extract, work, cube=False)  # warm: the files in the page cache, the modules imported
    for _ in range(args.rounds):
        without.append(_load(extract, work, cube=False))
        copy = work.with_name("cube.duckdb")
        shutil.copyfile(work / "warehouse.duckdb", copy)
        started, cpu = time.perf_counter(), time.process_time()
        summary = build_cube(copy)
        alone.append((time.perf_counter() - started, time.process_time() - cpu))
        with_cube.append(_load(extract, work, cube=True))
    plain, cube_only, full = (statistics.median(w for w, _ in x) for x in (without, alone, with_cube))
    plain_cpu, cube_cpu, full_cpu = (statistics.median(c for _, c in x) for x in (without, alone, with_cube))
    extra = statistics.median(w - v for (w, _), (v, _) in zip(with_cube, without, strict=True))
    extra_cpu = statistics.median(w - v for (_, w), (_, v) in zip(with_cube, without, strict=True))
    days = (summary.last - summary.first).days + 1
    print(f"\n### Publish cost of the daily cube: sample trust at scale {args.scale:g} "
          f"({summary.units} units x {days:,} days, {len(summary.kpis)} KPIs), medians of {args.rounds}, "
          f"{dt.date.today()}\n")
    print("| measure | median wall | of the load without the cube | median CPU | of its CPU | aim |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| load, cube off (`KPIDASH_CUBE=false`) | {plain:.2f} s | 100% | {plain_cpu:.2f} s | 100% | - |")
    print(f"| the cube built alone (`build_cube`) | {cube_only:.2f} s | {100 * cube_only / plain:.0f}% "
          f"| {cube_cpu:.2f} s | {100 * cube_cpu / plain_cpu:.0f}% | < 30% |")
    print(f"| load, cube on (default) | {full:.2f} s | {100 * full / plain:.0f}% | {full_cpu:.2f} s "
          f"| {100 * full_cpu / plain_cpu:.0f}% | - |")
    print(f"| extra of a load with the cube on (on less off, round by round) | {extra:.2f} s "
          f"| {100 * extra / plain:.0f}% | {extra_cpu:.2f} s | {100 * extra_cpu / plain_cpu:.0f}% | < 30% |")
