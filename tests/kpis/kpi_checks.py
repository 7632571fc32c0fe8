"""Reading KPI output in tests: pick one figure, and check a figure against its records; and the refusal
of a bad KPI configuration file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kpis import KpiError, Warehouse, get_kpi, kpi_records, load_kpi_config


def pick(rows: list[dict], kpi: str, unit: str = "trust") -> dict:
    """The one row of a KPI and unit (fails if there is none or more than one)."""
    found = [r for r in rows if r["kpi"] == kpi and r["unit"] == unit]
    assert len(found) == 1, f"{kpi}/{unit}: {len(found)} rows"
    return found[0]


def units_of(rows: list[dict], kpi: str) -> list[str]:
    """The units a KPI has rows for, in output order."""
    return [r["unit"] for r in rows if r["kpi"] == kpi]


def assert_reconciles(wh: Warehouse, row: dict, date_from: dt.date | None, date_to: dt.date | None) -> list[dict]:
    """The records behind a figure count to it (numerator rows; all rows for a rate's denominator)."""
    kpi = get_kpi(row["kpi"])
    records = kpi_records(wh, kpi.id, row["unit"], date_from, date_to, level=row["level"], domain=row.get("domain"))
    num = [r for r in records if r["counted_in"] == "numerator"]
    where = f"{kpi.id} {row['level']}/{row['unit']}" + (f"/{row['domain']}" if "domain" in row else "")
    assert len(num) == row["numerator"], where
    if kpi.measure == "count":
        assert len(num) == len(records), where
        if kpi.id == "children_missing_now":
            assert len({r["child_id"] for r in records}) == len(records), where
    elif kpi.measure == "rate":
        assert len(records) == row["denominator"], where
    else:  # average_caseload: the denominator is the fte of the distinct workers listed
        fte = {r["worker_id"]: r["fte"] for r in records}
        assert sum(fte.values()) == pytest.approx(row["denominator"]), where
    return records


def config_refusal(folder: Path, text: str) -> str:
    """Why load_kpi_config refuses a configuration file holding `text` (the message must name the file)."""
    path = folder / "kpi_config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KpiError, match="the KPI configuration file .*kpi_config.yaml") as err:
        load_kpi_config(path)
    return str(err.value)
