"""Annex A reader benchmark: a workbook of 50,000 rows in each of Lists 3 to 9, read and converted.

    .venv/bin/python -m benchmarks annex_a_bench [--rows N] [--repeat N]

Writes (once, cached under data/bench/) a fictional workbook in the 2024 Ofsted layout with
xlsxwriter, then times, each a median of --repeat runs:
- read: `read_workbook` (fastexcel into DuckDB tables, one per list): the issue's target, under 5 s;
- convert: `convert_workbook` (read, clean, map, write the contract's CSV files);
- load: `load_extract` on the workbook into a scratch warehouse (convert, then the contract's checks,
  publish, archive and the load log): what `kpidash load annex_a.xlsx` costs end to end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
import xlsxwriter

from benchmarks.kpi_bench import load_settings
from etl.annex_a.export import HEADERS
from etl.annex_a.mapping import convert_workbook
from etl.annex_a.reader import read_workbook

BENCH_DIR = Path("data/bench")
START = dt.date(2025, 5, 24)


def build_workbook(path: Path, rows: int) -> Path:
    """Lists 3 to 9 with `rows` fictional children each: dates, coded values, teams and workers."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_date_format": "dd/mm/yyyy"})
    for number in range(3, 10):
        sheet = book.add_worksheet(f"List {number}")
        headers = HEADERS[number]
        sheet.write_row(0, 0, headers)
        for i in range(rows):
            day = START + dt.timedelta(days=i % 180)
            values = {
                "Child Unique ID": f"X{i:07d}", "Gender": ("a) Male", "b) Female")[i % 2], "Ethnicity": "a) WBRI",
                "Date of Birth": dt.date(2010, 1, 1) + dt.timedelta(days=i % 3000), "Age of Child (Years)": 10,
                "Allocated Team": f"Team {i % 40}", "Allocated Worker": f"Worker {i % 900}",
            }
            row = [values.get(h, day if "Date" in h or "date" in h else "b) No") for h in headers]
            sheet.write_row(i + 1, 0, row)
    book.close()
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="annex_a_bench")
    parser.add_argument("--rows", type=int, default=50_000, help="rows per list (default 50,000)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"annex_a_{args.rows}.xlsx"
    if not path.exists():
        start = time.perf_counter()
        build_workbook(path, args.rows)
        print(f"built {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s")

    def read() -> None:
        with duckdb.connect() as con:
            read_workbook(path, con)

    def convert() -> None:
        with tempfile.TemporaryDirectory() as out:
            convert_workbook(path, Path(out))

    def load() -> None:
        from etl.loader import load_extract

        with tempfile.TemporaryDirectory(prefix="annex-bench-") as scratch:
            with load_settings(Path(scratch) / "warehouse.duckdb", Path(scratch) / "archive", Path(scratch) / "app.db"):
                result = load_extract(path)
            if result.status != "published":
                raise SystemExit(f"the benchmark workbook did not load: {result.message}")

    for name, fn in (("read (fastexcel -> DuckDB)", read), ("convert (read + clean + map + write CSVs)", convert),
                     ("load (kpidash load: convert + check + publish)", load)):
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        print(f"{name}: median {statistics.median(times):.2f} s over {args.repeat} runs "
              f"(min {min(times):.2f}, max {max(times):.2f}), {args.rows:,} rows x 7 lists")
