"""The synthetic sample trust (sample_data) goes through the loader with no rejected row."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from etl.contract import TABLES

pytestmark = pytest.mark.slow


def test_the_sample_trust_loads_every_row(sample_warehouse: Path, sample_extract: Path) -> None:
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM load_issues WHERE severity = 'reject'").fetchone() == (0,)
        for table in TABLES:
            in_file = con.execute(
                "SELECT count(*) FROM read_csv(?, header = true, all_varchar = true)", [str(sample_extract / table.file_name)]
            ).fetchone()
            assert con.execute(f"SELECT count(*) FROM {table.name}").fetchone() == in_file, table.name
        extracted_at, system = con.execute("SELECT extracted_at, source_system FROM extract_meta").fetchone()
    assert (extracted_at.isoformat(), system) == ("2025-11-24T06:30:00", "kpidash-sample")
