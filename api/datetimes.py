"""Times as clients read them: ISO 8601 with a zone (RFC 3339), never a bare local-looking time.

The app database keeps naive UTC; an extract's own date-time (extracted_at) is the trust's local
time, Europe/London, as the manifest gives it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator

LONDON = ZoneInfo("Europe/London")


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _london(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=LONDON) if value.tzinfo is None else value


UtcDateTime = Annotated[dt.datetime, AfterValidator(_utc)]
LondonDateTime = Annotated[dt.datetime, AfterValidator(_london)]
