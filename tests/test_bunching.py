"""Bunching at target thresholds, on simulated data where the planted answer is known."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from evalkit.charts.bunching import bunching_chart
from evalkit.quality.bunching import Bunching, describe_bunching, detect_bunching

# A&E-like waits in minutes: smooth, skewed, a target of 240 (four hours).
N = 20_000
WAITS = stats.lognorm(0.5, scale=180.0)
TARGET = 240.0
#: The plant: 6% of all waits, taken from the half hour over the target, put in the
#: quarter hour under it. The team's window is the half hour either side.
PLANTED_SHARE = 0.06
WINDOW = (210.0, 270.0)
BOOT = 100  # enough for a fast test; the default is 200

# Days in temporary accommodation, whole days, target 90.
DAYS = stats.gamma(3.0, scale=30.0)


def simulate_waits(seed: int, *, planted: bool) -> NDArray[np.float64]:
    """Return N waits; with the plant, 6% of them moved from just over 240 to just under."""
    rng = np.random.default_rng(seed)
    waits = rng.lognormal(np.log(180.0), 0.5, N)
    if planted:
        just_over = np.flatnonzero((waits > TARGET) & (waits <= WINDOW[1]))
        moved = rng.choice(just_over, size=int(PLANTED_SHARE * N), replace=False)
        waits[moved] = rng.uniform(TARGET - 15, TARGET, moved.size)
    return waits


def planted_ratio() -> float:
    """Return the planted excess over the expected count in the good half of the window."""
    expected_inside = N * (WAITS.cdf(TARGET) - WAITS.cdf(WINDOW[0]))
    return float(PLANTED_SHARE * N / expected_inside)


def simulate_days(seed: int, *, planted: bool) -> tuple[NDArray[np.float64], int]:
    """Return N whole-day stays and how many were moved from 91-93 days to 88-90."""
    rng = np.random.default_rng(seed)
    days = np.round(rng.gamma(3.0, 30.0, N))
    if not planted:
        return days, 0
    just_over = np.flatnonzero((days >= 91) & (days <= 93))
    moved = rng.choice(just_over, size=int(0.4 * just_over.size), replace=False)
    days[moved] = rng.integers(88, 91, moved.size)
    return days, int(moved.size)


def test_planted_pile_up_under_a_four_hour_target_is_found_at_its_planted_size() -> None:
    waits = simulate_waits(1, planted=True)
    result = detect_bunching(waits, TARGET, "lower", bin_width=5, window=WINDOW, bootstrap=BOOT)
    expected = planted_ratio()
    assert 0.5 < expected < 0.8  # the plant is what the test says it is
    assert result.detected
    assert result.good_side == "below"
    assert result.ci_low > 0
    assert result.ci_low <= expected <= result.ci_high
    assert result.excess_ratio == pytest.approx(expected, abs=0.15)
    assert result.excess == pytest.approx(PLANTED_SHARE * N, rel=0.25)
    # the placebos sit on the 5-minute grid, away from the real window, and find nothing
    assert result.placebo
    for where, *_ in result.placebo:
        assert where % 5 == 0
        assert abs(where - TARGET) >= 2 * (WINDOW[1] - WINDOW[0])
    # each placebo "detects" by chance about one time in 25; this seed has one of three
    assert result.placebo_detections <= 1


def test_same_waits_without_the_plant_show_no_pile_up() -> None:
    result = detect_bunching(
        simulate_waits(1, planted=False),
        TARGET,
        "lower",
        bin_width=5,
        window=WINDOW,
        bootstrap=BOOT,
    )
    assert not result.detected
    assert result.ci_low <= 0 <= result.ci_high
    assert abs(result.excess_ratio) < 0.15


def test_counterfactual_follows_the_true_shape_outside_the_window() -> None:
    result = detect_bunching(
        simulate_waits(2, planted=True), TARGET, "lower", bin_width=5, window=WINDOW, bootstrap=BOOT
    )
    centres = np.array(result.bins)
    truth = N * (WAITS.cdf(centres + 2.5) - WAITS.cdf(centres - 2.5))
    # inside the window too: the curve never saw those bins, yet it predicts the unplanted counts
    assert np.allclose(result.counterfactual, truth, rtol=0.1)
    assert sum(result.observed) <= N


def test_whole_days_use_one_day_bins_centred_on_whole_numbers() -> None:
    days, moved = simulate_days(3, planted=True)
    result = detect_bunching(days, 90, "lower", bootstrap=BOOT)
    assert result.bin_width == 1
    assert result.edge == 90.5  # a stay of exactly 90 days meets the target
    assert result.window == (87.5, 93.5)  # three bins each side by default
    assert all(float(c).is_integer() for c in result.bins)
    expected = moved / (N * (DAYS.cdf(90.5) - DAYS.cdf(87.5)))
    assert result.detected
    # the ratio's standard deviation over seeds is about 0.06 here
    assert result.excess_ratio == pytest.approx(expected, abs=0.12)
    assert result.excess == pytest.approx(moved, rel=0.35)

    unplanted = detect_bunching(simulate_days(3, planted=False)[0], 90, "lower", bootstrap=BOOT)
    assert not unplanted.detected


def test_higher_is_better_looks_at_or_above_the_target() -> None:
    rng = np.random.default_rng(4)
    scores = rng.normal(55, 15, N)
    just_under = np.flatnonzero((scores >= 57) & (scores < 60))
    moved = rng.choice(just_under, size=int(0.3 * just_under.size), replace=False)
    scores[moved] = rng.uniform(60, 63, moved.size)
    expected = moved.size / (N * (stats.norm.cdf(63, 55, 15) - stats.norm.cdf(60, 55, 15)))

    result = detect_bunching(scores, 60, "higher", bin_width=1, window=(57, 63), bootstrap=BOOT)
    assert result.good_side == "above"
    assert result.detected
    assert result.ci_low <= expected <= result.ci_high

    # read the other way, the good side is the one that lost records
    wrong_way = detect_bunching(scores, 60, "lower", bin_width=1, window=(57, 63), bootstrap=BOOT)
    assert wrong_way.excess_ratio < 0
    assert not wrong_way.detected


@pytest.mark.parametrize("better", ["lower", "higher"])
def test_records_exactly_at_the_target_count_as_meeting_it(better: Any) -> None:
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.uniform(0, 100, 10_000), np.full(300, 50.0)])
    result = detect_bunching(values, 50, better, bin_width=2.5, degree=2, bootstrap=BOOT)
    # 300 extra records at 50.0 land in a good-side bin whichever way the target points
    assert result.detected
    assert result.excess == pytest.approx(300, abs=90)


def test_default_bins_are_tidy_and_put_the_target_on_an_edge() -> None:
    result = detect_bunching(simulate_waits(6, planted=False), 241.3, "higher", bootstrap=BOOT)
    assert result.bin_width in {1, 2, 2.5, 5, 10}
    assert result.edge == 241.3
    lefts = np.array(result.bins) - result.bin_width / 2
    assert np.allclose(
        (lefts - 241.3) / result.bin_width, np.round((lefts - 241.3) / result.bin_width)
    )
    assert result.window == pytest.approx(
        (241.3 - 3 * result.bin_width, 241.3 + 3 * result.bin_width)
    )


def test_explicit_placebos_are_moved_onto_the_bin_grid() -> None:
    result = detect_bunching(
        simulate_waits(7, planted=True),
        TARGET,
        "lower",
        bin_width=5,
        window=WINDOW,
        placebos=[121, 361],
        bootstrap=BOOT,
    )
    assert [p[0] for p in result.placebo] == [120.0, 360.0]


@pytest.mark.parametrize(
    ("values", "threshold", "kwargs", "message"),
    [
        (np.arange(1000.0), 2000.0, {}, "outside the data"),
        (np.arange(1000.0), -5.0, {}, "outside the data"),
        (np.arange(50.0), 20.0, {}, "at least 100"),
        (np.arange(1000.0), 500.0, {"window": (400.0, 450.0)}, "must reach the target"),
        (np.arange(1000.0), 500.0, {"placebos": [505.0]}, "windows overlap"),
        (np.arange(1000.0), 500.0, {"placebos": [2.0]}, "too few records around the placebo"),
        (np.arange(1000.0), 500.0, {"bin_width": -1.0}, "must be positive"),
    ],
)
def test_impossible_requests_are_refused_in_plain_words(
    values: NDArray[np.float64], threshold: float, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        detect_bunching(values, threshold, "lower", bootstrap=BOOT, **kwargs)


# --- the chart ------------------------------------------------------------------------------

#: Okabe-Ito plus black, white and greys: nothing that reads as red, amber or green.
ALLOWED_COLOURS = {
    "#000000", "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7",
    "#ffffff", "white", "#555555", "#999999",
}  # fmt: skip


def _colours(spec: Any) -> list[str]:
    found: list[str] = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in {"color", "fill", "stroke"} and isinstance(value, str):
                found.append(value.lower())
            else:
                found.extend(_colours(value))
    elif isinstance(spec, list):
        for item in spec:
            found.extend(_colours(item))
    return found


@pytest.fixture(scope="module")
def planted_result() -> Bunching:
    return detect_bunching(
        simulate_waits(1, planted=True), TARGET, "lower", bin_width=5, window=WINDOW, bootstrap=BOOT
    )


def test_chart_shows_bars_curve_target_and_window_with_a_description(
    planted_result: Bunching,
) -> None:
    spec = bunching_chart(planted_result, label="Time in A&E", unit="minutes").to_dict()
    assert len(spec["layer"]) == 6
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["rect", "rect", "bar", "line", "rule", "text"]
    assert "target (context)" in json.dumps(spec)
    assert (
        spec["title"]["text"]
        == "Time in A&E: records just under the target, against a smooth curve"
    )
    axes = [
        layer["encoding"][axis].get("title", "")
        for layer in spec["layer"]
        for axis in ("x", "y")
        if axis in layer["encoding"]
    ]
    assert "Time in A&E (minutes)" in axes
    assert "Records per bin of 5 minutes (count)" in axes
    description = spec["description"]
    r = planted_result
    assert f"about {round(r.excess):,} more records than expected" in description
    assert f"{round(r.excess_ratio * 100)}% more than a smooth curve" in description
    assert describe_bunching(r, "Time in A&E") in description
    assert "placebo" not in description


def test_chart_uses_no_red_amber_or_green(planted_result: Bunching) -> None:
    spec = bunching_chart(planted_result, label="Time in A&E", unit="minutes").to_dict()
    colours = _colours(spec)
    assert colours  # the chart does set its colours
    assert set(colours) <= ALLOWED_COLOURS
    words = json.dumps({k: spec[k] for k in ("title", "description")}).lower()
    assert not re.search(r"\b(red|amber|green|rag|fail|failed|pass)\b", words)


def test_chart_hides_bins_with_fewer_than_ten_records() -> None:
    rng = np.random.default_rng(8)
    result = detect_bunching(np.round(rng.gamma(3.0, 30.0, 2000)), 90, "lower", bootstrap=BOOT)
    assert any(0 < c < 10 for c in result.observed)  # there is something to hide
    spec = bunching_chart(result, label="Days", unit="days").to_dict()
    shown = [
        row["records"] for rows in spec["datasets"].values() for row in rows if "records" in row
    ]
    bars = spec["layer"][2]
    assert bars["mark"]["type"] == "bar"
    bar_rows = spec["datasets"][bars["data"]["name"]]
    assert all(not 0 < row["records"] < 10 for row in bar_rows)
    assert len(bar_rows) < len(shown)  # the curve keeps every bin; the bars do not
    hidden = sum(1 for c in result.observed if 0 < c < 10)
    # every hidden bin is drawn as a pale column, so a gap never reads as "no records"
    gaps = spec["layer"][1]
    gap_rows = spec["datasets"][gaps["data"]["name"]]
    assert len(gap_rows) == hidden and all(0 < row["records"] < 10 for row in gap_rows)
    assert gaps["encoding"]["x2"] == {"field": "right"} and "y" not in gaps["encoding"]
    assert f"Pale blue columns: {hidden} bins with fewer than 10 records, not shown" in json.dumps(
        spec["title"]
    )
    assert f"{hidden} bins with fewer than 10 records are not shown" in spec["description"]


def _result(ratio: float, low: float, high: float, placebo_found: int, checks: int = 3) -> Bunching:
    placebo = tuple(
        (100.0 + 10 * i, 0.3, 0.1, 0.5) if i < placebo_found else (100.0 + 10 * i, 0.0, -0.2, 0.2)
        for i in range(checks)
    )
    return Bunching(
        threshold=90.0, good_side="below", edge=90.5, bin_width=1.0, window=(87.5, 93.5),
        bins=(90.0,), observed=(100,), counterfactual=(100.0,), excess=ratio * 100,
        excess_ratio=ratio, ci_low=low, ci_high=high, placebo=placebo,
        detected=ratio > 0 and low > 0, records=1000, degree=5, bootstrap=200,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("result", "says"),
    [
        (
            _result(0.25, 0.10, 0.40, 0),
            "Days: about 25 more records than expected sit just under the target of 90, 25% more "
            "than a smooth curve through the rest of the records suggests (95% interval: 10% "
            "more to 40% more). The same check at 3 other thresholds where nothing should "
            "happen found no pile-up, so this one is particular to the target.",
        ),
        (
            _result(0.25, 0.10, 0.40, 2),
            "found a pile-up at 2 of them too, so the records are lumpy",
        ),
        (
            _result(-0.05, -0.20, 0.10, 0),
            "about 5 fewer records than expected sit just under the target of 90, 5% fewer than "
            "a smooth curve through the rest of the records suggests (95% interval: 20% fewer "
            "to 10% more). The interval runs from fewer to more, so this could well be chance",
        ),
        (_result(0.25, 0.10, 0.40, 0, checks=0), "No other threshold could be checked"),
    ],
)
def test_describe_bunching_says_what_was_found_in_plain_words(result: Bunching, says: str) -> None:
    text = describe_bunching(result, "Days")
    assert says in text
    assert not re.search(r"[-+−]\d", text)  # no "-5%": more or fewer, in words
    assert "At 0 of" not in text and "also found" not in text


# --- long simulations -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["waits, 5-minute bins", "whole days, default settings"])
def test_false_alarm_rate_without_a_plant_is_at_most_ten_percent(kind: str) -> None:
    alarms = 0
    for seed in range(200):
        if kind.startswith("waits"):
            result = detect_bunching(
                simulate_waits(seed, planted=False),
                TARGET,
                "lower",
                bin_width=5,
                window=WINDOW,
                seed=seed,
            )
        else:
            days = simulate_days(seed, planted=False)[0]
            result = detect_bunching(days, 90, "lower", seed=seed)
        alarms += result.detected
    rate = alarms / 200
    print(f"false-alarm rate ({kind}): {rate:.1%} over 200 seeds")
    assert rate <= 0.10


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["waits, 5-minute bins", "whole days, default settings"])
def test_detection_rate_with_the_plant_is_at_least_ninety_percent(kind: str) -> None:
    found, covered, ratios = 0, 0, []
    for seed in range(100):
        if kind.startswith("waits"):
            waits = simulate_waits(seed, planted=True)
            result = detect_bunching(waits, TARGET, "lower", bin_width=5, window=WINDOW, seed=seed)
            planted = planted_ratio()
        else:
            days, moved = simulate_days(seed, planted=True)
            result = detect_bunching(days, 90, "lower", seed=seed)
            planted = moved / (N * (DAYS.cdf(90.5) - DAYS.cdf(87.5)))
        found += result.detected
        covered += result.ci_low <= planted <= result.ci_high
        ratios.append(result.excess_ratio - planted)
    rate, bias = found / 100, float(np.mean(ratios))
    print(
        f"{kind}: detection rate {rate:.0%} over 100 seeds; the 95% interval held the planted "
        f"ratio {covered} times; mean estimate minus plant {bias:+.3f}"
    )
    assert rate >= 0.90
    assert covered >= 88  # a 95% interval should miss about 5 times in 100
    # no material bias: within about 4 standard errors of the plant over 100 seeds
    assert abs(bias) < 0.03
