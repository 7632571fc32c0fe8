"""../shared/spec/spc.md written out plainly, one series at a time, in exact rational arithmetic.

The engine (kpis/spc.py) works on every series at once in floating point; this reference works on
one series with Fractions and Python loops that follow the spec's sentences, so the two can be
compared on many series: every decision (flags, causes, icons) must agree, and the numbers must agree
to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction as F

SIGMA = F(266, 100)


def reference_spc(values: Sequence[F | None], *, shift_run: int = 7, trend_run: int = 7, baseline: int | None = None,
                  segment_starts: Sequence[int] = (), better: str | None = None,
                  target: F | None = None) -> dict:
    """The series' points (period index, value, mean, limits, flags, special_cause) and its icons."""
    def segment_of(i: int) -> int:
        return sum(1 for s in segment_starts if s <= i)

    segments: dict[int, list[tuple[int, F]]] = {}
    for i, v in enumerate(values):
        if v is not None:
            segments.setdefault(segment_of(i), []).append((i, v))
    last_segment = segment_of(len(values) - 1)
    points: list[dict] = []
    stats: dict[int, dict] = {}
    for k in sorted(segments):
        pts = segments[k]
        stats[k] = judged = _segment(pts, shift_run, trend_run, baseline, better)
        points.extend(judged["points"])
    last = stats.get(last_segment)
    n_last = len(segments.get(last_segment, []))
    variation = None
    if points and points[-1]["mean"] is not None:
        cause = points[-1]["special_cause"]
        variation = "common_cause" if cause is None else f"special_cause_{cause}"
    assurance = None
    if better is not None and target is not None and last is not None and last["mean"] is not None:
        lo, up = last["lower_limit"], last["upper_limit"]
        if better == "higher":
            assurance = "pass" if lo >= target else "fail" if up < target else "hit_and_miss"
        else:
            assurance = "pass" if up <= target else "fail" if lo > target else "hit_and_miss"
    return {"trial_limits": n_last < 12, "variation": variation, "assurance": assurance, "points": points}


def _segment(pts: list[tuple[int, F]], shift_run: int, trend_run: int, baseline: int | None,
             better: str | None) -> dict:
    xs = [v for _, v in pts]
    n = len(xs)
    if n < 2:
        return {"mean": None, "points": [{"period": i, "value": v, "mean": None, "lower_limit": None,
                                          "upper_limit": None, "lower_near": None, "upper_near": None,
                                          "outside": False, "two_of_three": False, "shift": False, "trend": False,
                                          "special_cause": None} for i, v in pts]}
    b = n if baseline is None else min(n, baseline)
    mean = sum(xs[:b], F(0)) / b
    moving = [abs(xs[i] - xs[i - 1]) for i in range(1, n)]
    mr_bar = sum(moving[: b - 1], F(0)) / (b - 1)
    upper, lower = mean + SIGMA * mr_bar, mean - SIGMA * mr_bar
    upper_near, lower_near = mean + F(2, 3) * SIGMA * mr_bar, mean - F(2, 3) * SIGMA * mr_bar

    outside = [x > upper or x < lower for x in xs]
    two = [False] * n
    for beyond in ([x > upper_near for x in xs], [x < lower_near for x in xs]):
        for start in range(0, n - 2):  # windows of 3 consecutive points of the segment
            if sum(beyond[start:start + 3]) >= 2:
                for j in range(start, start + 3):
                    two[j] = two[j] or beyond[j]

    shift = [False] * n
    i = 0
    while i < n:
        side = (xs[i] > mean) - (xs[i] < mean)
        j = i
        while j + 1 < n and side != 0 and ((xs[j + 1] > mean) - (xs[j + 1] < mean)) == side:
            j += 1
        if side != 0 and j - i + 1 >= shift_run:
            for k in range(i, j + 1):
                shift[k] = True
        i = j + 1

    # every maximal strictly monotone run; those of at least T points are trend runs
    runs = []
    for direction in (1, -1):
        i = 0
        while i < n - 1:
            j = i
            while j + 1 < n and (xs[j + 1] - xs[j]) * direction > 0:
                j += 1
            if j > i:
                if j - i + 1 >= trend_run:
                    runs.append((i, j, direction))
                i = j
            else:
                i += 1
    trend = [any(s <= k <= e for s, e, _ in runs) for k in range(n)]
    points = []
    for k, (period, x) in enumerate(pts):
        containing = sorted((s, d) for s, e, d in runs if s <= k <= e)
        side = containing[-1][1] if containing else (x > mean) - (x < mean)  # the later run wins
        flagged = outside[k] or two[k] or shift[k] or trend[k]
        if not flagged:
            cause = None
        elif better is None:
            cause = "neither"
        else:
            cause = "improvement" if side == (1 if better == "higher" else -1) else "concern"
        points.append({"period": period, "value": x, "mean": mean, "lower_limit": lower, "upper_limit": upper,
                       "lower_near": lower_near, "upper_near": upper_near, "outside": outside[k],
                       "two_of_three": two[k], "shift": shift[k], "trend": trend[k], "special_cause": cause})
    return {"mean": mean, "lower_limit": lower, "upper_limit": upper, "points": points}
