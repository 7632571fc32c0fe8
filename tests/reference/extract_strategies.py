"""Hypothesis strategies: a small, random, contract-valid case-management extract and a period to ask about.

The data is drawn around the period on purpose: dates sit on and next to the period's ends, the as-at
date D, weekends, bank holidays and Christmas; assessment starts sit 40, 41, 45 and 46 working days
before D, strategy discussions 15 and 16; missing-episode times sit near midnight and RHI offers at
exactly 72 hours; referrals exactly 12 calendar months apart (leap days included). Everything is
fictional (T1, W1, C1, ...); a few references are written with a space at an end or in lower case
(" T1", "C1 ", "w1": other ids, as the loader keeps them), and a team is now and then called UNKNOWN.
A few rows are deliberately invalid (repeated key, end before start, fte out of range, a malformed
date): the loader must reject exactly those, and both readings of the spec must see only the rows it
kept (tests/reference/test_differential_fuzz.py checks it).

The QA files (qa-audits.md) are drawn too, all three, some or none: audits completed on their due date,
a day either side, moderated the same or another day, with grades left on outstanding audits (ignored,
never rejected), teams unknown or empty; domain grades and actions due on the period's edges.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import holidays
import numpy as np
from hypothesis import strategies as st

from etl.contract import AUDIT_DOMAINS, AUDIT_TYPES, AUDITOR_ROLES, GRADES, QA_TABLES, TABLES_BY_NAME, WORKER_ROLES

Row = tuple[str | None, ...]
ONE_DAY = dt.timedelta(days=1)

# Days the period's end is drawn near: Christmas and New Year, Easter, a leap day, month ends, the
# special bank holidays of 2022-2023, ordinary weekdays and weekends.
ANCHORS = tuple(dt.date.fromisoformat(d) for d in (
    "2024-12-25", "2024-12-31", "2025-01-01", "2025-01-06", "2024-02-29", "2025-02-28", "2024-03-01",
    "2025-04-18", "2025-04-21", "2025-05-05", "2025-08-25", "2025-03-31", "2025-11-23", "2025-11-24",
    "2023-05-08", "2022-09-19", "2022-06-03", "2025-10-31", "2026-01-02",
))
# Working-day distances that sit on the KPIs' thresholds (15 for s47/ICPC, 40 and 45 for assessments).
WD_STEPS = (0, 1, 14, 15, 16, 39, 40, 41, 44, 45, 46)
PERIOD_LENGTHS = (0, 0, 1, 2, 6, 13, 30, 90, 370)
TIMES = ("00:00", "00:00:00", "00:01", "23:59", "23:59:59", "12:00", "09:30:15")
FTES = ("1", "1.0", "0.5", ".5", "0.6", "0.8", "0.1", "0.25", "0.3333333333333333", "0.6666666666666666")
CASELOAD_LIMITS = (20.0, 0.5, 1.0, 1.5, 2.0, 3.0)
# 72 hours exactly, a second or a minute either side, offers before the return, a week late.
RHI_GAPS = tuple(dt.timedelta(seconds=s) for s in (
    72 * 3600, 72 * 3600 + 1, 72 * 3600 + 60, 72 * 3600 - 1, 72 * 3600 - 60, 0, -3600, 3600, 7 * 86400))
MISSING_LENGTHS = tuple(dt.timedelta(minutes=m) for m in (0, 1, 59, 60 * 12, 60 * 24, 60 * 24 + 1, 60 * 24 * 5))

UNKNOWN_TEAM = "T9"      # in no teams.csv
UNKNOWN_WORKER = "WX"    # in no workers.csv
UNKNOWN_CHILD = "C99"    # in no children.csv
REAL_UNKNOWN_TEAM = "UNKNOWN"  # a team of teams.csv named like the unit of records with no known team


@dataclass(frozen=True)
class DrawnExtract:
    """One drawn extract: each table's valid rows as the CSV holds them (None = empty cell), the rows
    the loader must reject, and the periods (from, to) and configuration to compare figures under.
    """

    tables: dict[str, list[Row]]
    extracted_at: dt.datetime
    periods: tuple[tuple[dt.date, dt.date], ...]
    caseload_limit: float
    closure_days: tuple[dt.date, ...] = field(default=())
    invalid: tuple[tuple[str, int, Row], ...] = field(default=())  # (table, line index, row) the loader rejects
    qa_files: tuple[str, ...] = field(default=())  # the optional QA tables written (the others are left out)

    def written(self, table: str) -> bool:
        """Whether the table's file is in the extract (the nine always; a QA file when drawn)."""
        return table not in {t.name for t in QA_TABLES} or table in self.qa_files

    @property
    def valid_keys(self) -> dict[str, list[str]]:
        """Per table, the sorted keys of the rows the loader must keep (a file left out keeps none)."""
        return {name: sorted(row[0] for row in rows) if self.written(name) else []
                for name, rows in self.tables.items()}

    def written_rows(self, table: str) -> list[Row]:
        """The table's rows as written to its CSV file: the valid ones with the invalid ones in place."""
        rows = list(self.tables[table])
        for name, index, row in self.invalid:
            if name == table:
                rows.insert(index, row)
        return rows

    def as_csv(self) -> str:
        """Every table as the CSV text written, and the question asked: a failing example, readable."""
        lines = [f"periods={self.periods} limit={self.caseload_limit} closures={self.closure_days}",
                 f"manifest: {self.manifest()}"]
        for name in self.tables:
            if self.written(name) and (rows := self.written_rows(name)):
                lines.append(f"--- {name}.csv: " + ",".join(TABLES_BY_NAME[name].column_names))
                lines += [",".join("" if v is None else v for v in row) for row in rows]
        return "\n".join(lines)

    def manifest(self) -> str:
        return f'{{"extracted_at": "{self.extracted_at.isoformat(timespec="minutes")}", "source_system": "LCS"}}'


@lru_cache(maxsize=8)
def _closed_days(first_year: int, last_year: int) -> np.ndarray:
    days = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    return np.array(sorted(days), dtype="datetime64[D]")


def shift_working_days(day: dt.date, n: int) -> dt.date:
    """The day n working days after (n < 0: before) `day`, for placing dates on a threshold.

    Only where the data is drawn: the figures' working days are counted by the two readings under test.
    """
    calendar = _closed_days(day.year - 2, day.year + 2)
    # rolled back to a working day first, so wd(day, result) = n for a weekend or holiday day too
    shifted = np.busday_offset(np.datetime64(day, "D"), n, roll="backward", holidays=calendar).astype(dt.date)
    return max(shifted, day) if n >= 0 else shifted


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _stamp(moment: dt.datetime | None, seconds: bool) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="seconds" if seconds or moment.second else "minutes")


def _near(days: st.SearchStrategy[dt.date], spread: int = 2) -> st.SearchStrategy[dt.date]:
    return st.tuples(days, st.integers(-spread, spread)).map(lambda t: t[0] + dt.timedelta(days=t[1]))


def _threshold_days(date_to: dt.date) -> st.SearchStrategy[dt.date]:
    """A start on (or a day beside) a threshold's working days before D: 15, 16, 40, 41, 45, 46, ..."""
    return _near(st.sampled_from([shift_working_days(date_to, -k) for k in WD_STEPS]), 1)


def _day_strategy(key_days: list[dt.date], date_to: dt.date) -> st.SearchStrategy[dt.date]:
    """A date clustered around the period: near its ends, on a threshold before D, or anywhere close."""
    return st.one_of(
        _near(st.sampled_from(key_days)),
        _threshold_days(date_to),
        st.integers(-200, 40).map(lambda k: date_to + dt.timedelta(days=k)),
    )


def _sometimes(values: st.SearchStrategy, one_in: int) -> st.SearchStrategy:
    """A value one time in `one_in`, else None (an empty cell)."""
    return st.integers(1, one_in).flatmap(lambda k: values if k == 1 else st.none())


def _end_strategy(start: dt.date, days: st.SearchStrategy[dt.date]) -> st.SearchStrategy[dt.date | None]:
    """An end on or after start: none (open), the same day, a threshold's working days later, or any day."""
    return st.one_of(
        st.none(),
        st.just(start),
        st.integers(1, 3).map(lambda k: start + dt.timedelta(days=k)),
        st.tuples(st.sampled_from(WD_STEPS), st.integers(0, 2)).map(
            lambda t: shift_working_days(start, t[0]) + dt.timedelta(days=t[1])),
        days.map(lambda d: start + abs(d - start)),  # a day of the cluster, mirrored to after start
    )


@st.composite
def _dated(draw: st.DrawFn, days: st.SearchStrategy[dt.date]) -> tuple[dt.date, dt.date | None]:
    start = draw(days)
    return start, draw(_end_strategy(start, days))


def _twelve_months_before(day: dt.date) -> dt.date:
    """The same calendar day a year earlier, 29 February falling back to the 28th."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@st.composite
def _referral_dates(draw: st.DrawFn, days: st.SearchStrategy[dt.date]) -> list[dt.date]:
    """One child's referral dates: some exactly 12 months (or a day either side) apart, some the same day."""
    dates = [draw(days)]
    for _ in range(draw(st.integers(0, 3))):
        base = draw(st.sampled_from(dates))
        step = draw(st.sampled_from(("year_before", "year_after", "same_day", "any")))
        shift = dt.timedelta(days=draw(st.integers(-1, 1)))
        if step == "year_before":
            dates.append(_twelve_months_before(base) + shift)
        elif step == "year_after":
            after = base + dt.timedelta(days=366)
            while _twelve_months_before(after) > base:  # the first day whose look-back reaches base
                after -= ONE_DAY
            dates.append(after + shift)
        elif step == "same_day":
            dates.append(base)
        else:
            dates.append(draw(days))
    return dates


@st.composite
def _moment(draw: st.DrawFn, days: st.SearchStrategy[dt.date]) -> dt.datetime:
    day = draw(days)
    clock = dt.time.fromisoformat(draw(st.sampled_from(TIMES)))
    return dt.datetime.combine(day, clock)


@st.composite
def extracts(draw: st.DrawFn) -> DrawnExtract:
    """A small random extract of all nine tables that keeps the contract, and the periods to compare."""
    date_to = draw(_near(st.sampled_from(ANCHORS), 3))
    date_from = date_to - dt.timedelta(days=draw(st.sampled_from(PERIOD_LENGTHS)))
    extract_day = date_to + dt.timedelta(days=draw(st.sampled_from((0, 0, 0, 1, 2, -1, 30))))
    extracted_at = dt.datetime.combine(extract_day, dt.time.fromisoformat(draw(st.sampled_from(TIMES))))
    key_days = [date_from, date_to, date_from - ONE_DAY, date_to + ONE_DAY, extract_day,
                dt.date(date_to.year - 1, 12, 25), dt.date(date_to.year, 1, 1)]
    days = _day_strategy(key_days, date_to)
    maybe_days = st.one_of(st.none(), days)
    timed_starts = st.one_of(days, _threshold_days(date_to))  # assessments and s47s: also on the thresholds

    # teams: 1-4 in 1-2 services; records may also name an unknown team, or none
    n_teams = draw(st.integers(1, 4))
    services = draw(st.sampled_from((("Service A",), ("Service A", "Service B"))))
    teams = [(f"T{i}", f"Team {i}", draw(st.sampled_from(services))) for i in range(1, n_teams + 1)]
    team_ids = [t[0] for t in teams]
    record_team = st.sampled_from([*team_ids, UNKNOWN_TEAM, None])
    episode_team = st.sampled_from([*team_ids, UNKNOWN_TEAM])

    workers: list[Row] = []
    for i in range(1, draw(st.integers(1, 6)) + 1):
        # most in post throughout; some joining or leaving near the period's ends
        start = draw(_sometimes(days, 3))
        end = draw(_sometimes(days.map(lambda d, s=start: d if s is None else s + abs(d - s)), 3))
        workers.append((
            f"W{i}", f"Worker {i}", draw(episode_team), draw(st.sampled_from(WORKER_ROLES)),
            draw(st.sampled_from("YN")), draw(st.sampled_from(FTES)), draw(st.sampled_from(("Y", "N", None))),
            _iso(start), _iso(end),
        ))
    worker_ids = [w[0] for w in workers]
    record_worker = st.sampled_from([*worker_ids, UNKNOWN_WORKER, None])
    allocated_worker = st.sampled_from([*worker_ids, *worker_ids, UNKNOWN_WORKER])

    n_children = draw(st.integers(3, 15))
    children = [
        (f"C{i}", _iso(draw(maybe_days)), draw(st.sampled_from(("M", "F", "U", "N", None))),
         draw(st.sampled_from(("WBRI", "MWBC", "NOBT", None))), draw(st.sampled_from(("Y", "N", None))))
        for i in range(1, n_children + 1)
    ]
    child = st.sampled_from([*(c[0] for c in children), UNKNOWN_CHILD])

    episodes = []
    for i in range(1, draw(st.integers(0, 10)) + 1):
        start, end = draw(_dated(days))
        episodes.append((f"E{i}", draw(child), draw(st.sampled_from(("ASSESSMENT", "CIN", "CP", "CLA", "CARE_LEAVER"))),
                         _iso(start), _iso(end), draw(episode_team)))

    # allocations: most follow an episode (its child, from about its start, to its end, open or a
    # day either side), the rest are drawn anywhere
    spans = [(e[1], dt.date.fromisoformat(e[3]), e[4] and dt.date.fromisoformat(e[4])) for e in episodes]
    allocations = []
    for i in range(1, draw(st.integers(0, 12)) + 1):
        if spans and draw(st.integers(0, 3)):
            child_id, e_start, e_end = draw(st.sampled_from(spans))
            start = e_start + dt.timedelta(days=draw(st.sampled_from((0, 0, -3, 1, 5))))
            end = draw(st.sampled_from((None, e_end, e_end and e_end + ONE_DAY, e_end and e_end - ONE_DAY)))
            end = None if end is None else max(end, start)
        else:
            child_id, (start, end) = draw(child), draw(_dated(days))
        allocations.append((f"A{i}", child_id, draw(allocated_worker), _iso(start), _iso(end)))

    assessments = []
    for i in range(1, draw(st.integers(0, 8)) + 1):
        if draw(st.booleans()):
            start, end = draw(_dated(timed_starts))
        else:  # authorised near the period's ends, on a threshold's working days after its start
            end = draw(_near(st.sampled_from(key_days), 1))
            start = shift_working_days(end, -draw(st.sampled_from(WD_STEPS))) - dt.timedelta(days=draw(st.integers(0, 1)))
        assessments.append((f"S{i}", draw(child), None, _iso(start), _iso(end), draw(record_team), draw(record_worker)))

    s47s = []
    for i in range(1, draw(st.integers(0, 8)) + 1):
        start, completed = draw(_dated(timed_starts))
        icpc = draw(_end_strategy(start, days))
        required = "Y" if icpc is not None else draw(st.sampled_from(("Y", "N", None)))
        s47s.append((f"Q{i}", draw(child), _iso(start), _iso(completed), required, _iso(icpc),
                     draw(record_team), draw(record_worker)))

    missing = []
    for i in range(1, draw(st.integers(0, 8)) + 1):
        started = draw(_moment(days))
        returned = draw(st.one_of(
            st.none(),
            st.sampled_from(MISSING_LENGTHS).map(lambda gap, s=started: s + gap),
            _moment(days).map(lambda m, s=started: s + abs(m - s)),
        ))
        offered = draw(st.one_of(
            st.none(),
            st.sampled_from(RHI_GAPS).map(lambda gap, r=returned or started: r + gap),
            _moment(days),
        ))
        accepted = None if offered is None else draw(st.sampled_from(("Y", "N", None)))
        seconds = draw(st.booleans())
        missing.append((f"M{i}", draw(child), _stamp(started, seconds), _stamp(returned, seconds),
                        _stamp(offered, seconds), accepted, draw(record_team)))

    referrals = []
    for c in draw(st.lists(child, max_size=5)):
        for r_date in draw(_referral_dates(days)):
            referrals.append((f"R{len(referrals) + 1}", c, _iso(r_date), draw(st.sampled_from(("1A", "5C", None))),
                              draw(st.sampled_from(("Y", "N", None))), draw(record_team), draw(record_worker)))

    qa_files = draw(st.sampled_from((
        ("audits", "audit_domains", "audit_actions"), ("audits", "audit_domains", "audit_actions"), (),
        ("audits",), ("audits", "audit_domains"), ("audits", "audit_actions"))))
    audits, domains, actions = _qa_rows(draw, days, key_days, child, record_team, record_worker) if qa_files else (
        [], [], [])

    tables: dict[str, list[Row]] = {
        "teams": teams, "workers": workers, "children": children, "episodes": episodes,
        "allocations": allocations, "assessments": assessments, "s47_enquiries": s47s,
        "missing_episodes": missing, "referrals": referrals,
        "audits": audits, "audit_domains": domains, "audit_actions": actions,
    }
    invalid = []
    for name in draw(st.lists(st.sampled_from(sorted(INVALID_ROWS)), max_size=2, unique=True)):
        rows = tables[name]
        if rows and (name not in INVALID_ROWS or name in qa_files or name not in {t.name for t in QA_TABLES}):
            how = draw(st.sampled_from(("repeat", "broken")))
            # a repeated key goes after its first row, which the loader keeps; a broken row anywhere
            index = draw(st.integers(1 if how == "repeat" else 0, len(rows)))
            invalid.append((name, index, INVALID_ROWS[name](rows[0], how)))

    closure_days = tuple(sorted(set(draw(st.lists(_near(st.sampled_from(key_days), 3), max_size=3)))))
    extra = draw(st.one_of(
        st.sampled_from(key_days).map(lambda d: (d, d)),
        st.just((date_from - ONE_DAY, date_to + ONE_DAY)),
        st.tuples(days, st.integers(0, 40)).map(lambda t: (t[0], t[0] + dt.timedelta(days=t[1]))),
    ))
    _lookalikes(tables, invalid)
    return DrawnExtract(
        tables=tables,
        invalid=tuple(invalid),
        extracted_at=extracted_at,
        periods=((date_from, date_to), extra),
        caseload_limit=draw(st.sampled_from(CASELOAD_LIMITS)),
        closure_days=closure_days,
        qa_files=qa_files,
    )


def _lookalikes(tables: dict[str, list[Row]], invalid: list) -> None:
    """Now and then a real team whose id is UNKNOWN (the unit of records with no known team), and a few
    references written as another file might write them: a space at an end, or lower case. The loader
    keeps values as written, so " T1" and "t1" are not team T1, nor "C1 " child C1 (other ids).

    Chosen from the rows already drawn (a seeded generator, no further draws), so the other draws stay
    the ones the coverage test (test_draws_give_the_comparison_something_to_compare) relies on."""
    pick = random.Random(zlib.crc32(repr(sorted(tables.items())).encode()))
    # (not when an invalid row repeats a team's key: renamed, the team would no longer be repeated)
    if pick.randrange(8) == 0 and not any(name == "teams" for name, _, _ in invalid):
        old = tables["teams"][-1][0]
        for name, rows in tables.items():
            columns = TABLES_BY_NAME[name].column_names
            if "team_id" in columns:
                at = columns.index("team_id")
                rows[:] = [(*r[:at], REAL_UNKNOWN_TEAM, *r[at + 1:]) if r[at] == old else r for r in rows]
    references = [(name, i, at) for name, rows in sorted(tables.items()) for i, row in enumerate(rows)
                  for at, column in enumerate(TABLES_BY_NAME[name].column_names)
                  if at > 0 and column in ("team_id", "child_id", "worker_id") and row[at]]
    for name, i, at in pick.sample(references, min(len(references), pick.randrange(4))):
        row = tables[name][i]
        value = pick.choice((f" {row[at]}", f"{row[at]} ", row[at].lower()))
        tables[name][i] = (*row[:at], value, *row[at + 1:])


def _qa_rows(draw: st.DrawFn, days: st.SearchStrategy[dt.date], key_days: list[dt.date], child: st.SearchStrategy,
             team: st.SearchStrategy, worker: st.SearchStrategy) -> tuple[list[Row], list[Row], list[Row]]:
    """Audits, their domain grades and their actions, dated on the period's edges and the due dates'."""
    audits, domains, actions = [], [], []
    grades = st.sampled_from(GRADES)
    for i in range(1, draw(st.integers(0, 8)) + 1):
        assigned = draw(days)
        due = assigned + dt.timedelta(days=draw(st.sampled_from((0, 1, 7, 28))))
        due = draw(st.one_of(st.just(due), st.sampled_from(key_days).map(lambda d, a=assigned: max(d, a))))
        completed = draw(st.one_of(
            st.none(), st.just(due), st.just(due + ONE_DAY), st.just(max(due - ONE_DAY, assigned)),
            _end_strategy(assigned, days)))
        # a grade on an audit not yet completed is ignored (stored empty), whatever it holds
        grade = draw(grades) if completed else draw(st.sampled_from((None, None, "good", "not-a-grade")))
        moderated = None if completed is None else draw(st.one_of(
            st.none(), st.just(completed), st.integers(1, 40).map(lambda k, c=completed: c + dt.timedelta(days=k)),
            st.sampled_from(key_days).map(lambda d, c=completed: max(d, c))))
        moderated_grade = None if moderated is None else draw(st.one_of(st.just(grade), grades))
        audit_id = f"AU{i}"
        audits.append((audit_id, draw(child), draw(st.sampled_from(AUDIT_TYPES)), None, draw(team), draw(worker),
                       "AUD1", draw(st.sampled_from((*AUDITOR_ROLES, None))), _iso(assigned), _iso(due),
                       _iso(completed), grade, _iso(moderated), moderated_grade))
        for domain in draw(st.lists(st.sampled_from(AUDIT_DOMAINS), max_size=4, unique=True)):
            # grades cycle with the row, so small draws still grade some domains below good
            domains.append((audit_id, domain, GRADES[(len(domains) + draw(st.integers(0, 3))) % len(GRADES)]))
        for _ in range(draw(st.integers(0, 2))):
            action_due = draw(_near(st.sampled_from(key_days), 1))
            done = draw(st.one_of(st.none(), st.just(action_due), _near(st.just(action_due), 2)))
            actions.append((f"AC{len(actions) + 1}", audit_id, "Update the plan", draw(worker), _iso(action_due),
                            _iso(done)))
    return audits, domains, actions


def _invalid(table: str, broken: dict[str, str | None]) -> Callable[[Row, str], Row]:
    """A maker of one invalid row for the table: a repeat of the first row's key, or a broken copy of it."""
    columns = TABLES_BY_NAME[table].column_names

    def make(first: Row, how: str) -> Row:
        row = dict(zip(columns, first, strict=True))
        if how == "repeat":
            return tuple(row.values())  # the same key again: the second is rejected, the first kept
        row.update(broken, **{columns[0]: f"{first[0]}-BAD"})
        return tuple(row.values())

    return make


# One way per table to break a copy of its first row (the copy gets a new key, so only its fault counts).
INVALID_ROWS = {
    "workers": _invalid("workers", {"fte": "1.5"}),
    "episodes": _invalid("episodes", {"start_date": "2025-02-10", "end_date": "2025-02-09"}),
    "allocations": _invalid("allocations", {"start_date": "31/01/2025"}),
    "assessments": _invalid("assessments", {"start_date": "2025-01-10", "authorised_date": "2025-01-09"}),
    "s47_enquiries": _invalid("s47_enquiries", {"strategy_date": "2025-01-10", "icpc_date": "2025-01-03"}),
    "missing_episodes": _invalid("missing_episodes", {"start_time": "2025-01-10T10:00", "end_time": "2025-01-10T09:59"}),
    "referrals": _invalid("referrals", {"referral_date": None}),
    # moderated with no completed_date; a domain row of an audit that is not there; a date that is not one
    "audits": _invalid("audits", {"completed_date": None, "moderated_date": "2025-01-10", "moderated_grade": "good"}),
    "audit_domains": _invalid("audit_domains", {}),
    "audit_actions": _invalid("audit_actions", {"due_date": "2025-13-01"}),
}
