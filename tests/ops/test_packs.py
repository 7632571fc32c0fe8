"""The weekly team packs: one XLSX per team with its figures, written to the pack folder and emailed
through a real (local) SMTP server where SMTP is configured."""

from __future__ import annotations

import email
import email.policy
import socket
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from extract_builder import build_extract
from python_calamine import CalamineWorkbook

from core.settings import get_settings
from etl import load_extract
from scheduler.jobs import packs_job

# Two teams: T1 holds the one open case, T2 (in another service) holds none.
TWO_TEAMS = {"teams": [{"team_id": "T2", "team_name": "Team Fernhollow", "service": "Children in Care"}]}


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[email.message.EmailMessage] = []

    def handle_message(self, message) -> None:  # noqa: ANN001
        self.messages.append(email.message_from_bytes(message.as_bytes(), policy=email.policy.default))


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    assert load_extract(build_extract(tmp_path / "x", add=TWO_TEAMS)).status == "published"
    monkeypatch.setenv("KPIDASH_PACK_DIR", str(tmp_path / "packs"))
    get_settings.cache_clear()
    return tmp_path / "packs"


def _sheet(path: Path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name("KPIs").to_python()


def test_each_team_gets_a_pack_with_its_own_figures(loaded: Path) -> None:
    packs = packs_job()
    assert sorted(p.name for p in packs) == ["T1.xlsx", "T2.xlsx"]
    assert all(p.parent == loaded / "2025-11-24" for p in packs)
    t1, t2 = (_sheet(loaded / "2025-11-24" / n) for n in ("T1.xlsx", "T2.xlsx"))
    assert t1[0][0] == "Team Bramblewick (T1): KPIs 2025-11-01 to 2025-11-24"
    assert {row[0]: row[2] for row in t1[3:]}["open_cases"] == 1
    assert {row[0]: row[2] for row in t2[3:]}["open_cases"] == 0


def test_packs_are_emailed_where_smtp_is_configured(loaded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = Inbox()
    with socket.socket() as probe:  # a free loopback port for the test's own SMTP server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("KPIDASH_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("KPIDASH_SMTP_PORT", str(port))
        monkeypatch.setenv("KPIDASH_SMTP_TO", "performance@trust.example, heads@trust.example")
        get_settings.cache_clear()
        packs_job()
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    sent = inbox.messages[0]
    assert sent["To"] == "performance@trust.example, heads@trust.example"
    assert sent["Subject"].startswith("kpidash weekly team packs, week of ")
    attached = {part.get_filename(): part.get_content() for part in sent.iter_attachments()}
    assert set(attached) == {"T1.xlsx", "T2.xlsx"}
    assert attached["T1.xlsx"] == (loaded / "2025-11-24" / "T1.xlsx").read_bytes()


def test_no_smtp_means_no_email_and_the_packs_are_still_written(loaded: Path) -> None:
    assert len(packs_job()) == 2 and len(list((loaded / "2025-11-24").glob("*.xlsx"))) == 2
