"""Bad input from an SSD: the order of work, rejects reported by SSD table, row, field and reason, the
reject limit per contract file, missing tables and fields, and nothing published from a failed load."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ssd_builder import build_ssd

from core.settings import get_settings
from etl import run_issues


def test_a_referral_and_its_episode_are_judged_separately(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", add={"ssd_cin_episodes": [
        {"cine_referral_id": "R2", "cine_referral_date": "2025-03-01", "cine_close_date": "2025-02-01 00:00:00.000"},
    ]})
    loaded = load_ssd(ssd)
    assert loaded.rows("SELECT referral_id FROM referrals ORDER BY 1") == [("R1",), ("R2",)]
    assert loaded.rows("SELECT episode_id FROM episodes") == [("R1",)]
    assert loaded.messages("reject") == [
        'ssd_cin_episodes.csv line 3: cine_close_date "2025-02-01" is before cine_referral_date "2025-03-01": '
        "the CIN episode is not loaded",
    ]
    counts = {f.file: (f.rows_read, f.rows_loaded, f.rows_rejected) for f in loaded.result.files}
    assert counts["referrals.csv"] == (2, 2, 0) and counts["episodes.csv"] == (2, 1, 1)


def test_repeated_ids_reject_the_later_rows_at_their_ssd_lines(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", add={"ssd_person": [{"pers_sex": "M"}, {"pers_person_id": "C2"}, {}]})
    loaded = load_ssd(ssd)
    assert loaded.messages("reject") == [
        'ssd_person.csv line 3: pers_person_id "C1" is a repeated key (first on line 2)',
        'ssd_person.csv line 5: pers_person_id "C1" is a repeated key (first on line 2)',
    ]
    assert loaded.rows("SELECT child_id, gender FROM children ORDER BY 1") == [("C1", "F"), ("C2", "F")]


def test_the_reject_limit_applies_per_contract_file_and_nothing_is_published(tmp_path: Path, load_ssd) -> None:
    # 1 of 2 CIN episodes ends before it starts: 50% of episodes.csv, 0% of referrals.csv
    ssd = build_ssd(tmp_path / "ssd", add={"ssd_cin_episodes": [
        {"cine_referral_id": "R2", "cine_referral_date": "2025-03-01", "cine_close_date": "2025-02-01"},
    ]})
    loaded = load_ssd(ssd, max_reject_pct=2)
    assert loaded.result.status == "failed"
    message = loaded.result.message
    assert message.startswith("nothing was published: episodes.csv (from ssd_cin_episodes.csv): 1 of 2 rows rejected "
                              "(50.0%), more than the 2% allowed (KPIDASH_MAX_REJECT_PCT)")
    assert "referrals.csv" not in message
    assert ('  ssd_cin_episodes.csv line 3: cine_close_date "2025-02-01" is before cine_referral_date "2025-03-01": '
            "the CIN episode is not loaded") in message
    assert not get_settings().db.exists() or loaded.rows("SELECT count(*) FROM episodes") != [(2,)]


def test_nothing_is_published_from_a_failed_load(tmp_path: Path, load_ssd) -> None:
    good = load_ssd(build_ssd(tmp_path / "good"))
    assert good.result.status == "published"
    bad = load_ssd(build_ssd(tmp_path / "bad", rows={"ssd_person": [{"pers_person_id": ""}]}), max_reject_pct=2)
    assert bad.result.status == "failed"
    # the last good load stays published
    assert bad.rows("SELECT run_id FROM extract_meta") == [(good.result.run_id,)]


def test_rows_the_csv_reader_refuses_are_rejects_of_every_file_their_table_feeds(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd")
    with (ssd / "ssd_cin_episodes.csv").open("a", encoding="utf-8") as fh:
        fh.write("R2,C1,2025-02-01,1A,N,,T1,W1,an extra value\n")
    loaded = load_ssd(ssd)
    assert loaded.messages("reject") == [
        'ssd_cin_episodes.csv line 3: "R2,C1,2025-02-01,1A,N,,T1,W1,an extra value" has 9 values but the header has 8 '
        "columns (a missing or extra comma, or a value with a comma that is not in quotes)",
    ]
    counts = {f.file: (f.rows_read, f.rows_rejected) for f in loaded.result.files}
    assert counts["referrals.csv"] == (2, 1) and counts["episodes.csv"] == (2, 1)


def test_a_load_refused_for_rows_the_csv_reader_refuses_quotes_them(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd")
    with (ssd / "ssd_cin_episodes.csv").open("a", encoding="utf-8") as fh:
        fh.write("R2,C1,2025-02-01,1A,N,,T1,W1,an extra value\n")
    loaded = load_ssd(ssd, max_reject_pct=2)
    assert loaded.result.status == "failed"
    first = loaded.result.message.split("first rejected rows")[1].splitlines()[1:]
    # the row under each file it feeds (referrals.csv and episodes.csv): quoted once, as `kpidash rejects` lists it
    assert first == ['  ssd_cin_episodes.csv line 3: "R2,C1,2025-02-01,1A,N,,T1,W1,an extra value" has 9 values but '
                     "the header has 8 columns (a missing or extra comma, or a value with a comma that is not in "
                     "quotes)"]


def test_missing_tables_and_fields_are_one_error_naming_them(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", drop_tables=("ssd_missing", "ssd_involvements", "ssd_disability"),
                    drop_fields={"ssd_person": ["pers_dob"], "ssd_cin_episodes": ["cine_close_date", "cine_referral_team"],
                                 "ssd_initial_cp_conference": ["icpc_icpc_date"]})
    loaded = load_ssd(ssd)
    assert loaded.result.status == "failed"
    assert loaded.result.message == (
        "the SSD cannot be loaded: ssd_involvements.csv is missing (and 4 more)\n"
        "  - ssd_involvements.csv is missing\n"
        "  - ssd_missing.csv is missing\n"
        "  - ssd_person.csv has no field pers_dob\n"
        "  - ssd_cin_episodes.csv has no field cine_close_date, cine_referral_team\n"
        "  - ssd_initial_cp_conference.csv has no field icpc_icpc_date"
    )
    # the SSD files are kept in the run's archive even so
    assert (get_settings().archive_dir / loaded.result.run_id / "ssd" / "ssd_person.csv").is_file()
    # and the refusal is one of the run's issues (`kpidash rejects`), as a contract file's is (an audit found none)
    [issue] = run_issues(loaded.result.run_id)
    assert issue.severity == "reject" and "ssd_involvements.csv is missing" in issue.reason


def test_headers_and_file_names_ignore_case_and_surrounding_spaces(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd")
    text = (ssd / "ssd_person.csv").read_text(encoding="utf-8")
    (ssd / "ssd_person.csv").unlink()
    row = text.split("\n", 1)[1].rstrip("\n")
    (ssd / "SSD_Person.CSV").write_text("\ufeff PERS_PERSON_ID ,Pers_Sex,pers_ethnicity,pers_dob,pers_legacy_id\n"
                                        + row + ",L1\n", encoding="utf-8")
    loaded = load_ssd(ssd)
    assert loaded.result.status == "published", loaded.result.message
    assert loaded.rows("SELECT child_id, gender, date_of_birth FROM children") == [("C1", "F", dt.date(2015, 3, 4))]


def test_check_reports_without_publishing(tmp_path: Path, load_ssd) -> None:
    loaded = load_ssd(build_ssd(tmp_path / "ssd"), publish=False)
    assert loaded.result.status == "checked"
    published = loaded.rows("SELECT run_id FROM extract_meta") if get_settings().db.exists() else []
    assert (loaded.result.run_id,) not in published


def test_rows_that_span_lines_are_reported_at_the_ssd_line_where_they_start(tmp_path: Path, load_ssd) -> None:
    # involvement 1 is no allocation; 2 is one whose worker id holds a line break (lines 3-4); 3 has a bad date
    ssd = build_ssd(tmp_path / "ssd", rows={"ssd_involvements": [
        {"invo_involvements_id": "I1", "invo_professional_role_id": "SUPERVISOR"},
        {"invo_involvements_id": "I2", "invo_professional_id": "W1\nW2"},
        {"invo_involvements_id": "I3", "invo_involvement_start_date": "2025-13-01"},
    ], "ssd_cin_episodes": [{"cine_referral_nfa": "Y\nN"}, {"cine_referral_id": "R2", "cine_close_date": "2024-01-01"}]})
    loaded = load_ssd(ssd)
    rejects = loaded.messages("reject")
    assert rejects == [
        'ssd_cin_episodes.csv line 4: cine_close_date "2024-01-01" is before cine_referral_date "2025-01-06": '
        "the CIN episode is not loaded",
        'ssd_involvements.csv line 5: invo_involvement_start_date "2025-13-01" is not a date: '
        "there is no such day in the calendar",
    ]
    assert loaded.rows("SELECT allocation_id, worker_id FROM allocations") == [("I2", "W1\nW2")]


def test_a_child_the_ssd_does_not_know_is_named_by_its_ssd_field(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", add={"ssd_cin_episodes": [{"cine_referral_id": "R2", "cine_person_id": "C404"}]})
    loaded = load_ssd(ssd)
    why = ('ssd_cin_episodes.csv line 3: cine_person_id "C404" is not a pers_person_id of ssd_person (or its row '
           "there was rejected)")
    assert loaded.messages("warning") == [f"{why} (the referral)", f"{why} (the CIN episode)"]
