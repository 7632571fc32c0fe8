"""A careless source cannot wipe or mis-date the figures: a file that shrinks far below what is published
fails the load (unless --allow-shrink), an extract dated in the future is refused, dates after the
extract date are loaded as the contract's warnings and counted in the message, and every refusal of a
whole file is one of the run's issues (`kpidash rejects`). The load log keeps no child-level values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from extract_builder import build_extract, csv_text
from load_support import query
from typer.testing import CliRunner

from cli.main import app
from core.settings import get_settings
from etl import last_good_run, load_extract, run_issues
from etl.contract import TABLES_BY_NAME
from etl.loader import local_now
from etl.runlog import get_run


def _referrals(n: int) -> list[dict[str, str]]:
    return [{"referral_id": f"R{i}"} for i in range(1, n + 1)]


@pytest.fixture
def published(tmp_path: Path) -> str:
    """A published warehouse holding 10 referrals (and one row in every other file)."""
    result = load_extract(build_extract(tmp_path / "first", rows={"referrals": _referrals(10)}))
    assert result.status == "published", result.message
    return result.run_id


def _referral_count() -> int:
    return query(get_settings().db, "SELECT count(*) FROM referrals")[0][0]


def test_a_header_only_file_fails_the_load_and_keeps_the_figures(tmp_path: Path, published: str) -> None:
    header = ",".join(TABLES_BY_NAME["referrals"].column_names) + "\n"  # `head -1 referrals.csv > referrals.csv`
    result = load_extract(build_extract(tmp_path / "x", raw={"referrals.csv": header}))
    assert result.status == "failed"
    assert result.message.splitlines()[0] == (
        "nothing was published: referrals.csv has 0 rows to load where the published warehouse has 10")
    assert "--allow-shrink" in result.message
    assert _referral_count() == 10 and last_good_run().run_id == published
    assert [i.message for i in run_issues(result.run_id) if i.severity == "reject"] == [
        "referrals.csv: has 0 rows to load where the published warehouse has 10 (fewer than 0.5 of them: "
        "KPIDASH_SHRINK_MIN_FRACTION)"]


@pytest.mark.parametrize(("rows", "status"), [(4, "failed"), (5, "published"), (12, "published")])
def test_fewer_than_half_the_rows_fails(tmp_path: Path, published: str, rows: int, status: str) -> None:
    result = load_extract(build_extract(tmp_path / "x", rows={"referrals": _referrals(rows)}))
    assert result.status == status, result.message
    assert _referral_count() == (10 if status == "failed" else rows)


def test_allow_shrink_publishes_a_source_that_really_shrank(tmp_path: Path, published: str) -> None:
    folder = build_extract(tmp_path / "x", rows={"referrals": _referrals(2)})
    result = CliRunner().invoke(app, ["load", str(folder)])
    assert result.exit_code == 1 and "referrals.csv has 2 rows to load where the published warehouse has 10" in result.stderr
    assert _referral_count() == 10
    result = CliRunner().invoke(app, ["load", "--allow-shrink", str(folder)])
    assert result.exit_code == 0, result.output
    assert _referral_count() == 2


def test_check_refuses_a_shrunk_file_too(tmp_path: Path, published: str) -> None:
    result = load_extract(build_extract(tmp_path / "x", rows={"referrals": _referrals(3)}), publish=False)
    assert result.status == "failed" and result.message.startswith("the check failed: referrals.csv has 3 rows")


def test_the_fraction_is_a_setting(tmp_path: Path, published: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIDASH_SHRINK_MIN_FRACTION", "0.9")
    get_settings.cache_clear()
    assert load_extract(build_extract(tmp_path / "x", rows={"referrals": _referrals(8)})).status == "failed"
    monkeypatch.setenv("KPIDASH_SHRINK_MIN_FRACTION", "0")  # off
    get_settings.cache_clear()
    header = ",".join(TABLES_BY_NAME["referrals"].column_names) + "\n"
    assert load_extract(build_extract(tmp_path / "y", raw={"referrals.csv": header})).status == "published"


def test_a_first_load_has_nothing_to_shrink_from(tmp_path: Path) -> None:
    header = ",".join(TABLES_BY_NAME["referrals"].column_names) + "\n"
    assert load_extract(build_extract(tmp_path / "x", raw={"referrals.csv": header})).status == "published"


def test_refresh_takes_allow_shrink(tmp_path: Path, published: str, monkeypatch: pytest.MonkeyPatch) -> None:
    drop = build_extract(tmp_path / "drop", rows={"referrals": _referrals(1)})
    monkeypatch.setenv("KPIDASH_DROP_DIR", str(drop))
    monkeypatch.setenv("KPIDASH_STABLE_SECONDS", "0")
    get_settings.cache_clear()
    refused = CliRunner().invoke(app, ["refresh"])
    assert refused.exit_code == 1 and "has 1 rows to load where the published warehouse has 10" in refused.output
    loaded = CliRunner().invoke(app, ["refresh", "--force", "--allow-shrink"])
    assert loaded.exit_code == 0, loaded.output
    assert _referral_count() == 1


def test_an_extract_dated_in_the_future_is_refused(tmp_path: Path) -> None:
    folder = build_extract(tmp_path / "x", manifest={"extracted_at": "2099-01-01T06:30:00", "source_system": "LCS"})
    result = load_extract(folder)
    assert result.status == "failed"
    assert result.message.startswith("the extract cannot be loaded: manifest.json extracted_at 2099-01-01 06:30 is in "
                                     "the future")
    assert not get_settings().db.exists()
    assert [(i.file, i.severity) for i in run_issues(result.run_id)] == [("manifest.json", "reject")]


def test_a_few_minutes_ahead_is_a_clock_difference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ahead = (local_now() + dt.timedelta(minutes=30)).isoformat(timespec="seconds")
    folder = build_extract(tmp_path / "x", manifest={"extracted_at": ahead})
    assert load_extract(folder).status == "published"
    monkeypatch.setenv("KPIDASH_EXTRACT_FUTURE_TOLERANCE_MINUTES", "5")
    get_settings.cache_clear()
    result = load_extract(folder)
    assert result.status == "failed" and "is in the future" in result.message


def test_dates_after_the_extract_date_load_as_warnings_counted_in_the_message(tmp_path: Path) -> None:
    folder = build_extract(tmp_path / "x", add={
        "referrals": [{"referral_id": "R2", "referral_date": "2025-12-01"}, {"referral_id": "R3", "referral_date": "2026-01-05"}],
        "assessments": [{"assessment_id": "A2", "start_date": "2025-11-25", "authorised_date": ""}]})
    result = load_extract(folder)
    assert result.status == "published", result.message
    assert result.message.splitlines()[0].endswith(
        "; 3 dates after the extract date (2025-11-24), loaded and listed as warnings: referrals.csv referral_date 2, "
        "assessments.csv start_date 1")
    assert _referral_count() == 3
    assert sorted((i.file, i.line, i.column) for i in run_issues(result.run_id)) == [
        ("assessments.csv", 3, "start_date"), ("referrals.csv", 3, "referral_date"), ("referrals.csv", 4, "referral_date")]


def test_whole_file_refusals_show_in_kpidash_rejects(tmp_path: Path) -> None:
    folder = build_extract(tmp_path / "x", drop=["workers.csv"], manifest="{not json")
    result = load_extract(folder)
    assert result.status == "failed"
    listed = CliRunner().invoke(app, ["rejects", result.run_id])
    assert listed.exit_code == 0, listed.output
    assert "reject    workers.csv: is missing" in listed.stdout
    assert "reject    manifest.json: is not valid JSON" in listed.stdout
    assert [i.file for i in run_issues(result.run_id)] == ["workers.csv", "manifest.json"]


def test_a_file_that_cannot_be_read_shows_in_rejects_too(tmp_path: Path) -> None:
    folder = build_extract(tmp_path / "x", raw={"episodes.csv": b"\xff\xfe not text"})
    result = load_extract(folder)
    assert result.status == "failed"
    assert [(i.file, i.line, i.severity) for i in run_issues(result.run_id)] == [("episodes.csv", None, "reject")]
    assert run_issues(result.run_id)[0].reason.startswith("is not UTF-8 text")


def test_the_load_log_keeps_no_rejected_values(tmp_path: Path) -> None:
    """The first rejected rows quote the extract's cells: `kpidash load` prints them, the load log (which
    /status summarises to every role) does not keep them."""
    folder = build_extract(tmp_path / "x", add={"assessments": [{"assessment_id": "A2", "child_id": "C-SECRET",
                                                                 "authorised_date": "31/05/2025"}]})
    result = load_extract(folder)
    assert result.status == "failed" and '"31/05/2025"' in result.message
    kept = get_run(result.run_id).message
    assert kept == result.message.split("\nfirst rejected rows")[0]
    assert "31/05/2025" not in kept and "C-SECRET" not in kept


def test_a_published_runs_summary_in_the_load_log_quotes_no_cell(tmp_path: Path, permissive) -> None:
    """A security audit found the grouped summary of a published run quoting a child id and a date in
    `GET /status`, which every role reads: the load log now keeps it with lines only."""
    folder = build_extract(tmp_path / "x", add={
        "referrals": [{"referral_id": "R-NEW", "child_id": "C-JANE-DOE-2014", "referral_date": "2025-01-06"}],
        "assessments": [{"assessment_id": "A2", "child_id": "C1", "authorised_date": "31/05/2025"}]})
    result = load_extract(folder)
    assert result.status == "published"
    assert '"C-JANE-DOE-2014"' in result.message and '"31/05/2025"' in result.message  # shown to the loader
    kept = get_run(result.run_id).message
    assert "C-JANE-DOE-2014" not in kept and "31/05/2025" not in kept
    assert "referrals.csv child_id is not in children.csv (or its row there was rejected): 1 row, e.g. line " in kept
    assert kept.splitlines()[0] == result.message.splitlines()[0]  # the same tally


def test_a_junk_file_is_refused_with_its_first_rows_listed_and_the_rest_counted(tmp_path: Path) -> None:
    """Rows the CSV reader cannot split (wrong number of values) cost it about a kilobyte each to list, beyond
    DuckDB's memory limit: a file with far too many of them to pass lists the first and counts the rest."""
    header = TABLES_BY_NAME["referrals"].column_names
    good = csv_text(header, [{**dict.fromkeys(header, ""), "referral_id": "R1", "child_id": "C1",
                              "referral_date": "2025-01-06", "source": "1A", "nfa": "N", "team_id": "T1"}])
    junk = "".join(f"junk{i},x\n" for i in range(30_000))  # 2 values where the header has 7; 380 kB
    result = load_extract(build_extract(tmp_path / "x", raw={"referrals.csv": good + junk}))
    assert result.status == "failed"
    referrals = next(f for f in result.files if f.file == "referrals.csv")
    assert (referrals.rows_read, referrals.rows_rejected) == (30_001, 30_000)
    assert result.message.startswith("nothing was published: referrals.csv: 30,000 of 30,001 rows rejected")
    issues = run_issues(result.run_id)
    listed = [i for i in issues if i.line is not None]
    assert listed[0].message == ('referrals.csv line 3: "junk0,x" has 2 values but the header has 7 columns (a missing '
                                 "or extra comma, or a value with a comma that is not in quotes)")
    assert [i.line for i in listed] == list(range(3, 3 + len(listed)))  # the first ones, at their lines
    assert 1_000 < len(listed) < 30_000
    unlisted = [i for i in issues if i.line is None]
    assert len(unlisted) == 1 and unlisted[0].reason.startswith(f"has {30_000 - len(listed):,} more rows whose number")


def test_a_few_unreadable_rows_are_each_listed_as_before(tmp_path: Path) -> None:
    header = TABLES_BY_NAME["referrals"].column_names
    rows = [{**dict.fromkeys(header, ""), "referral_id": f"R{i}", "child_id": "C1", "referral_date": "2025-01-06",
             "source": "1A", "nfa": "N", "team_id": "T1"} for i in range(1, 100)]
    text = csv_text(header, rows).replace("R50,C1,", "R50;C1;")  # 5 values where the header has 7
    result = load_extract(build_extract(tmp_path / "x", raw={"referrals.csv": text}))
    assert result.status == "published", result.message
    assert [(i.line, i.severity) for i in run_issues(result.run_id)] == [(51, "reject")]


def test_an_optional_file_that_was_published_and_is_gone_is_a_shrink(tmp_path: Path) -> None:
    # audits.csv is optional, but an extract that held 4 audits and now holds none would silently turn
    # every QA figure into "no audits loaded": refused like any other file that shrank, unless allowed
    from test_qa_files import write_qa

    first = write_qa(build_extract(tmp_path / "first"), audits=[{"audit_id": f"AU{i}"} for i in range(1, 5)])
    assert load_extract(first).status == "published"
    second = build_extract(tmp_path / "second")  # the nine files, no QA files
    result = load_extract(second)
    assert result.status == "failed"
    assert "audits.csv has 0 rows to load where the published warehouse has 4" in result.message
    assert query(get_settings().db, "SELECT count(*) FROM audits")[0][0] == 4
    assert load_extract(second, allow_shrink=True).status == "published"


def test_an_extract_older_than_the_published_one_says_so(tmp_path: Path) -> None:
    """An audit loaded an extract dated weeks before the published one (and one dated 1999): both published
    without a word, and every view's default date moved back. Loading an older extract is allowed (an
    archived input reloaded); the load now says so."""
    newer = load_extract(build_extract(tmp_path / "new", manifest={"extracted_at": "2025-11-24T06:30:00"}))
    assert newer.status == "published" and "note:" not in newer.message
    older = load_extract(build_extract(tmp_path / "old", manifest={"extracted_at": "2025-11-20T06:30:00"}))
    assert older.status == "published"
    assert ("note: this extract's date (2025-11-20) is before the published one's (2025-11-24), so every view's "
            "default date moves back to it") in older.message.splitlines()[0]
    same = load_extract(build_extract(tmp_path / "same", manifest={"extracted_at": "2025-11-20T09:00:00"}))
    assert "note:" not in same.message
