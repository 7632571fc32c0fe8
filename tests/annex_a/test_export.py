"""`kpidash export annex-a` over a small hand-made warehouse: who is named as the allocated worker, the
columns filled from the warehouse, the coded values, and what the command refuses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from core.settings import get_settings
from etl import load_extract
from etl.annex_a.export import export_annex_a
from tests.etl.extract_builder import build_extract

TO = dt.date(2025, 10, 15)

WORKERS = [
    {"worker_id": "W1", "worker_name": "Juniper Quillfeather"},
    {"worker_id": "W2", "worker_name": "Marigold Muffinfoot", "end_date": "2025-06-30"},  # left before --to
    {"worker_id": "W3", "worker_name": "Pip Adviser", "role": "personal_advisor", "qualified": "N"},
    {"worker_id": "W4", "worker_name": "Rowan Leaverworker"},
]
CHILDREN = [{"child_id": c} for c in ("C1", "C2", "C3", "C4")]
EPISODES = [
    {"episode_id": "E1", "child_id": "C1", "episode_type": "CIN", "start_date": "2025-01-07"},
    {"episode_id": "E2", "child_id": "C2", "episode_type": "CLA", "start_date": "2025-01-01"},
    {"episode_id": "E3", "child_id": "C3", "episode_type": "CARE_LEAVER", "start_date": "2024-01-01"},
    {"episode_id": "E4", "child_id": "C4", "episode_type": "CP", "start_date": "2025-02-01"},
]
ALLOCATIONS = [
    {"allocation_id": "AL1", "child_id": "C1", "worker_id": "W1", "start_date": "2025-01-07"},
    {"allocation_id": "AL2", "child_id": "C2", "worker_id": "W2", "start_date": "2025-01-01"},  # open, worker left
    {"allocation_id": "AL3", "child_id": "C3", "worker_id": "W3", "start_date": "2024-01-01"},  # personal adviser
    {"allocation_id": "AL4", "child_id": "C3", "worker_id": "W4", "start_date": "2023-12-01"},
    # ends on --to: over at the end of --to, as for the caseload KPIs
    {"allocation_id": "AL5", "child_id": "C4", "worker_id": "W1", "start_date": "2025-02-01", "end_date": "2025-10-15"},
]


def _export(tmp_path: Path, date_to: dt.date = TO, **changes: list[dict[str, str]]) -> dict[int, list[dict]]:
    """Load the hand-made extract (with `changes` added), export Annex A at date_to: each list's rows by header."""
    rows = {"workers": WORKERS, "children": CHILDREN, "episodes": EPISODES, "allocations": ALLOCATIONS}
    add = {k: v for k, v in changes.items() if k not in rows}
    rows |= {k: [*rows[k], *v] for k, v in changes.items() if k in rows}
    result = load_extract(build_extract(tmp_path / "x", rows=rows, add=add))
    assert result.status == "published", result.message
    out = tmp_path / "annex.xlsx"
    export_annex_a(get_settings().db, date_to, out)
    book = CalamineWorkbook.from_path(str(out))
    lists = {}
    for n in range(1, 10):
        header, *body = book.get_sheet_by_name(f"List {n}").to_python()
        lists[n] = [dict(zip(header, r)) for r in body]
    return lists


def _row(rows: list[dict], child: str) -> dict:
    [row] = [r for r in rows if r["Child Unique ID"] == child]
    return row


def test_a_worker_who_has_left_is_not_the_allocated_worker(tmp_path: Path) -> None:
    """The audit's C000830: an allocation still open to a worker who left before --to named them; the caseload
    KPIs count that child as unallocated, so the cell is blank."""
    lists = _export(tmp_path)
    assert _row(lists[6], "C1")["Allocated Worker"] == "Juniper Quillfeather"
    assert _row(lists[8], "C2")["Allocated Worker"] == ""
    assert _row(lists[7], "C4")["Allocated Worker"] == ""  # its allocation ended on --to


def test_a_closed_episode_names_the_worker_at_its_end_though_they_left_since(tmp_path: Path) -> None:
    """W2 left on 2025-06-30, after C5's CIN episode closed on 2025-05-31 with W2 allocated to its end."""
    lists = _export(tmp_path, children=[{"child_id": "C5"}],
                    episodes=[{"episode_id": "E5", "child_id": "C5", "episode_type": "CIN", "start_date": "2025-05-01",
                               "end_date": "2025-05-31"}],
                    allocations=[{"allocation_id": "AL6", "child_id": "C5", "worker_id": "W2",
                                  "start_date": "2025-05-01", "end_date": "2025-05-31"}])
    assert _row(lists[6], "C5")["Allocated Worker"] == "Marigold Muffinfoot"


def test_list9_names_the_personal_adviser_in_their_own_column(tmp_path: Path) -> None:
    row = _row(_export(tmp_path)[9], "C3")
    assert (row["Allocated Worker"], row["Allocated Personal Advisor"]) == ("Rowan Leaverworker", "Pip Adviser")


MISSING = [  # C2 is looked after; --to 2025-10-15, so the last 12 months start on 2024-10-16
    {"missing_id": "M2", "child_id": "C2", "start_time": "2024-10-15T23:00", "end_time": "2024-10-16T08:00"},
    {"missing_id": "M3", "child_id": "C2", "start_time": "2024-10-16T09:00", "end_time": "2024-10-16T20:00",
     "rhi_offered_time": "2024-10-17T09:00", "rhi_accepted": "Y"},
    {"missing_id": "M4", "child_id": "C2", "start_time": "2025-09-01T10:00", "end_time": "2025-09-02T10:00",
     "rhi_offered_time": "2025-09-03T09:00", "rhi_accepted": "N"},
    {"missing_id": "M5", "child_id": "C2", "start_time": "2025-10-16T01:00", "end_time": "2025-10-16T05:00"},
]
MISSING_COUNT = "Number of Episodes the Child has been \u2018Missing\u2019 from their Placement in the last 12 months"


def test_columns_the_warehouse_can_fill_are_filled(tmp_path: Path) -> None:
    lists = _export(
        tmp_path, missing_episodes=MISSING,
        s47_enquiries=[
            {"s47_id": "S2", "strategy_date": "2025-06-01", "icpc_date": "2025-06-20", "completed_date": "2025-06-20"},
            {"s47_id": "S3", "strategy_date": "2024-05-31", "icpc_date": "2024-06-10", "completed_date": "2024-06-10"},
        ],
        episodes=[{"episode_id": "E5", "child_id": "C4", "episode_type": "CP", "start_date": "2023-01-01",
                   "end_date": "2023-06-01"}])
    s47 = _row(lists[5], "C1")  # S2: S1 in the 12 months before its strategy discussion, S3 the day before them
    assert (s47["Number of Section 47 Enquiries in the last 12 months"], s47["Number of ICPCs in the last 12 months"]) \
        == (1, 2)
    assert _row(lists[7], "C4")["Number of Previous Child Protection Plans"] == 1
    cla = _row(lists[8], "C2")
    assert cla[MISSING_COUNT] == 2  # M3 and M4: M2 started the day before the 12 months, M5 after --to
    assert cla["Was the child offered a Return Interview after their last missing episode (Y/N)?"] == "a) Yes"
    assert cla["Did the child accept a Return Interview after their last missing episode (Y/N)?"] == "b) No"
    assert _row(lists[6], "C1")["Allocated Worker"] == "Juniper Quillfeather"


def test_coded_columns_are_written_as_the_template_writes_them_and_read_back(tmp_path: Path) -> None:
    """The reference workbooks write "a) WBRI" and "q) 6: Police" (the export wrote WBRI and 6); loading the
    export gives the codes back."""
    import duckdb

    lists = _export(tmp_path, referrals=[{"referral_id": "R2", "referral_date": "2025-06-01", "source": "6"},
                                         {"referral_id": "R3", "referral_date": "2025-06-02", "source": "5D"}],
                    children=[{"child_id": "C5", "ethnicity": "NOBT"}])
    r2, r3 = lists[3]
    assert (r2["Ethnicity"], r2["Referral Source"], r2["Gender"]) == ("a) WBRI", "q) 6: Police", "b) Female")
    assert r3["Referral Source"] == "p1) 5D: LA services"
    assert {r["Ethnicity"] for r in lists[8] if r["Child Unique ID"] == "C2"} == {"a) WBRI"}
    result = load_extract(tmp_path / "annex.xlsx", allow_shrink=True)
    assert result.status == "published", result.message
    with duckdb.connect(str(get_settings().db), read_only=True) as con:
        assert con.execute("SELECT source FROM referrals ORDER BY referral_date").fetchall() == [("6",), ("5D",)]
        assert con.execute("SELECT DISTINCT ethnicity FROM children").fetchall() == [("WBRI",)]


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from cli.errors import run
    from cli.main import app

    code = run(app, ["export", "annex-a", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("date_to", "says"), [
    ("2025-11-25", "error: --to 2025-11-25 is after the extract date (2025-11-24): write a date up to it"),
    ("2024-12-31", "error: --to 2024-12-31 is before the warehouse's first record (2025-01-06): write a date from"),
])
def test_a_to_outside_the_warehouse_is_refused(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               date_to: str, says: str) -> None:
    """The audit's --to 2030-01-01 and 2010-01-01 exited 0 with a workbook of the future (or empty) and an
    audit entry; as `kpidash book` refuses a month after the extract's, one `error:` line and nothing written."""
    from cli.errors import USAGE

    assert load_extract(build_extract(tmp_path / "x")).status == "published"  # extract date 2025-11-24
    audited: list[object] = []
    monkeypatch.setattr("core.audit.record_command", lambda *a, **k: audited.append(a))
    folder = tmp_path / "out"
    folder.mkdir()
    code, out, err = _cli(capsys, "--to", date_to, "--out", str(folder / "annex.xlsx"))
    assert (code, out, audited, list(folder.iterdir())) == (USAGE, "", [], [])
    assert err.startswith(says) and err.count("\n") == 1, err
    assert _cli(capsys, "--to", "2025-11-24", "--out", str(folder / "annex.xlsx"))[0] == 0  # the extract date is fine
    assert len(audited) == 1


def test_an_audit_that_cannot_be_written_leaves_the_old_file(capsys, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The workbook was written at --out and removed when the audit entry failed, taking a file already there
    with it; now it is written beside --out and renamed over it only once audited."""
    assert load_extract(build_extract(tmp_path / "x")).status == "published"
    folder = tmp_path / "out"
    folder.mkdir()
    keep = folder / "keep.xlsx"
    keep.write_bytes(b"the earlier export")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError("unable to open database file")

    import core.audit

    works = core.audit.record_command
    monkeypatch.setattr("core.audit.record_command", broken)
    code, _, err = _cli(capsys, "--to", "2025-11-23", "--out", str(keep))
    assert code == 1 and "the audit trail (KPIDASH_APP_DB) cannot be written" in err, err
    assert keep.read_bytes() == b"the earlier export" and list(folder.iterdir()) == [keep]  # no temporary file left
    monkeypatch.setattr("core.audit.record_command", works)
    code, out, err = _cli(capsys, "--to", "2025-11-23", "--out", str(keep))
    assert code == 0 and out.startswith(f"wrote {keep}"), err
    assert keep.read_bytes()[:2] == b"PK" and list(folder.iterdir()) == [keep]
