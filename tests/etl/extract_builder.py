"""Small hand-made extracts for tests: a minimal valid extract, and ways to change exactly one thing.

The minimal extract has one row per file (one team, one worker, one child with one referral,
assessment, s47 enquiry, episode, allocation and missing episode), all consistent, plus a manifest
dated 2025-11-24. A test changes what it needs:

    build_extract(tmp_path / "x", rows={"assessments": [{"authorised_date": "31/05/2025"}]})

Each dict in `rows[table]` is laid over that table's default row, so a test names only the cells it
cares about; `rows` replaces the file's rows, `add` appends after the default row. Rows are written in
order from line 2 (the header is line 1), so `line_of(i)` is the line of the i-th row (0-based).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from etl.contract import TABLES, TABLES_BY_NAME

EXTRACT_DATE = "2025-11-24"
DEFAULT_MANIFEST = {"extracted_at": f"{EXTRACT_DATE}T06:30:00", "source_system": "test-fixture"}

DEFAULT_ROWS: dict[str, dict[str, str]] = {
    "teams": {"team_id": "T1", "team_name": "Team Bramblewick", "service": "Assessment and MASH"},
    "workers": {
        "worker_id": "W1", "worker_name": "Juniper Quillfeather", "team_id": "T1", "role": "social_worker",
        "qualified": "Y", "fte": "1", "agency": "N", "start_date": "2024-01-01", "end_date": "",
    },
    "children": {"child_id": "C1", "date_of_birth": "2015-03-04", "gender": "F", "ethnicity": "WBRI", "disability": "N"},
    "referrals": {
        "referral_id": "R1", "child_id": "C1", "referral_date": "2025-01-06", "source": "1A", "nfa": "N",
        "team_id": "T1", "worker_id": "W1",
    },
    "assessments": {
        "assessment_id": "A1", "child_id": "C1", "referral_id": "R1", "start_date": "2025-01-07",
        "authorised_date": "2025-02-10", "team_id": "T1", "worker_id": "W1",
    },
    "s47_enquiries": {
        "s47_id": "S1", "child_id": "C1", "strategy_date": "2025-01-08", "completed_date": "2025-01-20",
        "icpc_required": "Y", "icpc_date": "2025-01-27", "team_id": "T1", "worker_id": "W1",
    },
    "episodes": {
        "episode_id": "E1", "child_id": "C1", "episode_type": "CIN", "start_date": "2025-01-07", "end_date": "",
        "team_id": "T1",
    },
    "allocations": {"allocation_id": "AL1", "child_id": "C1", "worker_id": "W1", "start_date": "2025-01-07", "end_date": ""},
    "missing_episodes": {
        "missing_id": "M1", "child_id": "C1", "start_time": "2025-02-01T10:00", "end_time": "2025-02-01T18:30:00",
        "rhi_offered_time": "2025-02-02T09:00", "rhi_accepted": "Y", "team_id": "T1",
    },
}
assert set(DEFAULT_ROWS) == {t.name for t in TABLES}
assert all(list(DEFAULT_ROWS[t.name]) == t.column_names for t in TABLES)


def line_of(index: int) -> int:
    """The file line of the index-th data row (0-based) in a file written by build_extract."""
    return index + 2


def csv_text(header: Sequence[str], rows: Sequence[Mapping[str, str]]) -> str:
    """RFC 4180 CSV text (LF line ends) of rows; a cell a row does not name is empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([row.get(name, "") for name in header] for row in rows)
    return out.getvalue()


def build_extract(
    folder: Path,
    rows: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    *,
    add: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
    raw: Mapping[str, str | bytes] | None = None,
    drop: Sequence[str] = (),
    manifest: Mapping[str, object] | str | None = DEFAULT_MANIFEST,
) -> Path:
    """Write an extract into folder (created) and return folder.

    rows / add: per table name, dicts laid over the default row (rows replaces, add appends);
    columns: per table name, the header to write instead of the contract's (to drop or add columns);
    raw: per file name, exact content to write instead (str is written as UTF-8);
    drop: file names to leave out; manifest: a dict (written as JSON), raw text, or None for none.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows, add, columns, raw = rows or {}, add or {}, columns or {}, raw or {}
    unknown = (set(rows) | set(add) | set(columns)) - set(TABLES_BY_NAME)
    assert not unknown, f"not contract tables: {unknown}"
    for table in TABLES:
        name = table.file_name
        if name in drop:
            continue
        path = folder / name
        if name in raw:
            content = raw[name]
            path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
            continue
        base = DEFAULT_ROWS[table.name]
        table_rows = [{**base, **r} for r in rows.get(table.name, [base])]
        table_rows += [{**base, **r} for r in add.get(table.name, [])]
        header = list(columns.get(table.name, table.column_names))
        path.write_text(csv_text(header, table_rows), encoding="utf-8", newline="")
    if isinstance(manifest, str):
        (folder / "manifest.json").write_text(manifest, encoding="utf-8")
    elif manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder
