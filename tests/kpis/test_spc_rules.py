"""The XmR chart and its rules (../shared/spec/spc.md), each case small and worked out by hand, then the
vectorised engine against the plain exact reference (tests/kpis/spc_reference.py) on many series."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spc_reference import reference_spc

from kpis.spc import xmr_series
from kpis.targets import SpcSettings

# A baseline of 8 points alternating 11, 10 fixes mean 10.5 and mR_bar 1 (seven moving ranges of 1):
# limits 10.5 +- 2.66 = 7.84 and 13.16, near limits 10.5 +- 1.7733... = 8.7266... and 12.2733...
BASE = [11, 10] * 4
B8 = SpcSettings(baseline_length=8)


def flags(chart: dict, rule: str) -> list[int]:
    """The positions (1..n) of the points the rule flags."""
    return [i + 1 for i, p in enumerate(chart["points"]) if p[rule]]


def causes(chart: dict) -> list[str | None]:
    return [p["special_cause"] for p in chart["points"]]


def test_limits_worked_by_hand() -> None:
    chart = xmr_series([10, 12, 11, 15, 12])
    p = chart["points"][0]
    # mean 60/5 = 12; moving ranges 2, 1, 4, 3: mR_bar 2.5; 2.66 * 2.5 = 6.65; (2/3) * 6.65 = 4.4333...
    assert p["mean"] == 12
    assert p["upper_limit"] == pytest.approx(18.65) and p["lower_limit"] == pytest.approx(5.35)
    assert p["upper_near"] == pytest.approx(16.433333333) and p["lower_near"] == pytest.approx(7.566666667)
    assert chart["trial_limits"] is True and chart["variation"] == "common_cause" and chart["assurance"] is None
    assert not any(flags(chart, r) for r in ("outside", "two_of_three", "shift", "trend"))


def test_limits_are_not_clipped() -> None:
    chart = xmr_series([0, 4, 0, 4], better="higher")
    # mean 2, mR_bar 4: lower limit 2 - 10.64 = -8.64, a count below 0
    assert chart["points"][0]["lower_limit"] == pytest.approx(-8.64)


def test_baseline_length_fixes_the_limits_from_the_first_points() -> None:
    chart = xmr_series(BASE + [11, 10, 30], settings=B8)
    p = chart["points"][-1]
    assert p["mean"] == 10.5 and p["upper_limit"] == pytest.approx(13.16) and p["lower_limit"] == pytest.approx(7.84)
    # without it the 30 is in the baseline: mean (84 + 51) / 11
    assert xmr_series(BASE + [11, 10, 30])["points"][0]["mean"] == pytest.approx(135 / 11)


@pytest.mark.parametrize(("better", "cause", "variation"), [
    ("higher", "improvement", "special_cause_improvement"), ("lower", "concern", "special_cause_concern"),
    (None, "neither", "special_cause_neither"),
])
def test_outside_alone(better: str | None, cause: str, variation: str) -> None:
    chart = xmr_series(BASE + [14], settings=B8, better=better)
    assert flags(chart, "outside") == [9]
    assert not any(flags(chart, r) for r in ("two_of_three", "shift", "trend"))
    assert causes(chart) == [None] * 8 + [cause] and chart["variation"] == variation


def test_outside_is_strict_a_point_on_the_limit_is_not_outside() -> None:
    # baseline 10, 10: mean 10, mR_bar 0, so every limit is 10
    chart = xmr_series([10, 10, 10, 10.5, 9.5], settings=SpcSettings(baseline_length=2), better="higher")
    assert flags(chart, "outside") == [4, 5]
    assert causes(chart) == [None, None, None, "improvement", "concern"]


def test_two_of_three_flags_only_the_points_beyond_the_same_near_limit() -> None:
    # 12.5 is beyond the upper near limit (12.27) but inside the limit (13.16); 10.5 is on the mean
    chart = xmr_series(BASE + [12.5, 10.5, 12.5], settings=B8, better="higher")
    assert flags(chart, "two_of_three") == [9, 11]
    assert causes(chart)[8:] == ["improvement", None, "improvement"]
    assert not any(flags(chart, r) for r in ("outside", "shift", "trend"))


def test_two_of_three_needs_both_beyond_the_same_near_limit_in_one_window() -> None:
    # 8.5 is beyond the lower near limit (8.73): one above and one below in a window are not 2 of 3
    assert flags(xmr_series(BASE + [12.5, 8.5, 11], settings=B8), "two_of_three") == []
    # two beyond the upper near limit but 3 points apart are in no window together
    assert flags(xmr_series(BASE + [12.5, 10, 11, 12.5], settings=B8), "two_of_three") == []
    # three in a row: all three
    assert flags(xmr_series(BASE + [12.5, 12.4, 12.6], settings=B8), "two_of_three") == [9, 10, 11]
    # below: the lower near limit
    chart = xmr_series(BASE + [8.5, 8.6], settings=B8, better="higher")
    assert flags(chart, "two_of_three") == [9, 10] and causes(chart)[8:] == ["concern", "concern"]


def test_two_of_three_windows_stay_inside_the_segment() -> None:
    # two 12.5s side by side, beyond the upper near limit of the first segment (12.27)
    values = BASE + [12.5, 12.5] + [10, 11, 10, 11, 10, 11]
    assert flags(xmr_series(values, settings=B8), "two_of_three") == [9, 10]
    # a new segment from the second 12.5: the first is the last point of segment 1, and the window that
    # would join them reaches past it
    chart = xmr_series(values, settings=B8, segment_starts=[9])
    assert chart["points"][8]["value"] > chart["points"][8]["upper_near"]
    assert flags(chart, "two_of_three") == []


@pytest.mark.parametrize(("run", "flagged"), [(6, list(range(9, 15))), (7, [])])
def test_shift_of_six_flags_with_run_length_6_not_7(run: int, flagged: list[int]) -> None:
    # the baseline ends below the mean (10), then six points at 11 above it (never beyond a near limit)
    values = [11, 10] * 4 + [11] * 6 + [10]
    chart = xmr_series(values, settings=SpcSettings(baseline_length=8, shift_run_length=run), better="lower")
    assert flags(chart, "shift") == flagged
    assert causes(chart)[8:14] == (["concern"] * 6 if flagged else [None] * 6)


def test_shift_of_seven_with_the_default_run_length() -> None:
    values = [11, 10] * 4 + [11] * 7 + [10]
    chart = xmr_series(values, settings=B8, better="higher")
    assert flags(chart, "shift") == list(range(9, 16))
    assert chart["variation"] == "common_cause"  # the last point (10) is below the mean, alone


def test_a_point_equal_to_the_mean_breaks_a_shift() -> None:
    values = [11, 10] * 4 + [11, 11, 11, 10.5, 11, 11, 11, 11]
    assert flags(xmr_series(values, settings=B8), "shift") == []
    values[11] = 11
    assert flags(xmr_series(values, settings=B8), "shift") == list(range(9, 17))


@pytest.mark.parametrize(("run", "flagged"), [(6, [1, 2, 3, 4, 5, 6]), (7, [])])
def test_trend_of_six_points_flags_with_run_length_6_not_7(run: int, flagged: list[int]) -> None:
    # 6 rising points (5 rises), then back down to the middle
    values = [1, 2, 3, 4, 5, 6, 3.5]
    chart = xmr_series(values, settings=SpcSettings(trend_run_length=run), better="higher")
    assert flags(chart, "trend") == flagged
    assert not any(flags(chart, r) for r in ("outside", "two_of_three", "shift"))


def test_trend_of_seven_with_the_default_and_an_equal_value_breaks_it() -> None:
    rising = [1, 2, 3, 4, 5, 6, 7, 4]
    assert flags(xmr_series(rising), "trend") == [1, 2, 3, 4, 5, 6, 7]
    level = [1, 2, 3, 3, 4, 5, 6, 7, 4]  # 3 then 3: runs of 3 and 5 points
    assert flags(xmr_series(level), "trend") == []


def test_the_trend_direction_decides_the_side_even_above_the_mean() -> None:
    # a fall of 7 points from high to low; the first points are above the mean but falling
    values = [20, 18, 16, 14, 12, 10, 8, 13, 13, 13, 13, 13]
    chart = xmr_series(values, better="higher")
    assert flags(chart, "trend") == [1, 2, 3, 4, 5, 6, 7]
    assert chart["points"][0]["value"] > chart["points"][0]["mean"]
    assert causes(chart)[:7] == ["concern"] * 7


def test_a_peak_takes_the_direction_of_the_later_run() -> None:
    values = [1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1]
    chart = xmr_series(values, better="lower")
    assert flags(chart, "trend") == list(range(1, 14))
    # rises are concerns for lower-is-better, falls improvements; the peak (7) starts the fall
    assert causes(chart) == ["concern"] * 6 + ["improvement"] * 7


def test_a_peak_after_a_trend_whose_fall_is_short_keeps_the_rise() -> None:
    chart = xmr_series([1, 2, 3, 4, 5, 6, 7, 6, 5], better="lower")
    assert flags(chart, "trend") == [1, 2, 3, 4, 5, 6, 7]
    assert causes(chart)[6] == "concern"


def test_nulls_are_no_points_and_the_moving_range_spans_the_gap() -> None:
    chart = xmr_series([10, None, 14, None, None, 12])
    assert [p["period"] for p in chart["points"]] == [0, 2, 5]
    # mean 12; moving ranges |14 - 10| = 4 and |12 - 14| = 2: mR_bar 3
    assert chart["points"][0]["upper_limit"] == pytest.approx(12 + 2.66 * 3)


def test_fewer_than_two_points_give_no_limits_and_no_flags() -> None:
    one = xmr_series([None, 5, None], better="higher", target=1)
    assert one["points"][0]["mean"] is None and one["points"][0]["upper_limit"] is None
    assert one["points"][0]["special_cause"] is None and not one["points"][0]["outside"]
    assert (one["variation"], one["assurance"], one["trial_limits"]) == (None, None, True)
    none = xmr_series([None, None], better="higher", target=1)
    assert none == {"trial_limits": True, "variation": None, "assurance": None, "points": []}


def test_trial_limits_below_twelve_points() -> None:
    assert xmr_series([1, 2] * 5 + [1])["trial_limits"] is True  # 11 points
    assert xmr_series([1, 2] * 6)["trial_limits"] is False  # 12
    assert xmr_series([1, 2] * 6 + [None] * 3)["trial_limits"] is False


@pytest.mark.parametrize(("values", "better", "target", "assurance"), [
    ([90, 90, 90], "higher", 90, "pass"),  # lower limit 90 >= 90
    ([89, 89, 89], "higher", 90, "fail"),  # upper limit 89 < 90
    ([88, 92], "higher", 90, "hit_and_miss"),  # 79.36 to 100.64
    ([0, 0, 0], "lower", 0, "pass"),  # upper limit 0 <= 0
    ([1, 1, 1], "lower", 0, "fail"),  # lower limit 1 > 0
    ([1, 1, 1], "lower", 1, "pass"),
    ([0, 2], "lower", 1, "hit_and_miss"),
    ([90, 90], None, 90, None),
    ([90, 90], "higher", None, None),
])
def test_assurance_at_its_equality_edges(values: list[float], better: str | None, target: float | None,
                                         assurance: str | None) -> None:
    assert xmr_series(values, better=better, target=target)["assurance"] == assurance


def test_assurance_when_a_limit_equals_the_target_after_rounding() -> None:
    # mean 95, mR_bar 1.25 (5 / 4): 2.66 * 1.25 = 3.325, so the lower limit is 91.675 in exact arithmetic
    values = [94.375, 95.625, 94.375, 95.625, 95.0]
    chart = xmr_series(values, better="higher", target=91.675)
    assert chart["points"][0]["mean"] == 95.0
    assert chart["assurance"] == "pass"


def test_rebase_starts_a_segment_worked_out_on_its_own() -> None:
    values = [10] * 6 + [20] * 6
    whole = xmr_series(values, settings=SpcSettings(shift_run_length=6))
    assert flags(whole, "shift") == list(range(1, 13))  # mean 15: six below, six above
    rebased = xmr_series(values, settings=SpcSettings(shift_run_length=6), segment_starts=[6])
    assert [p["mean"] for p in rebased["points"]] == [10.0] * 6 + [20.0] * 6
    assert flags(rebased, "shift") == [] and rebased["trial_limits"] is True  # 6 points in the last segment


def test_a_rebase_with_no_points_after_it_leaves_an_empty_last_segment() -> None:
    values = [1, 2] * 7 + [None, None]
    chart = xmr_series(values, better="higher", target=0, segment_starts=[14])
    assert chart["trial_limits"] is True and chart["assurance"] is None
    assert chart["variation"] == "common_cause"  # the last point, in its own segment


def test_a_baseline_per_segment() -> None:
    values = [10, 12, 50, 50, 20, 22, 90]
    chart = xmr_series(values, settings=SpcSettings(baseline_length=2), segment_starts=[4])
    assert [p["mean"] for p in chart["points"]] == [11.0] * 4 + [21.0] * 3


def test_a_mean_that_equals_a_value_in_exact_arithmetic_is_equal_whatever_the_rounding() -> None:
    # 100 * 1/3 and 100 * 2/3 average exactly 50: the 50 must break the run (no shift)
    third, two_thirds = 100 * 1 / 3, 100 * 2 / 3
    values = [third, two_thirds] * 4 + [50.0] + [two_thirds] * 6
    chart = xmr_series(values, settings=SpcSettings(baseline_length=8, shift_run_length=7))
    assert chart["points"][0]["mean"] == 50.0
    assert flags(chart, "shift") == []
    # a constant rate: every point on the mean, the limits on it too, nothing flagged
    constant = xmr_series([100 * 7 / 9] * 15)
    assert constant["points"][0]["mean"] == 100 * 7 / 9
    assert not any(flags(constant, r) for r in ("outside", "two_of_three", "shift", "trend"))
    # naive left-to-right summation would have said otherwise
    assert sum([0.1] * 10) / 10 != 0.1 and xmr_series([0.1] * 10)["points"][0]["mean"] == 0.1


# --- the engine against the plain reference -------------------------------------------------------------------------

_RATE = st.builds(lambda n, d: F(100 * n, d), st.integers(0, 12), st.integers(1, 12))
_COUNT = st.builds(F, st.integers(0, 9))


@st.composite
def _series(draw: st.DrawFn) -> dict:
    value = draw(st.sampled_from([_RATE, _COUNT]))
    n = draw(st.integers(0, 30))
    values = draw(st.lists(st.one_of(value, value, value, st.none()), min_size=n, max_size=n))
    if draw(st.booleans()):  # long monotone or level stretches, so the run rules fire
        k = draw(st.integers(0, max(0, n - 1)))
        step = draw(st.sampled_from([-1, 0, 1]))
        for i in range(k, min(n, k + draw(st.integers(5, 10)))):
            values[i] = F(max(0, 10 + step * (i - k)))
    return {
        "values": values,
        "shift_run": draw(st.integers(6, 9)),
        "trend_run": draw(st.integers(6, 9)),
        "baseline": draw(st.one_of(st.none(), st.integers(2, 20))),
        "segment_starts": sorted(set(draw(st.lists(st.integers(0, max(0, n - 1)), max_size=2)))) if n else [],
        "better": draw(st.sampled_from(["higher", "lower", None])),
        "target": draw(st.one_of(st.none(), _COUNT, _RATE)),
    }


@settings(max_examples=400, deadline=None)
@given(case=_series())
def test_engine_agrees_with_the_exact_reference(case: dict) -> None:
    ref = reference_spc(case["values"], shift_run=case["shift_run"], trend_run=case["trend_run"],
                        baseline=case["baseline"], segment_starts=case["segment_starts"], better=case["better"],
                        target=case["target"])
    got = xmr_series(
        [None if v is None else float(v) for v in case["values"]], better=case["better"],
        target=None if case["target"] is None else float(case["target"]),
        settings=SpcSettings(shift_run_length=case["shift_run"], trend_run_length=case["trend_run"],
                             baseline_length=case["baseline"]),
        segment_starts=case["segment_starts"])
    for key in ("trial_limits", "variation", "assurance"):
        assert got[key] == ref[key], key
    assert len(got["points"]) == len(ref["points"])
    for g, r in zip(got["points"], ref["points"]):
        assert g["period"] == r["period"]
        for key in ("outside", "two_of_three", "shift", "trend", "special_cause"):
            assert g[key] == r[key], (key, g["period"])
        for key in ("mean", "lower_limit", "upper_limit", "lower_near", "upper_near"):
            assert (g[key] is None) == (r[key] is None)
            if r[key] is not None:
                assert g[key] == pytest.approx(float(r[key]), rel=1e-12, abs=1e-12)


_KPI_VALUE = st.one_of(
    st.builds(lambda n, d: 100 * n / d, st.integers(0, 5000), st.integers(1, 5000)),  # a rate
    st.builds(lambda n, tenths: n / (tenths / 10), st.integers(0, 2000), st.integers(1, 1500)),  # cases per FTE
    st.integers(0, 100_000),  # a count
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_KPI_VALUE, min_size=2, max_size=60))
def test_means_are_correctly_rounded_averages(values: list[float]) -> None:
    """Of KPI values: the compensated sum carries about 32 digits, so only an average within about
    1e-30 of halfway between two doubles (which these values never reach) could round the wrong way."""
    exact = sum((F(v) for v in values), F(0)) / len(values)
    assert xmr_series(values)["points"][0]["mean"] == float(exact)
    assert xmr_series(values[::-1])["points"][0]["mean"] == float(exact)
