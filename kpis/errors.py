"""Errors the KPI layer raises for bad requests, worded for a performance analyst.

They are ValueErrors so callers that only care about "bad input" catch one type; the API maps them
to 4xx and the CLI to a non-zero exit with the message, never a traceback.
"""

from __future__ import annotations


class KpiError(ValueError):
    """A request the KPI layer cannot answer; the message says why in the analyst's words."""


class UnknownKpi(KpiError):
    """A KPI id that is not in the registry."""


class UnknownUnit(KpiError):
    """A unit (team, service, worker) that does not exist at the requested level."""


class InvalidPeriod(KpiError):
    """A period whose dates cannot be used (from after to, or out of range)."""
