"""Loader memory benchmark: the peak resident memory of `kpidash load` refusing or loading a ~100 MB file.

    .venv/bin/python -m benchmarks loader_memory_bench [--mb 100] [--repeat 1] [--old DIR] [--kinds junk,ragged,good]

Builds (once, under data/bench/loader_memory/) four extracts: a small sample trust, and the same trust
with referrals.csv replaced by ~`--mb` MB of
- junk values: the header's seven columns, every value wrong (every row rejected: refused);
- ragged junk: random words with 1 to 12 values a row (the CSV reader cannot split them: refused);
- good rows: valid referrals of the trust's children (loaded and published).

Each load runs as `python -m cli.main load DIR` in a fresh process and data folder; its peak RSS is
the kernel's (wait4's ru_maxrss, the whole process: Python, DuckDB and all). The issue's aim: refusing
or loading a 100 MB file peaks under 1 GB. `--old DIR` runs the same loads with the code of another
checkout (e.g. `git worktree add /tmp/old <commit>`), alternating, for a side-by-side comparison.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path("data/bench/loader_memory")
ROOT = Path(__file__).resolve().parents[1]
HEADER = "referral_id,child_id,referral_date,source,nfa,team_id,worker_id\n"


def _base(folder: Path) -> Path:
    """A small sample trust (its nine files and manifest), made once."""
    base = folder / "base"
    if not (base / "manifest.json").exists():
        from sample_data import generate_sample

        generate_sample(base, seed=1, scale=0.05)
    return base


def _ids(base: Path, file: str, column: str) -> list[str]:
    with (base / file).open(encoding="utf-8", newline="") as f:
        return [row[column] for row in csv.DictReader(f)]


def build(folder: Path, kind: str, mb: float) -> Path:
    """The small trust with referrals.csv replaced by ~mb MB of `kind` rows (made once)."""
    out = folder / f"{kind}_{mb:g}mb"
    if (out / "manifest.json").exists():
        return out
    base = _base(folder)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(base, out)
    children, teams = _ids(base, "children.csv", "child_id"), _ids(base, "teams.csv", "team_id")
    rnd = random.Random(1)
    target, size, n = int(mb * 2**20), 0, 0
    with (out / "referrals.csv").open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        while size < target:
            if kind == "junk":
                line = f"J{n},{n % 997}x,notadate,ZZ,maybe,T?{n % 7},W?\n"
            elif kind == "ragged":
                line = ",".join("".join(rnd.choices(string.ascii_letters, k=3)) for _ in range(rnd.randint(1, 12))) + "\n"
            else:
                line = (f"B{n},{children[n % len(children)]},2024-{1 + n % 12:02d}-{1 + n % 28:02d},1A,N,"
                        f"{teams[n % len(teams)]},\n")
            f.write(line)
            size += len(line)
            n += 1
    return out


def peak_load(extract: Path, code: Path) -> tuple[int, float, int]:
    """(peak RSS in bytes, seconds, exit status) of one `kpidash load` in a fresh process and data folder."""
    with tempfile.TemporaryDirectory(prefix="loadmem-") as scratch:
        env = {**os.environ, "KPIDASH_DB": f"{scratch}/warehouse.duckdb", "KPIDASH_ARCHIVE_DIR": f"{scratch}/archive",
               "KPIDASH_APP_DB": f"sqlite:///{scratch}/app.db"}
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "load", str(extract.absolute())], cwd=code, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        return usage.ru_maxrss * 1024, time.perf_counter() - start, proc.returncode


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="loader_memory_bench")
    parser.add_argument("--mb", type=float, default=100, help="size of the big referrals.csv (default 100 MB)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--old", type=Path, help="a checkout of other code to run side by side")
    parser.add_argument("--kinds", default="junk,ragged,good", help="which big files (default: all three)")
    args = parser.parse_args(argv)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    cases = [("small sample trust (baseline)", _base(BENCH_DIR), 0)]
    kinds = args.kinds.split(",")
    for kind, outcome in (("junk", "refused"), ("ragged", "refused"), ("good", "loaded")):
        if kind not in kinds:
            continue
        start = time.perf_counter()
        folder = build(BENCH_DIR, kind, args.mb)
        size = (folder / "referrals.csv").stat().st_size
        print(f"{folder}: referrals.csv {size / 2**20:.0f} MB ({time.perf_counter() - start:.1f} s to have it)",
              flush=True)
        cases.append((f"{kind} rows, {size / 2**20:.0f} MB referrals.csv ({outcome})", folder, 1 if kind != "good" else 0))
    codes = [("this code", ROOT)] + ([("old", args.old)] if args.old else [])
    print("\n| load | code | peak RSS (median) | time (median) | exit |")
    print("| --- | --- | --- | --- | --- |")
    for label, folder, expected in cases:
        for name, code in codes:
            runs = [peak_load(folder, code) for _ in range(args.repeat)]
            rss = statistics.median(r[0] for r in runs)
            secs = statistics.median(r[1] for r in runs)
            exits = sorted({r[2] for r in runs})
            flag = "" if exits == [expected] else f" (expected {expected})"
            print(f"| {label} | {name} | {rss / 2**20:,.0f} MB | {secs:.1f} s | {exits}{flag} |", flush=True)


if __name__ == "__main__":
    main()
