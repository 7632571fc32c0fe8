"""How each KPI is counted: one facts query per KPI family, shared by figures, records and trends.

A family's facts query reads the warehouse (`wh.*`), the working-day `calendar` and a `periods`
relation (p, period_start, period_end, end_wdi = wdi(period_end), next_day = period_end + 1 as a
timestamp) and returns one row per record and period it matters in, placed in its units
(team_unit, service_unit, worker_unit). Each KPI is then two row conditions over those facts: in
the numerator, and (for rates) in the denominator. Figures aggregate the conditions over all units
at once (kpis/engine.py); drill-down lists the rows that meet them (kpis/records.py). Because both
read the same facts, the records behind a figure always count to it.

Flow facts join records to periods by their event date; stock facts join them to every period
whose end they are open at. The period relation has one row for a single figure and N for a trend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from etl.contract import CASE_HOLDING_ROLES, GOOD_OR_BETTER
from kpis.caseload_daily import caseload_stretches

FAR_FUTURE = "DATE '9999-12-31'"
# Periods a 64-bit mask holds, one bit each: the most a trend's fast facts count (Family.trend_facts)
MASK_PERIODS = 63


@dataclass(frozen=True)
class Column:
    """A column of a drill-down record, and how to show it (dates as ISO text).

    sql, when given, computes it in the drill-down query over the facts of its one period (for
    details the figures never need, so the facts query does not carry them for every period).
    """

    name: str
    kind: Literal["value", "date", "datetime"] = "value"
    sql: str | None = None


@dataclass(frozen=True)
class Measure:
    """One KPI as conditions over its family's facts.

    numerator_if / denominator_if are row conditions: the rows drill-down lists as counted in the
    numerator, or only in the denominator. The figure counts them (count_if) unless numerator_sql /
    denominator_sql give another aggregate over the same rows (distinct children, sum of fte).
    """

    kpi_id: str
    numerator_if: str
    denominator_if: str | None = None
    numerator_sql: str | None = None
    denominator_sql: str | None = None
    record_columns: tuple[Column, ...] | None = None
    one_record_per_child: bool = False  # children_missing_now counts children, not episodes
    uses: tuple[str, ...] = ()  # the facts columns numerator_sql / denominator_sql read
    # tables this KPI needs beyond its family's (an optional QA file): without them, no rows at all
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class DailyStock:
    """A family's stock KPIs as stretches of days, for the daily cube (kpis/cube.py).

    sql returns (kpi, level, team_unit, service_unit, valid_from, valid_until, numerator, denominator):
    each row adds its numerator and denominator to the figure at the end of every day D with
    valid_from <= D < valid_until (FAR_FUTURE: no end). With level NULL the row counts at the trust,
    its service_unit and its team_unit, as a record that adds up does; with level 'trust', 'service'
    or 'team' only in that level's unit (a distinct count: a child counted once in each unit). It is a
    second reading of the family's facts, not a new definition: tests/kpis/test_kpi_cube.py and the
    differential fuzz test keep the two equal for every KPI, level and as-at date. kpis: the stock
    KPIs it gives.

    compute, instead of sql, computes the same rows (level NULL) in Python, for sweeps SQL can only
    write slowly: compute(cursor, {"kpis": the KPI ids asked for, "caseload_limit": ...}) returns int64
    numpy columns kpi (its place in kpis), team_u and service_u (the cube's unit numbers, from the
    temporary table cube_units), valid_from and valid_until (days since 1970-01-01), numerator, and
    denominator (a ratio's decimal denominator in units of 1e-9); and, optionally, same: columns it gives
    no rows for because they are sums of others, as (kpi, "n" or "d", ((kpi, "n" or "d", sign), ...)).
    """

    kpis: tuple[str, ...]
    sql: str | None = None
    compute: Callable[[Any, dict], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Family:
    """KPIs that share their records: one facts query computes all of them."""

    name: str
    facts: str
    measures: tuple[Measure, ...]
    record_columns: tuple[Column, ...]
    # facts giving the same figures, faster for a trend of 2 to MASK_PERIODS periods (figures only: drill-down is
    # for one period, and reads `facts` as the figure of one period does)
    trend_facts: str | None = None
    # The same facts for a periods relation of one row (figures and drill-down of one period): plain
    # joins at the one as-at date, none of the general form's machinery for many periods.
    one_period_facts: str | None = None
    # For the daily cube (kpis/cube.py), both optional: without them the family's KPIs are counted
    # from the facts on every request. flow_day: the date a flow row of the facts is dated by (the
    # date its facts query compares with the period), NULL on other rows; daily_stock: see DailyStock.
    flow_day: str | None = None
    daily_stock: DailyStock | None = None
    # the warehouse tables the family needs: without one of them (an optional QA file the extract did
    # not hold) the family has no rows at all, never 0
    requires: tuple[str, ...] = ()
    # a SELECT of worker ids that always have a worker row (0, or null for a rate), as teams.csv's teams
    # always have a team row; None: worker rows only where there is something to count
    listed_workers: str | None = None
    # a further key of every row (domain_good_or_better's `domain`): figures are per unit and per value
    # of it, and each unit listed gets a row for every value that has facts in the period
    extra_key: str | None = None

    def facts_for(self, periods: int) -> str:
        """The facts query for a periods relation of this many rows."""
        if periods == 1 and self.one_period_facts is not None:
            return self.one_period_facts
        return self.trend_facts if self.trend_facts is not None and 1 < periods <= MASK_PERIODS else self.facts


def _placed(table: str, with_rowid: bool = False) -> str:
    """A warehouse table's rows with the team and service they count in (UNKNOWN if not in teams.csv).

    with_rowid: also the row's number in its table as rid, a cheap key to join it back by.
    """
    return f"""(
        SELECT x.*,{" x.rowid AS rid," if with_rowid else ""}
               CASE WHEN tm.team_id IS NULL THEN 'UNKNOWN' ELSE tm.team_id END AS team_unit,
               coalesce(tm.service, 'UNKNOWN') AS service_unit
        FROM wh.{table} x LEFT JOIN wh.teams tm ON tm.team_id = x.team_id
    )"""


_ROLES = ", ".join(f"'{r}'" for r in CASE_HOLDING_ROLES)

# --- Caseload allocation (stock at each period end D) -------------------------------------------
# "open at D": start <= D and (end empty or end > D). A child is allocated at D when an allocation
# open at D names a worker of workers.csv active at D (start empty or <= D, end empty or >= D), of
# any role. A case-holding worker's caseload is the distinct children with an episode (any team,
# any type) open at D whom they hold by an allocation open at D; they count in their own team.
#
# Each child's allocations, each worker-child pair's allocations and each child's episodes are
# gathered into one list per key, and a row at D asks its list whether an interval holds D. So a
# 24-month trend never matches 24 copies of the allocations against 24 copies of the episodes, and
# nothing needs de-duplicating: a co-worked child, or a pair held by two overlapping allocations,
# is one list.
def _holds(intervals: str, day: str) -> str:
    """An interval of the list holds the day: from <= day < until."""
    return f"coalesce(list_bool_or(list_transform({intervals}, lambda iv: iv.f <= {day} AND iv.u > {day})), FALSE)"


# How the caseload facts end, once open_episodes and pairs (p, worker_id, child_id: each case-holding
# worker holding a child with an episode open at D) are made: the case-holding workers active at each
# D with their caseloads, and the facts' rows.
_CASELOAD_ROWS = f"""), workers AS (
    SELECT w.* FROM {_placed("workers")} w WHERE w.role IN ({_ROLES})
), caseloads AS (
    SELECT p.p, w.worker_id, w.team_id, w.team_unit, w.service_unit, w.fte, coalesce(n.caseload, 0) AS caseload
    FROM workers w
    JOIN periods p ON coalesce(w.start_date, DATE '0001-01-01') <= p.period_end
                  AND coalesce(w.end_date, {FAR_FUTURE}) >= p.period_end
    LEFT JOIN (SELECT p, worker_id, count(*) AS caseload FROM pairs GROUP BY p, worker_id) n
           ON n.p = p.p AND n.worker_id = w.worker_id
)
SELECT oe.p, 'episode' AS event, 'episode' AS record_type, oe.episode_id AS record_id, oe.child_id,
       oe.team_id, oe.team_unit, oe.service_unit, NULL::VARCHAR AS worker_id, NULL::VARCHAR AS worker_unit,
       oe.episode_type, oe.start_date, oe.end_date, oe.allocated, NULL::DOUBLE AS fte, NULL::BIGINT AS caseload
FROM open_episodes oe
UNION ALL
SELECT pr.p, 'held', 'allocation', NULL, pr.child_id,
       w.team_id, w.team_unit, w.service_unit, pr.worker_id, pr.worker_id,
       NULL, NULL, NULL, NULL, w.fte, NULL
FROM pairs pr JOIN workers w ON w.worker_id = pr.worker_id
UNION ALL
SELECT cl.p, 'worker', 'worker', cl.worker_id, NULL,
       cl.team_id, cl.team_unit, cl.service_unit, cl.worker_id, cl.worker_id,
       NULL, NULL, NULL, NULL, cl.fte, cl.caseload
FROM caseloads cl
"""

CASELOAD_FACTS = f"""
WITH bounds AS (
    SELECT min(period_end) AS first_end, max(period_end) AS last_end FROM periods
), held AS (
    -- an allocation while its worker (known to workers.csv) is in post: the child is held at D
    -- when f <= D < u (a worker's end_date is their last day in post); only allocations open at
    -- some period end matter
    SELECT al.child_id, al.worker_id, w.role IN ({_ROLES}) AS case_holding,
           greatest(al.start_date, coalesce(w.start_date, al.start_date)) AS f,
           least(coalesce(al.end_date, {FAR_FUTURE}), coalesce(w.end_date + 1, {FAR_FUTURE})) AS u
    FROM wh.allocations al JOIN wh.workers w ON w.worker_id = al.worker_id, bounds b
    WHERE al.start_date <= b.last_end AND coalesce(al.end_date, {FAR_FUTURE}) > b.first_end
), child_held AS (
    SELECT child_id, list({{'f': f, 'u': u}}) AS held FROM held GROUP BY child_id
), pair_held AS (
    SELECT worker_id, child_id, list({{'f': f, 'u': u}}) AS held, min(f) AS f, max(u) AS u
    FROM held WHERE case_holding GROUP BY worker_id, child_id
), child_open AS (
    SELECT e.child_id, list({{'f': e.start_date, 'u': coalesce(e.end_date, {FAR_FUTURE})}}) AS open
    FROM wh.episodes e, bounds b
    WHERE e.start_date <= b.last_end AND coalesce(e.end_date, {FAR_FUTURE}) > b.first_end
    GROUP BY e.child_id
), open_episodes AS (
    SELECT p.p, e.*, {_holds("ch.held", "p.period_end")} AS allocated
    FROM {_placed("episodes")} e
    JOIN periods p ON e.start_date <= p.period_end AND coalesce(e.end_date, {FAR_FUTURE}) > p.period_end
    LEFT JOIN child_held ch ON ch.child_id = e.child_id
), pairs AS (
    -- each case-holding worker holding a child with an episode open at D
    SELECT p.p, ph.worker_id, ph.child_id
    FROM pair_held ph
    JOIN periods p ON ph.f <= p.period_end AND ph.u > p.period_end
    JOIN child_open co ON co.child_id = ph.child_id
    WHERE {_holds("ph.held", "p.period_end")} AND {_holds("co.open", "p.period_end")}
{_CASELOAD_ROWS}"""

# The same facts for a trend of 2 to 63 periods (Family.trend_facts; tests/kpis/test_kpi_stock_facts.py
# checks they equal the facts above): the periods a record is open at are bits of a 64-bit mask.
# Period ends rise with p, so a record open on [f, u) is open at the end of p exactly when
# lo <= p < hi, lo the first period ending on or after f and hi the first ending on or after u;
# its mask has bits lo to hi - 1. A child's held mask is the OR of their allocations' masks, so an
# episode is allocated at p when bit p of its child's mask is set, and a worker-child pair is held
# with an open episode at p when bit p of (pair's held mask AND child's open-episode mask) is set.
# Each record is spread (unnest(range(lo, hi))) only over the periods it is open in, with no
# inequality join and no list to ask per row; worker-child pairs are keyed by the worker's rowid.
# The (worker, child) 'held' rows are left out: only drill-down lists them, and figures count them
# as the sum of the workers' caseloads.


def _open_periods(source: str, first: str, until: str) -> str:
    """source's rows with lo and hi: open at the ends of periods lo to hi - 1 (rows open at none dropped).

    The periods are contiguous (each starts the day after the one before ends), so the first period
    ending on or after a day inside them is the one holding it: one look-up in period_days.
    """
    return f"""(
        SELECT * FROM (
            SELECT x.*,
                   CASE WHEN {first} < s.first_start THEN 0 WHEN {first} > s.last_end THEN s.n ELSE lo.p END AS lo,
                   CASE WHEN {until} < s.first_start THEN 0 WHEN {until} > s.last_end THEN s.n ELSE hi.p END AS hi
            FROM {source} x CROSS JOIN period_span s
            LEFT JOIN period_days lo ON lo.d = {first}
            LEFT JOIN period_days hi ON hi.d = {until}
        ) WHERE lo < hi
    )"""


def _mask(lo: str, hi: str) -> str:
    """Bits lo to hi - 1 (hi <= 63)."""
    return f"((1::UBIGINT << ({hi})::UBIGINT) - (1::UBIGINT << ({lo})::UBIGINT))"


def _bit(mask: str, p: str) -> str:
    """Bit p of the mask is set."""
    return f"((({mask}) >> ({p})::UBIGINT) & 1::UBIGINT) = 1::UBIGINT"


_HELD_DATES = f"""(
    -- an allocation while its worker (known to workers.csv) is in post: the child is held at D
    -- when f <= D < u (a worker's end_date is their last day in post)
    SELECT al.child_id, w.rowid AS wk, w.role IN ({_ROLES}) AS case_holding,
           greatest(al.start_date, coalesce(w.start_date, al.start_date)) AS f,
           least(coalesce(al.end_date, {FAR_FUTURE}), coalesce(w.end_date + 1, {FAR_FUTURE})) AS u
    FROM wh.allocations al JOIN wh.workers w ON w.worker_id = al.worker_id
)"""

CASELOAD_TREND_FACTS = f"""
WITH period_span AS (
    SELECT min(period_start) AS first_start, max(period_end) AS last_end, count(*) AS n FROM periods
), period_days AS (
    SELECT p, CAST(unnest(range(period_start, period_end + 1, INTERVAL 1 DAY)) AS DATE) AS d FROM periods
),
held AS {_open_periods(_HELD_DATES, "x.f", "x.u")},
child_held AS (SELECT child_id, bit_or({_mask("lo", "hi")}) AS held FROM held GROUP BY child_id),
pair_held AS (
    SELECT wk, child_id, bit_or({_mask("lo", "hi")}) AS held, min(lo) AS lo, max(hi) AS hi
    FROM held WHERE case_holding GROUP BY wk, child_id
),
episode_open AS {_open_periods(_placed("episodes"), "x.start_date", f"coalesce(x.end_date, {FAR_FUTURE})")},
child_open AS (SELECT child_id, bit_or({_mask("lo", "hi")}) AS open FROM episode_open GROUP BY child_id),
open_episodes AS (
    SELECT p, e.* EXCLUDE (lo, hi, held), {_bit("coalesce(e.held, 0::UBIGINT)", "p")} AS allocated
    FROM (SELECT unnest(range(e.lo, e.hi)) AS p, e.*, ch.held
          FROM episode_open e LEFT JOIN child_held ch ON ch.child_id = e.child_id) e
), pairs AS (
    -- each case-holding worker (wk: their row of workers.csv) holding a child with an episode open at D
    SELECT p, wk, child_id FROM (
        SELECT unnest(range(ph.lo, ph.hi)) AS p, ph.wk, ph.child_id, ph.held & co.open AS held_open
        FROM pair_held ph JOIN child_open co ON co.child_id = ph.child_id
        WHERE ph.held & co.open <> 0::UBIGINT
    ) WHERE {_bit("held_open", "p")}
), workers AS (
    SELECT w.* FROM {_placed("workers", with_rowid=True)} w WHERE w.role IN ({_ROLES})
), active AS (
    -- active at D: start empty or <= D, end empty or >= D
    SELECT unnest(range(lo, hi)) AS p, * EXCLUDE (lo, hi)
    FROM {_open_periods("workers", "coalesce(x.start_date, DATE '0001-01-01')", f"coalesce(x.end_date + 1, {FAR_FUTURE})")}
), caseloads AS (
    SELECT w.p, w.worker_id, w.team_id, w.team_unit, w.service_unit, w.fte, coalesce(n.caseload, 0) AS caseload
    FROM active w
    LEFT JOIN (SELECT p, wk, count(*) AS caseload FROM pairs GROUP BY p, wk) n ON n.p = w.p AND n.wk = w.rid
)
SELECT oe.p, 'episode' AS event, 'episode' AS record_type, oe.episode_id AS record_id, oe.child_id,
       oe.team_id, oe.team_unit, oe.service_unit, NULL::VARCHAR AS worker_id, NULL::VARCHAR AS worker_unit,
       oe.episode_type, oe.start_date, oe.end_date, oe.allocated, NULL::DOUBLE AS fte, NULL::BIGINT AS caseload
FROM open_episodes oe
UNION ALL
SELECT cl.p, 'worker', 'worker', cl.worker_id, NULL,
       cl.team_id, cl.team_unit, cl.service_unit, cl.worker_id, cl.worker_id,
       NULL, NULL, NULL, NULL, cl.fte, cl.caseload
FROM caseloads cl
"""

# The same facts for one period (Family.one_period_facts; tests/kpis/test_kpi_stock_facts.py checks
# they equal the facts above, figures and drill-down): at one as-at date D "held" is a plain filter,
# an allocation open at D whose worker is in post at D, so no interval list is built for any child.
CASELOAD_ONE_PERIOD_FACTS = f"""
WITH held AS (
    SELECT p.p, al.child_id, al.worker_id, w.role IN ({_ROLES}) AS case_holding
    FROM wh.allocations al JOIN wh.workers w ON w.worker_id = al.worker_id, periods p
    WHERE al.start_date <= p.period_end AND coalesce(al.end_date, {FAR_FUTURE}) > p.period_end
      AND coalesce(w.start_date, p.period_end) <= p.period_end AND coalesce(w.end_date, p.period_end) >= p.period_end
), open_episodes AS (
    SELECT p.p, e.*, e.child_id IN (SELECT child_id FROM held) AS allocated
    FROM {_placed("episodes")} e
    JOIN periods p ON e.start_date <= p.period_end AND coalesce(e.end_date, {FAR_FUTURE}) > p.period_end
), pairs AS (
    -- each case-holding worker holding a child with an episode open at D
    SELECT DISTINCT p, worker_id, child_id FROM held
    WHERE case_holding AND child_id IN (SELECT child_id FROM open_episodes)
{_CASELOAD_ROWS}"""


# --- The daily cube's reading of the stock facts (Family.daily_stock) --------------------------------
# Each stock KPI as stretches of days [valid_from, valid_until) over which a record counts, so the
# cube adds up +1 where a stretch begins and -1 where it ends instead of counting every record at
# every day's end. The stretches follow the facts' conditions exactly ("open at D" is start <= D <
# end, a worker in post to their end_date is active until end_date + 1).
def _islands(source: str, keys: str) -> str:
    """The union of each key's [f, u) stretches in source, as disjoint stretches (touching ones joined)."""
    return f"""(
        SELECT {keys}, min(f) AS f, max(u) AS u FROM (
            SELECT *, count(*) FILTER (WHERE starts) OVER (PARTITION BY {keys} ORDER BY f, u ROWS UNBOUNDED PRECEDING)
                      AS island
            FROM (
                SELECT {keys}, f, u,
                       coalesce(f > max(u) OVER (PARTITION BY {keys} ORDER BY f, u
                                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), TRUE) AS starts
                FROM {source} WHERE f < u
            )
        ) GROUP BY {keys}, island
    )"""


# Caseload as stretches of days is a chain of per-child and per-worker sweeps: numpy, in kpis/caseload_daily.py.
CASELOAD_DAILY = DailyStock(
    ("open_cases", "unallocated_cases", "allocation_rate", "average_caseload", "workers_over_caseload_limit"),
    compute=caseload_stretches,
)


# Drill-down details, computed for the one period of a drill-down only.
_ALLOCATED_WORKERS = Column("allocated_workers", sql=f"""(
    SELECT string_agg(DISTINCT a.worker_id, ', ' ORDER BY a.worker_id)
    FROM wh.allocations a JOIN wh.workers w ON w.worker_id = a.worker_id, periods q
    WHERE a.child_id = facts.child_id
      AND a.start_date <= q.period_end AND coalesce(a.end_date, {FAR_FUTURE}) > q.period_end
      AND coalesce(w.start_date, q.period_end) <= q.period_end AND coalesce(w.end_date, q.period_end) >= q.period_end
)""")
_ALLOCATION_ID = Column("record_id", sql=f"""coalesce(record_id, (
    SELECT min(a.allocation_id) FROM wh.allocations a, periods q
    WHERE a.worker_id = facts.worker_id AND a.child_id = facts.child_id
      AND a.start_date <= q.period_end AND coalesce(a.end_date, {FAR_FUTURE}) > q.period_end
))""")
_CASELOAD = Column(
    "caseload", sql="coalesce(caseload, count(*) FILTER (WHERE event = 'held') OVER (PARTITION BY worker_id))")
_EPISODE_COLUMNS = (Column("episode_type"), Column("start_date", "date"), Column("end_date", "date"),
                    _ALLOCATED_WORKERS)
_WORKER_COLUMNS = (Column("fte"), _CASELOAD)
# fte summed as decimals: a float sum depends on the order rows arrive in (5.4 or 5.3999999999999995).
_FTE_SUM = "CAST(coalesce(sum(CAST(fte AS DECIMAL(18, 9))) FILTER (WHERE event = 'worker'), 0) AS DOUBLE)"

CASELOAD = Family(
    "caseload",
    CASELOAD_FACTS,
    (
        Measure("open_cases", "event = 'episode'"),
        Measure("unallocated_cases", "event = 'episode' AND NOT allocated"),
        Measure("allocation_rate", "event = 'episode' AND allocated", "event = 'episode'"),
        # Numerator: (worker, child) pairs, so a co-worked child counts for each worker; the figure
        # sums the workers' caseloads, the count of those pairs (a pair's worker is in post at D, so
        # has a worker row), and drill-down lists the pairs. Denominator: every case-holding
        # worker's fte; drill-down lists workers with no children as its rows.
        Measure(
            "average_caseload",
            "event = 'held'",
            "event = 'worker' AND caseload = 0",
            numerator_sql="CAST(coalesce(sum(caseload) FILTER (WHERE event = 'worker'), 0) AS BIGINT)",
            denominator_sql=_FTE_SUM,
            uses=("event", "fte", "caseload"),
            record_columns=(_ALLOCATION_ID, *_WORKER_COLUMNS),
        ),
        Measure(
            "workers_over_caseload_limit",
            "event = 'worker' AND caseload / fte > $caseload_limit",
            record_columns=_WORKER_COLUMNS,
        ),
    ),
    _EPISODE_COLUMNS,
    trend_facts=CASELOAD_TREND_FACTS,
    one_period_facts=CASELOAD_ONE_PERIOD_FACTS,
    daily_stock=CASELOAD_DAILY,
)

# --- Single assessments ---------------------------------------------------------------------------
# Flow: authorised in the period, wd(start_date, authorised_date). Stock: open at D (start <= D,
# authorised empty or > D) with wd(start_date, D) > 40, the only ones overdue or due soon: open at D
# and D on or after their 41st working day.
ASSESSMENT_FACTS = f"""
WITH a AS (
    SELECT x.*, nullif(x.worker_id, '') AS worker, cs.wdi AS start_wdi
    FROM {_placed("assessments")} x JOIN calendar cs ON cs.d = x.start_date
), a41 AS (
    -- from its 41st working day on, wd(start_date, D) > 40 (none if that day is beyond the calendar,
    -- which reaches past every as-at date asked for)
    SELECT a.*, c.d AS day_41 FROM a JOIN calendar c ON c.wdi = a.start_wdi + 41 AND c.working
)
SELECT p.p, 'authorised' AS event, 'assessment' AS record_type, a.assessment_id AS record_id, a.child_id,
       a.team_id, a.team_unit, a.service_unit, a.worker AS worker_id, a.worker AS worker_unit,
       a.start_date, a.authorised_date, ca.wdi - a.start_wdi AS working_days
FROM a
JOIN periods p ON a.authorised_date BETWEEN p.period_start AND p.period_end
JOIN calendar ca ON ca.d = a.authorised_date
UNION ALL
SELECT p.p, 'open', 'assessment', a.assessment_id, a.child_id,
       a.team_id, a.team_unit, a.service_unit, a.worker, a.worker,
       a.start_date, a.authorised_date, p.end_wdi - a.start_wdi
FROM a41 a
JOIN periods p ON a.day_41 <= p.period_end AND coalesce(a.authorised_date, {FAR_FUTURE}) > p.period_end
"""

# Daily cube: open at D and D from its 41st working day to the day before its 46th: due soon; from
# its 46th (wd(start_date, D) > 45) on: overdue; either until it is authorised.
_ASSESSMENT_STRETCHES = """
    SELECT 'assessments_due_soon' AS kpi, NULL AS level, team_unit, service_unit, day_41 AS valid_from,
           least(day_46, authorised) AS valid_until, 1 AS numerator, NULL::INTEGER AS denominator FROM a
    UNION ALL
    SELECT 'assessments_overdue', NULL, team_unit, service_unit, day_46, authorised, 1, NULL FROM a"""
ASSESSMENT_DAILY = DailyStock(
    ("assessments_overdue", "assessments_due_soon"),
    f"""
WITH a AS (
    SELECT x.team_unit, x.service_unit, coalesce(x.authorised_date, {FAR_FUTURE}) AS authorised,
           c41.d AS day_41, coalesce(c46.d, {FAR_FUTURE}) AS day_46
    FROM {_placed("assessments")} x
    JOIN calendar cs ON cs.d = x.start_date
    JOIN calendar c41 ON c41.wdi = cs.wdi + 41 AND c41.working
    LEFT JOIN calendar c46 ON c46.wdi = cs.wdi + 46 AND c46.working
)
{_ASSESSMENT_STRETCHES}
""",
)

ASSESSMENTS = Family(
    "assessments",
    ASSESSMENT_FACTS,
    (
        Measure("assessments_completed", "event = 'authorised'"),
        Measure("assessments_within_45wd", "event = 'authorised' AND working_days <= 45", "event = 'authorised'"),
        Measure("assessments_overdue", "event = 'open' AND working_days > 45"),
        Measure("assessments_due_soon", "event = 'open' AND working_days > 40 AND working_days <= 45"),
    ),
    (Column("start_date", "date"), Column("authorised_date", "date"), Column("working_days")),
    flow_day="CASE WHEN event = 'authorised' THEN authorised_date END",
    daily_stock=ASSESSMENT_DAILY,
)

# --- Section 47 enquiries -------------------------------------------------------------------------
# Flow: started (strategy_date) and ICPCs held (icpc_date, wd(strategy_date, icpc_date)) in the
# period. Stock: begun by D, not completed and no ICPC by D (each empty or > D), wd(strategy, D) > 15.
S47_FACTS = f"""
WITH s AS (
    SELECT x.*, nullif(x.worker_id, '') AS worker, cs.wdi AS start_wdi,
           least(coalesce(x.completed_date, {FAR_FUTURE}), coalesce(x.icpc_date, {FAR_FUTURE})) AS open_until
    FROM {_placed("s47_enquiries")} x JOIN calendar cs ON cs.d = x.strategy_date
), s16 AS (
    -- from its 16th working day on, wd(strategy_date, D) > 15
    SELECT s.*, c.d AS day_16 FROM s JOIN calendar c ON c.wdi = s.start_wdi + 16 AND c.working
)
SELECT p.p, 'started' AS event, 's47_enquiry' AS record_type, s.s47_id AS record_id, s.child_id,
       s.team_id, s.team_unit, s.service_unit, s.worker AS worker_id, s.worker AS worker_unit,
       s.strategy_date, s.completed_date, s.icpc_date, NULL::INTEGER AS working_days
FROM s JOIN periods p ON s.strategy_date BETWEEN p.period_start AND p.period_end
UNION ALL
SELECT p.p, 'icpc', 's47_enquiry', s.s47_id, s.child_id,
       s.team_id, s.team_unit, s.service_unit, s.worker, s.worker,
       s.strategy_date, s.completed_date, s.icpc_date, ci.wdi - s.start_wdi
FROM s
JOIN periods p ON s.icpc_date BETWEEN p.period_start AND p.period_end
JOIN calendar ci ON ci.d = s.icpc_date
UNION ALL
SELECT p.p, 'open', 's47_enquiry', s.s47_id, s.child_id,
       s.team_id, s.team_unit, s.service_unit, s.worker, s.worker,
       s.strategy_date, s.completed_date, s.icpc_date, p.end_wdi - s.start_wdi
FROM s16 s JOIN periods p ON s.day_16 <= p.period_end AND s.open_until > p.period_end
"""

S47 = Family(
    "s47",
    S47_FACTS,
    (
        Measure("s47_started", "event = 'started'"),
        Measure("icpcs_held", "event = 'icpc'"),
        Measure("icpc_within_15wd", "event = 'icpc' AND working_days <= 15", "event = 'icpc'"),
        Measure("s47_open_over_15wd", "event = 'open' AND working_days > 15"),
    ),
    (Column("strategy_date", "date"), Column("completed_date", "date"), Column("icpc_date", "date"),
     Column("working_days")),
    flow_day="CASE event WHEN 'started' THEN strategy_date WHEN 'icpc' THEN icpc_date END",
    daily_stock=DailyStock(
        ("s47_open_over_15wd",),
        # from its 16th working day until completed or conferenced, whichever is first
        f"""
        SELECT 's47_open_over_15wd' AS kpi, NULL AS level, x.team_unit, x.service_unit, c16.d AS valid_from,
               least(coalesce(x.completed_date, {FAR_FUTURE}), coalesce(x.icpc_date, {FAR_FUTURE})) AS valid_until,
               1 AS numerator, NULL::INTEGER AS denominator
        FROM {_placed("s47_enquiries")} x
        JOIN calendar cs ON cs.d = x.strategy_date
        JOIN calendar c16 ON c16.wdi = cs.wdi + 16 AND c16.working""",
    ),
)

# --- Children missing -----------------------------------------------------------------------------
# Local date-times compared as written (no time zone): started on a date in the period; returned
# on a date in the period, RHI offered when rhi_offered_time - end_time <= 72 hours (an offer made
# before the return counts); missing at the end of D: start_time < D+1 00:00 and (end_time empty
# or >= D+1 00:00), counted as distinct children.
MISSING_FACTS = f"""
WITH m AS {_placed("missing_episodes")}
SELECT p.p, 'started' AS event, 'missing_episode' AS record_type, m.missing_id AS record_id, m.child_id,
       m.team_id, m.team_unit, m.service_unit, NULL::VARCHAR AS worker_id, NULL::VARCHAR AS worker_unit,
       m.start_time, m.end_time, m.rhi_offered_time, NULL::DOUBLE AS hours, FALSE AS rhi_within_72h
FROM m JOIN periods p ON CAST(m.start_time AS DATE) BETWEEN p.period_start AND p.period_end
UNION ALL
SELECT p.p, 'returned', 'missing_episode', m.missing_id, m.child_id,
       m.team_id, m.team_unit, m.service_unit, NULL, NULL,
       m.start_time, m.end_time, m.rhi_offered_time,
       date_diff('second', m.end_time, m.rhi_offered_time) / 3600.0,
       coalesce(m.rhi_offered_time <= m.end_time + INTERVAL 72 HOURS, FALSE)
FROM m JOIN periods p ON CAST(m.end_time AS DATE) BETWEEN p.period_start AND p.period_end
UNION ALL
SELECT p.p, 'missing_now', 'missing_episode', m.missing_id, m.child_id,
       m.team_id, m.team_unit, m.service_unit, NULL, NULL,
       m.start_time, m.end_time, m.rhi_offered_time, NULL, FALSE
FROM m JOIN periods p ON m.start_time < p.next_day AND coalesce(m.end_time, TIMESTAMP '9999-12-31') >= p.next_day
"""

_MISSING_TIMES = (Column("start_time", "datetime"), Column("end_time", "datetime"),
                  Column("rhi_offered_time", "datetime"))

MISSING = Family(
    "missing",
    MISSING_FACTS,
    (
        Measure(
            "children_missing_now",
            "event = 'missing_now'",
            numerator_sql="count(DISTINCT child_id) FILTER (WHERE event = 'missing_now')",
            uses=("event", "child_id"),
            one_record_per_child=True,
        ),
        Measure("missing_episodes_started", "event = 'started'"),
        Measure(
            "rhi_offered_within_72h",
            "event = 'returned' AND rhi_within_72h",
            "event = 'returned'",
            record_columns=(*_MISSING_TIMES, Column("hours")),
        ),
    ),
    _MISSING_TIMES,
    flow_day="CASE event WHEN 'started' THEN CAST(start_time AS DATE) WHEN 'returned' THEN CAST(end_time AS DATE) END",
    # missing at the end of D: from the date it started until the date it ended (end_time >= D+1 00:00 is
    # a later date); a child counts once per unit, so each unit's stretches are joined per child
    daily_stock=DailyStock(
        ("children_missing_now",),
        f"""
WITH m AS (
    SELECT child_id, team_unit, service_unit, CAST(start_time AS DATE) AS f,
           coalesce(CAST(end_time AS DATE), {FAR_FUTURE}) AS u
    FROM {_placed("missing_episodes")}
), placed AS (
    SELECT 'trust' AS level, 'trust' AS unit, child_id, f, u FROM m
    UNION ALL SELECT 'service', service_unit, child_id, f, u FROM m
    UNION ALL SELECT 'team', team_unit, child_id, f, u FROM m
)
SELECT 'children_missing_now' AS kpi, level, CASE WHEN level = 'team' THEN unit END AS team_unit,
       CASE WHEN level = 'service' THEN unit END AS service_unit, f AS valid_from, u AS valid_until,
       1 AS numerator, NULL::INTEGER AS denominator
FROM {_islands("placed", "level, unit, child_id")}
""",
    ),
)

# --- Referrals ------------------------------------------------------------------------------------
# A re-referral has another referral of the same child dated r' with referral_date - 12 months <=
# r' < referral_date (calendar months, month ends clamped: 2024-02-29 looks back to 2023-02-28),
# from any team; r' < referral_date also makes it another referral. previous_referral_date is the
# latest such r': the latest of all the child's referral dates before referral_date, when it is in the
# 12 months (if any r' is, the latest earlier date is at least as late). Found from each child's dates in
# order, not by pairing each referral with the child's others: pairing is quadratic in a child's referrals
# (a valid file of 3.1 million referrals for 600 children took 112 s to count, and its load over 1 GB).
REFERRAL_FACTS = f"""
WITH r AS (
    SELECT p.p, x.*, nullif(x.worker_id, '') AS worker
    FROM {_placed("referrals")} x JOIN periods p ON x.referral_date BETWEEN p.period_start AND p.period_end
), child_dates AS (
    -- each day a child was referred on, and the day of its referral before that one (any team)
    SELECT child_id, referral_date, lag(referral_date) OVER (PARTITION BY child_id ORDER BY referral_date) AS before
    FROM (SELECT DISTINCT child_id, referral_date FROM wh.referrals
          WHERE referral_date IS NOT NULL AND child_id IN (SELECT child_id FROM r))
), earlier AS (
    SELECT child_id, referral_date,
           CASE WHEN before >= CAST(referral_date - INTERVAL 12 MONTH AS DATE) THEN before END AS previous_referral_date
    FROM child_dates
)
SELECT r.p, 'referral' AS event, 'referral' AS record_type, r.referral_id AS record_id, r.child_id,
       r.team_id, r.team_unit, r.service_unit, r.worker AS worker_id, r.worker AS worker_unit,
       r.referral_date, e.previous_referral_date, e.previous_referral_date IS NOT NULL AS re_referral
FROM r LEFT JOIN earlier e ON e.child_id = r.child_id AND e.referral_date = r.referral_date
"""

REFERRALS = Family(
    "referrals",
    REFERRAL_FACTS,
    (
        Measure("referrals", "event = 'referral'"),
        Measure("re_referral_rate", "event = 'referral' AND re_referral", "event = 'referral'"),
    ),
    (Column("referral_date", "date"), Column("previous_referral_date", "date")),
    flow_day="referral_date",
)

# --- Quality assurance: case-file audits (../shared/spec/qa-audits.md) --------------------------------
# An audit counts in its own team (UNKNOWN when empty or not in teams.csv), that team's service and its
# worker_id; an action and a domain grade count in their audit's units. Final grade: moderated_grade
# when set, else grade, whenever the moderation happened. Flow: completed (or moderated) in the period;
# stock at D: due_date < D and (completed_date empty or > D).
_GOOD = ", ".join(f"'{g}'" for g in GOOD_OR_BETTER)
# audits with the units they count in and their final grade (also read by kpis/qa.py)
AUDITS_PLACED = f"""(
    SELECT x.*, x.worker_id AS worker, coalesce(x.moderated_grade, x.grade) AS final_grade
    FROM {_placed("audits")} x
)"""
_AUDIT_WORKERS = "SELECT DISTINCT worker_id FROM wh.audits WHERE worker_id IS NOT NULL"
_AUDIT_COLUMNS = """a.audit_type, a.auditor_id, a.assigned_date, a.due_date, a.completed_date, a.grade,
       a.moderated_date, a.moderated_grade, a.final_grade"""
_NO_ACTION = "NULL::VARCHAR AS audit_id, NULL::VARCHAR AS description, NULL::VARCHAR AS owner_id"
# Audits and their actions in one query (one plan, one pass): an action row carries its own due and
# completed dates and its audit's units; audit_actions_overdue needs audit_actions.csv besides.
QA_AUDIT_FACTS = f"""
WITH a AS {AUDITS_PLACED}
SELECT p.p, 'completed' AS event, 'audit' AS record_type, a.audit_id AS record_id, a.child_id,
       a.team_id, a.team_unit, a.service_unit, a.worker AS worker_id, a.worker AS worker_unit, {_AUDIT_COLUMNS},
       {_NO_ACTION}
FROM a JOIN periods p ON a.completed_date BETWEEN p.period_start AND p.period_end
UNION ALL
SELECT p.p, 'moderated', 'audit', a.audit_id, a.child_id,
       a.team_id, a.team_unit, a.service_unit, a.worker, a.worker, {_AUDIT_COLUMNS}, {_NO_ACTION}
FROM a JOIN periods p ON a.moderated_date BETWEEN p.period_start AND p.period_end
UNION ALL
SELECT p.p, 'overdue', 'audit', a.audit_id, a.child_id,
       a.team_id, a.team_unit, a.service_unit, a.worker, a.worker, {_AUDIT_COLUMNS}, {_NO_ACTION}
FROM a JOIN periods p ON a.due_date < p.period_end AND coalesce(a.completed_date, {FAR_FUTURE}) > p.period_end
UNION ALL
SELECT p.p, 'action_overdue', 'audit_action', ac.action_id, a.child_id,
       a.team_id, a.team_unit, a.service_unit, a.worker, a.worker,
       NULL, NULL, NULL, ac.due_date, ac.completed_date, NULL, NULL, NULL, NULL,
       ac.audit_id, ac.description, ac.owner_id
FROM wh.audit_actions ac
JOIN a ON a.audit_id = ac.audit_id
JOIN periods p ON ac.due_date < p.period_end AND coalesce(ac.completed_date, {FAR_FUTURE}) > p.period_end
"""

_COMPLETED = "event = 'completed'"
QA_AUDITS = Family(
    "qa_audits",
    QA_AUDIT_FACTS,
    (
        Measure("audits_completed", _COMPLETED),
        Measure("audits_on_time", f"{_COMPLETED} AND completed_date <= due_date", _COMPLETED),
        Measure("audits_overdue", "event = 'overdue'"),
        Measure("audits_good_or_better", f"{_COMPLETED} AND final_grade IN ({_GOOD})", _COMPLETED),
        Measure("audits_inadequate", f"{_COMPLETED} AND final_grade = 'inadequate'"),
        Measure("moderation_agreement", "event = 'moderated' AND moderated_grade = grade", "event = 'moderated'"),
        Measure("audit_actions_overdue", "event = 'action_overdue'", requires=("audit_actions",),
                record_columns=(Column("audit_id"), Column("description"), Column("owner_id"),
                                Column("due_date", "date"), Column("completed_date", "date"))),
    ),
    (Column("audit_type"), Column("auditor_id"), Column("assigned_date", "date"), Column("due_date", "date"),
     Column("completed_date", "date"), Column("grade"), Column("moderated_date", "date"), Column("moderated_grade"),
     Column("final_grade")),
    requires=("audits",),
    listed_workers=_AUDIT_WORKERS,
    flow_day="CASE event WHEN 'completed' THEN completed_date WHEN 'moderated' THEN moderated_date END",
    # overdue at the end of D: from the day after it was due until the day it was completed
    daily_stock=DailyStock(
        ("audits_overdue", "audit_actions_overdue"),
        f"""
WITH a AS {AUDITS_PLACED}
SELECT 'audits_overdue' AS kpi, NULL AS level, a.team_unit, a.service_unit, a.due_date + 1 AS valid_from,
       coalesce(a.completed_date, {FAR_FUTURE}) AS valid_until, 1 AS numerator, NULL::INTEGER AS denominator
FROM a
UNION ALL
SELECT 'audit_actions_overdue', NULL, a.team_unit, a.service_unit, ac.due_date + 1,
       coalesce(ac.completed_date, {FAR_FUTURE}), 1, NULL
FROM wh.audit_actions ac JOIN a ON a.audit_id = ac.audit_id""",
    ),
)

# One row per (audit completed in the period, domain it graded): the domain's grade is final.
QA_DOMAIN_FACTS = f"""
WITH a AS {AUDITS_PLACED}
SELECT p.p, 'graded' AS event, 'audit_domain' AS record_type, a.audit_id AS record_id, a.child_id,
       a.team_id, a.team_unit, a.service_unit, a.worker AS worker_id, a.worker AS worker_unit,
       d.domain, d.grade AS domain_grade, a.completed_date
FROM wh.audit_domains d
JOIN a ON a.audit_id = d.audit_id
JOIN periods p ON a.completed_date BETWEEN p.period_start AND p.period_end
"""

QA_DOMAINS = Family(
    "qa_domains",
    QA_DOMAIN_FACTS,
    (Measure("domain_good_or_better", f"event = 'graded' AND domain_grade IN ({_GOOD})", "event = 'graded'"),),
    (Column("domain"), Column("domain_grade"), Column("completed_date", "date")),
    requires=("audits", "audit_domains"),
    listed_workers=_AUDIT_WORKERS,
    extra_key="domain",
    flow_day="completed_date",
)

FAMILIES: tuple[Family, ...] = (CASELOAD, ASSESSMENTS, S47, MISSING, REFERRALS, QA_AUDITS, QA_DOMAINS)
FAMILIES_BY_NAME: dict[str, Family] = {f.name: f for f in FAMILIES}
MEASURES: dict[str, Measure] = {m.kpi_id: m for f in FAMILIES for m in f.measures}
