"""The one way kpidash reads a date or a month that a person typed, shared by every command and the API.

Dates are written as the specs write them, YYYY-MM-DD (not 2025-W01-1 or 20251123, which Python would also
read), and must fall within the dates kpidash handles; months are YYYY-MM. Each refusal is a DateProblem
whose message says what was typed and how to write it.
"""

from __future__ import annotations

import datetime as dt
import re

MIN_DATE = dt.date(1990, 1, 1)
MAX_DATE = dt.date(2099, 12, 31)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_MONTH = re.compile(r"\d{4}-\d{2}")
EXAMPLE = "2025-11-23"
# a date or month written as asked but not in the calendar (2025-02-29, 2025-13): said the same way by a load's
# rejects, the commands and the API
NO_SUCH_DAY = "is not a date: there is no such day in the calendar"
NO_SUCH_MONTH = "is not a month: write it YYYY-MM, a month being 01 to 12"


class DateProblem(ValueError):
    """A date or month that cannot be used; the message is for the person who typed it."""


def parse_date(text: str, name: str = "the date") -> dt.date:
    """A YYYY-MM-DD date within MIN_DATE..MAX_DATE, or DateProblem naming `name` and what to write."""
    value = text.strip() if isinstance(text, str) else text
    try:
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            raise ValueError
        day = dt.date.fromisoformat(value)
    except ValueError:
        if isinstance(value, str) and ISO_DATE.fullmatch(value):  # written right, but no such day
            raise DateProblem(f'{name} "{text}" {NO_SUCH_DAY}') from None
        raise DateProblem(f'{name} "{text}" is not a date: write it YYYY-MM-DD, e.g. {EXAMPLE}') from None
    check_date(day, name)
    return day


def check_date(day: dt.date, name: str = "the date") -> dt.date:
    """The date, or DateProblem when it is outside the dates kpidash handles."""
    if not MIN_DATE <= day <= MAX_DATE:
        raise DateProblem(f"{name} ({day}) is outside the dates kpidash handles ({MIN_DATE} to {MAX_DATE})")
    return day


def parse_month(text: str, name: str = "the month") -> str:
    """A YYYY-MM month within the dates kpidash handles, as YYYY-MM; DateProblem otherwise."""
    value = text.strip() if isinstance(text, str) else text
    try:
        if not isinstance(value, str) or not ISO_MONTH.fullmatch(value):
            raise ValueError
        first = dt.date.fromisoformat(value + "-01")
    except ValueError:
        if isinstance(value, str) and ISO_MONTH.fullmatch(value):  # written right: month 00 or 13 to 99
            raise DateProblem(f'{name} "{text}" {NO_SUCH_MONTH}') from None
        raise DateProblem(f'{name} "{text}" is not a month: write it YYYY-MM, e.g. {EXAMPLE[:7]}') from None
    check_date(first, name)
    return value


def projection_note(date_to: dt.date, extract_date: dt.date) -> str | None:
    """What a period ending after the extract date means, or None when it does not: the extract knows
    little after its date, so stock figures then are projections (what was open stays open unless the
    extract already dates its end) and flow figures count only the events it already dates after it
    (loaded with a warning: docs/kpis.md, "Stocks outside the records' history")."""
    if date_to <= extract_date:
        return None
    return (f"{date_to} is after the extract date ({extract_date}): stock figures on it are projections (a record "
            "open on the extract date is taken as still open unless the extract dates its end) and flow figures "
            "count only the events the extract already dates after the extract date")
