"""The board's loop, as rules over the app database: who may write analysis and actions, and how a write
is kept. HTTP lives in api/routes/board.py; the tables in api/board_models.py.

Nothing is overwritten: analysis is a list of versions, an action's every change adds an ActionVersion.
Two writers are told apart by the version they started from (optimistic concurrency): a write names
its base version (If-Match or `base_version`); when the stored version is newer, the write is refused
with 409 and the newer text is left as it is. The unique (…, version) keys make the check race-free:
of two writers who both start from version n, one commits n + 1 and the other's insert fails.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.accounts import Principal
from api.board_models import Action, ActionChild, ActionVersion, AnalysisVersion
from api.models import User, utcnow
from core.dates import MAX_DATE, MIN_DATE, DateProblem, check_date

WRITE_ALL_ROLES = frozenset({"executive", "analyst"})
PUBLISH_ROLES = frozenset({"executive", "analyst", "admin"})
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
WEEK = re.compile(r"\d{4}-W(0[1-9]|[1-4]\d|5[0-3])")
MAX_TEXT = 20_000


class BoardError(Exception):
    """A refusal with an HTTP status and a sentence saying what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_day(name: str, day: dt.date) -> None:
    """A date the board writes (a due date, a board date) within the dates kpidash handles, as a figure's."""
    try:
        check_date(day, name)
    except DateProblem as exc:
        raise BoardError(422, f"{exc}.") from None


def check_period(level: str, period: str) -> str:
    """A month (YYYY-MM) at every level, or an ISO week (YYYY-Www) for a team, within the dates kpidash handles."""
    if period[:4].isdigit() and not MIN_DATE.year <= int(period[:4]) <= MAX_DATE.year:
        raise BoardError(422, f"period {period!r} is outside the dates kpidash handles ({MIN_DATE.year} to "
                         f"{MAX_DATE.year}).")
    if MONTH.fullmatch(period):
        return period
    if WEEK.fullmatch(period):
        if level != "team":
            raise BoardError(422, f"period {period!r} is a week: weekly analysis is for teams; for a {level} "
                             "give a month, YYYY-MM.")
        year, week = int(period[:4]), int(period[6:])
        try:
            dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise BoardError(422, f"period {period!r}: {year} has no ISO week {week}.") from None
        return period
    raise BoardError(422, f"period {period!r} is not a month (YYYY-MM, e.g. 2025-10) or, for a team, an ISO week "
                     "(YYYY-Www, e.g. 2025-W44).")


def period_dates(period: str | None, extract_date: dt.date) -> tuple[dt.date, dt.date]:
    """The days of a checked period (check_period): a month, or an ISO week; None: the extract date's month.
    A period holding the extract date ends on it, as the figure it was agreed from did."""
    if period is None:
        first, last = extract_date.replace(day=1), extract_date
    elif MONTH.fullmatch(period):
        first = dt.date(int(period[:4]), int(period[5:7]), 1)
        last = (first + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
    else:
        first = dt.date.fromisocalendar(int(period[:4]), int(period[6:]), 1)
        last = first + dt.timedelta(days=6)
    return first, (extract_date if first <= extract_date < last else last)


def write_refusal(user: Principal, level: str, unit: str, team_service: dict[str, str]) -> str | None:
    """None when the user may write analysis or agree actions for this unit, else the reason (a 403)."""
    if user.role in WRITE_ALL_ROLES:
        return None
    if user.role == "team_manager":
        if level == "team" and unit == user.team:
            return None
        return (f"As team manager of {user.team} you may write analysis and agree actions for team {user.team} "
                f"only, not {level} {unit}.")
    if user.role == "head_of_service":
        if (level == "service" and unit == user.service) or (level == "team" and team_service.get(unit) == user.service):
            return None
        return (f"As head of service for {user.service} you may write analysis and agree actions for that service "
                f"and its teams only, not {level} {unit}.")
    if user.role == "admin":
        return ("Admins manage actions (reassign, close, correct) and publish packs; the analysis and new actions "
                "are written by executives, analysts, heads of service and team managers.")
    if user.role == "board":
        return "Board members read the figures, the analysis and the actions; they do not write them."
    return f"Your role ({user.role}) may not write analysis or actions."


def action_refusal(user: Principal, action: Action, team_service: dict[str, str], changes: set[str]) -> str | None:
    """None when the user may make these changes to the action: whoever may write for its unit, an admin
    (who manages every action), or its owner (status and note only)."""
    if user.role == "admin":
        return None
    refusal = write_refusal(user, action.level, action.unit, team_service)
    if refusal is None:
        return None
    if action.owner_user == user.username and user.role != "board":
        if changes <= {"status", "status_note"}:
            return None
        return "As the action's owner you may change its status and note; the rest is for whoever agreed it."
    return f"Action {action.id} is for {action.level} {action.unit}. {refusal}"


# ---------------------------------------------------------------------------- analysis


def _analysis_query(kpi: str, level: str, unit: str, period: str):  # noqa: ANN202
    return select(AnalysisVersion).where(AnalysisVersion.kpi == kpi, AnalysisVersion.level == level,
                                         AnalysisVersion.unit == unit, AnalysisVersion.period == period)


def analysis_as_dict(v: AnalysisVersion) -> dict[str, Any]:
    return {"kpi": v.kpi, "level": v.level, "unit": v.unit, "period": v.period, "version": v.version, "text": v.text,
            "author": v.author, "author_role": v.author_role, "written_at": _iso(v.written_at)}


def latest_analysis(engine: Engine, kpi: str, level: str, unit: str, period: str) -> dict[str, Any]:
    """The analysis now (version 0 and empty text when none has been written)."""
    with Session(engine) as session:
        found = session.scalars(_analysis_query(kpi, level, unit, period)
                                .order_by(AnalysisVersion.version.desc()).limit(1)).first()
        if found is None:
            return {"kpi": kpi, "level": level, "unit": unit, "period": period, "version": 0, "text": "",
                    "author": None, "author_role": None, "written_at": None}
        return analysis_as_dict(found)


def analysis_history(engine: Engine, kpi: str, level: str, unit: str, period: str) -> list[dict[str, Any]]:
    """Every version, newest first."""
    with Session(engine) as session:
        rows = session.scalars(_analysis_query(kpi, level, unit, period).order_by(AnalysisVersion.version.desc()))
        return [analysis_as_dict(v) for v in rows]


def analyses_for(engine: Engine, period: str, level: str = "trust", unit: str = "trust") -> dict[str, dict[str, Any]]:
    """Every KPI's latest analysis for one unit and period (the book's)."""
    with Session(engine) as session:
        rows = session.scalars(select(AnalysisVersion).where(
            AnalysisVersion.period == period, AnalysisVersion.level == level, AnalysisVersion.unit == unit)
            .order_by(AnalysisVersion.version))
        return {v.kpi: analysis_as_dict(v) for v in rows}


def _conflict(what: str, current_version: int, by: str | None, at: str | None, base: int) -> BoardError:
    return BoardError(409, f"{what} was changed by {by} at {at} (now version {current_version}) after you started "
                      f"from version {base}. Your change was not saved: reload, add your change to theirs, and save "
                      "again.")


def write_analysis(engine: Engine, user: Principal, kpi: str, level: str, unit: str, period: str, text: str,
                   base_version: int) -> dict[str, Any]:
    """Add the next version, if the caller started from the current one (409 otherwise)."""
    if len(text) > MAX_TEXT:
        raise BoardError(422, f"The analysis is {len(text):,} characters; keep it under {MAX_TEXT:,}.")
    check_text({"text": text})
    current = latest_analysis(engine, kpi, level, unit, period)
    if base_version != current["version"]:
        raise _conflict("This analysis", current["version"], current["author"], current["written_at"], base_version)
    row = AnalysisVersion(kpi=kpi, level=level, unit=unit, period=period, version=base_version + 1, text=text,
                          author=user.username, author_role=user.role, written_at=utcnow())
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            session.add(row)
    except IntegrityError:  # another writer committed the same next version first
        now = latest_analysis(engine, kpi, level, unit, period)
        raise _conflict("This analysis", now["version"], now["author"], now["written_at"], base_version) from None
    return analysis_as_dict(row)


# ---------------------------------------------------------------------------- actions

ACTION_FIELDS = ("what", "owner_user", "owner_name", "due_date", "status", "status_note")


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def action_as_dict(a: Action, children: int = 0, today: dt.date | None = None) -> dict[str, Any]:
    today = today or dt.date.today()
    return {"id": a.id, "kpi": a.kpi, "level": a.level, "unit": a.unit, "period": a.period, "what": a.what,
            "owner": a.owner_user or a.owner_name, "owner_user": a.owner_user, "owner_name": a.owner_name,
            "due_date": a.due_date.isoformat(), "status": a.status, "status_note": a.status_note,
            "overdue": a.status == "open" and a.due_date < today, "closed_at": _iso(a.closed_at),
            "origin": a.origin, "version": a.version, "child_count": children, "created_by": a.created_by,
            "created_at": _iso(a.created_at), "updated_by": a.updated_by, "updated_at": _iso(a.updated_at)}


def _state(a: Action, child_ids: list[str]) -> str:
    values = {f: getattr(a, f) for f in ("kpi", "level", "unit", "period", *ACTION_FIELDS)}
    values["due_date"] = a.due_date.isoformat()
    return json.dumps({**values, "child_ids": child_ids}, sort_keys=True)


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def check_text(texts: dict[str, str | None]) -> None:
    """Text the board keeps holds no NUL character: PostgreSQL's text cannot store one (SQLite can), so
    the same write would pass on one database and fail as the other's error."""
    for name, text in texts.items():
        if text and "\x00" in text:
            raise BoardError(422, f"{name} holds a NUL character (\\x00), which cannot be kept: remove it.")


def _check_wording(values: dict[str, str | None]) -> None:
    """An action's text as given (what, owner_name, status_note): `what`, when given, says something, and
    nothing holds a NUL."""
    if "what" in values and _blank(values["what"]):
        raise BoardError(422, "Say what the action is: what is empty.")
    check_text(values)


def _one_owner(neither_too: bool) -> BoardError:
    return BoardError(422, "Give the action one owner: owner_user (a kpidash username) or owner_name (a named "
                      f"person without an account), not both{' and not neither' if neither_too else ''}.")


def check_owner(engine: Engine, owner_user: str | None, owner_name: str | None) -> None:
    if _blank(owner_user) == _blank(owner_name):  # a name of spaces names nobody
        raise _one_owner(neither_too=True)
    if owner_user:
        with Session(engine) as session:
            if session.scalar(select(User.id).where(User.username == owner_user, User.active.is_(True))) is None:
                raise BoardError(422, f"owner_user {owner_user!r} is not an active kpidash user; give owner_name "
                                 "for someone without an account.")


@dataclass(frozen=True)
class NewAction:
    kpi: str
    level: str
    unit: str
    period: str | None
    what: str
    owner_user: str | None
    owner_name: str | None
    due_date: dt.date
    origin: str | None
    child_ids: list[str]


def create_action(engine: Engine, user: Principal, new: NewAction) -> dict[str, Any]:
    _check_wording({"what": new.what, "owner_name": new.owner_name})
    check_day("due_date", new.due_date)
    check_owner(engine, new.owner_user, new.owner_name)
    now = utcnow()
    children = sorted(set(new.child_ids))
    action = Action(kpi=new.kpi, level=new.level, unit=new.unit, period=new.period, what=new.what,
                    owner_user=new.owner_user or None, owner_name=new.owner_name or None, due_date=new.due_date,
                    status="open", origin=new.origin, version=1, created_by=user.username, created_at=now,
                    updated_by=user.username, updated_at=now)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.add(action)
        session.flush()
        session.add_all(ActionChild(action_id=action.id, child_id=c) for c in children)
        session.add(ActionVersion(action_id=action.id, version=1, changed_by=user.username, changed_by_role=user.role,
                                  changed_at=now, change="agreed", state=_state(action, children)))
    return action_as_dict(action, len(children))


def get_action(engine: Engine, action_id: int) -> Action:
    with Session(engine, expire_on_commit=False) as session:
        action = session.get(Action, action_id)
    if action is None:
        raise BoardError(404, f"There is no action {action_id}: see GET /api/v1/actions.")
    return action


def child_ids(engine: Engine, action_id: int) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(ActionChild.child_id).where(ActionChild.action_id == action_id)
                                    .order_by(ActionChild.child_id)))


def _describe(before: Action, changes: dict[str, Any]) -> str:
    words = []
    for name, value in changes.items():
        old = getattr(before, name)
        if name == "status":
            words.append(f"status {old} -> {value}")
        elif name == "due_date":
            words.append(f"due {old.isoformat()} -> {value.isoformat()}")
        elif name in ("owner_user", "owner_name"):
            if value:
                words.append(f"owner -> {value}")
        else:
            words.append(f"{name.replace('_', ' ')} changed")
    return "; ".join(words)[:500] or "no change"


def update_action(engine: Engine, user: Principal, action_id: int, base_version: int,
                  changes: dict[str, Any]) -> dict[str, Any]:
    """Apply changes by compare-and-set on the version the caller started from (409 when it moved on)."""
    if not _blank(changes.get("owner_user")) and not _blank(changes.get("owner_name")):
        raise _one_owner(neither_too=False)  # a change may name neither: the owner stays
    _check_wording({k: changes[k] for k in ("what", "owner_name", "status_note") if k in changes})
    if changes.get("due_date") is not None:
        check_day("due_date", changes["due_date"])
    with Session(engine, expire_on_commit=False) as session, session.begin():
        action = session.get(Action, action_id)
        if action is None:
            raise BoardError(404, f"There is no action {action_id}: see GET /api/v1/actions.")
        if action.version != base_version:
            raise _conflict(f"Action {action_id}", action.version, action.updated_by, _iso(action.updated_at),
                            base_version)
        changes = {k: v for k, v in changes.items() if getattr(action, k) != v}
        if "owner_user" in changes or "owner_name" in changes:
            owner_user = changes.get("owner_user", action.owner_user)
            owner_name = changes.get("owner_name", action.owner_name)
            if changes.get("owner_user"):
                owner_name = changes["owner_name"] = None
            elif changes.get("owner_name"):
                owner_user = changes["owner_user"] = None
            check_owner(engine, owner_user, owner_name)
        status = changes.get("status", action.status)
        note = changes.get("status_note", action.status_note)
        if "status" in changes and status == "dropped" and _blank(note):
            raise BoardError(422, "Say why the action is dropped: give status_note.")
        change = _describe(action, changes)
        now = utcnow()
        values = {**changes, "version": base_version + 1, "updated_by": user.username, "updated_at": now}
        if "status" in changes:
            values["closed_at"] = None if status == "open" else now
        done = session.execute(update(Action).where(Action.id == action_id, Action.version == base_version)
                               .values(**values).execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise BoardError(409, f"Action {action_id} was changed by someone else while you saved: reload and "
                             "make your change again.")
        session.expire(action)
        action = session.get(Action, action_id)
        children = list(session.scalars(select(ActionChild.child_id).where(ActionChild.action_id == action_id)))
        session.add(ActionVersion(action_id=action_id, version=base_version + 1, changed_by=user.username,
                                  changed_by_role=user.role, changed_at=now, change=change,
                                  state=_state(action, sorted(children))))
    return action_as_dict(action, len(children))


def action_history(engine: Engine, action_id: int) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.scalars(select(ActionVersion).where(ActionVersion.action_id == action_id)
                               .order_by(ActionVersion.version.desc()))
        out = []
        for v in rows:
            state = json.loads(v.state)
            state.pop("child_ids", None)  # child-level: through GET /actions/{id}/children only
            out.append({"version": v.version, "changed_by": v.changed_by, "changed_by_role": v.changed_by_role,
                        "changed_at": _iso(v.changed_at), "change": v.change, "state": state})
        return out


@dataclass(frozen=True)
class ActionFilter:
    kpi: str | None = None
    level: str | None = None
    unit: str | None = None
    status: str | None = None
    owner: str | None = None
    overdue: bool = False
    for_user: Principal | None = None  # owned by, or within the write scope of, this user
    team_service: dict[str, str] | None = None


def list_actions(engine: Engine, f: ActionFilter, today: dt.date | None = None) -> list[dict[str, Any]]:
    today = today or dt.date.today()
    query = select(Action).order_by(Action.due_date, Action.id)
    if f.kpi:
        query = query.where(Action.kpi == f.kpi)
    if f.level:
        query = query.where(Action.level == f.level)
    if f.unit:
        query = query.where(Action.unit == f.unit)
    if f.status:
        query = query.where(Action.status == f.status)
    if f.owner:
        query = query.where(or_(Action.owner_user == f.owner, Action.owner_name == f.owner))
    if f.overdue:
        query = query.where(Action.status == "open", Action.due_date < today)
    if f.for_user is not None:
        query = query.where(_oversees(f.for_user, f.team_service or {}))
    with Session(engine) as session:
        actions = list(session.scalars(query))
        counts: dict[int, int] = {}
        for action_id, in session.execute(select(ActionChild.action_id).where(
                ActionChild.action_id.in_([a.id for a in actions]))):
            counts[action_id] = counts.get(action_id, 0) + 1
    return [action_as_dict(a, counts.get(a.id, 0), today) for a in actions]


def _oversees(user: Principal, team_service: dict[str, str]):  # noqa: ANN202
    """Actions the user owns, or oversees: their team's, their service's and its teams', or (executive) all."""
    owned = Action.owner_user == user.username
    if user.role == "executive":
        return Action.id.is_not(None)
    if user.role == "team_manager":
        return or_(owned, and_(Action.level == "team", Action.unit == user.team))
    if user.role == "head_of_service":
        teams = [t for t, s in team_service.items() if s == user.service]
        return or_(owned, and_(Action.level == "service", Action.unit == user.service),
                   and_(Action.level == "team", Action.unit.in_(teams)))
    return owned
