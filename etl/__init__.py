"""The ETL layer: load a case-management extract (the contract's CSV files) into the DuckDB warehouse.

The public surface other layers and the CLI use; everything else in etl/ is an implementation detail.
Its names are imported on first use, so that `kpidash load` reads and checks the files while the load
log (SQLAlchemy and the app database, etl.runlog) is still being opened (etl.loader).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from etl.issues import Issue, UnknownRun, run_issues
    from etl.loader import LoadResult, load_extract
    from etl.runlog import FileResult, RunInfo, last_failed_run, last_good_run, list_runs

_HOME = {
    "Issue": "etl.issues", "UnknownRun": "etl.issues", "run_issues": "etl.issues",
    "LoadResult": "etl.loader", "load_extract": "etl.loader",
    "FileResult": "etl.runlog", "RunInfo": "etl.runlog", "last_failed_run": "etl.runlog",
    "last_good_run": "etl.runlog", "list_runs": "etl.runlog",
}

__all__ = [
    "FileResult",
    "Issue",
    "LoadResult",
    "RunInfo",
    "UnknownRun",
    "last_failed_run",
    "last_good_run",
    "list_runs",
    "load_extract",
    "run_issues",
]


def __getattr__(name: str) -> Any:  # noqa: ANN401  (PEP 562: each name from its module, on first use)
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module 'etl' has no attribute {name!r}")
