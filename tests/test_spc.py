"""XmR charts and the Making Data Count special-cause rules, on series where the answer is known."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from evalkit.charts.spc import spc_chart
from evalkit.quality.spc import (
    D2,
    LIMIT_FACTOR,
    SpecialCause,
    XmR,
    special_causes,
    xmr_chart_data,
)
from evalkit.quality.spc_process import ProcessChart, build_process

#: Limits used when a test wants to control the mean and limits directly:
#: mean 0, limits ±3, so "near the limit" (two thirds of the way) starts beyond ±2.
MEAN, LOWER, UPPER = 0.0, -3.0, 3.0


def causes_of(
    values: Sequence[float], mean: float = MEAN, lower: float = LOWER, upper: float = UPPER
) -> tuple[SpecialCause, ...]:
    periods = [f"p{i}" for i in range(len(values))]
    return special_causes(values, mean, lower, upper, periods)


def by_rule(causes: tuple[SpecialCause, ...], rule: str) -> list[SpecialCause]:
    return [c for c in causes if c.rule == rule]


# --- constants and limits --------------------------------------------------------------------


def test_constants_match_the_published_d2_for_two_points() -> None:
    # d2 for subgroups of 2 is E|X1 - X2| / sigma = 2 / sqrt(pi) = 1.1284 (Montgomery,
    # Introduction to Statistical Quality Control, Appendix VI: d2 = 1.128 for n = 2).
    assert round(2 / math.sqrt(math.pi), 3) == D2
    assert round(3 / D2, 2) == LIMIT_FACTOR


def test_limits_match_a_hand_computation() -> None:
    chart = xmr_chart_data([10, 12, 11, 15, 13])
    # mean = (10 + 12 + 11 + 15 + 13) / 5 = 61 / 5 = 12.2
    # moving ranges |12-10|, |11-12|, |15-11|, |13-15| = 2, 1, 4, 2; mean = 9 / 4 = 2.25
    # limits = 12.2 ± 2.66 × 2.25 = 12.2 ± 5.985 -> 6.215 and 18.185
    assert chart.mean == pytest.approx(12.2)
    assert chart.moving_ranges == (2.0, 1.0, 4.0, 2.0)
    assert chart.mr_mean == pytest.approx(2.25)
    assert chart.lower == pytest.approx(6.215)
    assert chart.upper == pytest.approx(18.185)
    assert chart.sigma == pytest.approx(2.25 / 1.128)
    assert chart.periods == ("1", "2", "3", "4", "5")
    assert chart.causes == ()


def test_baseline_limits_come_from_the_first_points_only() -> None:
    values = [10, 12, 11, 13, 30, 31, 32, 33, 34, 35, 36]
    chart = xmr_chart_data(values, baseline=4)
    # baseline 10, 12, 11, 13: mean 46 / 4 = 11.5; moving ranges 2, 1, 2: mean 5 / 3
    # limits 11.5 ± 2.66 × 5/3 = 11.5 ± 4.4333 -> 7.0667 and 15.9333
    assert chart.mean == pytest.approx(11.5)
    assert chart.mr_mean == pytest.approx(5 / 3)
    assert chart.lower == pytest.approx(11.5 - 2.66 * 5 / 3)
    assert chart.upper == pytest.approx(11.5 + 2.66 * 5 / 3)
    # All 11 values are still charted and judged against the baseline limits.
    assert len(chart.values) == 11
    outside = by_rule(chart.causes, "outside-limits")
    assert [(c.start, c.end, c.direction) for c in outside] == [(4, 10, "up")]
    # 13 (position 3) is above the baseline mean too, so the shift starts there.
    shift = by_rule(chart.causes, "shift")
    assert [(c.start, c.end, c.direction) for c in shift] == [(3, 10, "up")]
    # Without a baseline the jump inflates the mean and the limits.
    assert xmr_chart_data(values).mean == pytest.approx(sum(values) / 11)


def test_baseline_must_be_at_least_two_and_within_the_series() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        xmr_chart_data([1, 2, 3], baseline=1)
    with pytest.raises(ValueError, match="only 3 periods"):
        xmr_chart_data([1, 2, 3], baseline=5)


# --- rule 1: outside the limits --------------------------------------------------------------


def test_a_point_far_outside_the_limits_is_found() -> None:
    values = np.random.default_rng(11).normal(50, 2, size=20)
    values[12] = 50 + 10 * 2
    chart = xmr_chart_data(values, [f"week {w}" for w in range(1, 21)])
    outside = by_rule(chart.causes, "outside-limits")
    assert [(c.start, c.end, c.direction) for c in outside] == [(12, 12, "up")]
    assert outside[0].message == "1 point above the upper process limit in week 13"


def test_points_outside_on_each_side_are_reported_separately() -> None:
    causes = by_rule(causes_of([0, 4, 5, 0, -4, 0]), "outside-limits")
    assert [(c.start, c.end, c.direction) for c in causes] == [(1, 2, "up"), (4, 4, "down")]
    assert causes[0].message == "2 points in a row above the upper process limit from p1 to p2"
    assert causes[1].message == "1 point below the lower process limit in p4"


def test_a_point_on_a_limit_is_not_outside_it() -> None:
    assert by_rule(causes_of([0, 3.0, 0, -3.0]), "outside-limits") == []


# --- rule 2: shift ---------------------------------------------------------------------------


def test_six_points_above_the_mean_are_not_a_shift_but_seven_are() -> None:
    six = [-1, 1, 2, 1, 2, 1, 2, -1]
    seven = [-1, 1, 2, 1, 2, 1, 2, 1, -1]
    assert by_rule(causes_of(six), "shift") == []
    (shift,) = by_rule(causes_of(seven), "shift")
    assert (shift.start, shift.end, shift.direction) == (1, 7, "up")
    assert shift.message == "7 points in a row above the mean from p1 to p7"


def test_a_shift_below_the_mean_points_down() -> None:
    (shift,) = by_rule(causes_of([1, -1, -2, -1, -2, -1, -2, -1, -2]), "shift")
    assert (shift.start, shift.end, shift.direction) == (1, 8, "down")
    assert "below the mean" in shift.message


def test_a_point_on_the_mean_breaks_a_run() -> None:
    assert by_rule(causes_of([1, 2, 1, 2, 0, 1, 2, 1, 2]), "shift") == []
    (shift,) = by_rule(causes_of([1, 2, 1, 2, 1, 1, 2, 1, 2]), "shift")
    assert (shift.start, shift.end) == (0, 8)


def test_a_long_run_is_reported_once_at_its_full_length() -> None:
    values = [-1] + [1, 2] * 6 + [-1]
    (shift,) = by_rule(causes_of(values), "shift")
    assert (shift.start, shift.end) == (1, 12)
    assert shift.message.startswith("12 points in a row")


# --- rule 3: trend ---------------------------------------------------------------------------


def test_five_rising_points_are_not_a_trend_but_six_are() -> None:
    five = [5, 1, 2, 3, 4, 5, 4]
    six = [5, 1, 2, 3, 4, 5, 6, 4]
    wide = {"mean": 3.5, "lower": -100.0, "upper": 100.0}
    assert by_rule(causes_of(five, **wide), "trend") == []
    (trend,) = by_rule(causes_of(six, **wide), "trend")
    assert (trend.start, trend.end, trend.direction) == (1, 6, "up")
    assert trend.message == "6 points in a row, each higher than the one before, from p1 to p6"


def test_a_falling_trend_points_down() -> None:
    (trend,) = by_rule(causes_of([2, 1.5, 1, 0.5, 0, -0.5, -1, -1.5]), "trend")
    assert (trend.start, trend.end, trend.direction) == (0, 7, "down")
    assert "each lower than the one before" in trend.message


def test_equal_neighbours_break_a_trend() -> None:
    assert by_rule(causes_of([-2, -1, 0, 0, 1, 2, 2.5]), "trend") == []
    (trend,) = by_rule(causes_of([-2, -1, 0, 0.5, 1, 2, 2.5]), "trend")
    assert (trend.start, trend.end) == (0, 6)


# --- rule 4: two of three near a limit -------------------------------------------------------


def test_two_of_three_near_the_upper_limit() -> None:
    (cause,) = by_rule(causes_of([0, 2.5, 0, 2.5, 0, 0]), "two-of-three")
    assert (cause.start, cause.end, cause.direction) == (1, 3, "up")
    assert cause.message.startswith("2 of 3 points near or beyond the upper process limit")
    assert cause.message.endswith("from p1 to p3")


def test_two_near_points_further_apart_are_not_two_of_three() -> None:
    assert by_rule(causes_of([0, 2.5, 0, 0, 2.5, 0]), "two-of-three") == []


def test_two_of_three_needs_the_same_side_and_points_beyond_two_thirds() -> None:
    assert by_rule(causes_of([2.5, -2.5, 0]), "two-of-three") == []
    # 2.0 is exactly two thirds of the way from 0 to 3: not beyond it.
    assert by_rule(causes_of([2.0, 2.0, 0]), "two-of-three") == []
    (low,) = by_rule(causes_of([0, -2.2, -2.9, 0]), "two-of-three")
    assert (low.start, low.end, low.direction) == (1, 2, "down")
    assert low.message.startswith("2 points in a row near or beyond the lower process limit")


def test_two_of_three_counts_points_beyond_the_limit_and_marks_only_the_near_points() -> None:
    values = [0, 2.5, 0.1, 4.0, 0, 0]
    chart = xmr_chart_data(values)
    chart_causes = special_causes(values, MEAN, LOWER, UPPER, chart.periods)
    (cause,) = by_rule(chart_causes, "two-of-three")
    assert (cause.start, cause.end) == (1, 3)
    fixed = XmR(chart.periods, chart.values, MEAN, 1.0, LOWER, UPPER, chart_causes)
    assert fixed.points_in(cause) == (1, 3)


# --- whole series and edge cases -------------------------------------------------------------


def test_a_stable_series_has_no_special_cause() -> None:
    values = np.random.default_rng(2025).normal(100, 5, size=20)
    chart = xmr_chart_data(values)
    assert chart.causes == ()
    # The moving-range estimate of sigma is near the true 5.
    assert 3 < chart.sigma < 7


def test_a_flat_series_has_limits_on_the_mean_and_no_special_cause() -> None:
    # 0.1 cannot be held exactly in binary, so the mean may differ from 0.1 by rounding.
    chart = xmr_chart_data([0.1] * 12)
    assert chart.mr_mean == 0
    assert chart.lower == chart.upper == chart.mean == pytest.approx(0.1)
    assert chart.causes == ()


def test_after_a_flat_baseline_any_change_is_outside_the_limits() -> None:
    chart = xmr_chart_data([5, 5, 5, 5, 6], baseline=4)
    outside = by_rule(chart.causes, "outside-limits")
    assert [(c.start, c.end, c.direction) for c in outside] == [(4, 4, "up")]


def test_missing_values_are_skipped_with_their_periods() -> None:
    chart = xmr_chart_data([1, np.nan, 3, 2, np.nan, 4], ["a", "b", "c", "d", "e", "f"])
    assert chart.periods == ("a", "c", "d", "f")
    assert chart.values == (1.0, 3.0, 2.0, 4.0)
    # The moving range runs across the gaps: |3-1|, |2-3|, |4-2|.
    assert chart.moving_ranges == (2.0, 1.0, 2.0)
    assert chart.mr_mean == pytest.approx(5 / 3)


def test_fewer_than_two_values_is_a_plain_error() -> None:
    with pytest.raises(ValueError, match="at least 2 periods with a value; this series has 1"):
        xmr_chart_data([np.nan, 4.0, np.nan])
    with pytest.raises(ValueError, match="has 0"):
        xmr_chart_data([])


def test_periods_must_match_the_values() -> None:
    with pytest.raises(ValueError, match="3 values but 2 periods"):
        xmr_chart_data([1, 2, 3], ["a", "b"])
    with pytest.raises(ValueError, match="missing values"):
        special_causes([1.0, float("nan")], 0.0, -1.0, 1.0, ["a", "b"])


def test_causes_are_in_order_of_start() -> None:
    values = [0, 0.5, 1, 1.5, 2, 2.2, 2.4, 2.6, 4]
    causes = causes_of(values)
    assert [c.start for c in causes] == sorted(c.start for c in causes)
    assert {c.rule for c in causes} == {"outside-limits", "shift", "trend", "two-of-three"}


# --- the chart -------------------------------------------------------------------------------
# The chart now draws one process (evalkit.quality.spc_process.ProcessChart) with limits
# before and after the change; these tests were updated from the single-XmR chart.


def layer_rows(spec: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Return the data rows behind the named layer of a chart spec."""
    (layer,) = [layer for layer in spec["layer"] if layer.get("name") == name]
    data = layer.get("data") or layer["layer"][0]["data"]
    rows: list[dict[str, Any]] = spec["datasets"][data["name"]]
    return rows


def _walk_strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in [key, *_walk_strings(value)]]
    if isinstance(node, list):
        return [s for item in node for s in _walk_strings(item)]
    return []


def _is_red_or_green(colour: str) -> bool:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return (r > 0xB0 and g < 0x60 and b < 0x60) or (g > 0xB0 and r < 0x60 and b < 0x60)


def process_of(
    values: Sequence[float],
    phases: Sequence[str] | None = None,
    *,
    better: str = "lower",
    target: float | None = None,
    suppressed: int = 0,
) -> ProcessChart:
    periods = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 13)]
    count = len(values)
    return build_process(
        "Days",
        "xmr",
        better,  # type: ignore[arg-type]
        periods[:count],
        list(values),
        [1.0] * count,
        [20] * count,
        list(phases) if phases is not None else [""] * count,
        target=target,
        suppressed_periods=suppressed,
    )


@pytest.fixture
def shifted_chart() -> ProcessChart:
    values = [10, 11, 9, 10, 12, 11, 10, 9, 10, 11, 13, 13, 14, 15, 16, 17, 18, 30]
    return process_of(values, ["before"] * 10 + ["after"] * 8, target=12)


def test_chart_builds_with_title_layers_and_description(shifted_chart: ProcessChart) -> None:
    chart = spc_chart(
        shifted_chart, label="Days in temporary accommodation", unit="days", target=12
    )
    spec = chart.to_dict()
    assert spec["title"]["text"] == "Days in temporary accommodation over time: everyone"
    names = [layer.get("name") for layer in spec["layer"]]
    assert {"points", "limits", "limit-labels", "change", "target"} <= set(names)
    levels = layer_rows(spec, "limits")
    before, after = shifted_chart.segments
    assert {row["level"] for row in levels if row["segment"] == "before the change"} == {
        before.centre,
        before.lower[0],
        before.upper[0],
    }
    assert layer_rows(spec, "change")[0]["period"] == "2025-11"
    labels = [row["label"] for row in layer_rows(spec, "limit-labels")]
    assert labels[0].startswith(f"before the change: mean {before.centre:.3g} days")
    assert labels[1].startswith(f"after: mean {after.centre:.3g} days")
    description = spec["description"]
    assert f"Before the change: mean {before.centre:.3g} days" in description
    assert "The limits were recalculated at the change, in 2025-11." in description
    assert "Target 12 days, shown for context only." in description
    legend = json.dumps(spec)
    # lower is better and the series rises: its special causes are concerns
    assert "special cause: concern" in legend
    assert "special cause: improvement" not in legend


def test_chart_without_target_or_causes() -> None:
    stable = process_of([10, 11, 10, 12, 11, 10, 11, 10, 12, 11])
    spec = spc_chart(stable, label="Share seen in 2 weeks", unit="%").to_dict()
    names = [layer.get("name") for layer in spec["layer"]]
    assert "target" not in names and "change" not in names
    assert "No special causes" in spec["description"]
    assert "special cause:" not in json.dumps(spec["datasets"])


def test_chart_says_when_small_periods_are_left_out() -> None:
    chart = process_of([10, 11, 10, 12, 11, 10, 11, 10], suppressed=2)
    spec = spc_chart(chart, label="Days", min_count=10).to_dict()
    note = "2 periods with fewer than 10 records are not shown."
    assert note in " ".join(spec["title"]["subtitle"])
    assert spec["description"].endswith(note)
    spec = spc_chart(process_of([10, 11, 10, 12, 11, 10, 11, 10]), label="Days").to_dict()
    assert "not shown" not in json.dumps(spec)


def test_chart_uses_no_red_amber_green(shifted_chart: ProcessChart) -> None:
    spec = spc_chart(shifted_chart, label="Days", target=12).to_dict()
    text = json.dumps(spec)
    assert not re.search(r"\b(red|green|amber)\b", text, flags=re.IGNORECASE)
    colours = [s for s in _walk_strings(spec) if re.fullmatch(r"#[0-9a-fA-F]{6}", s)]
    assert colours, "the chart should set its colours explicitly"
    assert [c for c in colours if _is_red_or_green(c)] == []
    # Okabe-Ito's bluish green is not used either: it would read as "good".
    assert "#009e73" not in text.lower()


def test_chart_colours_by_direction_and_never_by_colour_alone(shifted_chart: ProcessChart) -> None:
    rising = shifted_chart.values
    for better, kind in (("lower", "concern"), ("higher", "improvement")):
        chart = process_of(rising, shifted_chart.phases, better=better)
        spec = spc_chart(chart, label="Days").to_dict()
        (points,) = [layer for layer in spec["layer"] if layer.get("name") == "points"]
        colour, shape = points["encoding"]["color"]["scale"], points["encoding"]["shape"]["scale"]
        legend = dict(zip(colour["domain"], colour["range"], strict=True))
        shapes = dict(zip(shape["domain"], shape["range"], strict=True))
        assert legend[f"special cause: {kind}"] == ("#E69F00" if kind == "concern" else "#0072B2")
        assert legend["common cause (ordinary variation)"] == "#767676"
        # every kind of point has its own shape, so colour is never the only sign
        assert len(set(shapes.values())) == len(shapes)


def test_chart_text_is_at_least_11_pixels(shifted_chart: ProcessChart) -> None:
    text = json.dumps(spc_chart(shifted_chart, label="Days", target=12).to_dict())
    sizes = [int(size) for size in re.findall(r'"\w*[fF]ontSize": (\d+)', text)]
    assert sizes and min(sizes) >= 11


def test_chart_warns_of_trial_limits() -> None:
    short = spc_chart(process_of([10, 11, 10, 12, 11, 10, 11, 10, 12, 11]), label="Days")
    subtitle = " ".join(short.to_dict()["title"]["subtitle"])
    assert "Trial limits: from 10 points" in subtitle
    full = spc_chart(process_of([10, 11, 10, 12, 11] * 3), label="Days").to_dict()
    assert "Trial" not in json.dumps(full)


# --- false alarms and power (slow) -----------------------------------------------------------


@pytest.mark.slow
def test_false_alarm_rate_on_stable_series() -> None:
    # With four rules applied to 24 points, some stable series will show a special cause by
    # chance: each rule alone has a small false-alarm rate per point, but the chances add up
    # over a series (and limits estimated from the same 24 points add noise). Wheeler and
    # MDC accept this: a signal is a question to look into, not proof.
    rng = np.random.default_rng(20250401)
    flagged = sum(bool(xmr_chart_data(rng.normal(size=24)).causes) for _ in range(1000))
    rate = flagged / 1000
    print(f"false-alarm rate, stable series of 24 points: {rate:.1%}")
    assert rate < 0.35


@pytest.mark.slow
def test_a_planted_shift_is_detected() -> None:
    # 14 points, then a 1.5 sigma step for the last 10. Limits from the 14 points before the
    # change (as MDC advises when the date of a change is known); detected when a cause in
    # the upward direction touches the shifted points.
    rng = np.random.default_rng(20250402)
    found = found_without_baseline = 0
    for _ in range(500):
        values = rng.normal(size=24)
        values[14:] += 1.5
        chart = xmr_chart_data(values, baseline=14)
        found += any(c.direction == "up" and c.end >= 14 for c in chart.causes)
        found_without_baseline += bool(xmr_chart_data(values).causes)
    rate = found / 500
    print(
        f"planted 1.5 sigma shift detected: {rate:.1%} with limits from the 14 points before it; "
        f"{found_without_baseline / 500:.1%} with limits from all 24 points"
    )
    assert rate >= 0.80
