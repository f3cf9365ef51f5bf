"""Process charts as Making Data Count draws them: limits by hand, icons, trial limits."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from evalkit.quality.spc_process import (
    TRIAL_POINTS,
    Better,
    ProcessChart,
    assurance,
    attribute_limits,
    build_process,
)
from evalkit.quality.spc_words import meaning, trial_warning


def periods(count: int) -> list[str]:
    return [f"p{i:02d}" for i in range(count)]


def xmr(
    values: Sequence[float],
    phases: Sequence[str] | None = None,
    *,
    better: Better = "higher",
    target: float | None = None,
) -> ProcessChart:
    count = len(values)
    return build_process(
        "Measure",
        "xmr",
        better,
        periods(count),
        list(values),
        [1.0] * count,
        [20] * count,
        list(phases) if phases is not None else [""] * count,
        target=target,
    )


# --- XmR: limits before the change, recalculated after it ---------------------------------


def test_xmr_limits_are_recalculated_after_the_change_by_hand() -> None:
    chart = xmr([10, 12, 11, 13, 20, 22, 21, 23], ["before"] * 4 + ["after"] * 4)
    before, after = chart.segments
    # mean 11.5, moving ranges 2, 1, 2 (the jump 13 -> 20 across the change is not one of them)
    spread = 2.66 * (5 / 3)
    assert before.centre == pytest.approx(11.5)
    assert before.lower == pytest.approx((11.5 - spread,) * 4)
    assert before.upper == pytest.approx((11.5 + spread,) * 4)
    assert after.centre == pytest.approx(21.5)
    assert after.lower == pytest.approx((21.5 - spread,) * 4)
    assert (before.label, after.label) == ("before the change", "after the change")
    assert (before.start, before.end, after.start, after.end) == (0, 3, 4, 7)
    assert chart.change_at == "p04"
    # judged against their own limits, the after points are ordinary variation
    assert chart.causes == ()


def test_without_a_change_there_is_one_limit_set_from_every_point() -> None:
    chart = xmr([10, 12, 11, 13, 12, 11, 10, 12])
    (segment,) = chart.segments
    assert segment.label == "all periods"
    assert segment.centre == pytest.approx(91 / 8)
    assert chart.change_at is None


def test_special_causes_are_found_within_each_limit_set() -> None:
    # a point far above the before limits, and 7 after points below the after mean
    before = [10, 11, 10, 11, 10, 11, 10, 30]
    after = [20, 20, 20, 20, 20, 20, 20, 40, 40, 40, 40, 40, 40, 40]
    chart = xmr(before + after, ["before"] * 8 + ["after"] * 14)
    starts = {(c.rule, c.start) for c in chart.causes}
    assert ("outside-limits", 7) in starts
    assert ("shift", 8) in starts  # a run starting at the first after point, not before it
    assert all(c.start >= 8 or c.end <= 7 for c in chart.causes)


def test_a_phase_too_short_for_its_own_limits_is_judged_against_the_other() -> None:
    chart = xmr([10, 12, 11, 13, 12, 11, 10, 30], ["before"] * 7 + ["after"])
    before, after = chart.segments
    assert after.basis == 0
    assert after.centre == before.centre and after.upper[0] == before.upper[0]
    assert [c.rule for c in chart.causes if c.start == 7] == ["outside-limits"]


def test_phases_must_come_in_order() -> None:
    with pytest.raises(ValueError, match="not all together"):
        xmr([1, 2, 3, 4], ["before", "after", "before", "after"])


# --- p- and u-charts: limits from each point's own denominator ----------------------------


def test_p_chart_limits_by_hand() -> None:
    centre, lower, upper, factor = attribute_limits([20, 50, 30], [100, 200, 100], "p", laney=False)
    assert centre == pytest.approx(0.25)
    # 0.25 ± 3·sqrt(0.25·0.75/n): n = 100 -> ± 0.129904; n = 200 -> ± 0.0918559
    assert lower == pytest.approx([0.120096, 0.158144, 0.120096], abs=1e-6)
    assert upper == pytest.approx([0.379904, 0.341856, 0.379904], abs=1e-6)
    assert factor == 1.0


def test_p_chart_lower_limit_stops_at_zero() -> None:
    _, lower, upper, _ = attribute_limits([2, 5, 3], [10, 20, 10], "p", laney=False)
    assert list(lower) == [0.0, 0.0, 0.0]
    assert upper[0] == pytest.approx(0.25 + 3 * math.sqrt(0.25 * 0.75 / 10))


def test_u_chart_limits_by_hand() -> None:
    centre, lower, upper, _ = attribute_limits([40, 90, 50], [20, 30, 20], "u", laney=False)
    assert centre == pytest.approx(18 / 7)
    # u ± 3·sqrt(u/n): n = 20 -> ± 1.075706; n = 30 -> ± 0.878310
    assert lower == pytest.approx([1.495723, 1.693119, 1.495723], abs=1e-6)
    assert upper == pytest.approx([3.647134, 3.449739, 3.647134], abs=1e-6)


def test_laney_widens_overdispersed_limits_by_sigma_z() -> None:
    x, n = [40, 90, 50], [20, 30, 20]
    u = 18 / 7
    sigma = [math.sqrt(u / k) for k in n]
    z = [(xi / ni - u) / s for xi, ni, s in zip(x, n, sigma, strict=True)]
    sigma_z = (abs(z[1] - z[0]) + abs(z[2] - z[1])) / 2 / 1.128
    assert sigma_z > 1
    _, lower, upper, factor = attribute_limits(x, n, "u")
    assert factor == pytest.approx(sigma_z)
    assert upper[1] == pytest.approx(u + 3 * sigma[1] * sigma_z)
    assert lower[0] == pytest.approx(u - 3 * sigma[0] * sigma_z)


def test_laney_never_narrows_limits() -> None:
    # the shares hardly move: sigma-z is far below 1, and the binomial limits stay
    _, lower, upper, factor = attribute_limits([24, 50, 26], [100, 200, 100], "p")
    assert factor == 1.0
    assert lower[0] == pytest.approx(0.25 - 3 * math.sqrt(0.25 * 0.75 / 100))
    assert upper[1] == pytest.approx(0.25 + 3 * math.sqrt(0.25 * 0.75 / 200))


def test_p_chart_process_in_percent_with_limits_per_point() -> None:
    chart = build_process(
        "Seen",
        "p",
        "higher",
        periods(3),
        [24, 50, 26],
        [100, 200, 100],
        [100, 200, 100],
        ["", "", ""],
        scale=100,
    )
    assert chart.values == pytest.approx((24.0, 25.0, 26.0))
    assert chart.segments[0].centre == pytest.approx(25.0)
    assert chart.upper == pytest.approx((37.9904, 34.1856, 37.9904), abs=1e-4)


# --- Making Data Count icons ---------------------------------------------------------------

ABOVE_AT_END = [10, 11, 10, 11, 10, 11, 10, 11, 10, 30]
BELOW_AT_END = [30, 31, 30, 31, 30, 31, 30, 31, 30, 10]
#: the latest point alone after the change: judged against the limits before it
LATEST_ALONE = ["before"] * 9 + ["after"]


def test_a_high_point_is_an_improvement_when_higher_is_better() -> None:
    chart = xmr(ABOVE_AT_END, LATEST_ALONE, better="higher")
    assert chart.variation == "special cause – improvement (higher)"
    assert chart.point_types()[-1] == "improvement"
    assert set(chart.point_types()[:-1]) == {"common cause"}


def test_the_same_high_point_is_a_concern_when_lower_is_better() -> None:
    chart = xmr(ABOVE_AT_END, LATEST_ALONE, better="lower")
    assert chart.variation == "special cause – concern (higher)"
    assert chart.point_types()[-1] == "concern"


def test_a_low_point_is_an_improvement_when_lower_is_better_and_a_concern_otherwise() -> None:
    assert (
        xmr(BELOW_AT_END, LATEST_ALONE, better="lower").variation
        == "special cause – improvement (lower)"
    )
    assert (
        xmr(BELOW_AT_END, LATEST_ALONE, better="higher").variation
        == "special cause – concern (lower)"
    )


def test_variation_is_that_of_the_latest_point() -> None:
    # an earlier special cause, but the latest point is ordinary: "common cause" (as MDC)
    chart = xmr([10, 11, 10, 30, 10, 11, 10, 11, 10, 11])
    assert chart.causes
    assert chart.variation == "common cause"
    assert "1 special cause" in meaning(chart)


def test_a_point_takes_the_type_of_its_first_rule_in_mdc_order() -> None:
    # a rising run that ends outside the limits: the last point is outside-limits first
    chart = xmr([10, 10, 10, 10, 10, 10, 10, 11, 12, 13, 14, 15, 40], better="lower")
    last = [c.rule for c in chart.causes if c.end == 12]
    assert "outside-limits" in last and "trend" in last
    assert chart.variation == "special cause – concern (higher)"


@pytest.mark.parametrize(
    ("target", "better", "expected"),
    [
        (5.0, "higher", "consistently passes"),  # below the lower limit
        (50.0, "higher", "consistently fails"),  # above the upper limit
        (10.5, "higher", "hit and miss"),
        (5.0, "lower", "consistently fails"),
        (50.0, "lower", "consistently passes"),
        (10.5, "lower", "hit and miss"),
        (None, "higher", None),
    ],
)
def test_assurance_against_the_latest_limits(
    target: float | None, better: Better, expected: str | None
) -> None:
    chart = xmr([10, 11, 10, 11, 10, 11, 10, 11], better=better, target=target)
    assert chart.assurance == expected
    assert assurance(target, chart.lower[-1], chart.upper[-1], better) == expected


def test_assurance_uses_the_limits_after_the_change() -> None:
    # before: around 10, after: around 30; a target of 20 is passed only after the change
    chart = xmr([10, 11, 10, 11, 30, 31, 30, 31], ["before"] * 4 + ["after"] * 4, target=20)
    assert chart.assurance == "consistently passes"


# --- trial limits --------------------------------------------------------------------------


def test_limits_from_fewer_than_15_points_are_trial_limits() -> None:
    short = xmr([10, 11, 10, 12, 11, 10, 11, 10, 12, 11])
    assert TRIAL_POINTS == 15
    assert short.trial
    assert trial_warning(short).startswith("Trial limits: from 10 points, fewer than the 15")
    assert "Trial limits (10 points; 15 wanted)." in meaning(short)
    full = xmr([10, 11, 10, 12, 11] * 3)
    assert not full.trial
    assert trial_warning(full) == ""
    assert "Trial" not in meaning(full)


def test_trial_warning_names_only_the_short_limit_set() -> None:
    chart = xmr([10, 11] * 10 + [12, 13] * 3, ["before"] * 20 + ["after"] * 6)
    assert [s.trial for s in chart.segments] == [False, True]
    assert "6 points after the change" in trial_warning(chart)
    assert "before the change" not in trial_warning(chart)
