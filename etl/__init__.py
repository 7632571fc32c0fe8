"""The ETL layer: load a case-management extract (the contract's CSV files) into the DuckDB warehouse.

The public surface other layers and the CLI use; everything else in etl/ is an implementation detail.
"""

from etl.issues import Issue, UnknownRun, run_issues
from etl.loader import LoadResult, load_extract
from etl.runlog import FileResult, RunInfo, last_failed_run, last_good_run, list_runs

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
