"""The weekly team packs: each team's pack (kpis/team_pack.py, the same workbook the dashboard
downloads) for the week ending on the extract date, written to <pack_dir>/<extract date>/<team>.xlsx
and, where SMTP is configured, emailed.

A pack on disk holds child-level records, so writing one is audited (actor "scheduler"). Email is
not a safe channel for special-category data: unless KPIDASH_PACK_EMAIL_RECORDS is set, the emailed
copies give each action list's count only.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import socket
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from core.audit import record
from core.settings import Settings
from kpis import open_warehouse
from kpis.team_pack import ACTION_LISTS, team_pack_xlsx, team_weeks, without_records

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACTOR = "scheduler"


def file_name(team_id: str) -> str:
    """The pack's file name: the team id, made safe for any filesystem."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", team_id) + ".xlsx"


def weekly_packs(warehouse_path: Path) -> dict[str, dict[str, Any]]:
    """Every team's week ending on the warehouse's extract date (one computation for all teams)."""
    with open_warehouse(warehouse_path) as wh:
        return team_weeks(wh, wh.extract_date)


def write_team_packs(weeks: dict[str, dict[str, Any]], out_dir: Path, engine: Engine) -> list[Path]:
    """Each team's full pack into out_dir/<as-at date>/, one audit entry per pack; the files written."""
    written = []
    for team_id, week in weeks.items():
        folder = out_dir / week["as_at"].isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / file_name(team_id)
        path.write_bytes(team_pack_xlsx(week))
        record(engine, "export", "ok", username=ACTOR, role=ACTOR, kpi="team_pack", level="team", unit=team_id,
               date_from=week["monday"], date_to=week["as_at"], record_count=listed_count(week),
               detail=f"weekly team pack written to {path}", channel="scheduler",
               client_address=f"local:{socket.gethostname()}")
        written.append(path)
    return written


def email_attachments(weeks: dict[str, dict[str, Any]], written: list[Path], with_records: bool) -> dict[str, bytes]:
    """file name -> the pack to email: the files written, or (by default) each pack without its child-level
    rows, rebuilt from the same weeks."""
    if with_records:
        return {path.name: path.read_bytes() for path in written}
    return {file_name(t): team_pack_xlsx(without_records(w)) for t, w in weeks.items()}


def email_packs(settings: Settings, attachments: dict[str, bytes], subject: str) -> bool:
    """Send the packs as attachments of one email; False (nothing sent) where SMTP is not configured."""
    if not settings.smtp_host or not settings.smtp_to:
        return False
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = settings.smtp_to
    lists = ("The action lists are attached in full." if settings.pack_email_records else
             "The action lists give counts only: the children themselves are in kpidash (sign in to see them).")
    message.set_content(f"{len(attachments)} team pack(s) attached, from kpidash. {lists}")
    for name, data in attachments.items():
        message.add_attachment(data, maintype="application", subtype=XLSX.split("/")[1], filename=name)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        smtp.send_message(message)
    return True


def weekly_subject(today: dt.date) -> str:
    """The email's subject line."""
    return f"kpidash weekly team packs, week of {today - dt.timedelta(days=today.weekday())}"


def listed_count(week: dict[str, Any]) -> int:
    """How many child-level rows a team's pack lists (its audit entry's record_count)."""
    return sum(week["lists"][kpi]["count"] for _, kpi, _, _ in ACTION_LISTS)
