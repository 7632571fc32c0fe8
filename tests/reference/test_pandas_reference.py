"""The pandas reference on the hand-made trust (hand_made_trust.py), answers worked out by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from hand_made_trust import JAN1, JAN31, frame, hand_made_tables

from benchmarks.pandas_reference import compute_kpis_pandas, load_tables
from etl.contract import TABLES, warehouse_ddl


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return hand_made_tables()


def _by_unit(rows: list[dict], kpi: str) -> dict[str, tuple]:
    return {r["unit"]: (r["numerator"], r["denominator"], r["value"]) for r in rows if r["kpi"] == kpi}


def test_trust_level_every_kpi(tables: dict[str, pd.DataFrame]) -> None:
    rows = compute_kpis_pandas(tables, JAN1, JAN31, "trust")
    got = {r["kpi"]: (r["numerator"], r["denominator"], r["value"]) for r in rows}
    assert all(r["unit"] == "trust" and r["level"] == "trust" for r in rows)
    assert [r["kpi"] for r in rows][:3] == ["open_cases", "unallocated_cases", "allocation_rate"]
    assert got == {
        "open_cases": (4, None, 4),                        # E1 E3 E4 E6
        "unallocated_cases": (2, None, 2),                 # E3 E4
        "allocation_rate": (2, 4, 50.0),
        # W1 1/1.0, W2 1/0.5, W5 0/0.8, W7 0/0.6 (W3 a manager, W4 left, W6 not started)
        "average_caseload": (2, pytest.approx(2.9), pytest.approx(2 / 2.9)),
        "workers_over_caseload_limit": (0, None, 0),
        "assessments_completed": (3, None, 3),             # S1 S2 S7
        "assessments_within_45wd": (1, 3, pytest.approx(100 / 3)),
        "assessments_overdue": (1, None, 1),               # S3
        "assessments_due_soon": (2, None, 2),              # S4 S5
        "s47_started": (3, None, 3),                       # Q1 Q4 Q5
        "icpcs_held": (3, None, 3),                        # Q1 Q2 Q3
        "icpc_within_15wd": (2, 3, pytest.approx(200 / 3)),
        "s47_open_over_15wd": (2, None, 2),                # Q4 Q6
        "children_missing_now": (2, None, 2),              # C1 (M1), C2 (M3 M4)
        "missing_episodes_started": (6, None, 6),          # M1 M2 M3 M4 M6 M7
        "rhi_offered_within_72h": (2, 4, 50.0),            # M2 M7 of M2 M5 M6 M7
        "referrals": (5, None, 5),                         # R1 R7 R8 R9 R12
        "re_referral_rate": (2, 5, 40.0),                  # R1 R12
    }


def test_team_level_has_every_team_and_unknown_only_where_counted(tables: dict[str, pd.DataFrame]) -> None:
    rows = compute_kpis_pandas(tables, JAN1, JAN31, "team")
    assert _by_unit(rows, "open_cases") == {
        "T1": (2, None, 2), "T2": (1, None, 1), "T3": (0, None, 0), "T4": (0, None, 0),
        "UNKNOWN": (1, None, 1)}
    assert _by_unit(rows, "allocation_rate") == {
        "T1": (2, 2, 100.0), "T2": (0, 1, 0.0), "T3": (0, 0, None), "T4": (0, 0, None),
        "UNKNOWN": (0, 1, 0.0)}
    assert _by_unit(rows, "average_caseload") == {
        "T1": (1, 1.0, 1.0), "T2": (1, 0.5, 2.0), "T3": (0, 0.6, 0.0), "T4": (0, 0.0, None),
        "UNKNOWN": (0, 0.8, 0.0)}
    assert _by_unit(rows, "assessments_within_45wd") == {
        "T1": (0, 2, 0.0), "T2": (1, 1, 100.0), "T3": (0, 0, None), "T4": (0, 0, None)}
    assert _by_unit(rows, "assessments_due_soon") == {
        "T1": (1, None, 1), "T2": (0, None, 0), "T3": (0, None, 0), "T4": (0, None, 0),
        "UNKNOWN": (1, None, 1)}
    assert _by_unit(rows, "icpc_within_15wd") == {
        "T1": (1, 1, 100.0), "T2": (1, 2, 50.0), "T3": (0, 0, None), "T4": (0, 0, None)}
    assert _by_unit(rows, "s47_open_over_15wd") == {
        "T1": (0, None, 0), "T2": (1, None, 1), "T3": (0, None, 0), "T4": (0, None, 0),
        "UNKNOWN": (1, None, 1)}
    assert _by_unit(rows, "children_missing_now") == {
        "T1": (1, None, 1), "T2": (1, None, 1), "T3": (1, None, 1), "T4": (0, None, 0)}
    assert _by_unit(rows, "rhi_offered_within_72h") == {
        "T1": (1, 2, 50.0), "T2": (1, 1, 100.0), "T3": (0, 0, None), "T4": (0, 0, None),
        "UNKNOWN": (0, 1, 0.0)}
    assert _by_unit(rows, "re_referral_rate") == {
        "T1": (2, 2, 100.0), "T2": (0, 1, 0.0), "T3": (0, 0, None), "T4": (0, 0, None),
        "UNKNOWN": (0, 2, 0.0)}
    # every KPI for T1-T4; UNKNOWN only for open_cases, unallocated_cases, allocation_rate (E4),
    # average_caseload (W5), assessments_due_soon (S4), s47_started, s47_open_over_15wd (Q4),
    # rhi_offered_within_72h (M5), referrals, re_referral_rate (R7 R8)
    assert len(rows) == 18 * 4 + 10
    assert [r["unit"] for r in rows[:6]] == ["T1", "T2", "T3", "T4", "UNKNOWN", "T1"]
    assert [r["kpi"] for r in rows[4:6]] == ["open_cases", "unallocated_cases"]


def test_service_level_counts_a_child_once_per_service(tables: dict[str, pd.DataFrame]) -> None:
    rows = compute_kpis_pandas(tables, JAN1, JAN31, "service")
    assert _by_unit(rows, "children_missing_now") == {
        "Care": (1, None, 1), "Front Door": (1, None, 1), "Leaving Care": (0, None, 0)}
    assert _by_unit(rows, "average_caseload") == {  # Care: W2 1/0.5 and W7 0/0.6
        "Care": (1, pytest.approx(1.1), pytest.approx(1 / 1.1)), "Front Door": (1, 1.0, 1.0),
        "Leaving Care": (0, 0.0, None), "UNKNOWN": (0, 0.8, 0.0)}
    assert _by_unit(rows, "missing_episodes_started") == {
        "Care": (3, None, 3), "Front Door": (3, None, 3), "Leaving Care": (0, None, 0)}
    assert _by_unit(rows, "re_referral_rate") == {
        "Care": (0, 1, 0.0), "Front Door": (2, 2, 100.0), "Leaving Care": (0, 0, None), "UNKNOWN": (0, 2, 0.0)}


def test_worker_level_only_named_kpis_and_workers_in_the_population(tables: dict[str, pd.DataFrame]) -> None:
    rows = compute_kpis_pandas(tables, JAN1, JAN31, "worker")
    assert {r["kpi"] for r in rows} == {
        "average_caseload", "assessments_completed", "assessments_within_45wd", "assessments_overdue",
        "assessments_due_soon", "s47_started", "icpcs_held", "icpc_within_15wd", "s47_open_over_15wd",
        "referrals", "re_referral_rate"}
    assert _by_unit(rows, "average_caseload") == {
        "W1": (1, 1.0, 1.0), "W2": (1, 0.5, 2.0), "W5": (0, 0.8, 0.0), "W7": (0, 0.6, 0.0)}
    assert _by_unit(rows, "assessments_within_45wd") == {"W1": (0, 1, 0.0), "W2": (1, 1, 100.0)}
    assert _by_unit(rows, "assessments_due_soon") == {"WZ": (1, None, 1)}  # unknown worker keeps its row
    assert _by_unit(rows, "icpc_within_15wd") == {
        "W1": (1, 1, 100.0), "W2": (1, 1, 100.0), "W4": (0, 1, 0.0)}
    assert _by_unit(rows, "s47_open_over_15wd") == {"W2": (1, None, 1), "W5": (1, None, 1)}
    assert _by_unit(rows, "re_referral_rate") == {"W1": (2, 2, 100.0), "W2": (0, 1, 0.0)}


def test_caseload_limit_is_strictly_greater(tables: dict[str, pd.DataFrame]) -> None:
    over_1_5 = compute_kpis_pandas(tables, JAN1, JAN31, "team", caseload_limit=1.5)
    assert _by_unit(over_1_5, "workers_over_caseload_limit") == {
        "T1": (0, None, 0), "T2": (1, None, 1), "T3": (0, None, 0), "T4": (0, None, 0)}  # W2: 1/0.5 = 2
    over_2 = compute_kpis_pandas(tables, JAN1, JAN31, "trust", caseload_limit=2)
    assert _by_unit(over_2, "workers_over_caseload_limit") == {"trust": (0, None, 0)}


def test_closure_days_are_not_working_days(tables: dict[str, pd.DataFrame]) -> None:
    rows = compute_kpis_pandas(tables, JAN1, JAN31, "trust", closure_days=[dt.date(2025, 1, 6)])
    assert _by_unit(rows, "icpc_within_15wd") == {"trust": (3, 3, 100.0)}  # Q3: 16 -> 15
    assert _by_unit(rows, "assessments_due_soon") == {"trust": (1, None, 1)}  # S5: 41 -> 40


def test_leap_day_looks_back_to_28_february() -> None:
    rows = compute_kpis_pandas(hand_made_tables(), dt.date(2024, 2, 1), dt.date(2024, 2, 29), "trust")
    assert _by_unit(rows, "re_referral_rate") == {"trust": (1, 2, 50.0)}  # R3 yes (R4), R5 no (R6)


def test_weekend_start_counts_from_monday() -> None:
    tables = hand_made_tables()
    tables["s47_enquiries"] = frame("s47_enquiries", [
        ("Q8", "C3", "2025-01-04", None, "Y", "2025-01-24", "T3", "W1"),  # Saturday; wd 5+5+5 = 15
        ("Q9", "C4", "2025-01-04", None, "Y", "2025-01-27", "T3", "W1"),  # wd 16
    ])
    rows = compute_kpis_pandas(tables, JAN1, JAN31, "team")
    assert _by_unit(rows, "icpc_within_15wd")["T3"] == (1, 2, 50.0)


def test_bad_level_and_reversed_period_are_refused(tables: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        compute_kpis_pandas(tables, JAN1, JAN31, "directorate")
    with pytest.raises(ValueError, match="starts"):
        compute_kpis_pandas(tables, JAN31, JAN1, "trust")


def test_load_tables_reads_a_warehouse_on_disk(tmp_path: Path, tables: dict[str, pd.DataFrame]) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    for table in TABLES:
        con.execute(warehouse_ddl(table))
        frame = tables[table.name].replace({"": None, "Y": True, "N": False})  # as the loader types them
        con.register("src", frame)
        cols = ", ".join(f"CAST({c.name} AS {c.sql_type})" for c in table.columns)
        con.execute(f"INSERT INTO {table.name} SELECT {cols} FROM src")
        con.unregister("src")
    con.close()

    loaded = load_tables(path)
    assert loaded["assessments"]["start_date"].dtype.kind == "M"
    assert loaded["missing_episodes"]["end_time"].dtype.kind == "M"
    assert len(loaded["referrals"]) == 11
    from_disk = compute_kpis_pandas(loaded, JAN1, JAN31, "team")
    assert from_disk == compute_kpis_pandas(tables, JAN1, JAN31, "team")
