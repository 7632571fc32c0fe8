"""Days as integers, the history window and England's working days, for vectorised date arithmetic.

A day is an int64 count of days since 1970-01-01 (numpy's datetime64[D] epoch), so whole arrays of
dates add, compare and sort as integers. OPEN (far in the future) stands for "has not ended".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import holidays
import numpy as np

OPEN = 1_000_000  # a day far beyond any end date: "not ended"
BEFORE = -1_000_000  # a day far before any history: "before the extract's history"
_EPOCH = dt.date(1970, 1, 1)


def day_number(d: dt.date) -> int:
    """The day as an integer, comparable with the generator's day arrays."""
    return (d - _EPOCH).days


def day_date(n: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(n))


def years_later(days: np.ndarray, years: float) -> np.ndarray:
    """Approximate anniversaries (365.25 days a year): ages only decide when care ends, never a KPI."""
    return days + int(round(years * 365.25))


class WorkingDays:
    """Monday to Friday less England's bank holidays (observed days included), as the KPIs count them."""

    def __init__(self, first_year: int, last_year: int) -> None:
        found = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
        self.holidays = np.array(sorted(found), dtype="datetime64[D]")
        self._cal = np.busdaycalendar(weekmask="1111100", holidays=self.holidays)

    def add(self, days: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The day n working days after each day, so that wd(day, result) == n exactly.

        wd(a, b) counts working days d with a < d <= b; rolling a weekend start back to the Friday
        before makes the following Monday day 1, as the spec counts. n = 0 gives the day itself.
        """
        days = np.asarray(days, dtype=np.int64)
        n = np.broadcast_to(np.asarray(n, dtype=np.int64), days.shape)
        out = np.busday_offset(days.astype("datetime64[D]"), n, roll="backward", busdaycal=self._cal)
        return np.where(n == 0, days, out.astype(np.int64))

    def on_or_after(self, days: np.ndarray) -> np.ndarray:
        """The first working day on or after each day."""
        days = np.asarray(days, dtype=np.int64)
        out = np.busday_offset(days.astype("datetime64[D]"), 0, roll="forward", busdaycal=self._cal)
        return out.astype(np.int64)

    def on_or_before(self, days: np.ndarray) -> np.ndarray:
        """The last working day on or before each day."""
        days = np.asarray(days, dtype=np.int64)
        out = np.busday_offset(days.astype("datetime64[D]"), 0, roll="backward", busdaycal=self._cal)
        return out.astype(np.int64)

    def between(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """wd(start, end): working days d with start < d <= end."""
        s = (np.asarray(start, dtype=np.int64) + 1).astype("datetime64[D]")
        e = (np.asarray(end, dtype=np.int64) + 1).astype("datetime64[D]")
        return np.busday_count(s, e, busdaycal=self._cal).astype(np.int64)


@dataclass(frozen=True)
class Window:
    """The extract's history (three full years ending on the end date) and the warm-up before it."""

    end: int  # the end date (the day before the extract was taken)
    start: int  # the first day of the history
    sim_start: int  # the first simulated day (warm-up)
    calendar: WorkingDays

    @classmethod
    def ending(cls, end_date: dt.date, history_years: int, warmup_years: int) -> Window:
        first = _anniversary(end_date, -history_years) + dt.timedelta(days=1)
        sim_first = _anniversary(first, -warmup_years)
        cal = WorkingDays(sim_first.year, end_date.year + 3)
        return cls(day_number(end_date), day_number(first), day_number(sim_first), cal)


def _anniversary(d: dt.date, years: int) -> dt.date:
    """The same day `years` later (29 February -> 28 February)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)
