"""Values as the SSD gives them: trimmed, NULL and empty, datetimes with times, every flag spelling,
sex codes and disability codes (ssd-source.md, "Where the SSD is read from" and "The mapping")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ssd_builder import build_ssd


def test_values_are_trimmed_and_null_in_any_case_is_empty(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", rows={"ssd_cin_episodes": [
        {"cine_referral_id": "  R1 ", "cine_referral_source_code": "  1A\t", "cine_referral_worker_id": " W1 "},
        {"cine_referral_id": "R2", "cine_referral_source_code": "NULL", "cine_referral_worker_id": " null "},
        {"cine_referral_id": "R3", "cine_referral_source_code": "   ", "cine_referral_worker_id": "Null"},
        {"cine_referral_id": "R4", "cine_referral_source_code": "NULLS", "cine_close_date": "NULL"},
    ]})
    loaded = load_ssd(ssd)
    assert loaded.result.status == "published", loaded.result.message
    assert loaded.rows("SELECT referral_id, source, worker_id FROM referrals ORDER BY referral_id") == [
        ("R1", "1A", "W1"), ("R2", None, None), ("R3", None, None), ("R4", "NULLS", "W1"),
    ]
    # the trimmed id is the one the involvement's invo_referral_id "R1" names; R4's close date is empty
    assert loaded.rows("SELECT episode_id, end_date FROM episodes ORDER BY 1") == [
        ("R1", None), ("R2", None), ("R3", None), ("R4", None),
    ]
    assert not loaded.messages("reject")


def test_datetimes_with_or_without_a_time_give_their_date(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", rows={
        "ssd_cin_episodes": [
            {"cine_referral_id": "R1", "cine_referral_date": "2025-01-06 00:00:00.000", "cine_close_date": "2025-03-04 23:59:59.997"},
            {"cine_referral_id": "R2", "cine_referral_date": "2025-01-07T10:15:00", "cine_close_date": "2025-03-05T08:00"},
            {"cine_referral_id": "R3", "cine_referral_date": "2025-01-08", "cine_close_date": "2025-03-06 00:00:00.0000000"},
        ],
        "ssd_missing": [
            {"miss_table_id": "M1", "miss_missing_episode_start_date": "2025-02-01 10:00:00.000",
             "miss_missing_episode_end_date": "2025-02-01T18:30"},
            {"miss_table_id": "M2", "miss_missing_episode_start_date": "2025-02-03",
             "miss_missing_episode_end_date": "2025-02-03 07:45:12.5"},
        ],
        "ssd_person": [{"pers_dob": "2015-03-04 00:00:00.000"}],
    })
    loaded = load_ssd(ssd)
    assert loaded.rows("SELECT referral_id, referral_date FROM referrals ORDER BY 1") == [
        ("R1", dt.date(2025, 1, 6)), ("R2", dt.date(2025, 1, 7)), ("R3", dt.date(2025, 1, 8)),
    ]
    assert loaded.rows("SELECT episode_id, start_date, end_date FROM episodes ORDER BY 1") == [
        ("R1", dt.date(2025, 1, 6), dt.date(2025, 3, 4)), ("R2", dt.date(2025, 1, 7), dt.date(2025, 3, 5)),
        ("R3", dt.date(2025, 1, 8), dt.date(2025, 3, 6)),
    ]
    # missing-episode times keep their time (whole seconds); a date alone is midnight
    assert loaded.rows("SELECT missing_id, start_time, end_time FROM missing_episodes ORDER BY 1") == [
        ("M1", dt.datetime(2025, 2, 1, 10, 0), dt.datetime(2025, 2, 1, 18, 30)),
        ("M2", dt.datetime(2025, 2, 3, 0, 0), dt.datetime(2025, 2, 3, 7, 45, 12)),
    ]
    assert loaded.rows("SELECT date_of_birth FROM children") == [(dt.date(2015, 3, 4),)]
    assert not loaded.messages("reject")


def test_a_datetime_that_cannot_be_read_rejects_its_row_at_the_ssd_field(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", rows={"ssd_cin_assessments": [
        {"cina_assessment_id": "A1", "cina_assessment_start_date": "07/01/2025"},
        {"cina_assessment_id": "A2", "cina_assessment_start_date": "2025-02-30 00:00:00"},
        {"cina_assessment_id": "A3", "cina_assessment_start_date": "2025-01-07 25:00:00"},
    ]})
    loaded = load_ssd(ssd)
    assert loaded.rows("SELECT count(*) FROM assessments") == [(0,)]
    assert loaded.messages("reject") == [
        f'ssd_cin_assessments.csv line {line}: cina_assessment_start_date "{value}" is not a date '
        "(expected YYYY-MM-DD, with or without a time)"
        for line, value in ((2, "07/01/2025"), (3, "2025-02-30 00:00:00"), (4, "2025-01-07 25:00:00"))
    ]


SPELLINGS = {"Y": "Y", "y": "Y", "1": "Y", "Yes": "Y", "YES": "Y", "true": "Y", "True": "Y",
             "N": "N", "n": "N", "0": "N", "No": "N", "no": "N", "FALSE": "N", "False": "N", "": None}


def test_every_flag_spelling_and_the_grouped_warning_for_other_values(tmp_path: Path, load_ssd) -> None:
    values = [*SPELLINGS, "NA", "PLACEHOLDER_DATA", "NA", " na ", "2"]
    ssd = build_ssd(tmp_path / "ssd", rows={
        "ssd_cin_episodes": [{"cine_referral_id": f"R{i:02d}", "cine_referral_nfa": v} for i, v in enumerate(values)],
        "ssd_professionals": [{"prof_professional_id": "W1", "prof_agency_worker_flag": "True"},
                              {"prof_professional_id": "W2", "prof_agency_worker_flag": "0"}],
        "ssd_missing": [{"miss_table_id": "M1", "miss_missing_rhi_accepted": "yes"},
                        {"miss_table_id": "M2", "miss_missing_rhi_accepted": "Declined"}],
    })
    loaded = load_ssd(ssd)
    nfa = dict(loaded.rows("SELECT referral_id, nfa FROM referrals"))
    expected = {f"R{i:02d}": {"Y": True, "N": False, None: None}[SPELLINGS.get(v)] for i, v in enumerate(values)}
    assert nfa == expected
    assert loaded.rows("SELECT worker_id, agency FROM workers ORDER BY 1") == [("W1", True), ("W2", False)]
    assert loaded.rows("SELECT missing_id, rhi_accepted FROM missing_episodes ORDER BY 1") == [("M1", True), ("M2", None)]
    flag = "is not a flag (Y/N, 1/0, Yes/No or True/False, in any case) in"
    warnings = loaded.messages("warning")
    # one warning per distinct value, with its count and first line ("na" is trimmed to one value with " na ")
    assert f'ssd_cin_episodes.csv: cine_referral_nfa "2" {flag} 1 row (first on line 21): taken as empty' in warnings
    assert f'ssd_cin_episodes.csv: cine_referral_nfa "NA" {flag} 2 rows (first on line 17): taken as empty' in warnings
    assert f'ssd_cin_episodes.csv: cine_referral_nfa "na" {flag} 1 row (first on line 20): taken as empty' in warnings
    assert f'ssd_cin_episodes.csv: cine_referral_nfa "PLACEHOLDER_DATA" {flag} 1 row (first on line 18): taken as empty' in warnings
    assert f'ssd_missing.csv: miss_missing_rhi_accepted "Declined" {flag} 1 row (first on line 3): taken as empty' in warnings
    assert sum("is not a flag" in w for w in warnings) == 5


def test_sex_codes_and_disability_codes(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", rows={
        "ssd_person": [{"pers_person_id": f"C{i}", "pers_sex": sex} for i, sex in
                       enumerate(["M", "f", "U", "N", "", "Male", "Male", "X"], start=1)],
        "ssd_disability": [
            {"disa_person_id": "C1", "disa_table_id": "D1", "disa_disability_code": "NONE"},
            {"disa_person_id": "C2", "disa_table_id": "D2", "disa_disability_code": "LD"},
            {"disa_person_id": "C4", "disa_table_id": "D3", "disa_disability_code": "NONE"},
            {"disa_person_id": "C4", "disa_table_id": "D4", "disa_disability_code": "AUT"},
            {"disa_person_id": "C5", "disa_table_id": "D5", "disa_disability_code": " "},
            {"disa_person_id": "C6", "disa_table_id": "D6", "disa_disability_code": "none"},
            {"disa_person_id": "C7", "disa_table_id": "D7", "disa_disability_code": "NULL"},
        ],
    })
    loaded = load_ssd(ssd)
    # C3 has no disability row; C4 has NONE and AUT (disabled); C5, C7 have an empty code; "none" is NONE
    assert loaded.rows("SELECT child_id, gender, disability FROM children ORDER BY child_id") == [
        ("C1", "M", False), ("C2", "F", True), ("C3", "U", False), ("C4", "N", True),
        ("C5", "U", False), ("C6", "U", False), ("C7", "U", False), ("C8", "U", False),
    ]
    warnings = loaded.messages("warning")
    assert 'ssd_person.csv: pers_sex "Male" is not M, F, U or N in 2 rows (first on line 7): gender U (not stated/recorded) is used' in warnings
    assert 'ssd_person.csv: pers_sex "X" is not M, F, U or N in 1 row (first on line 9): gender U (not stated/recorded) is used' in warnings


def test_optional_tables_may_be_absent(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", drop_tables=("ssd_initial_cp_conference", "ssd_disability"))
    loaded = load_ssd(ssd)
    assert loaded.result.status == "published", loaded.result.message
    # no conference: the completed enquiry needed none; no disability row: N
    assert loaded.rows("SELECT icpc_required, icpc_date FROM s47_enquiries") == [(False, None)]
    assert loaded.rows("SELECT disability FROM children") == [(False,)]
