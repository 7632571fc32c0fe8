"""The weekly team pack: each team's KPI figures for the default period, one XLSX per team, written to
a dated folder and (where SMTP is configured) emailed.

A minimal pack of the scheduler's own; the figures are the KPI layer's, computed once for every team.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
from email.message import EmailMessage
from pathlib import Path

import xlsxwriter

from core.settings import Settings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ("KPI", "Title", "Numerator", "Denominator", "Value")


def _file_name(team_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", team_id) + ".xlsx"


def write_team_packs(warehouse_path: Path, out_dir: Path) -> list[Path]:
    """One pack per team into out_dir/<extract date>/; returns the files written."""
    from kpis import compute_kpis, get_kpi, open_warehouse

    with open_warehouse(warehouse_path) as wh:
        date_to = wh.extract_date
        date_from = date_to.replace(day=1)
        teams = {t["team_id"]: t for t in wh.teams()}
        rows = compute_kpis(wh, date_from, date_to, level="team")
    by_team: dict[str, list[dict]] = {team_id: [] for team_id in teams}
    for row in rows:
        by_team.setdefault(row["unit"], []).append(row)
    folder = out_dir / date_to.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for team_id, figures in by_team.items():
        path = folder / _file_name(team_id)
        name = teams.get(team_id, {}).get("team_name", team_id)
        with xlsxwriter.Workbook(str(path)) as book:
            sheet = book.add_worksheet("KPIs")
            bold = book.add_format({"bold": True})
            sheet.write_row(0, 0, [f"{name} ({team_id}): KPIs {date_from} to {date_to}"], bold)
            sheet.write_row(2, 0, HEADER, bold)
            for i, f in enumerate(figures, start=3):
                sheet.write_row(i, 0, [f["kpi"], get_kpi(f["kpi"]).title, f["numerator"], f["denominator"], f["value"]])
            sheet.set_column(0, 1, 40)
        written.append(path)
    return written


def email_packs(settings: Settings, packs: list[Path], subject: str) -> bool:
    """Send the packs as attachments of one email; False (nothing sent) where SMTP is not configured."""
    if not settings.smtp_host or not settings.smtp_to:
        return False
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = settings.smtp_to
    message.set_content(f"{len(packs)} team pack(s) attached, from kpidash.")
    for path in packs:
        message.add_attachment(path.read_bytes(), maintype="application", subtype=XLSX.split("/")[1],
                               filename=path.name)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        smtp.send_message(message)
    return True


def weekly_subject(today: dt.date) -> str:
    """The email's subject line."""
    return f"kpidash weekly team packs, week of {today - dt.timedelta(days=today.weekday())}"
