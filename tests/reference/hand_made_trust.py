"""A hand-made trust whose every figure was worked out by hand (the answers are in test_pandas_reference).

Teams T1 (service "Front Door"), T2 and T3 ("Care"), T4 ("Leaving Care", no records at all); records of
team T9 or no team belong to UNKNOWN. As-at date D = Friday 2025-01-31, period January 2025 (1 January
a bank holiday, 25-26 December 2024 too). Working-day counts in the comments are wd(a, b): the days d
with a < d <= b.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from etl.contract import TABLES_BY_NAME

JAN1, JAN31 = dt.date(2025, 1, 1), dt.date(2025, 1, 31)


def frame(table: str, rows: list[tuple]) -> pd.DataFrame:
    """Rows written as the CSV would hold them (strings, None for an empty cell), contract columns."""
    return pd.DataFrame(rows, columns=TABLES_BY_NAME[table].column_names, dtype=object)


def hand_made_tables() -> dict[str, pd.DataFrame]:
    """Every contract table; each row's comment says why it is there (fictional names and ids)."""
    return {
        "teams": frame("teams", [
            ("T1", "Team One", "Front Door"),
            ("T2", "Team Two", "Care"),
            ("T3", "Team Three", "Care"),
            ("T4", "Team Four", "Leaving Care"),
        ]),
        "workers": frame("workers", [
            ("W1", "Ada", "T1", "social_worker", "Y", 1.0, "N", None, None),
            ("W2", "Bo", "T2", "senior_social_worker", "Y", 0.5, "N", "2020-01-01", None),
            ("W3", "Cy", "T1", "team_manager", "Y", 1.0, "N", None, None),        # not case-holding
            ("W4", "Di", "T2", "social_worker", "Y", 1.0, "N", None, "2025-01-10"),  # left before D
            ("W5", "Ed", "T9", "social_worker", "Y", 0.8, "Y", None, "2025-01-31"),  # team unknown
            ("W6", "Fay", "T3", "social_worker", "Y", 1.0, "N", "2025-02-01", None),  # starts after D
            ("W7", "Gus", "T3", "personal_advisor", "N", 0.6, "N", "2025-01-31", None),  # starts on D
        ]),
        "children": frame("children", [(f"C{i}", None, "U", None, None) for i in range(1, 6)]),
        "episodes": frame("episodes", [
            ("E1", "C1", "CIN", "2024-06-01", None, "T1"),          # open
            ("E2", "C2", "CP", "2024-12-01", "2025-01-31", "T2"),   # ended on D: not open
            ("E3", "C3", "CLA", "2025-01-31", None, "T2"),          # started on D: open
            ("E4", "C4", "CIN", "2024-01-01", "2025-02-05", "T9"),  # open, UNKNOWN
            ("E5", "C5", "CIN", "2025-02-01", None, "T1"),          # not started yet
            ("E6", "C1", "CP", "2024-07-01", None, "T1"),           # open, second episode of C1
        ]),
        "allocations": frame("allocations", [
            ("A1", "C1", "W1", "2024-06-01", None),
            ("A2", "C3", "W4", "2025-01-01", None),          # worker has left: does not count
            ("A3", "C3", "W2", "2025-02-01", None),          # not started at D
            ("A4", "C4", "W5", "2024-01-01", "2025-01-31"),  # ended on D
            ("A5", "C4", "WX", "2024-01-01", None),          # worker unknown to workers.csv
            ("A6", "C1", "W2", "2024-06-01", None),          # C1 co-worked by W1 and W2
            ("A7", "C2", "W2", "2024-12-01", None),          # C2 has no open episode
            ("A8", "C1", "W3", "2024-06-01", None),          # manager: allocates, holds no caseload
            ("A9", "C4", "W6", "2025-01-01", None),          # worker not active yet at D
        ]),
        "assessments": frame("assessments", [
            ("S1", "C1", None, "2024-11-01", "2025-01-15", "T1", "W1"),  # wd 20+20+10 = 50
            ("S2", "C2", None, "2025-01-02", "2025-01-31", "T2", "W2"),  # wd 21
            ("S3", "C3", None, "2024-11-15", None, "T2", "W2"),          # open, wd to D 10+20+22 = 52
            ("S4", "C4", None, "2024-11-29", "2025-02-03", None, None),  # open at D, wd 0+20+22 = 42
            ("S5", "C5", None, "2024-12-02", None, "T1", "WZ"),          # open, wd 19+22 = 41
            ("S6", "C1", None, "2024-12-31", "2024-12-31", "T1", "W1"),  # completed before the period
            ("S7", "C2", None, "2024-10-01", "2025-01-01", "T1", ""),    # wd 22+21+20+0 = 63
        ]),
        "s47_enquiries": frame("s47_enquiries", [
            ("Q1", "C1", "2025-01-06", "2025-01-20", "Y", "2025-01-27", "T1", "W1"),  # wd 15
            ("Q2", "C2", "2024-12-20", None, "Y", "2025-01-14", "T2", "W2"),          # wd 5+9 = 14
            ("Q3", "C3", "2024-12-16", None, "Y", "2025-01-10", "T2", "W4"),          # wd 9+7 = 16
            ("Q4", "C4", "2025-01-02", None, None, None, "T9", "W5"),                 # wd to D 21
            ("Q5", "C5", "2025-01-10", None, None, None, "T1", "W1"),                 # wd to D 15
            ("Q6", "C1", "2024-12-02", "2025-02-10", "Y", "2025-02-05", "T2", "W2"),  # wd to D 41
            ("Q7", "C2", "2024-11-01", "2024-12-01", "N", None, "T2", "W2"),          # completed
        ]),
        "missing_episodes": frame("missing_episodes", [
            ("M1", "C1", "2025-01-31T23:59", None, None, None, "T1"),
            ("M2", "C1", "2025-01-10T10:00", "2025-01-11T08:00", "2025-01-14T08:00", "Y", "T1"),  # 72h
            ("M3", "C2", "2025-01-20T12:00", "2025-02-01T00:00", None, None, "T2"),  # back at D+1 00:00
            ("M4", "C2", "2025-01-25T00:00", None, None, None, "T3"),
            ("M5", "C3", "2024-12-30T20:00", "2025-01-01T00:00", "2025-01-04T00:01", "N", ""),  # 72h 1m
            ("M6", "C4", "2025-01-29T00:00", "2025-01-30T10:00", None, None, "T1"),  # never offered
            ("M7", "C5", "2025-01-15T09:00", "2025-01-15T12:00", "2025-01-15T11:00", "Y", "T2"),  # early
            ("M8", "C5", "2025-02-01T00:00", None, None, None, "T2"),  # after D
        ]),
        "referrals": frame("referrals", [
            ("R1", "C1", "2025-01-15", None, "N", "T1", "W1"),  # R2 exactly 12 months before
            ("R2", "C1", "2024-01-15", None, "N", "T2", "W2"),
            ("R3", "C2", "2024-02-29", None, "N", "T2", "W2"),  # looks back to 2023-02-28: R4
            ("R4", "C2", "2023-02-28", None, "N", "T1", "W1"),
            ("R5", "C3", "2024-02-29", None, "N", "T2", "W2"),  # R6 is a day too early
            ("R6", "C3", "2023-02-27", None, "N", "T1", None),
            ("R7", "C4", "2025-01-20", None, "N", None, ""),    # same day as R8: neither re-refers
            ("R8", "C4", "2025-01-20", None, "N", "T9", None),
            ("R9", "C5", "2025-01-31", None, "N", "T2", "W2"),  # R10 a day more than 12 months before
            ("R10", "C5", "2024-01-30", None, "N", "T2", None),
            ("R12", "C1", "2025-01-20", None, "N", "T1", "W1"),  # R1 and R2 before it
        ]),
    }
