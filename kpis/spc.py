"""Statistical process control of KPI trends: XmR charts, the special-cause rules and the variation
and assurance icons, exactly as ../shared/spec/spc.md defines them (choices: docs/spc.md).

Built on kpi_trend's rows, so an SPC request costs one trend (and inherits whatever makes trends
fast), then worked out for every series of the request at once: the series become one matrix
(series x periods), the points one flat array in series and time order, and every statistic and rule
is a numpy expression over all of them, never a Python loop over units, periods or points.

Floating point: decisions must not depend on the order values were added in. Means are correctly
rounded averages (compensated summation, then a correctly rounded division), and every comparison
with a mean, limit or target treats numbers within REL_TOL of the segment's largest value as equal,
so a point equal to the mean in exact arithmetic breaks a run whatever rounding made of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from kpis.compute import resolve_kpis, resolve_levels
from kpis.errors import KpiError
from kpis.registry import Kpi
from kpis.targets import DEFAULT_SPC, SpcSettings
from kpis.trends import MAX_PERIODS, kpi_trend
from kpis.warehouse import LEVELS, Warehouse

DEFAULT_PERIODS = 24
FIRM_LIMITS_POINTS = 12  # fewer points in the last segment: trial limits
SIGMA = 2.66
NEAR = (2 / 3) * 2.66  # as the spec writes it: mean + (2/3) * 2.66 * mR_bar, evaluated left to right
REL_TOL = 1e-10

SPC_KEYS = ("kpi", "level", "unit", "by", "better", "target", "trial_limits", "variation", "assurance", "points")
POINT_KEYS = ("period_start", "period_end", "value", "mean", "lower_limit", "upper_limit", "lower_near", "upper_near",
              "outside", "two_of_three", "shift", "trend", "special_cause")
# What a trend row holds besides a series' extra keys (a KPI such as domain_good_or_better adds `domain`)
_TREND_KEYS = frozenset({"period_start", "period_end", "kpi", "level", "unit", "numerator", "denominator", "value",
                         "available", "note"})
_CAUSES = (None, "improvement", "concern", "neither")
_VARIATIONS = ("common_cause", "special_cause_improvement", "special_cause_concern", "special_cause_neither")
_ASSURANCES = ("pass", "fail", "hit_and_miss")
_BETTER = {"higher": 1, "lower": -1, None: 0}


def last_complete_period_end(by: str, day: dt.date) -> dt.date:
    """The last day of the last month, or Monday-to-Sunday week, that ends on or before `day`."""
    if by == "month":
        return day if (day + dt.timedelta(days=1)).day == 1 else day.replace(day=1) - dt.timedelta(days=1)
    if by == "week":
        return day - dt.timedelta(days=(day.weekday() + 1) % 7)
    raise KpiError(f'"{by}" is not an SPC period; use month or week')


def period_bounds(by: str, periods: int, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The `periods` complete months or weeks ending on `end` (a period's last day), oldest first."""
    if by == "week":
        return [(end - dt.timedelta(days=7 * i + 6), end - dt.timedelta(days=7 * i)) for i in range(periods - 1, -1, -1)]
    index = end.year * 12 + end.month - 1
    firsts = [dt.date((index - i) // 12, (index - i) % 12 + 1, 1) for i in range(periods - 1, -2, -1)]  # and the next
    return [(a, b - dt.timedelta(days=1)) for a, b in zip(firsts, firsts[1:])]


def kpi_spc(
    wh: Warehouse,
    kpi_ids: str | Sequence[str] | None,
    by: str = "month",
    periods: int = DEFAULT_PERIODS,
    level: str | Sequence[str] = "trust",
    unit: str | None = None,
    date_to: dt.date | None = None,
) -> list[dict]:
    """The XmR chart of each KPI (None: all) for every unit of the level (or one unit), over the
    `periods` complete months or weeks ending on or before date_to (default: the extract date).

    One dict per series in the spec's JSON shape (SPC_KEYS), ordered by KPI (registry order), level,
    unit and any extra key the KPI's rows carry (which then also appears, after `unit`).
    """
    if by not in ("month", "week"):
        raise KpiError(f'"{by}" is not an SPC period; use month or week')
    if not 1 <= periods <= MAX_PERIODS:
        raise KpiError(f"an SPC chart has 1 to {MAX_PERIODS} periods, not {periods}")
    levels = resolve_levels(level, unit)
    kpis = resolve_kpis(kpi_ids)
    day = date_to if date_to is not None else wh.extract_date
    try:
        end = last_complete_period_end(by, day)
        bounds = period_bounds(by, periods, end)
    except (OverflowError, ValueError):  # a month past 9999-12
        raise KpiError(f"{day} is outside the dates kpidash counts in") from None
    rows = kpi_trend(wh, [k.id for k in kpis], by=by, periods=periods, level=levels, unit=unit, date_to=end)
    return spc_from_trend(rows, kpis, by, bounds, wh.config.targets, wh.config.spc_settings)


@dataclass(frozen=True)
class _Series:
    kpi: Kpi
    level: str
    unit: str
    extra: tuple[tuple[str, object], ...]
    availability: tuple[bool, str | None] | None


def spc_from_trend(rows: list[dict], kpis: Sequence[Kpi], by: str, bounds: Sequence[tuple[dt.date, dt.date]],
                   targets: dict, settings_of: Callable[[str], SpcSettings]) -> list[dict]:
    """The SPC objects of kpi_trend's rows (one series per KPI, level, unit and extra keys).

    A period with no row is a count of 0 for a count KPI (the engine writes UNKNOWN and worker rows
    only where there is something to count) and null, so no point, for a rate or ratio.
    """
    n_periods = len(bounds)
    starts = {s.isoformat(): i for i, (s, _) in enumerate(bounds)}
    kpi_rank = {k.id: i for i, k in enumerate(kpis)}
    by_id = {k.id: k for k in kpis}
    index: dict[tuple, int] = {}
    series: list[_Series] = []
    row_series, row_period, row_value = [], [], []
    for r in rows:
        extra = tuple((k, r[k]) for k in r if k not in _TREND_KEYS) if len(r) > 8 else ()
        key = (r["kpi"], r["level"], r["unit"], extra)
        s = index.get(key)
        if s is None:
            s = index[key] = len(series)
            availability = (r["available"], r.get("note")) if "available" in r else None
            series.append(_Series(by_id[r["kpi"]], r["level"], r["unit"], extra, availability))
        row_series.append(s)
        row_period.append(starts[r["period_start"]])
        v = r["value"]
        row_value.append(np.nan if v is None else v)
    order = sorted(range(len(series)), key=lambda i: (kpi_rank[series[i].kpi.id], LEVELS.index(series[i].level),
                                                       series[i].unit, _sortable(series[i].extra)))
    rank = np.empty(len(series), dtype=np.int64)
    rank[order] = np.arange(len(series))
    series = [series[i] for i in order]
    n_series = len(series)
    rs = rank[np.asarray(row_series, dtype=np.int64)]
    rp = np.asarray(row_period, dtype=np.int64)
    cells = np.bincount(rs * n_periods + rp, minlength=n_series * n_periods)
    if (cells > 1).any():
        dup = series[int(np.argmax(cells > 1)) // n_periods]
        raise KpiError(f"{dup.kpi.id} gives more than one figure for {dup.level} {dup.unit} in one period: its rows "
                       "need a key that tells them apart")

    zero_fill = np.array([s.kpi.measure == "count" and (s.availability is None or s.availability[0])
                          for s in series], dtype=bool)
    values = np.tile(np.where(zero_fill, 0.0, np.nan)[:, None], (1, n_periods))
    values[rs, rp] = np.asarray(row_value, dtype=np.float64)

    kpi_settings = {k.id: settings_of(k.id) for k in kpis}
    kpi_segments = {k: _segments(st, bounds) for k, st in kpi_settings.items()}
    segments = np.array([kpi_segments[s.kpi.id] for s in series], dtype=np.int64).reshape(n_series, n_periods)
    st = [kpi_settings[s.kpi.id] for s in series]
    target_of = {k: (t.target if t is not None else None) for k, t in ((k.id, targets.get(k.id)) for k in kpis)}
    result = xmr(
        values, segments,
        shift_run=np.array([x.shift_run_length for x in st], dtype=np.int64),
        trend_run=np.array([x.trend_run_length for x in st], dtype=np.int64),
        baseline=np.array([x.baseline_length or 0 for x in st], dtype=np.int64),
        better=np.array([_BETTER[s.kpi.polarity] for s in series], dtype=np.int8),
        target=np.array([np.nan if target_of[s.kpi.id] is None else target_of[s.kpi.id] for s in series]),
    )
    return _objects(series, result, by, bounds, target_of)


def _sortable(extra: tuple[tuple[str, object], ...]) -> tuple:
    return tuple((k, v is None, "" if v is None else str(v)) for k, v in extra)


def _segments(settings: SpcSettings, bounds: Sequence[tuple[dt.date, dt.date]]) -> list[int]:
    """Each period's segment: a rebase date starts a new segment at the period holding it. Dates
    before the first period change nothing; dates after the last name no period of the series."""
    first, last = bounds[0][0], bounds[-1][1]
    starts = sorted({i for d in settings.rebase_dates if first <= d <= last
                     for i, (s, e) in enumerate(bounds) if s <= d <= e})
    return np.searchsorted(np.asarray(starts, dtype=np.int64), np.arange(len(bounds)), side="right").tolist()


def _objects(series: list[_Series], res: dict, by: str, bounds: Sequence[tuple[dt.date, dt.date]],
             target_of: dict) -> list[dict]:
    iso = [(s.isoformat(), e.isoformat()) for s, e in bounds]
    out: list[dict] = []
    points: list[list[dict]] = []
    for i, s in enumerate(series):
        pts: list[dict] = []
        points.append(pts)
        obj = {"kpi": s.kpi.id, "level": s.level, "unit": s.unit}
        obj.update(s.extra)
        variation, assurance = int(res["variation"][i]), int(res["assurance"][i])
        obj.update({"by": by, "better": s.kpi.polarity, "target": target_of[s.kpi.id],
                    "trial_limits": bool(res["trial_limits"][i]),
                    "variation": _VARIATIONS[variation] if variation >= 0 else None,
                    "assurance": _ASSURANCES[assurance] if assurance >= 0 else None,
                    "points": pts})
        if s.availability is not None:
            obj["available"], obj["note"] = s.availability
        out.append(obj)
    counts = [s.kpi.measure == "count" for s in series]
    columns = [res[k].tolist() for k in ("series", "period", "value", "mean", "lower_limit", "upper_limit",
                                         "lower_near", "upper_near", "outside", "two_of_three", "shift", "trend",
                                         "cause")]
    for s, p, v, mean, ll, ul, ln, un, o, two, sh, tr, cause in zip(*columns):
        start, end = iso[p]
        limits = mean == mean  # NaN: no limits
        points[s].append({
            "period_start": start, "period_end": end, "value": int(v) if counts[s] else v,
            "mean": mean if limits else None, "lower_limit": ll if limits else None,
            "upper_limit": ul if limits else None, "lower_near": ln if limits else None,
            "upper_near": un if limits else None, "outside": o, "two_of_three": two, "shift": sh, "trend": tr,
            "special_cause": _CAUSES[cause]})
    return out


# --- the XmR computation, for every series at once ---------------------------------------------------------------


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = 134217729.0 * a  # 2**27 + 1 (Dekker)
    hi = c - (c - a)
    return hi, a - hi


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _column_means(cells: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each column's sum (zeros pad the short ones) divided by its count, correctly rounded: the sum is
    carried exactly as hi + lo (error-free additions, one row of every column at a time), then divided
    with its remainder."""
    hi = np.zeros(cells.shape[1])
    lo = np.zeros(cells.shape[1])
    for row in cells:
        hi, err = _two_sum(hi, row)
        lo += err
    hi, lo = _two_sum(hi, lo)
    n = counts.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = hi / n
        p, p_err = _two_product(q, n)
        return q + (((hi - p) - p_err) + lo) / n


def xmr(values: np.ndarray, segments: np.ndarray, shift_run: np.ndarray, trend_run: np.ndarray,
        baseline: np.ndarray, better: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """The spec's XmR chart of every row of `values` (series x periods, NaN = null) at once.

    segments: each period's segment number (non-decreasing along a row); shift_run, trend_run: R and
    T per series; baseline: B per series (0 = every point); better: +1 higher, -1 lower, 0 none;
    target: per series (NaN = none). Returns flat per-point arrays (series, period, value, mean,
    limits, rule flags, cause 0 none / 1 improvement / 2 concern / 3 neither) and per-series
    variation (-1 null, else an index of _VARIATIONS), assurance (-1 null, else of _ASSURANCES) and
    trial_limits.
    """
    n_series = values.shape[0]
    s_idx, p_idx = np.nonzero(~np.isnan(values))
    x = values[s_idx, p_idx]
    seg = segments[s_idx, p_idx]
    m = len(x)
    out: dict[str, np.ndarray] = {"series": s_idx, "period": p_idx, "value": x}
    last_seg = segments[:, -1] if values.shape[1] else np.zeros(n_series, dtype=np.int64)
    if m == 0:
        nan = np.full(0, np.nan)
        out.update(mean=nan, lower_limit=nan, upper_limit=nan, lower_near=nan, upper_near=nan,
                   outside=np.zeros(0, bool), two_of_three=np.zeros(0, bool), shift=np.zeros(0, bool),
                   trend=np.zeros(0, bool), cause=np.zeros(0, np.int8),
                   variation=np.full(n_series, -1), assurance=np.full(n_series, -1),
                   trial_limits=np.ones(n_series, bool))
        return out

    # groups: the points of one segment of one series, contiguous in the flat order
    new = np.ones(m, dtype=bool)
    new[1:] = (s_idx[1:] != s_idx[:-1]) | (seg[1:] != seg[:-1])
    gid = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    n = np.diff(np.append(starts, m))
    pos = np.arange(m) - starts[gid]
    g_series = s_idx[starts]
    b_len = np.where(baseline[g_series] > 0, np.minimum(n, baseline[g_series]), n)
    has = n >= 2
    width = int(n.max())

    in_base = pos < b_len[gid]
    cells = np.zeros((width, len(starts)))  # position in the segment x segment: each row contiguous
    cells[pos[in_base], gid[in_base]] = x[in_base]
    mean = _column_means(cells, b_len)
    mr = np.zeros(m)
    mr[1:] = np.abs(x[1:] - x[:-1])
    in_mr = in_base & (pos >= 1)
    cells[:] = 0.0
    cells[pos[in_mr], gid[in_mr]] = mr[in_mr]
    mr_bar = _column_means(cells, b_len - 1)
    mean = np.where(has, mean, np.nan)
    mr_bar = np.where(has, mr_bar, np.nan)
    upper, lower = mean + SIGMA * mr_bar, mean - SIGMA * mr_bar
    upper_near, lower_near = mean + NEAR * mr_bar, mean - NEAR * mr_bar
    scale = np.maximum(1.0, np.maximum.reduceat(np.abs(x), starts))  # of the tolerance, per segment
    eps = REL_TOL * scale

    hp, e = has[gid], eps[gid]
    with np.errstate(invalid="ignore"):
        above = hp & (x - mean[gid] > e)
        below = hp & (mean[gid] - x > e)
        outside = hp & ((x - upper[gid] > e) | (lower[gid] - x > e))
        beyond_up = hp & (x - upper_near[gid] > e)
        beyond_down = hp & (lower_near[gid] - x > e)
    n_pt = n[gid]
    two = _two_of_three(beyond_up, pos, n_pt) | _two_of_three(beyond_down, pos, n_pt)

    # shift: runs of points on one side of the mean; a point on the mean (sign 0) breaks a run
    sign = above.astype(np.int8) - below.astype(np.int8)
    brk = pos == 0
    brk[1:] |= sign[1:] != sign[:-1]
    run = np.cumsum(brk) - 1
    shift = (sign != 0) & (np.bincount(run)[run] >= shift_run[s_idx])

    # trend: runs of steps (point i-1 to i) in one direction; an equal value (step 0) breaks a run
    step = np.zeros(m, dtype=np.int8)
    step[1:] = (x[1:] > x[:-1]).astype(np.int8) - (x[1:] < x[:-1]).astype(np.int8)
    step[pos == 0] = 0
    sbrk = pos <= 1
    sbrk[1:] |= step[1:] != step[:-1]
    srun = np.cumsum(sbrk) - 1
    qualifies = (step != 0) & (np.bincount(srun)[srun] + 1 >= trend_run[s_idx])  # step i ends a trend's point i
    starts_trend = np.zeros(m, dtype=bool)
    starts_trend[:-1] = qualifies[1:]  # point i is the first point of step i+1 (never across groups: step 0 there)
    trend = qualifies | starts_trend
    next_step = np.zeros(m, dtype=np.int8)
    next_step[:-1] = step[1:]
    direction = np.where(starts_trend, next_step, np.where(qualifies, step, 0))  # a peak takes the later run's

    flagged = outside | two | shift | trend
    side = np.where(direction != 0, direction, sign)
    bet = better[s_idx]
    cause = np.where(~flagged, 0, np.where((bet == 0) | (side == 0), 3, np.where(side == bet, 1, 2))).astype(np.int8)
    nan = np.nan
    out.update(mean=mean[gid], lower_limit=lower[gid], upper_limit=upper[gid], lower_near=lower_near[gid],
               upper_near=upper_near[gid], outside=outside, two_of_three=two, shift=shift, trend=trend, cause=cause)

    # the series' icons: variation from its last point, trial limits and assurance from its last segment
    last_pt = np.flatnonzero(np.append(s_idx[1:] != s_idx[:-1], True))
    ls = s_idx[last_pt]
    variation = np.full(n_series, -1, dtype=np.int64)
    variation[ls] = np.where(has[gid[last_pt]], cause[last_pt], -1)
    in_last = seg[last_pt] == last_seg[ls]
    g_last = np.full(n_series, -1, dtype=np.int64)
    g_last[ls[in_last]] = gid[last_pt[in_last]]
    n_last = np.where(g_last >= 0, n[g_last], 0)
    lo_l = np.where(g_last >= 0, lower[g_last], nan)
    up_l = np.where(g_last >= 0, upper[g_last], nan)
    eps_t = REL_TOL * np.maximum(np.where(g_last >= 0, scale[g_last], 1.0), np.abs(np.nan_to_num(target)))
    with np.errstate(invalid="ignore"):
        higher_pass, higher_fail = lo_l - target >= -eps_t, target - up_l > eps_t
        lower_pass, lower_fail = up_l - target <= eps_t, lo_l - target > eps_t
    assurance = np.where(
        better == 1, np.where(higher_pass, 0, np.where(higher_fail, 1, 2)),
        np.where(lower_pass, 0, np.where(lower_fail, 1, 2)))
    known = (better != 0) & ~np.isnan(target) & (n_last >= 2)
    out.update(variation=variation, assurance=np.where(known, assurance, -1),
               trial_limits=n_last < FIRM_LIMITS_POINTS)
    return out


def _two_of_three(beyond: np.ndarray, pos: np.ndarray, n_pt: np.ndarray) -> np.ndarray:
    """Points beyond a near limit that lie in a window of 3 consecutive points of their segment
    holding at least 2 points beyond that same limit."""
    m = len(beyond)
    window = np.zeros(m, dtype=bool)  # the window starting at point k
    if m >= 3:
        f = beyond.astype(np.int8)
        window[:-2] = (f[:-2] + f[1:-1] + f[2:] >= 2) & (pos[:-2] + 2 < n_pt[:-2])
    covered = window.copy()
    covered[1:] |= window[:-1]
    covered[2:] |= window[:-2]
    return beyond & covered


def xmr_series(values: Sequence[float | None], *, better: str | None = None, target: float | None = None,
               settings: SpcSettings = DEFAULT_SPC, segment_starts: Sequence[int] = ()) -> dict:
    """One series' XmR chart from its values in period order (None = null): the per-point fields of the
    spec's JSON (without the period dates) and the series' icons. For checks and explanations; requests
    go through kpi_spc, which does every series at once."""
    vals = np.array([[np.nan if v is None else float(v) for v in values]], dtype=np.float64)
    seg = np.searchsorted(np.asarray(sorted(segment_starts), dtype=np.int64), np.arange(len(values)), side="right")
    res = xmr(vals, seg.reshape(1, -1), np.array([settings.shift_run_length]), np.array([settings.trend_run_length]),
              np.array([settings.baseline_length or 0]), np.array([_BETTER[better]], dtype=np.int8),
              np.array([np.nan if target is None else target]))
    points = []
    for j in range(len(res["value"])):
        limits = not np.isnan(res["mean"][j])
        points.append({"period": int(res["period"][j]), "value": float(res["value"][j]),
                       **{k: (float(res[k][j]) if limits else None)
                          for k in ("mean", "lower_limit", "upper_limit", "lower_near", "upper_near")},
                       **{k: bool(res[k][j]) for k in ("outside", "two_of_three", "shift", "trend")},
                       "special_cause": _CAUSES[int(res["cause"][j])]})
    variation, assurance = int(res["variation"][0]), int(res["assurance"][0])
    return {"trial_limits": bool(res["trial_limits"][0]),
            "variation": _VARIATIONS[variation] if variation >= 0 else None,
            "assurance": _ASSURANCES[assurance] if assurance >= 0 else None, "points": points}
