"""The KPI history: each day's figures as published (what the dashboard showed that day), kept in the
app database so later loads and corrections never change what was reported.

One snapshot per day, every level, the day's default period (1st of the extract's month to the
extract date). A second snapshot on the same day replaces the first: the day's last word stands.

A figure with a domain (domain_good_or_better) is stored with its kpi written `kpi:domain`, so the
table keeps one row per figure without a new column; `split_kpi` reads it back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float, Engine, String, UniqueConstraint, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.appdb import Base

LONDON = ZoneInfo("Europe/London")


class KpiHistory(Base):
    """One reported figure: a KPI at a unit, as published on `reported_on`."""

    __tablename__ = "kpi_history"
    __table_args__ = (UniqueConstraint("reported_on", "kpi", "level", "unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reported_on: Mapped[dt.date] = mapped_column(Date, index=True)
    run_id: Mapped[str] = mapped_column(String(40))
    extract_date: Mapped[dt.date] = mapped_column(Date)
    date_from: Mapped[dt.date] = mapped_column(Date)
    date_to: Mapped[dt.date] = mapped_column(Date)
    kpi: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(200))
    numerator: Mapped[int | None]
    denominator: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    stored_at: Mapped[dt.datetime]


@dataclass(frozen=True)
class Snapshot:
    """What one snapshot stored."""

    reported_on: dt.date
    run_id: str
    date_from: dt.date
    date_to: dt.date
    figures: int


def today_local() -> dt.date:
    """The trust's (Europe/London) date: a figure is 'reported on' the trust's day, not UTC's."""
    return dt.datetime.now(LONDON).date()


def store_snapshot(engine: Engine, warehouse_path: Path, reported_on: dt.date | None = None) -> Snapshot:
    """Compute every KPI at every level for the default period of the published warehouse and store it."""
    from kpis import compute_kpis, open_warehouse

    reported_on = reported_on or today_local()
    with open_warehouse(warehouse_path) as wh:
        date_to = wh.extract_date
        date_from = date_to.replace(day=1)
        rows = compute_kpis(wh, date_from, date_to, level="all")
        run_id = wh.run_id
    stored_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    common = {"reported_on": reported_on, "run_id": run_id, "extract_date": date_to, "date_from": date_from,
              "date_to": date_to, "stored_at": stored_at}
    with engine.begin() as conn:
        conn.execute(delete(KpiHistory).where(KpiHistory.reported_on == reported_on))
        if rows:
            conn.execute(insert(KpiHistory), [{**common, **_stored(row)} for row in rows])
    return Snapshot(reported_on, run_id, date_from, date_to, len(rows))


def _stored(row: dict) -> dict:
    """A figure as the history table keeps it: its domain, if any, folded into kpi."""
    if "domain" not in row:
        return row
    shown = {k: v for k, v in row.items() if k != "domain"}
    return {**shown, "kpi": f"{row['kpi']}:{row['domain']}"}


def split_kpi(stored: str) -> tuple[str, str | None]:
    """(kpi, domain) of a stored kpi (`domain_good_or_better:assessment`), domain None for the others."""
    kpi, _, domain = stored.partition(":")
    return kpi, domain or None


def reported(engine: Engine, reported_on: dt.date, level: str, unit: str | None = None) -> list[KpiHistory]:
    """The figures as reported on a day at a level (one unit, or all), ordered by KPI then unit."""
    query = select(KpiHistory).where(KpiHistory.reported_on == reported_on, KpiHistory.level == level)
    if unit is not None:
        query = query.where(KpiHistory.unit == unit)
    with Session(engine) as session:
        return list(session.scalars(query.order_by(KpiHistory.id)))


def reported_days(engine: Engine, limit: int = 10) -> list[dt.date]:
    """The latest days that have a snapshot, newest first."""
    with engine.connect() as conn:
        return list(conn.scalars(select(KpiHistory.reported_on).distinct()
                                 .order_by(KpiHistory.reported_on.desc()).limit(limit)))
