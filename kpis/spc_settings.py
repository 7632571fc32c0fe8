"""Per-KPI settings of the SPC charts (../shared/spec/spc.md), read from the KPI configuration file.

Kept apart from kpis/spc.py so the configuration model (kpis/targets.py) can validate them without
importing the engine. Every KPI not named in the file gets the spec's defaults.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

DEFAULT_RUN_LENGTH = 7
MIN_RUN_LENGTH, MAX_RUN_LENGTH = 6, 9


def _iso_date(value: Any) -> dt.date:
    """Rebase dates as YYYY-MM-DD only (YAML may already have read them as dates)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)")


RunLength = Annotated[StrictInt, Field(ge=MIN_RUN_LENGTH, le=MAX_RUN_LENGTH)]


class SpcSettings(BaseModel):
    """One KPI's SPC settings: the run lengths R and T, the baseline length B and the rebase dates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shift_run_length: RunLength = Field(
        DEFAULT_RUN_LENGTH, description="R: points in a row above (or below) the mean that make a shift (6 to 9).")
    trend_run_length: RunLength = Field(
        DEFAULT_RUN_LENGTH, description="T: points in a row each higher (or lower) than the last that make a trend (6 to 9).")
    baseline_length: Annotated[StrictInt, Field(ge=2)] | None = Field(
        None, description="B: the mean and limits come from the first B points of each segment (default: all points).")
    rebase_dates: tuple[Annotated[dt.date, BeforeValidator(_iso_date)], ...] = Field(
        (), description="Dates from which the limits are worked out afresh (a change of process).")


DEFAULT_SPC = SpcSettings()
