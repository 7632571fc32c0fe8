"""What the daily KPI cube costs a load: publishing the sample trust at scale 10 with and without it.

    .venv/bin/python -m benchmarks cube_bench [--scale 10] [--rounds 3] [--old REV [--per 3]]

Writes (once, cached under data/bench/scale<N>/) the sample trust at that scale, then, alternating in
one process, --rounds times each: a full load with the cube off (KPIDASH_CUBE=false: the load as it
was), a full load with it on, and the cube built alone on a copy of the published file
(kpis.cube_builder.build_cube). Medians of wall and CPU seconds (process_time: every thread of the
process). The aim is a cube that costs under 30% of the load: measured both as the cube built alone
against the load without it, and as the extra wall and CPU time a load takes with the cube on.

With --old REV, instead: that revision's code and this code side by side, each round a process of each
(alternating) that loads once to warm up, then --per times with the cube off and on; the medians of
both loads and of the extra, round by round, per version (the old files as cli_bench writes them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
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


def _rounds(extract: Path, code: Path | None, per: int) -> list[list[list[float]]]:
    """[[off wall, off CPU], [on wall, on CPU]] of `per` rounds in one process of that code (None: this)."""
    first = f"sys.path.insert(0, {str(code)!r}); " if code is not None else ""
    work = BENCH_DIR.absolute() / f"cube-side-{os.getpid()}"
    program = (f"import json, sys; {first}from pathlib import Path; from benchmarks.cube_bench import _load; "
               f"e, w = Path({str(extract.absolute())!r}), Path({str(work)!r}); _load(e, w, True); "
               f"print(json.dumps([[_load(e, w, False), _load(e, w, True)] for _ in range({per})]))")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parent.parent)
    shutil.rmtree(work, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"the load failed: {done.stderr[-800:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _side_by_side(extract: Path, rev: str, rounds: int, per: int, scale: float) -> None:
    from benchmarks.cli_bench import _old_code

    versions = {f"old ({rev})": _old_code(rev), "this": None}
    runs: dict[str, list] = {name: [] for name in versions}
    for _ in range(rounds):
        for name, code in versions.items():
            runs[name] += _rounds(extract, code, per)
    print(f"\n### Publish cost of the daily cube side by side: sample trust at scale {scale:g}, {rounds} rounds of "
          f"{per} loads each way per version, {dt.date.today()}\n")
    print("| code | load, cube off | load, cube on | extra (on less off, round by round) | of the load | extra CPU |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, got in runs.items():
        off, on = statistics.median(o[0] for o, _ in got), statistics.median(n[0] for _, n in got)
        extra = statistics.median(n[0] - o[0] for o, n in got)
        extra_cpu = statistics.median(n[1] - o[1] for o, n in got)
        print(f"| {name} | {off:.2f} s | {on:.2f} s | {extra:.2f} s | {100 * extra / off:.0f}% | {extra_cpu:.2f} s |")


def main(argv: list[str] | None = None) -> None:
    """Print a table of medians: load without the cube, with it, and the cube alone."""
    from kpis.cube_builder import build_cube

    parser = argparse.ArgumentParser(prog="python -m benchmarks cube_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0, help="size of the sample trust (1: Sandwell)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each measure (medians reported)")
    parser.add_argument("--old", help="a git revision to measure side by side with this code")
    parser.add_argument("--per", type=int, default=3, help="with --old: loads each way per process")
    args = parser.parse_args(argv if argv is not None else [])
    extract = _extract(args.scale)
    if args.old:
        _side_by_side(extract, args.old, args.rounds, args.per, args.scale)
        return
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
