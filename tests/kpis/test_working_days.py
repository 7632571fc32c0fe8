"""The working-day calendar: England and Wales bank holidays, observed days, closure days, wd(a, b)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from kpis.working_days import bank_holidays, build_calendar, previous_working_day, working_days_between

D = dt.date.fromisoformat


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(":memory:")
    build_calendar(c, D("2021-01-01"), D("2026-12-31"), closure_days=[D("2025-12-24")])
    yield c
    c.close()


def _working(con: duckdb.DuckDBPyConnection, day: str) -> bool:
    return con.execute("SELECT working FROM calendar WHERE d = ?", [D(day)]).fetchone()[0]


@pytest.mark.parametrize(
    "day",
    [
        "2022-06-02",  # Spring bank holiday moved for the Platinum Jubilee (Thursday)
        "2022-06-03",  # Platinum Jubilee bank holiday (Friday)
        "2022-09-19",  # State funeral of Queen Elizabeth II (Monday)
        "2023-05-08",  # Coronation of King Charles III (Monday)
        "2022-12-27",  # Christmas Day 2022 fell on a Sunday: substitute Tuesday 27th
        "2022-12-26",  # Boxing Day 2022 (Monday)
        "2021-12-27",  # Christmas Day 2021 on a Saturday: substitute Monday 27th
        "2021-12-28",  # Boxing Day 2021 on a Sunday: substitute Tuesday 28th
        "2023-01-02",  # New Year's Day 2023 on a Sunday: substitute Monday 2nd
        "2026-12-28",  # Boxing Day 2026 on a Saturday: substitute Monday 28th
        "2025-04-18",  # Good Friday 2025
        "2025-04-21",  # Easter Monday 2025
        "2025-12-24",  # a closure day from the configuration (a Wednesday)
    ],
)
def test_holidays_and_closures_are_not_working_days(con: duckdb.DuckDBPyConnection, day: str) -> None:
    assert not _working(con, day)


@pytest.mark.parametrize("day", ["2022-06-01", "2022-05-31", "2023-05-09", "2022-12-28", "2025-12-23"])
def test_ordinary_weekdays_are_working_days(con: duckdb.DuckDBPyConnection, day: str) -> None:
    assert _working(con, day)


def test_weekends_are_not_working_days(con: duckdb.DuckDBPyConnection) -> None:
    assert not _working(con, "2025-11-22")  # Saturday
    assert not _working(con, "2025-11-23")  # Sunday


def test_bank_holidays_include_observed_substitutes() -> None:
    days = set(bank_holidays(2022, 2022))
    assert {D("2022-12-25"), D("2022-12-26"), D("2022-12-27")} <= days
    assert D("2022-12-28") not in days


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("2025-11-19", "2025-11-19", 0),  # same day: the start date itself never counts
        ("2025-11-21", "2025-11-24", 1),  # Friday to Monday: only Monday counts
        ("2025-11-22", "2025-11-24", 1),  # Saturday start: the following Monday is day 1
        ("2025-11-22", "2025-11-23", 0),  # Saturday to Sunday: nothing
        ("2022-06-01", "2022-06-06", 1),  # Wed to Mon over the jubilee: Thu, Fri holidays -> Mon only
        ("2023-05-05", "2023-05-09", 1),  # Fri to Tue over the coronation Monday: Tue only
        ("2022-12-23", "2022-12-28", 1),  # Fri to Wed: Mon 26 and Tue 27 are holidays -> Wed only
        # Mon to Mon: Tue 23 (1), Wed 24 closure day, Thu 25 and Fri 26 bank holidays, Mon 29 (2)
        ("2025-12-22", "2025-12-29", 2),
    ],
)
def test_wd_counts_days_after_the_start_up_to_and_including_the_end(
    con: duckdb.DuckDBPyConnection, a: str, b: str, expected: int
) -> None:
    assert working_days_between(con, D(a), D(b)) == expected


def test_45_working_days_across_christmas(con: duckdb.DuckDBPyConnection) -> None:
    # From Fri 2024-11-01: Nov 4-29 is 20 working days, Dec 2-20 takes it to 35, Mon 23 = 36,
    # Tue 24 = 37, (Wed 25, Thu 26 bank holidays), Fri 27 = 38, Mon 30 = 39, Tue 31 = 40,
    # (Wed 1 Jan holiday), Thu 2 = 41, Fri 3 = 42, Mon 6 = 43, Tue 7 = 44, Wed 8 = 45, Thu 9 = 46.
    assert working_days_between(con, D("2024-11-01"), D("2025-01-08")) == 45
    assert working_days_between(con, D("2024-11-01"), D("2025-01-09")) == 46


@pytest.mark.parametrize(("day", "before"), [
    ("2025-11-24", "2025-11-21"),  # a Monday: the Friday before
    ("2025-11-25", "2025-11-24"),
    ("2025-11-23", "2025-11-21"),  # a Sunday
    ("2025-12-29", "2025-12-23"),  # Christmas and Boxing Day (Thursday, Friday), and the closure day 24 December
    ("2025-04-22", "2025-04-17"),  # the Tuesday after Easter: Good Friday and Easter Monday are closed
])
def test_previous_working_day(con: duckdb.DuckDBPyConnection, day: str, before: str) -> None:
    assert previous_working_day(con, dt.date.fromisoformat(day)) == dt.date.fromisoformat(before)
