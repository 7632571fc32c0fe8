"""Section 47 enquiries and their conferences, and the extract's date (ssd-source.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from ssd_builder import build_ssd


def _enquiry(s47: str, start: str = "2025-01-08", end: str = "") -> dict[str, str]:
    return {"s47e_s47_enquiry_id": s47, "s47e_s47_start_date": start, "s47e_s47_end_date": end}


def _conference(cid: str, s47: str, date: str) -> dict[str, str]:
    return {"icpc_icpc_id": cid, "icpc_s47_enquiry_id": s47, "icpc_icpc_date": date}


def test_the_icpc_is_the_earliest_conference_and_icpc_required_follows(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", rows={
        "ssd_s47_enquiry": [_enquiry("S1"), _enquiry("S2", end="2025-01-20"), _enquiry("S3"), _enquiry("S4"),
                            _enquiry("S5", end="2025-01-20")],
        "ssd_initial_cp_conference": [
            _conference("K1", "S1", "2025-02-03 10:00:00"), _conference("K2", "S1", "2025-01-27"),
            _conference("K3", "S4", ""),           # a conference not held yet: required, no date
            _conference("K4", "S5", "2025-01-29"),  # held although the enquiry has ended
            _conference("K5", "S99", "2025-01-29"), _conference("K6", "", "2025-01-29"),
        ],
    })
    loaded = load_ssd(ssd)
    assert loaded.rows("SELECT s47_id, icpc_required, icpc_date::VARCHAR, completed_date::VARCHAR FROM s47_enquiries "
                       "ORDER BY s47_id") == [
        ("S1", True, "2025-01-27", None), ("S2", False, None, "2025-01-20"), ("S3", None, None, None),
        ("S4", True, None, None), ("S5", True, "2025-01-29", "2025-01-20"),
    ]
    assert ("ssd_initial_cp_conference.csv: 2 rows (first on line 6) have an icpc_s47_enquiry_id that is empty or not "
            "an enquiry of ssd_s47_enquiry: they are not used") in loaded.messages("warning")


def test_a_conference_date_that_cannot_be_used_rejects_its_enquiry_at_the_conference(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", rows={
        "ssd_s47_enquiry": [_enquiry("S1"), _enquiry("S2"), _enquiry("S3")],
        "ssd_initial_cp_conference": [
            _conference("K1", "S1", "2025-01-20"), _conference("K2", "S1", "TBC"),
            _conference("K3", "S2", "2025-01-02 14:00:00.000"),
            _conference("K4", "S3", "2025-01-20"),
        ],
    })
    loaded = load_ssd(ssd)
    assert loaded.rows("SELECT s47_id FROM s47_enquiries") == [("S3",)]
    assert loaded.messages("reject") == [
        'ssd_initial_cp_conference.csv line 3: icpc_icpc_date "TBC" is not a date (expected YYYY-MM-DD, with or without '
        "a time) (the enquiry on line 2 of ssd_s47_enquiry.csv)",
        'ssd_initial_cp_conference.csv line 4: icpc_icpc_date "2025-01-02" is before s47e_s47_start_date "2025-01-08" '
        "(the enquiry on line 3 of ssd_s47_enquiry.csv)",
    ]


def test_the_extract_date_is_the_manifests(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", manifest={"extracted_at": "2025-11-20T07:15:00", "source_system": "LCS"})
    loaded = load_ssd(ssd)
    # the source is the SSD whatever the manifest says, so the unavailable KPI is known
    assert loaded.rows("SELECT extracted_at, source_system FROM extract_meta") == [(dt.datetime(2025, 11, 20, 7, 15), "ssd")]


def test_without_a_manifest_the_extract_date_is_the_latest_date_not_after_today(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd", manifest=False, rows={
        "ssd_cin_episodes": [{"cine_referral_date": "2025-01-06", "cine_close_date": "2025-06-30 16:00:00"}],
        "ssd_missing": [{"miss_missing_episode_start_date": "2025-02-01 10:00",
                         "miss_missing_episode_end_date": "2999-01-01 00:00"}],     # after today: not counted
        "ssd_person": [{"pers_dob": "2025-08-01"}],                               # not one of the dates
        "ssd_involvements": [{"invo_involvement_start_date": "garbage"}],
    })
    loaded = load_ssd(ssd)
    assert loaded.rows("SELECT extracted_at FROM extract_meta") == [(dt.datetime(2025, 6, 30),)]
    # dates after the extract date are loaded and listed, as for the contract's own files
    assert 'ssd_person.csv line 2: pers_dob "2025-08-01" is after the extract date (2025-06-30)' in loaded.messages("warning")


def test_a_malformed_manifest_fails_the_load(tmp_path: Path, load_ssd) -> None:
    ssd = build_ssd(tmp_path / "ssd")
    (ssd / "manifest.json").write_text(json.dumps({"extracted_at": "yesterday"}), encoding="utf-8")
    loaded = load_ssd(ssd)
    assert loaded.result.status == "failed"
    assert 'manifest.json extracted_at is "yesterday", not a date-time' in loaded.result.message
