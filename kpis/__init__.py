"""The KPI layer: every KPI of ../shared/spec/kpis.md, at every level, for any period, with the
child-level records behind each figure. Public surface below; the rest is internal."""

from kpis.compute import answered_from_cube, compute_kpis
from kpis.errors import InvalidPeriod, KpiError, UnknownKpi, UnknownUnit
from kpis.records import kpi_records
from kpis.registry import KPIS, Kpi, get_kpi
from kpis.spc import kpi_spc
from kpis.targets import KpiConfig, load_kpi_config, rag_status, with_targets
from kpis.trends import kpi_trend
from kpis.warehouse import Warehouse, open_warehouse

__all__ = [
    "KPIS",
    "Kpi",
    "get_kpi",
    "Warehouse",
    "open_warehouse",
    "compute_kpis",
    "kpi_records",
    "kpi_trend",
    "kpi_spc",
    "KpiConfig",
    "load_kpi_config",
    "with_targets",
    "rag_status",
    "KpiError",
    "UnknownKpi",
    "UnknownUnit",
    "InvalidPeriod",
    "answered_from_cube",
]
