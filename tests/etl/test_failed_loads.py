"""Bad input fails the run with a message an analyst can act on, and leaves the published warehouse as it was."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pytest
from extract_builder import DEFAULT_ROWS, build_extract, csv_text
from load_support import own_settings, query

from core import appdb
from core.settings import get_settings
from etl import last_failed_run, last_good_run, load_extract, run_issues
from etl.contract import TABLES_BY_NAME

WORKER_COLUMNS = TABLES_BY_NAME["workers"].column_names


@pytest.fixture(scope="module")
def good_warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A good extract published once for the module: (data folder, its run id, the file's SHA-256)."""
    root = tmp_path_factory.mktemp("published")
    with own_settings(root / "data") as db:
        result = load_extract(build_extract(root / "good"))
        assert result.status == "published"
        return root / "data", result.run_id, hashlib.sha256(db.read_bytes()).hexdigest()


@pytest.fixture
def published(good_warehouse, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Point this test at the module's published warehouse (and its load log): (run id, SHA-256)."""
    data, run_id, digest = good_warehouse
    monkeypatch.setenv("KPIDASH_DB", str(data / "warehouse.duckdb"))
    monkeypatch.setenv("KPIDASH_ARCHIVE_DIR", str(data / "archive"))
    monkeypatch.setenv("KPIDASH_APP_DB", f"sqlite:///{data / 'app.db'}")
    get_settings.cache_clear()
    appdb.get_engine.cache_clear()
    return run_id, digest


def _assert_untouched(published: tuple[str, str]) -> None:
    run_id, digest = published
    db = get_settings().db
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert query(db, "SELECT run_id FROM extract_meta") == [(run_id,)]
    assert query(db, "SELECT count(*) FROM referrals") == [(1,)]
    assert [p.name for p in db.parent.iterdir() if p.name.endswith(".tmp")] == []


def _fail(folder: Path) -> str:
    result = load_extract(folder)
    assert result.status == "failed"
    assert last_failed_run().run_id == result.run_id
    assert last_failed_run().message == result.message
    return result.message


CANNOT = "the extract cannot be loaded: "


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ({"drop": ["referrals.csv"]}, CANNOT + "referrals.csv is missing"),
        (
            {"drop": ["teams.csv", "workers.csv"]},
            CANNOT + "teams.csv is missing (and 1 more)\n  - teams.csv is missing\n  - workers.csv is missing",
        ),
        (
            {"columns": {"workers": [c for c in WORKER_COLUMNS if c != "fte"]}},
            CANNOT + "workers.csv has no column fte (required); the header is: worker_id, worker_name, team_id, "
            "role, qualified, agency, start_date, end_date",
        ),
        (
            {"raw": {"teams.csv": "Team_ID,team_name,service\nT1,A,S\n"}},
            CANNOT + 'teams.csv has no column team_id (required) (found "Team_ID" for team_id: names must match '
            "exactly); the header is: Team_ID, team_name, service",
        ),
        (  # saved as "CSV (semicolon delimited)": an audit's case, which said only what the header is
            {"raw": {"teams.csv": "team_id;team_name;service\nT1;A;S\n"}},
            CANNOT + "teams.csv has no column team_id, team_name, service (required) (the header is one column "
            "holding semicolons: the file seems separated by semicolons, and the contract's files are "
            "comma-separated; save it as CSV, comma delimited); the header is: team_id;team_name;service",
        ),
        (
            {"raw": {"teams.csv": "team_id,team_name,service,team_name\nT1,A,S,B\n"}},
            CANNOT + "teams.csv: the header names the column team_name more than once",
        ),
        (
            {"raw": {"children.csv": ""}},
            CANNOT + "children.csv is empty: it has no header row (the first line must name the columns)",
        ),
        (
            {"raw": {"children.csv": "\n\n"}},
            CANNOT + "children.csv is empty: it has no header row (the first line must name the columns)",
        ),
        (
            {"raw": {"episodes.csv": bytes(range(256)) * 4}},
            CANNOT + "episodes.csv is not a text file (line 1 holds binary data: a NUL byte); export it again as CSV",
        ),
        (
            {"raw": {"workers.csv": csv_text(WORKER_COLUMNS, [DEFAULT_ROWS["workers"], {**DEFAULT_ROWS["workers"], "worker_id": "W2", "worker_name": "Zoë Fernwhistle"}]).encode("latin-1")}},
            CANNOT + "workers.csv is not UTF-8 text (line 3 has the byte 0xEB, e.g. an accented letter saved in another "
            "encoding); save it as CSV UTF-8",
        ),
        (
            {"manifest": "{not json"},
            CANNOT + "manifest.json is not valid JSON (Expecting property name enclosed in double quotes: line 1 "
            'column 2 (char 1)); expected e.g. {"extracted_at": "2025-11-24T06:30:00", "source_system": "LCS"}',
        ),
        (
            {"manifest": {"extracted_at": "24/11/2025 06:30"}},
            CANNOT + 'manifest.json extracted_at is "24/11/2025 06:30", not a date-time (expected YYYY-MM-DDTHH:MM:SS, '
            'e.g. {"extracted_at": "2025-11-24T06:30:00", "source_system": "LCS"})',
        ),
        (
            {"manifest": {"source_system": "LCS"}},
            CANNOT + "manifest.json extracted_at is nothing, not a date-time (expected YYYY-MM-DDTHH:MM:SS, "
            'e.g. {"extracted_at": "2025-11-24T06:30:00", "source_system": "LCS"})',
        ),
        (
            {"manifest": {"extracted_at": "2025-02-30T06:30:00"}},
            CANNOT + 'manifest.json extracted_at "2025-02-30T06:30:00" is not a real date-time',
        ),
        (
            {"manifest": '["2025-11-24T06:30:00"]'},
            CANNOT + 'manifest.json must hold a JSON object, e.g. {"extracted_at": "2025-11-24T06:30:00", '
            '"source_system": "LCS"}',
        ),
    ],
    ids=["missing-file", "two-missing", "missing-column", "near-miss-column", "semicolons", "repeated-column",
         "empty-file", "blank-file", "binary", "latin-1", "manifest-not-json", "manifest-bad-date", "manifest-no-date",
         "manifest-impossible-date", "manifest-not-object"],
)
def test_bad_input_fails_the_run_and_leaves_the_warehouse(tmp_path: Path, published, build, message: str) -> None:
    assert _fail(build_extract(tmp_path / "bad", **build)) == message
    _assert_untouched(published)


def test_a_file_named_in_another_case_is_pointed_out(tmp_path: Path, published) -> None:
    folder = build_extract(tmp_path / "bad", drop=["teams.csv"])
    (folder / "Teams.csv").write_text("team_id,team_name,service\nT1,A,S\n", encoding="utf-8")
    assert _fail(folder) == CANNOT + "teams.csv is missing (found Teams.csv: names must match exactly)"
    _assert_untouched(published)


def test_a_folder_named_as_a_file_is_said_to_be_a_folder(tmp_path: Path, published) -> None:
    folder = build_extract(tmp_path / "bad", drop=["teams.csv"])
    (folder / "teams.csv").mkdir()
    assert _fail(folder) == CANNOT + "teams.csv is a folder, not a file"
    folder = build_extract(tmp_path / "bad2", manifest=None)
    (folder / "manifest.json").mkdir()  # not "no manifest" (the load's time would become the extract date)
    assert _fail(folder) == CANNOT + "manifest.json is a folder, not a file"
    _assert_untouched(published)


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc to make a file that cannot be read")
def test_an_unreadable_file_fails_the_run(tmp_path: Path, published) -> None:
    folder = build_extract(tmp_path / "bad", drop=["teams.csv"])
    os.symlink("/proc/self/mem", folder / "teams.csv")  # a file every read of fails, even for root
    assert _fail(folder) == CANNOT + "teams.csv cannot be read (Input/output error)"
    _assert_untouched(published)


def test_a_manifest_not_in_utf8_says_so_not_python_codec_words(tmp_path: Path, published) -> None:
    folder = build_extract(tmp_path / "bad", manifest=None)
    (folder / "manifest.json").write_bytes('{"extracted_at": "2025-11-24T06:30:00", "source_system": "Système"}'
                                           .encode("latin-1"))
    assert _fail(folder) == CANNOT + ('manifest.json is not UTF-8 text (byte 63 is not): save it as UTF-8, e.g. '
                                      '{"extracted_at": "2025-11-24T06:30:00", "source_system": "LCS"}')
    _assert_untouched(published)


def test_a_link_to_nothing_is_said_to_be_one(tmp_path: Path, published) -> None:
    """An ETL audit: a dangling symlink was reported as "teams.csv is missing (found teams.csv ...)"."""
    folder = build_extract(tmp_path / "bad", drop=["teams.csv"])
    os.symlink(tmp_path / "moved" / "teams.csv", folder / "teams.csv")
    assert _fail(folder) == CANNOT + f"teams.csv is a link to {tmp_path / 'moved' / 'teams.csv'}, which does not exist"
    _assert_untouched(published)


def test_a_folder_that_does_not_exist_fails_the_run(tmp_path: Path, published) -> None:
    assert _fail(tmp_path / "nowhere") == f"{tmp_path / 'nowhere'} does not exist"
    _assert_untouched(published)


def test_a_file_instead_of_a_folder_fails_the_run(tmp_path: Path, published) -> None:
    (tmp_path / "teams.csv").write_text("team_id\n", encoding="utf-8")
    assert _fail(tmp_path / "teams.csv") == (
        f"{tmp_path / 'teams.csv'} is not a folder: give the folder that holds the extract's CSV files"
    )
    _assert_untouched(published)


def test_more_than_the_allowed_share_of_rejects_fails_and_lists_the_first(tmp_path: Path, published) -> None:
    folder = build_extract(tmp_path / "bad", add={"assessments": [{"assessment_id": "A2", "authorised_date": "31/05/2025"}]})
    result = load_extract(folder)
    assert result.status == "failed"
    assert result.message == (
        "nothing was published: assessments.csv: 1 of 2 rows rejected (50.0%), more than the 2% allowed "
        f"(KPIDASH_MAX_REJECT_PCT)\nfirst rejected rows (all of them: kpidash rejects {result.run_id}):\n"
        '  assessments.csv line 3: authorised_date "31/05/2025" is not a date (expected YYYY-MM-DD)'
    )
    assert [i.message for i in run_issues(result.run_id)] == [
        'assessments.csv line 3: authorised_date "31/05/2025" is not a date (expected YYYY-MM-DD)'
    ]
    assert last_good_run().run_id == published[0]
    _assert_untouched(published)


def _referrals(n: int, bad: int) -> list[dict[str, str]]:
    rows = [{"referral_id": f"R{i}"} for i in range(1, n + 1)]
    for row in rows[:bad]:
        row["nfa"] = "maybe"
    return rows


@pytest.mark.parametrize(("rows", "bad", "status"), [(50, 1, "published"), (49, 1, "failed"), (100, 2, "published"), (100, 3, "failed")])
def test_the_limit_is_more_than_two_percent_of_a_files_rows(tmp_path: Path, rows: int, bad: int, status: str) -> None:
    result = load_extract(build_extract(tmp_path / "x", rows={"referrals": _referrals(rows, bad)}))
    assert result.status == status
    referrals = next(f for f in result.files if f.file == "referrals.csv")
    assert (referrals.rows_read, referrals.rows_rejected) == (rows, bad)


def test_the_limit_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIDASH_MAX_REJECT_PCT", "0")
    get_settings.cache_clear()
    result = load_extract(build_extract(tmp_path / "x", rows={"referrals": _referrals(100, 1)}))
    assert result.status == "failed"
    assert "more than the 0% allowed (KPIDASH_MAX_REJECT_PCT)" in result.message


def test_a_failed_run_keeps_its_inputs_and_their_checksums(tmp_path: Path) -> None:
    folder = build_extract(tmp_path / "bad", drop=["referrals.csv"])
    result = load_extract(folder)
    run_dir = get_settings().archive_dir / result.run_id
    sums = (run_dir / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    names = sorted(p.name for p in folder.iterdir())
    assert sorted(line.split("  ")[1] for line in sums) == names
    for line in sums:
        digest, name = line.split("  ")
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
        assert (run_dir / name).read_bytes() == (folder / name).read_bytes()
    assert (run_dir / "issues.parquet").exists()
    by_file = {f.file: f.sha256 for f in result.files}
    assert by_file["referrals.csv"] is None
    assert by_file["teams.csv"] == hashlib.sha256((folder / "teams.csv").read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2025-11-24T06:30:00", dt.datetime(2025, 11, 24, 6, 30)),
        ("2025-11-24T06:30", dt.datetime(2025, 11, 24, 6, 30)),
        ("2025-06-01T05:30:00Z", dt.datetime(2025, 6, 1, 6, 30)),  # UTC, given as London summer time
        ("2025-06-01T07:30:00+02:00", dt.datetime(2025, 6, 1, 6, 30)),
    ],
)
def test_the_manifest_gives_the_extract_date(tmp_path: Path, stamp: str, expected: dt.datetime) -> None:
    result = load_extract(build_extract(tmp_path / "x", manifest={"extracted_at": stamp}))
    assert (result.status, result.extracted_at) == ("published", expected)
    assert query(get_settings().db, "SELECT extracted_at, source_system FROM extract_meta") == [(expected, None)]
    assert json.loads((get_settings().archive_dir / result.run_id / "manifest.json").read_text()) == {"extracted_at": stamp}
