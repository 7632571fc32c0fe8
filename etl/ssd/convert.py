"""A folder of SSD CSV files into a contract extract the loader checks and publishes.

`convert_ssd_folder` keeps the SSD files as received (`<run>/ssd/`, with SHA256SUMS), reads them
(etl.ssd.reader), maps them (etl.ssd.mapping) and writes the contract's nine CSV files, manifest.json
(source_system `ssd`), the mapping's grouped warnings and the row map the report needs
(`<run>/ssd_extract/`). The loader then applies the contract's rules to those files exactly as to its
own, and `SsdConversion.report` puts their rejects and warnings back in the SSD's terms.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from etl.archive import ArchivedFile, ArchiveError, archive_file, write_checksums
from etl.contract import TABLES
from etl.sql import quoted
from etl.ssd.mapping import MAPPED, extract_date, map_tables
from etl.ssd.options import SsdOptionsError, read_options
from etl.ssd.reader import SsdError, check_tables, find_ssd_files, stage_tables
from etl.ssd.report import SOURCE_TABLE, Labels, adjusted_counts, mapping_warnings, translate
from etl.ssd.tables import SSD_TABLES
from etl.validation import RUN_ISSUES_DDL

SOURCE_SYSTEM = "ssd"
MANIFEST = "manifest.json"
DATABASE_KEY = "ssd_database"  # set in manifest.json by a database read: rows are then source row numbers
ISSUES_FILE = "ssd_issues.parquet"
ROWMAP_FILE = "ssd_rows.parquet"
LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class SsdConversion:
    """The contract extract an SSD became, and what its report needs."""

    folder: Path
    extracted_at: dt.datetime
    issues_path: Path
    rowmap_path: Path
    labels: Labels
    allocated_roles: tuple[str, ...]
    refused: dict[str, int]  # contract file -> SSD rows the CSV reader refused, of the SSD table it comes from
    warnings: dict[str, int]  # contract file -> the mapping's grouped warnings about it

    def report(
        self, con: duckdb.DuckDBPyConnection, counts: Mapping[str, tuple[int, int, int]]
    ) -> dict[str, tuple[int, int, int]]:
        """Translate the run's `issues` to SSD tables, rows and fields; the per-file counts with the SSD's own."""
        translate(con, str(self.rowmap_path), self.labels, self.allocated_roles)
        return adjusted_counts(con, counts, self.refused, self.warnings)

    def refused_order(self, contract_file: str) -> int:
        """The `file_order` of the issues of the SSD rows the CSV reader refused that count as the contract
        file's rejects (`refused`): those of the SSD table it comes from."""
        return self.labels.order(SOURCE_TABLE[contract_file])


def convert_ssd_folder(folder: Path, run_dir: Path, options_path: Path | None = None) -> SsdConversion:
    """Archive the SSD CSV files of `folder` into run_dir/ssd and write the contract extract into run_dir/ssd_extract.

    SsdError (the message names every missing table and field) when the SSD cannot be loaded at all.
    """
    try:
        options = read_options(options_path)
    except SsdOptionsError as err:
        raise SsdError(str(err)) from None
    present = _archive(folder, run_dir / "ssd")
    check_tables(present)
    manifest = _read_manifest(run_dir / "ssd" / MANIFEST)
    labels = Labels(database=bool(manifest and manifest.get(DATABASE_KEY)))
    out = run_dir / "ssd_extract"
    out.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.execute(RUN_ISSUES_DDL)
        multi_line = stage_tables(con, present, {t.name: labels.order(t.name) for t in SSD_TABLES}, labels.database)
        extracted_at = _extracted_at(con, manifest)
        map_tables(con, options, extracted_at.date())
        warnings = mapping_warnings(con, labels, options.allocated_roles)
        refused = _refused(con, labels)
        rowmap = _write_tables(con, out, multi_line)
        issues_path = out / ISSUES_FILE
        con.execute(f"COPY issues TO {quoted(str(issues_path))} (FORMAT parquet)")
    (out / MANIFEST).write_text(
        json.dumps({"extracted_at": extracted_at.isoformat(timespec="seconds"), "source_system": SOURCE_SYSTEM}),
        encoding="utf-8",
    )
    return SsdConversion(out, extracted_at, issues_path, rowmap, labels, options.allocated_roles, refused, warnings)


def _archive(folder: Path, dest: Path) -> dict[str, ArchivedFile]:
    """The SSD files (and manifest.json) copied as received; SsdError when one cannot be read or kept."""
    if not folder.is_dir():
        raise SsdError(f"{folder} is not a folder of SSD CSV files")
    dest.mkdir(parents=True, exist_ok=True)
    found = find_ssd_files(folder)
    kept: dict[str, ArchivedFile] = {}
    try:
        for table, path in found.items():
            kept[table] = archive_file(path, dest / f"{table}.csv")
        manifest = next((p for p in folder.iterdir() if p.name.lower() == MANIFEST), None)
        extra = [archive_file(manifest, dest / MANIFEST)] if manifest is not None and manifest.is_file() else []
    except ArchiveError as err:
        raise SsdError(f"the SSD files cannot be archived: {err}") from None
    except OSError as err:
        raise SsdError(f"an SSD file in {folder} cannot be read ({err.strerror or err})") from None
    write_checksums(dest, [*kept.values(), *extra])
    return kept


def _read_manifest(path: Path) -> dict | None:
    """The folder's manifest.json, checked as the loader checks the contract's (LoadError if malformed)."""
    if not path.is_file():
        return None
    from etl.loader import read_manifest  # the loader imports this package; the manifest rules are its

    extracted_at, _ = read_manifest(path)
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    return {**data, "extracted_at": extracted_at}


def _extracted_at(con: duckdb.DuckDBPyConnection, manifest: dict | None) -> dt.datetime:
    """manifest.json's extracted_at; else the latest SSD date not after today; else now."""
    if manifest is not None:
        return manifest["extracted_at"]
    now = dt.datetime.now(LONDON).replace(tzinfo=None, microsecond=0)
    latest = extract_date(con, now.date())
    return dt.datetime.combine(latest, dt.time()) if latest is not None else now


def _refused(con: duckdb.DuckDBPyConnection, labels: Labels) -> dict[str, int]:
    """Rows the CSV reader refused, counted as rejected rows of each contract file their table feeds
    (the conferences and disabilities feed none: they only inform the enquiries and children)."""
    per_table = {
        table: n for table, n in con.execute(
            "SELECT file, count(DISTINCT line) FROM issues WHERE severity = 'reject' GROUP BY file").fetchall()
    }
    out: dict[str, int] = {}
    for contract_file, table in SOURCE_TABLE.items():
        n = per_table.get(labels.file(table), 0)
        if n:
            out[contract_file] = n
    return out


def _write_tables(con: duckdb.DuckDBPyConnection, out: Path, multi_line: bool) -> Path:
    """The contract CSV files in SSD row order, and the row map: contract (file, line) -> SSD row.

    A contract value holds a line break only if an SSD value did (`multi_line`); then its row spans lines
    in the contract file too, and the lines are counted as the loader counts them."""
    maps = []
    for table in TABLES:
        mapped, cols = MAPPED[table.name], table.column_names
        path = out / table.file_name
        con.execute(f"COPY (SELECT {', '.join(cols)} FROM {mapped} ORDER BY _line) TO {quoted(str(path))} "
                    "(FORMAT csv, HEADER true)")
        # a value holding a line break spans lines in the file: count them, as the loader numbers lines
        breaks = " + ".join(f"coalesce(strlen({c}) - strlen(replace({c}, chr(10), '')), 0)" for c in cols)
        before = (f"coalesce(sum({breaks}) OVER (ORDER BY _line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)"
                  if multi_line else "0")
        icpc = ("_icpc_line AS icpc_line, _icpc_row AS icpc_row" if table.name == "s47_enquiries"
                else "NULL::BIGINT AS icpc_line, NULL::BIGINT AS icpc_row")
        maps.append(
            f"""SELECT '{table.file_name}' AS file,
                       1 + row_number() OVER (ORDER BY _line) + {before} AS line,
                       _line AS ssd_line, _row AS ssd_row, {icpc} FROM {mapped}"""
        )
    rowmap = out / ROWMAP_FILE
    con.execute(f"COPY ({' UNION ALL '.join(maps)}) TO {quoted(str(rowmap))} (FORMAT parquet)")
    return rowmap
