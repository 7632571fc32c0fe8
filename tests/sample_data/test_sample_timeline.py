"""Working days and the history window, on hand-worked dates (England's bank holidays)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from sample_data.timeline import Window, WorkingDays, day_date, day_number

CAL = WorkingDays(2022, 2026)


def days(*dates: str) -> np.ndarray:
    return np.array([day_number(dt.date.fromisoformat(d)) for d in dates], dtype=np.int64)


def dates(values: np.ndarray) -> list[str]:
    return [day_date(v).isoformat() for v in values]


def test_day_numbers_round_trip() -> None:
    assert day_number(dt.date(1970, 1, 2)) == 1
    assert day_date(day_number(dt.date(2024, 2, 29))) == dt.date(2024, 2, 29)


def test_adding_working_days_skips_weekends_and_bank_holidays() -> None:
    # Wed 24 Dec 2025 + 1: Thu 25 and Fri 26 are bank holidays, then the weekend -> Mon 29 Dec
    # Fri 30 May 2025 + 1 -> Mon 2 Jun; Fri 2 Jun 2022 was the Spring bank holiday, Fri 3 Jun the Jubilee
    # Wed 1 Jun 2022 + 1 -> Mon 6 Jun 2022; Fri 16 Sep 2022 + 1 -> Tue 20 Sep (the Queen's funeral Monday)
    got = CAL.add(days("2025-12-24", "2025-05-30", "2022-06-01", "2022-09-16"), 1)
    assert dates(got) == ["2025-12-29", "2025-06-02", "2022-06-06", "2022-09-20"]


def test_a_weekend_start_counts_the_next_monday_as_day_one() -> None:
    # Sat 22 Nov 2025 + 1 working day = Mon 24 Nov; + 5 = Fri 28 Nov; + 0 = the Saturday itself
    got = CAL.add(days("2025-11-22", "2025-11-22", "2025-11-22"), np.array([1, 5, 0]))
    assert dates(got) == ["2025-11-24", "2025-11-28", "2025-11-22"]


def test_working_days_between_counts_the_end_not_the_start() -> None:
    # same day 0; Fri -> Mon 1; Sat -> Mon 1; Wed 24 Dec 2025 -> Fri 2 Jan 2026: 29, 30, 31 Dec, 2 Jan (1 Jan holiday) = 4
    got = CAL.between(days("2025-11-21", "2025-11-21", "2025-11-22", "2025-12-24"), days("2025-11-21", "2025-11-24", "2025-11-24", "2026-01-02"))
    assert got.tolist() == [0, 1, 1, 4]


def test_add_and_between_agree() -> None:
    start = days("2025-11-22", "2025-12-24", "2022-06-01", "2023-05-05")
    n = np.array([1, 7, 12, 45])
    assert CAL.between(start, CAL.add(start, n)).tolist() == n.tolist()


def test_rolling_to_a_working_day() -> None:
    assert dates(CAL.on_or_after(days("2025-12-25", "2025-11-24"))) == ["2025-12-29", "2025-11-24"]
    assert dates(CAL.on_or_before(days("2025-12-28", "2025-11-24"))) == ["2025-12-24", "2025-11-24"]


def test_the_window_is_three_full_years_ending_on_the_end_date() -> None:
    w = Window.ending(dt.date(2025, 11, 23), history_years=3, warmup_years=21)
    assert (day_date(w.start), day_date(w.end)) == (dt.date(2022, 11, 24), dt.date(2025, 11, 23))
    assert day_date(w.sim_start) == dt.date(2001, 11, 24)
    leap = Window.ending(dt.date(2024, 2, 29), history_years=3, warmup_years=1)
    assert day_date(leap.start) == dt.date(2021, 3, 1)  # 28 Feb 2021 is three years before; the history starts the day after
