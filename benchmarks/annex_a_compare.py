"""Two checkouts' Annex A readers side by side, alternating in one run (a ratio survives a noisy machine).

    git worktree add /tmp/oldkp 394818a
    .venv/bin/python -m benchmarks.annex_a_compare --old /tmp/oldkp [--rounds 5]

Each round runs read_workbook and convert_workbook on the benchmark workbook (made by annex_a_bench)
in a fresh process in each checkout, old first.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROUND = """
import sys, tempfile, time
from pathlib import Path
import duckdb
sys.path.insert(0, '.')
from etl.annex_a.mapping import convert_workbook
from etl.annex_a.reader import read_workbook
book = Path(sys.argv[1])
start = time.perf_counter()
with duckdb.connect() as con:
    read_workbook(book, con)
read = time.perf_counter() - start
start = time.perf_counter()
with tempfile.TemporaryDirectory() as out:
    convert_workbook(book, Path(out))
print(read, time.perf_counter() - start)
"""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="annex_a_compare")
    parser.add_argument("--old", type=Path, required=True, help="the other checkout (e.g. a git worktree)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workbook", type=Path, default=Path("data/bench/annex_a_50000.xlsx"))
    args = parser.parse_args(argv)
    if not args.workbook.exists():
        raise SystemExit(f"{args.workbook} is missing: run `python -m benchmarks annex_a_bench` once to make it")
    book = str(args.workbook.resolve())
    times: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        for name, cwd in (("old", args.old), ("new", Path.cwd())):
            out = subprocess.run([sys.executable, "-c", ROUND, book], cwd=cwd, capture_output=True, text=True, check=True)
            read, convert = map(float, out.stdout.split())
            times[name].append((read, convert))
    med = {name: (statistics.median(r for r, _ in t), statistics.median(c for _, c in t)) for name, t in times.items()}
    for name, (read, convert) in med.items():
        print(f"{name}: read median {read:.2f} s, convert median {convert:.2f} s ({args.rounds} rounds)")
    print(f"old / new: read {med['old'][0] / med['new'][0]:.1f}x, convert {med['old'][1] / med['new'][1]:.1f}x")


if __name__ == "__main__":
    main()
