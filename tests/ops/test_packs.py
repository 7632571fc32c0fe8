"""The weekly team packs: each team's pack (the dashboard's workbook) for the week ending on the
extract date, written to the pack folder and audited, and emailed through a real (local) SMTP
server where SMTP is configured, without child-level rows unless KPIDASH_PACK_EMAIL_RECORDS is set."""

from __future__ import annotations

import email
import email.policy
import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from extract_builder import build_extract
from python_calamine import CalamineWorkbook

from api import audit
from core.appdb import get_engine
from core.settings import get_settings
from etl import load_extract
from kpis import compute_kpis, open_warehouse
from kpis.team_pack import WITHHELD
from scheduler.jobs import packs_job

# Two teams: T1 holds both open cases (C1 allocated, C2 not: T1's unallocated list), T2 (another
# service) holds none. The extract date, Monday 2025-11-24, is the whole week so far.
EXTRACT = {
    "teams": [{"team_id": "T2", "team_name": "Team Fernhollow", "service": "Children in Care"}],
    "children": [{"child_id": "C2"}],
    "episodes": [{"episode_id": "E2", "child_id": "C2"}],
}


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[email.message.EmailMessage] = []

    def handle_message(self, message) -> None:  # noqa: ANN001
        self.messages.append(email.message_from_bytes(message.as_bytes(), policy=email.policy.default))


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    assert load_extract(build_extract(tmp_path / "x", add=EXTRACT)).status == "published"
    monkeypatch.setenv("KPIDASH_PACK_DIR", str(tmp_path / "packs"))
    get_settings.cache_clear()
    return tmp_path / "packs"


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server on a free loopback port, with kpidash pointed at it."""
    received = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("KPIDASH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KPIDASH_SMTP_PORT", str(port))
    monkeypatch.setenv("KPIDASH_SMTP_TO", "performance@trust.example, heads@trust.example")
    get_settings.cache_clear()
    try:
        yield received
    finally:
        controller.stop()


def _sheets(data: bytes) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def _cells(sheets: dict[str, list[list]]) -> set:
    return {cell for rows in sheets.values() for row in rows for cell in row}


def test_each_team_gets_the_team_pack_with_its_own_figures(loaded: Path) -> None:
    packs = packs_job()
    assert sorted(p.name for p in packs) == ["T1.xlsx", "T2.xlsx"]
    assert all(p.parent == loaded / "2025-11-24" for p in packs)
    t1, t2 = (_sheets((loaded / "2025-11-24" / n).read_bytes()) for n in ("T1.xlsx", "T2.xlsx"))
    assert list(t1)[:2] == ["Summary", "Workers"] and list(t1)[-1] == "About"
    this_week = {row[0]: row[1] for row in t1["Summary"][1:]}
    assert (this_week["Open cases"], this_week["Unallocated cases"]) == (2, 1)
    assert {row[0]: row[1] for row in t2["Summary"][1:]}["Open cases"] == 0
    with open_warehouse(Path(get_settings().db)) as wh:
        figures = compute_kpis(wh, wh.extract_date, wh.extract_date, "team", "T1")
    assert len(figures) == len(this_week) and [f["value"] for f in figures if f["kpi"] == "open_cases"] == [2]
    unallocated = t1["Unallocated cases"]
    assert [row[unallocated[0].index("child_id")] for row in unallocated[1:]] == ["C2"]
    assert t1["Workers"][1][:2] == ["W1", "Juniper Quillfeather"]
    assert t2["Unallocated cases"] == [["Nothing to list."]]


def test_each_pack_written_is_audited_as_the_schedulers(loaded: Path) -> None:
    packs_job()
    entries = audit.entries(get_engine(), username="scheduler", event="export")
    assert sorted((e.unit, e.kpi, e.level, str(e.date_from), str(e.date_to), e.outcome) for e in entries) == [
        ("T1", "team_pack", "team", "2025-11-24", "2025-11-24", "ok"),
        ("T2", "team_pack", "team", "2025-11-24", "2025-11-24", "ok"),
    ]
    assert {e.unit: e.record_count for e in entries}["T1"] == 1  # C2, unallocated


def test_the_emailed_packs_carry_no_child_by_default(loaded: Path, inbox: Inbox) -> None:
    packs_job()
    assert len(inbox.messages) == 1
    sent = inbox.messages[0]
    assert sent["To"] == "performance@trust.example, heads@trust.example"
    assert sent["Subject"].startswith("kpidash weekly team packs, week of ")
    attached = {part.get_filename(): _sheets(part.get_content()) for part in sent.iter_attachments()}
    assert set(attached) == {"T1.xlsx", "T2.xlsx"}
    on_disk = _sheets((loaded / "2025-11-24" / "T1.xlsx").read_bytes())
    assert "C2" in _cells(on_disk)
    assert not {"C1", "C2"} & (_cells(attached["T1.xlsx"]) | _cells(attached["T2.xlsx"]))
    assert attached["T1.xlsx"]["Unallocated cases"] == [["count", "note"], [1, WITHHELD]]
    assert attached["T1.xlsx"]["Summary"] == on_disk["Summary"]
    assert "C2" not in sent.get_body(("plain",)).get_content()


def test_the_emailed_packs_are_full_when_the_trust_says_so(
    loaded: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KPIDASH_PACK_EMAIL_RECORDS", "true")
    get_settings.cache_clear()
    packs_job()
    attached = {part.get_filename(): part.get_content() for part in inbox.messages[0].iter_attachments()}
    assert attached["T1.xlsx"] == (loaded / "2025-11-24" / "T1.xlsx").read_bytes()
    emailed = [e for e in audit.entries(get_engine(), username="scheduler") if e.unit is None]
    assert len(emailed) == 1 and "emailed to performance@trust.example" in emailed[0].detail


def test_no_smtp_means_no_email_and_the_packs_are_still_written(loaded: Path) -> None:
    assert len(packs_job()) == 2 and len(list((loaded / "2025-11-24").glob("*.xlsx"))) == 2
