"""The caseload family's stock KPIs as stretches of days, for the daily cube (Family.daily_stock).

A second reading of kpis/families.py's caseload facts, kept equal to them by tests/kpis/test_kpi_cube.py
and the differential fuzz test. It is numpy, not SQL, because it is a chain of per-child and
per-worker sweeps (joining each child's allocations into the stretches they hold the child, each
worker's caseload day by day) that DuckDB can only write as windows over a hundred thousand tiny
partitions: ten times the cost of sorting once and sweeping the arrays.

The same rules as the facts: "open at D" is start <= D < end; an allocation holds its child while its
worker (known to workers.csv) is in post, from the later of their starts to the earlier of the
allocation's end and the day after the worker's end_date; a child is allocated at D when any such
stretch holds D; a case-holding worker's caseload is the number of children they hold at D who have
an episode (any team) open at D.
"""

from __future__ import annotations

import duckdb
import numpy as np

from etl.contract import CASE_HOLDING_ROLES

_ROLES = ", ".join(f"'{r}'" for r in CASE_HOLDING_ROLES)
_DAY = "CAST(date_diff('day', DATE '1970-01-01', {}) AS BIGINT)"
_FAR = "DATE '9999-12-31'"
_SPAN = 1 << 22  # more days than 0001-01-01 to 9999-12-31 since 1970 span: keys * _SPAN + day never collide


def _day(sql: str) -> str:
    return _DAY.format(sql)


def _fetch(cur: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> dict[str, np.ndarray]:
    got = cur.execute(sql, params or {}).fetchnumpy()
    return {k: np.asarray(v) for k, v in got.items()}


def _islands(key: np.ndarray, f: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each key's [f, u) stretches joined where they overlap or touch: (key, f, u) of the islands,
    sorted by key then f. One sort and a running maximum, offset by key so it restarts at each key."""
    keep = f < u
    key, f, u = key[keep], f[keep], u[keep]
    base = key.astype(np.int64) * _SPAN
    order = np.argsort(base + f)
    key, f, u, base = key[order], f[order], u[order], base[order]
    reach = np.maximum.accumulate(base + u)
    starts = np.ones(len(key), dtype=bool)
    starts[1:] = base[1:] + f[1:] > reach[:-1]
    first = np.flatnonzero(starts)
    if len(first) == 0:
        return key, f, u
    return key[first], f[first], np.maximum.reduceat(u, first)


def _overlaps(islands: tuple[np.ndarray, np.ndarray, np.ndarray], key: np.ndarray, f: np.ndarray,
              u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, f, u): for each row of (key, f, u), its stretch within each island of the same key it
    overlaps (islands sorted by key, as _islands gives them)."""
    ikey, ifrom, iuntil = islands
    # keys are small numbers (children, numbered from 1): each key's first island and count by index
    size = int(max(ikey.max(initial=0), key.max(initial=0))) + 1
    per_key = np.bincount(ikey, minlength=size)
    first = np.concatenate(([0], np.cumsum(per_key)[:-1]))
    lo, count = first[key], per_key[key]
    row = np.repeat(np.arange(len(key)), count)
    island = np.repeat(lo - np.concatenate(([0], np.cumsum(count)[:-1])), count) + np.arange(count.sum())
    start = np.maximum(f[row], ifrom[island])
    end = np.minimum(u[row], iuntil[island])
    keep = start < end
    return row[keep], start[keep], end[keep]


# Columns made from others' (DailyStock.compute's "same"): unallocated = open - allocated; the allocation
# rate's denominator is the open cases. Their stretches are the same episodes' and allocated days', so
# the cube counts them once (about half the caseload's stretches at scale 10).
SAME = (("unallocated_cases", "n", (("open_cases", "n", 1), ("allocation_rate", "n", -1))),
        ("allocation_rate", "d", (("open_cases", "n", 1),)))


def caseload_stretches(cur: duckdb.DuckDBPyConnection, params: dict) -> dict[str, np.ndarray]:
    """The caseload KPIs' stretches for the cube: columns kpi (its place in params["kpis"]), team_u and
    service_u (units, from the temporary table cube_units), valid_from and valid_until (days since
    1970-01-01), numerator, and denominator (average_caseload's fte sum in units of 1e-9, exact: the
    engine adds them as DECIMAL(18, 9)); and same (SAME when every KPI it names was asked for, else ())."""
    units = "(SELECT unit, u FROM cube_units WHERE level = '{}')"
    # children and workers' rows numbered (a worker by their row, as the facts key them by rowid: the rows
    # read may be views of the rows as checked, which have none)
    cur.execute("""CREATE OR REPLACE TEMP TABLE caseload_children AS
                   SELECT child_id, CAST(row_number() OVER () AS BIGINT) AS c
                   FROM (SELECT child_id FROM wh.allocations UNION SELECT child_id FROM wh.episodes)""")
    cur.execute("""CREATE OR REPLACE TEMP TABLE caseload_workers AS
                   SELECT *, CAST(row_number() OVER () AS BIGINT) AS w FROM wh.workers""")
    try:
        h = _fetch(cur, f"""
            SELECT ch.c, w.w, w.role IN ({_ROLES}) AS case_holding,
                   {_day("greatest(al.start_date, coalesce(w.start_date, al.start_date))")} AS f,
                   {_day(f"least(coalesce(al.end_date, {_FAR}), coalesce(w.end_date + 1, {_FAR}))")} AS u
            FROM wh.allocations al JOIN caseload_workers w ON w.worker_id = al.worker_id
            JOIN caseload_children ch ON ch.child_id = al.child_id""")
        episodes = _fetch(cur, f"""
            SELECT ch.c, tu.u AS team_u, su.u AS service_u, {_day("e.start_date")} AS f,
                   {_day(f"coalesce(e.end_date, {_FAR})")} AS u
            FROM wh.episodes e JOIN caseload_children ch ON ch.child_id = e.child_id
            LEFT JOIN wh.teams tm ON tm.team_id = e.team_id
            JOIN {units.format("team")} tu ON tu.unit = CASE WHEN tm.team_id IS NULL THEN 'UNKNOWN' ELSE tm.team_id END
            JOIN {units.format("service")} su ON su.unit = coalesce(tm.service, 'UNKNOWN')""")
        workers = _fetch(cur, f"""
            SELECT w.w, tu.u AS team_u, su.u AS service_u, w.fte,
                   CAST(CAST(CAST(w.fte AS DECIMAL(18, 9)) AS DECIMAL(38, 9)) * 1000000000 AS BIGINT) AS fte_nano,
                   {_day("coalesce(w.start_date, DATE '0001-01-01')")} AS f, {_day(f"coalesce(w.end_date + 1, {_FAR})")} AS u
            FROM caseload_workers w LEFT JOIN wh.teams tm ON tm.team_id = w.team_id
            JOIN {units.format("team")} tu ON tu.unit = CASE WHEN tm.team_id IS NULL THEN 'UNKNOWN' ELSE tm.team_id END
            JOIN {units.format("service")} su ON su.unit = coalesce(tm.service, 'UNKNOWN')
            WHERE w.role IN ({_ROLES})""")
    finally:
        cur.execute("DROP TABLE IF EXISTS caseload_children")
        cur.execute("DROP TABLE IF EXISTS caseload_workers")

    child_held = _islands(h["c"], h["f"], h["u"])
    child_open = _islands(episodes["c"], episodes["f"], episodes["u"])
    # allocated: each episode's days within its child's allocation islands
    e_row, a_from, a_until = _overlaps(child_held, episodes["c"], episodes["f"], episodes["u"])
    # pairs: each case-holding worker's islands of holding a child, within the child's open islands
    n_children = int(max(h["c"].max(initial=0), episodes["c"].max(initial=0))) + 1
    holding = h["case_holding"].astype(bool)
    pair_key = h["w"][holding].astype(np.int64) * n_children + h["c"][holding]
    pair, p_from, p_until = _islands(pair_key, h["f"][holding], h["u"][holding])
    p_row, p_from, p_until = _overlaps(child_open, pair % n_children, p_from, p_until)
    p_worker = (pair // n_children)[p_row]

    # each worker's caseload, a step at each pair's first day and the day after its last
    by_rowid = np.argsort(workers["w"])
    p_index = by_rowid[np.searchsorted(workers["w"], p_worker, sorter=by_rowid)]  # each pair's worker
    far = int(_far_day(cur))
    step_worker = np.concatenate([p_index, p_index[p_until < far]])
    step_day = np.concatenate([p_from, p_until[p_until < far]])
    step = np.concatenate([np.ones(len(p_index), np.int64), -np.ones(int((p_until < far).sum()), np.int64)])
    keys, where = np.unique(step_worker * _SPAN + step_day, return_inverse=True)
    change = np.zeros(len(keys), np.int64)
    np.add.at(change, where, step)
    s_worker, s_day = keys // _SPAN, keys % _SPAN
    running = np.cumsum(change)
    new_worker = np.ones(len(keys), dtype=bool)
    new_worker[1:] = s_worker[1:] != s_worker[:-1]
    starts = np.flatnonzero(new_worker)
    caseload = running - np.repeat(running[starts] - change[starts], np.diff(np.append(starts, len(keys))))
    s_until = np.append(s_day[1:], far)  # each step lasts until the worker's next step (the last: always)
    if len(keys):
        s_until[np.append(starts[1:], len(keys)) - 1] = far
    with np.errstate(divide="ignore", invalid="ignore"):
        over = caseload / workers["fte"][s_worker] > params["caseload_limit"]

    k = {kpi: i for i, kpi in enumerate(params["kpis"])}
    e_team, e_service = episodes["team_u"], episodes["service_u"]
    w_team, w_service = workers["team_u"], workers["service_u"]
    # open, and allocated, cases give all three of their KPIs: the others' columns are made from theirs
    same = SAME if {"open_cases", "unallocated_cases", "allocation_rate"} <= k.keys() else ()
    parts = [  # (kpi, team_u, service_u, from, until, numerator, denominator)
        ("open_cases", e_team, e_service, episodes["f"], episodes["u"], 1, 0),
        *(() if same else (
            ("unallocated_cases", e_team, e_service, episodes["f"], episodes["u"], 1, 0),
            ("unallocated_cases", e_team[e_row], e_service[e_row], a_from, a_until, -1, 0),
            ("allocation_rate", e_team, e_service, episodes["f"], episodes["u"], 0, 1))),
        ("allocation_rate", e_team[e_row], e_service[e_row], a_from, a_until, 1, 0),
        ("average_caseload", w_team[p_index], w_service[p_index], p_from, p_until, 1, 0),
        ("average_caseload", w_team, w_service, workers["f"], workers["u"], 0, workers["fte_nano"]),
        ("workers_over_caseload_limit", w_team[s_worker[over]], w_service[s_worker[over]], s_day[over],
         s_until[over], 1, 0),
    ]
    parts = [p for p in parts if p[0] in k]
    out: dict[str, list[np.ndarray]] = {c: [] for c in ("kpi", "team_u", "service_u", "valid_from", "valid_until",
                                                         "numerator", "denominator")}
    for kpi, team, service, start, end, n, d in parts:
        size = len(start)
        for column, values in (("kpi", k[kpi]), ("team_u", team), ("service_u", service), ("valid_from", start),
                               ("valid_until", end), ("numerator", n), ("denominator", d)):
            out[column].append(np.broadcast_to(np.asarray(values, dtype=np.int64), (size,)))
    return {c: np.concatenate(v) if v else np.zeros(0, np.int64) for c, v in out.items()} | {"same": same}


def _far_day(cur: duckdb.DuckDBPyConnection) -> int:
    return cur.execute(f"SELECT {_day(_FAR)}").fetchone()[0]
