"""The cube's read path, old code against this code side by side: what an uncached API request costs
in the KPI layer, and the national trend.

    .venv/bin/python -m benchmarks read_bench [--old REV] [--rounds 3]

Each code version runs in a fresh process of its own (--old REV: that revision's files, written once
with `git archive` under data/bench/old-REV and put first on the path), the versions alternating
round by round on the same warehouses (kpi_bench's sample trust and national warehouse), each version
reading the cube it builds itself (--old: on copies under data/bench/old-REV, as cube formats differ
between versions); medians of the rounds. Per process:
- sample trust, team level, a new period each call, as GET /kpis?level=team&fields=all makes its
  answer: compute_kpis, with_targets and the API's JSON writer (api.response_cache.json_bytes);
- national, every KPI trust + team, one period (compute_kpis);
- national, 24-month trend, every KPI, trust + team (kpi_trend, the list of dicts it returns).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.cli_bench import _old_code
from benchmarks.kpi_bench import NATIONAL_FACTOR, national_warehouse, sample_warehouse, with_cube

ROOT = Path(__file__).resolve().parent.parent

_PROGRAM = """
import datetime as dt, gc, json, statistics, sys, time
{first}
from kpis import compute_kpis, kpi_trend, open_warehouse, with_targets
from api.response_cache import json_bytes

def median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)

out = {{}}
with open_warehouse({sample!r}) as wh:
    assert wh.cube is not None
    end, n = wh.extract_date, [0]
    def api_answer():
        n[0] += 1
        stop = end - dt.timedelta(days=n[0] % 900)
        rows = with_targets(compute_kpis(wh, stop - dt.timedelta(days=n[0] % 28), stop, "team"), wh.config)
        return json_bytes(rows)
    median_ms(api_answer, 200)
    out["api"] = median_ms(api_answer, 2000)
with open_warehouse({national!r}) as wh:
    assert wh.cube is not None
    compute_kpis(wh, level=("trust", "team"))
    out["national_one"] = median_ms(lambda: compute_kpis(wh, level=("trust", "team")), 7)
    out["national_trend"] = median_ms(lambda: kpi_trend(wh, None, "month", 24, ("trust", "team")), 5)
print(json.dumps(out))
"""

MEASURES = (
    ("api", "sample trust, team level, a new period each call: figures + targets + JSON (GET /kpis' answer)"),
    ("national_one", "national, every KPI, trust + team, one period (`compute_kpis`)"),
    ("national_trend", "national, 24-month trend, every KPI, trust + team (`kpi_trend`, a list of dicts)"),
)


def _run(code: Path | None, sample: Path, national: Path) -> dict[str, float]:
    first = f"sys.path.insert(0, {str(code)!r})" if code is not None else ""
    program = _PROGRAM.format(first=first, sample=str(sample), national=str(national))
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"read_bench failed: {done.stderr[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _with_cube_of(code: Path, path: Path) -> Path:
    """A copy of the warehouse at path, under the old code's folder, holding the cube that code builds."""
    copy = code / path.name
    if not copy.exists() or copy.stat().st_mtime < path.stat().st_mtime:
        shutil.copyfile(path, copy)
    program = (f"import sys; sys.path.insert(0, {str(code)!r}); from pathlib import Path; "
               f"from benchmarks.kpi_bench import with_cube; with_cube(Path({str(copy)!r}))")
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"read_bench: the old code could not build its cube: {done.stderr[-800:]}")
    return copy


def main(argv: list[str] | None = None) -> None:
    """Print a table: each measure, each code version's median, and their ratio."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks read_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--old", help="a git revision to run side by side (e.g. 303e714)")
    parser.add_argument("--rounds", type=int, default=3, help="processes per version (medians reported)")
    args = parser.parse_args(argv if argv is not None else [])
    sample = with_cube(sample_warehouse())
    national = with_cube(national_warehouse(sample, NATIONAL_FACTOR))
    versions: dict[str, Path | None] = {"this": None}
    files = {"this": (sample, national)}
    if args.old:
        old = _old_code(args.old)
        versions = {f"old ({args.old})": old, "this": None}
        files[f"old ({args.old})"] = (_with_cube_of(old, sample), _with_cube_of(old, national))
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in versions}
    for _ in range(args.rounds):  # alternating, so a busy spell of the machine hits both
        for name, code in versions.items():
            runs[name].append(_run(code, *files[name]))
    names = list(versions)
    print(f"\n### The cube's read path (medians of {args.rounds} processes per version)\n")
    print("| measure | " + " | ".join(names) + (" | old / this |" if len(names) > 1 else " |"))
    print("| --- " * (len(names) + 1 + (len(names) > 1)) + "|")
    for key, label in MEASURES:
        med = [statistics.median(r[key] for r in runs[name]) for name in names]
        ratio = f" | {med[0] / med[-1]:.2f}x" if len(names) > 1 else ""
        print(f"| {label} | " + " | ".join(f"{m:,.2f} ms" for m in med) + ratio + " |", flush=True)


if __name__ == "__main__":
    main()
