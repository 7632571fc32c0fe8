"""Targets, tolerances and RAG status, read from the configuration file rather than code.

The spec puts targets in configuration so a trust can set its own without a release; the
packaged kpis/kpi_config.yaml holds the spec's defaults and KPIDASH_CONFIG_FILE points at a copy.
The same file names the caseload limit, the extra closure days of the working-day calendar and each
KPI's SPC settings (run lengths, baseline, rebase dates: docs/spc.md).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, ValidationError, model_validator

from core.settings import get_settings
from etl.contract import AUDIT_DOMAINS
from kpis.errors import KpiError
from kpis.finite import FiniteRows
from kpis.registry import KPIS_BY_ID, Polarity

DEFAULT_CONFIG = "kpi_config.yaml"
# libyaml's parser where PyYAML has it: 0.4 ms for the packaged file against the pure-Python one's 3.3 ms
# (every load's cube reads it)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# qa-audits.md's default cross-reference of audit domains to KPIs (the packaged file says the same)
_STAFFING = ("allocation_rate", "unallocated_cases", "average_caseload")
_MISSING = ("rhi_offered_within_72h", "children_missing_now")
DEFAULT_DOMAIN_KPIS: dict[str, tuple[str, ...]] = {
    "child_experience": _MISSING, "voice_of_child": _MISSING,
    "assessment": ("assessments_within_45wd", "assessments_overdue"),
    "planning": _STAFFING, "management_oversight": _STAFFING,
    "multi_agency": ("icpc_within_15wd", "s47_open_over_15wd"), "recording": (),
}


def _iso_date(value: Any) -> dt.date:
    """Closure days and rebase dates as YYYY-MM-DD only: pydantic alone would read 20251224 as a timestamp."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)")


DEFAULT_RUN_LENGTH = 7  # SPC (docs/spc.md): points in a row that make a shift or a trend
MIN_RUN_LENGTH, MAX_RUN_LENGTH = 6, 9


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


class Target(BaseModel):
    """A KPI's target and the tolerance that separates amber from red."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: float
    tolerance: float = Field(0.0, ge=0)


class KpiConfig(BaseModel):
    """The KPI configuration file, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: dict[str, Target] = Field(default_factory=dict)
    caseload_limit: float = Field(20.0, gt=0)
    closure_days: tuple[Annotated[dt.date, BeforeValidator(_iso_date)], ...] = ()
    # audit domain -> the KPIs it is cross-referenced to (qa-audits.md); the spec's map by default
    domain_kpis: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_DOMAIN_KPIS))

    def domains_of(self, kpi_id: str) -> list[str]:
        """The audit domains mapped to a KPI, in the contract's order of domains."""
        return [d for d in AUDIT_DOMAINS if kpi_id in self.domain_kpis.get(d, ())]

    @model_validator(mode="after")
    def _domains_name_kpis(self) -> KpiConfig:
        for domain, kpi_ids in self.domain_kpis.items():
            if domain not in AUDIT_DOMAINS:
                raise ValueError(f'"{domain}" in domain_kpis is not an audit domain; domains: {", ".join(AUDIT_DOMAINS)}')
            unknown = [k for k in kpi_ids if k not in KPIS_BY_ID]
            if unknown:
                raise ValueError(f'domain_kpis.{domain} names "{unknown[0]}", which is not a KPI')
        return self

    spc: dict[str, SpcSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _targets_name_rag_kpis(self) -> KpiConfig:
        for kpi_id in self.targets:
            kpi = KPIS_BY_ID.get(kpi_id)
            if kpi is None:
                raise ValueError(f'"{kpi_id}" in targets is not a KPI; known KPIs: {", ".join(KPIS_BY_ID)}')
            if kpi.polarity is None:
                raise ValueError(f'"{kpi_id}" has no better direction (higher or lower), so it cannot have a target')
        for kpi_id in self.spc:
            if kpi_id not in KPIS_BY_ID:
                raise ValueError(f'"{kpi_id}" in spc is not a KPI; known KPIs: {", ".join(KPIS_BY_ID)}')
        return self

    def spc_settings(self, kpi_id: str) -> SpcSettings:
        """The KPI's SPC settings: those of the file, else the spec's defaults (R = T = 7, no rebase)."""
        return self.spc.get(kpi_id, DEFAULT_SPC)


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(x) for x in e["loc"])
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def load_kpi_config(path: Path | None = None) -> KpiConfig:
    """The configuration at path, else KPIDASH_CONFIG_FILE, else the packaged defaults."""
    path = path if path is not None else get_settings().config_file
    if path is None:
        text = resources.files("kpis").joinpath(DEFAULT_CONFIG).read_text(encoding="utf-8")
        where = f"the packaged {DEFAULT_CONFIG}"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KpiError(f"cannot read the KPI configuration file {where}: {exc}") from None
    try:
        try:
            data = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader: libyaml's, else Python's)
        except (yaml.YAMLError, ValueError):
            data = yaml.safe_load(text)  # the error again, as Python's parser tells it: with the line and a caret
    except yaml.YAMLError as exc:
        raise KpiError(f"the KPI configuration file {where} is not valid YAML: {exc}") from None
    except ValueError as exc:  # YAML reads 2025-13-01 as a date and fails
        raise KpiError(f"the KPI configuration file {where} has a date that does not exist ({exc}): "
                       "write dates YYYY-MM-DD") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise KpiError(f"the KPI configuration file {where} must be a mapping (targets, caseload_limit, closure_days, "
                       "domain_kpis, spc)")
    try:
        return KpiConfig.model_validate(data)
    except ValidationError as exc:
        raise KpiError(f"the KPI configuration file {where} has a problem: {_describe(exc)}") from None


# How each unit of measure is shown: the one rule for every tile, table, file and RAG status. A count
# is a whole number; what is worked out from counts (an average, a limit) is shown to one decimal.
DECIMALS = {"%": 1, "cases per FTE": 1}


def _places(value: float, unit_of_measure: str | None) -> int:
    if unit_of_measure in DECIMALS:
        return DECIMALS[unit_of_measure]
    return 0 if float(value).is_integer() else 1


def round_half_up(value: float, places: int = 0) -> float:
    """value rounded half up on its decimal form, as a person rounds: 56.25 -> 56.3, 62.5 -> 63. The one
    rounding rule for every figure shown: round() and f"{x:.1f}" round half to even, or the binary value
    (56.25 -> 56.2, 62.5 -> 62), so the same figure would read differently in two places."""
    return float(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)) + 0.0  # no -0.0


def shown_value(value: float | None, unit_of_measure: str | None) -> float | None:
    """The value as people read it: rounded half up (on its decimal form, as a person rounds) to the
    decimals its unit is shown with, so 97.95% is shown, and judged, as 98.0%."""
    if value is None:
        return None
    return round_half_up(value, _places(value, unit_of_measure))


def whole_percent(value: float) -> str:
    """A percentage in running text, to a whole number, rounded half up as every figure is: 62.5 -> "63%"."""
    return f"{round_half_up(value):.0f}%"


def format_figure(value: float | None, unit_of_measure: str | None) -> str:
    """The value as text: 98.0%, 14.2 (cases per FTE), 1,234 (a count) or 12.3 (an average of counts);
    None reads "no cases"."""
    if value is None:
        return "no cases"
    places = _places(value, unit_of_measure)
    text = f"{shown_value(value, unit_of_measure):,.{places}f}"
    return text + "%" if unit_of_measure == "%" else text


def rag_status(value: float | None, target: float | None, tolerance: float, polarity: Polarity | None,
               unit_of_measure: str | None = None) -> str | None:
    """Green/amber/red against a target (the spec's rule), judged on the value as it is shown (rounded to
    its unit's decimals), so a tile never reads 98.0% and red against a target of 98%; None (grey)
    without a target or a value."""
    value = shown_value(value, unit_of_measure) if unit_of_measure is not None else value
    if value is None or target is None or polarity is None:
        return None
    if polarity == "higher":
        if value >= target:
            return "green"
        return "amber" if value >= target - tolerance else "red"
    if value <= target:
        return "green"
    return "amber" if value <= target + tolerance else "red"


def with_targets(rows: Iterable[dict], config: KpiConfig) -> list[dict]:
    """KPI rows with what a reader needs beside the number: title, unit, target, RAG, comparator."""
    extras = target_extras(config)
    # finite rows stay so when what is added to them is (a target of .nan in the file is not)
    finite = isinstance(rows, FiniteRows) and extras_finite(extras)
    out = FiniteRows() if finite else []
    append = out.append
    for row in rows:
        static, judge = extras[row["kpi"]]
        new = {**row, **static}
        if judge is not None:
            new["rag"] = judge(row["value"])
        append(new)
    return out


Judge = Callable[[float | None], str | None]


def target_extras(config: KpiConfig) -> dict[str, tuple[dict, Judge | None]]:
    """Per KPI, what with_targets adds to each of its rows: the keys that do not depend on the row, in
    their order (`rag` None, its place kept), and the function that judges a value's RAG (None: no
    target, so no RAG)."""
    extras: dict[str, tuple[dict, Judge | None]] = {}
    for kpi in KPIS_BY_ID.values():
        t = config.targets.get(kpi.id)
        target = t.target if t is not None else None
        tolerance = t.tolerance if t is not None else None
        extras[kpi.id] = ({"title": kpi.title, "unit_of_measure": kpi.unit_of_measure, "target": target,
                           "tolerance": tolerance, "rag": None, "national_comparator": kpi.national_comparator},
                          None if target is None else _judge(target, tolerance or 0.0, kpi.polarity,
                                                             kpi.unit_of_measure))
    return extras


def extras_finite(extras: dict[str, tuple[dict, Judge | None]]) -> bool:
    """Whether every number target_extras adds is finite (a target of .nan in the file is not)."""
    return all(v is None or math.isfinite(v) for static, _ in extras.values()
               for v in (static["target"], static["tolerance"], static["national_comparator"]))


def _judge(target: float, tolerance: float, polarity: Polarity | None, unit_of_measure: str | None
           ) -> Callable[[float | None], str | None]:
    """rag_status(value, target, tolerance, polarity, unit_of_measure) for one KPI, as a function of the
    value, that rounds (in Decimal, the costly part) only values near a boundary: a value further than
    one shown unit (1 for counts) from both boundaries is on the same side of them as its rounding,
    which moves it by half a unit at most."""
    margin = 10.0 ** -DECIMALS[unit_of_measure] if unit_of_measure in DECIMALS else 1.0
    low = target - tolerance if polarity == "higher" else target + tolerance
    near: dict[float, str | None] = {}  # values near a boundary, judged (they repeat: 0, 100.0, ...)
    # "near": within a unit of a boundary, as bounds (a chained comparison costs less than abs(); a value
    # an ulp either side of a bound is judged right both ways: the fast path is right past half a unit)
    t_lo, t_hi, l_lo, l_hi = target - margin, target + margin, low - margin, low + margin

    def exact(value: float) -> str | None:  # a value near a boundary not judged yet
        if len(near) >= 4096:  # kept for a warehouse version's life (api/figures_json.py): bounded
            near.clear()
        rag = near[value] = rag_status(value, target, tolerance, polarity, unit_of_measure)
        return rag

    def higher(value: float | None) -> str | None:
        if value is None:
            return None
        if t_lo <= value <= t_hi or l_lo <= value <= l_hi or value != value:
            return near.get(value) or exact(value)  # (never None once judged: a target, a value, a polarity)
        return "green" if value >= target else "amber" if value >= low else "red"

    def lower(value: float | None) -> str | None:
        if value is None:
            return None
        if t_lo <= value <= t_hi or l_lo <= value <= l_hi or value != value:
            return near.get(value) or exact(value)  # (never None once judged: a target, a value, a polarity)
        return "green" if value <= target else "amber" if value <= low else "red"

    if polarity is None:
        return lambda value: None
    return higher if polarity == "higher" else lower
