"""The sample trust goes through the real loader with no rejected row (the loader is etl.load_extract)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def test_the_sample_loads_with_no_rejects_and_only_the_planted_warnings(sample_warehouse: Path, sample_extract: Path) -> None:
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        issues = con.execute("SELECT file, severity, reason FROM load_issues").fetchall()
        loaded = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("referrals", "episodes", "allocations")}
    assert [i for i in issues if i[1] == "reject"] == []
    # the only warnings are the allocations deliberately left on workers who had left
    assert {(file, severity) for file, severity, _ in issues} == {("allocations.csv", "warning")}
    assert all("allocation is open after that date" in reason for _, _, reason in issues)
    assert 1 <= len(issues) <= 40
    for table, n in loaded.items():
        with open(sample_extract / f"{table}.csv", encoding="utf-8") as f:
            assert n == sum(1 for _ in f) - 1, table
