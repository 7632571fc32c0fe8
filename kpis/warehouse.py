"""The published warehouse as the KPI layer reads it: read-only, with its working-day calendar.

An in-memory DuckDB database ATTACHes the published file READ_ONLY as `wh`, so the loader can
publish a new file (os.replace) while readers keep the old one, and the calendar table lives in
memory beside it, built once and widened only when a request reaches outside it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from types import TracebackType

import duckdb

from core.settings import get_settings
from etl.contract import QA_TABLES, ROW_GROUP_SIZE, TABLES
from kpis.cube import Cube, read_cube
from kpis.errors import KpiError, UnknownUnit
from kpis.targets import KpiConfig, load_kpi_config
from kpis.working_days import build_calendar, stored_bank_holidays

log = logging.getLogger("kpidash.kpis")

LEVELS = ("trust", "service", "team", "worker")
UNKNOWN = "UNKNOWN"
TRUST = "trust"

# Tables whose own team_id places a record, and the tables whose worker_id names a worker row.
_TEAM_TABLES = ("referrals", "assessments", "s47_enquiries", "episodes", "missing_episodes", "workers")
_WORKER_TABLES = ("referrals", "assessments", "s47_enquiries")
# The dates that working days are counted between (besides the as-at dates of requests).
_WD_DATES = (("assessments", "start_date"), ("assessments", "authorised_date"),
             ("s47_enquiries", "strategy_date"), ("s47_enquiries", "icpc_date"))
_CALENDAR_MARGIN = dt.timedelta(days=400)
# No request reaches past 2199 (kpis.engine.check_period), so neither need the calendar: a mistyped
# year 9999 in the data must not make it eight thousand years long.
_CALENDAR_CAP = dt.date(2199, 12, 31)


class Warehouse:
    """A read-only view of one published warehouse; share it, take a cursor per thread.

    cube: read figures from the warehouse's daily cube where it holds them (kpis/cube.py); False
    counts every figure from the records. read_only=False is for the cube's builder only, which
    writes into a warehouse file before it is published; so is `con`, a connection that has the file
    attached as `wh` already (the load's own, which wrote it: no second database opened), left open by close().
    """

    def __init__(self, path: Path, config: KpiConfig, *, cube: bool = True, read_only: bool = True,
                 con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.path = Path(path)
        self.config = config
        self.cube: Cube | None = None
        if not self.path.is_file():
            raise KpiError(f"no published warehouse at {self.path}: load an extract first (kpidash load FOLDER)")
        self._own = con is None
        self._con = duckdb.connect(":memory:") if con is None else con
        self._lock = threading.Lock()
        self._unit_lists: tuple[dict[str, list[str]], dict[str, set[str]]] | None = None  # (_listed_units)
        try:
            if self._own:
                # no progress bar: a long national query would draw one over the CLI's output
                self._con.execute("SET enable_progress_bar = false")
                quoted = str(self.path).replace("'", "''")
                self._con.execute(f"ATTACH '{quoted}' AS wh "
                                  f"({'READ_ONLY' if read_only else f'ROW_GROUP_SIZE {ROW_GROUP_SIZE}'})")
            have = {r[0] for r in self._con.execute(  # views too: the loader's rows as checked (the cube's builder)
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh' "
                "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = 'wh'").fetchall()}
            missing = [t.name for t in TABLES if t.name not in have] + (
                [] if "extract_meta" in have else ["extract_meta"])
            if missing:
                raise KpiError(
                    f"{self.path} is not a published kpidash warehouse (missing tables: {', '.join(missing)})")
            meta = self._con.execute(
                "SELECT run_id, extracted_at, source_system FROM wh.extract_meta ORDER BY loaded_at DESC NULLS LAST LIMIT 1"
            ).fetchone()
            if meta is None or meta[1] is None:
                raise KpiError(f"{self.path} has no extract date (extract_meta is empty): reload the extract")
            self.run_id: str = str(meta[0])
            self.extract_date: dt.date = meta[1].date()
            self.source_system: str | None = meta[2]
            self.loaded_tables: frozenset[str] = self._loaded_tables(have)
            self._read_teams()
            lo, hi = self._data_date_range()
            first = min(lo, self.extract_date)
            self._cal_first = first - _CALENDAR_MARGIN if first > dt.date.min + _CALENDAR_MARGIN else dt.date.min
            self._cal_last = min(max(hi, self.extract_date), _CALENDAR_CAP) + _CALENDAR_MARGIN
            known = stored_bank_holidays(self._con, "wh", self._cal_first.year, self._cal_last.year)
            build_calendar(self._con, self._cal_first, self._cal_last, config.closure_days, known)
            if cube:
                self._read_cube()
        except duckdb.Error as exc:
            self.close()
            raise KpiError(f"cannot read the warehouse {self.path}: {exc}") from None
        except KpiError:
            self.close()
            raise

    def _read_cube(self) -> None:
        """The daily cube, when the warehouse has one this code can read: a cube that cannot be read
        only costs speed (every figure is counted from the records), never the warehouse."""
        try:
            self.cube = read_cube(self._con, self.config)
        except (duckdb.Error, ValueError, TypeError, OSError) as exc:
            log.warning("the daily KPI cube of %s cannot be read (%s); figures are counted from the records",
                        self.path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self.cube = None

    def _loaded_tables(self, have: set[str]) -> frozenset[str]:
        """The tables the published extract held: the nine always; a QA file only when it was loaded
        (warehouses published before the QA files existed hold none)."""
        required = {t.name for t in TABLES}
        if "extract_files" not in have:
            return frozenset(required)
        supplied = {r[0] for r in self._con.execute(
            "SELECT file FROM wh.extract_files WHERE supplied").fetchall()}
        qa = {t.name for t in QA_TABLES if t.file_name in supplied and t.name in have}
        return frozenset(required | qa)

    def has_table(self, name: str) -> bool:
        """Whether the extract held this file (a QA figure needs its file: without it, no rows)."""
        return name in self.loaded_tables

    def _data_date_range(self) -> tuple[dt.date, dt.date]:
        parts = " UNION ALL ".join(f"SELECT min({c}) AS lo, max({c}) AS hi FROM wh.{t}" for t, c in _WD_DATES)
        lo, hi = self._con.execute(f"SELECT min(lo), max(hi) FROM ({parts})").fetchone()
        return (lo or self.extract_date, hi or self.extract_date)

    def _read_teams(self) -> None:
        self._teams = [
            {"team_id": r[0], "team_name": r[1], "service": r[2]}
            for r in self._con.execute("SELECT team_id, team_name, service FROM wh.teams ORDER BY team_id").fetchall()
        ]

    def _listed_units(self) -> tuple[dict[str, list[str]], dict[str, set[str]]]:
        """Every level's units (lists, and sets to look in), read on first use: the cube's builder opens
        the new warehouse at every load and needs only its teams (these queries were 12 ms of a sample load)."""
        found = self._unit_lists
        if found is not None:
            return found
        with self._lock:
            if self._unit_lists is None:
                try:
                    with self._con.cursor() as cur:
                        self._unit_lists = self._read_unit_lists(cur)
                except duckdb.Error as exc:
                    raise KpiError(f"cannot read the warehouse {self.path}: {exc}") from None
            return self._unit_lists

    def _read_unit_lists(self, cur: duckdb.DuckDBPyConnection) -> tuple[dict[str, list[str]], dict[str, set[str]]]:
        team_tables = _TEAM_TABLES + (("audits",) if self.has_table("audits") else ())
        worker_tables = _WORKER_TABLES + (("audits",) if self.has_table("audits") else ())
        unknown_team = " OR ".join(
            f"EXISTS (SELECT 1 FROM wh.{t} x ANTI JOIN wh.teams tm ON tm.team_id = x.team_id)" for t in team_tables
        )
        has_unknown = cur.execute(f"SELECT {unknown_team}").fetchone()[0]
        extra = [UNKNOWN] if has_unknown else []
        workers = " UNION ".join(
            ["SELECT worker_id FROM wh.workers"]
            + [f"SELECT nullif(worker_id, '') FROM wh.{t}" for t in worker_tables]
        )
        services = sorted({t["service"] for t in self._teams})
        team_ids = [t["team_id"] for t in self._teams]
        units = {  # a real team (or service) called UNKNOWN is the same unit: listed once
            TRUST: [TRUST],
            "service": services + [u for u in extra if u not in services],
            "team": team_ids + [u for u in extra if u not in team_ids],
            "worker": [r[0] for r in cur.execute(
                f"SELECT worker_id FROM ({workers}) w(worker_id) WHERE worker_id IS NOT NULL ORDER BY 1").fetchall()],
        }
        return units, {level: set(names) for level, names in units.items()}

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for this thread: DuckDB connections must not be shared between threads."""
        return self._con.cursor()

    @property
    def calendar_years(self) -> tuple[int, int]:
        """The years the working-day calendar spans (all of them, bank holidays included)."""
        return self._cal_first.year, self._cal_last.year

    def ensure_calendar(self, first: dt.date, last: dt.date) -> None:
        """Widen the working-day calendar when a request reaches outside it (rare: built wide)."""
        if first >= self._cal_first and last <= self._cal_last:
            return
        with self._lock:
            new_first, new_last = min(first, self._cal_first), max(last, self._cal_last)
            if (new_first, new_last) != (self._cal_first, self._cal_last):
                with self._con.cursor() as cur:
                    known = stored_bank_holidays(cur, "wh", new_first.year, new_last.year)
                    build_calendar(cur, new_first, new_last, self.config.closure_days, known)
                self._cal_first, self._cal_last = new_first, new_last

    def units(self, level: str) -> list[str]:
        """Units that exist at a level: teams.csv's teams and services, workers, UNKNOWN if used."""
        check_level(level)
        return list(self._listed_units()[0][level])

    def has_unit(self, level: str, unit: str) -> bool:
        """Whether the unit exists at the level (see units)."""
        return unit in self._listed_units()[1][level]

    def infer_level(self, unit: str) -> str:
        """The level a unit name belongs to: trust, a team (first), a service, then a worker."""
        sets = self._listed_units()[1]
        for level in ("trust", "team", "service", "worker"):
            if unit in sets[level]:
                return level
        raise UnknownUnit(f'"{unit}" is not the trust, a team, a service or a worker in this extract')

    def teams(self) -> list[dict]:
        """The teams of teams.csv (team_id, team_name, service), ordered by team_id."""
        return [dict(t) for t in self._teams]

    def close(self) -> None:
        """Release the file (not a connection it was given); the Warehouse is unusable afterwards."""
        if self._own:
            self._con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def check_level(level: str) -> str:
    """The level, or an error naming the levels there are."""
    if level not in LEVELS:
        raise KpiError(f'"{level}" is not a level; use one of: {", ".join(LEVELS)}')
    return level


def open_warehouse(path: Path | None = None, config: KpiConfig | None = None, cube: bool | None = None) -> Warehouse:
    """Open the published warehouse (default KPIDASH_DB) with the KPI configuration (default file);
    cube: read figures from its daily cube (default KPIDASH_CUBE)."""
    return Warehouse(path if path is not None else get_settings().db,
                     config if config is not None else load_kpi_config(),
                     cube=get_settings().cube if cube is None else cube)
