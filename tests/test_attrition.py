"""Attrition against the WWC boundary table, and baseline equivalence against hand arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evalkit.quality.attrition import (
    Boundary,
    attrition,
    classify_attrition,
    largest_low_differential,
)
from evalkit.quality.equivalence import baseline_equivalence, classify_equivalence

# Published points of the WWC attrition boundary: What Works Clearinghouse (2020),
# Standards Handbook, Version 4.1, Table II.1 (overall attrition %, largest
# differential attrition in points still "low" under the cautious and the optimistic
# boundary; None: no differential is low). Typed here row by row, independently of
# the module's table, so a slip in either shows up.
PUBLISHED_ROWS = [
    (0, 5.7, 10.0),
    (7, 6.3, 10.8),
    (10, 6.3, 10.9),
    (18, 5.7, 10.3),
    (25, 4.8, 9.2),
    (30, 4.1, 8.2),
    (40, 2.6, 6.0),
    (50, 1.0, 3.7),
    (57, 0.0, 2.1),
    (58, None, 1.9),
    (65, None, 0.3),
]


@pytest.mark.parametrize(("overall", "cautious", "optimistic"), PUBLISHED_ROWS)
def test_classification_reproduces_the_published_boundary(
    overall: int, cautious: float | None, optimistic: float
) -> None:
    pairs: list[tuple[Boundary, float | None]] = [
        ("cautious", cautious),
        ("optimistic", optimistic),
    ]
    for boundary, limit in pairs:
        assert largest_low_differential(overall, boundary) == limit
        if limit is None:
            # no differential at all is low at this overall rate
            assert classify_attrition(overall, 0.0, boundary).level == "high"
            continue
        # exactly on the boundary is low; a tenth of a point over it is high
        assert classify_attrition(overall, limit, boundary).level == "low"
        assert classify_attrition(overall, limit + 0.1, boundary).level == "high"


def test_a_boundary_value_reached_through_arithmetic_is_still_low() -> None:
    # 0.041 * 100 is 4.1000000000000005 in binary floating point; row 30 allows 4.1
    assert 0.041 * 100 > 4.1
    assert classify_attrition(30, 0.041 * 100).level == "low"


def test_the_two_boundaries_can_disagree_and_cautious_is_the_default() -> None:
    # 30% overall, 6 points: above the cautious 4.1, under the optimistic 8.2
    assert classify_attrition(30, 6).level == "high"
    assert classify_attrition(30, 6, "optimistic").level == "low"


def test_beyond_the_table_attrition_is_high() -> None:
    assert classify_attrition(66, 0, "optimistic").level == "high"
    assert largest_low_differential(80, "optimistic") is None


def test_between_published_rows_the_stricter_row_applies() -> None:
    # 18.5% lies between rows 18 (5.7) and 19 (5.5) under the cautious boundary
    assert largest_low_differential(18.5) == 5.5
    assert classify_attrition(18.5, 5.6).level == "high"
    # below 10% the boundary rises with overall attrition: 5.5% uses row 5 (6.1), not 6 (6.2)
    assert largest_low_differential(5.5) == 6.1


def test_rating_message_is_plain_and_names_the_boundary() -> None:
    rating = classify_attrition(18, 6)
    assert rating.message.startswith(
        "Overall attrition of 18% with a 6-point difference between groups is high under the "
        "WWC cautious boundary: at 18% overall, a difference of up to 5.7 points counts as low."
    )
    assert rating.message.endswith("?")  # a question for the team, not a verdict
    low = classify_attrition(8, 3)
    assert low.level == "low" and "?" not in low.message
    # just over the line is not printed as if it were the line
    assert "5.74-point" in classify_attrition(18, 5.74).message


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="percent"):
        classify_attrition(120, 1)
    with pytest.raises(ValueError, match="size"):
        classify_attrition(10, -1)


def test_attrition_counts_rates_and_rating_by_arm() -> None:
    # 100 pilot units, 10 without an outcome; 100 comparison units, 20 without
    frame = pd.DataFrame({"unit": range(200)})
    in_pilot = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    has_outcome = np.r_[np.arange(100) >= 10, np.arange(100) >= 20]
    result = attrition(frame, in_pilot=in_pilot, has_outcome=has_outcome)
    assert (result.units, result.pilot_units, result.comparison_units) == (200, 100, 100)
    assert (result.pilot_lost, result.comparison_lost) == (10, 20)
    assert result.overall == pytest.approx(15.0)  # 30 of 200
    assert (result.pilot_rate, result.comparison_rate) == (pytest.approx(10.0), pytest.approx(20.0))
    assert result.differential == pytest.approx(10.0)
    # row 15: cautious 5.9 (high), optimistic 10.7 (low)
    assert result.rating.level == "high" and result.rating.largest_low == 5.9
    optimistic = attrition(frame, in_pilot=in_pilot, has_outcome=has_outcome, boundary="optimistic")
    assert optimistic.rating.level == "low"
    assert "more are missing from the comparison group" in result.message


def test_attrition_needs_aligned_arrays_and_both_groups() -> None:
    frame = pd.DataFrame({"unit": range(4)})
    with pytest.raises(ValueError, match="one value per unit"):
        attrition(frame, in_pilot=np.ones(3, bool), has_outcome=np.ones(4, bool))
    with pytest.raises(ValueError, match="both"):
        attrition(frame, in_pilot=np.ones(4, bool), has_outcome=np.ones(4, bool))


def test_hedges_g_matches_hand_arithmetic() -> None:
    # pilot 2, 4, 6, 8: mean 5, variance 20/3; comparison 1, 2, 3: mean 2, variance 1
    # pooled sd = sqrt((3 * 20/3 + 2 * 1) / 5) = sqrt(4.4); d = 3 / sqrt(4.4)
    # omega = 1 - 3 / (4 * 7 - 9) = 16/19; g = omega * d = 1.204374...
    result = baseline_equivalence(np.array([2.0, 4, 6, 8]), np.array([1.0, 2, 3]))
    assert result.measure == "Hedges' g"
    assert result.difference == pytest.approx(16 / 19 * 3 / math.sqrt(4.4), rel=1e-12)
    assert result.difference == pytest.approx(1.204374, abs=1e-6)
    assert result.level == "not equivalent"
    assert (result.pilot_n, result.comparison_n) == (4, 3)
    # sign: pilot minus comparison
    assert baseline_equivalence(np.array([1.0, 2, 3]), np.array([2.0, 4, 6, 8])).difference < 0


def test_hedges_g_reproduces_a_published_worked_example() -> None:
    """Borenstein, Hedges, Higgins and Rothstein (2009), Introduction to Meta-Analysis, ch. 4.

    Means 103 and 100, standard deviations 5.5 and 4.5, 50 in each group:
    d = 0.5970, J = 0.9923, g = 0.5924. The WWC correction omega = 1 - 3/(4N - 9)
    is Hedges' J = 1 - 3/(4 df - 1) with df = N - 2, so g is the same number.
    """
    rng = np.random.default_rng(7)

    def exact(mean: float, sd: float, n: int) -> np.ndarray:
        z = rng.normal(size=n)
        return np.asarray(mean + sd * (z - z.mean()) / z.std(ddof=1), dtype=float)

    result = baseline_equivalence(exact(103, 5.5, 50), exact(100, 4.5, 50))
    assert round(result.difference, 4) == 0.5924


def test_cox_index_matches_hand_arithmetic() -> None:
    # pilot 3 of 4 yes, comparison 1 of 4: log odds ln(3) - ln(1/3) = 2 ln 3
    # omega = 1 - 3 / (4 * 8 - 9) = 20/23; d = omega * 2 ln 3 / 1.65 = 1.157958...
    result = baseline_equivalence(np.array([1, 1, 1, 0]), np.array([1, 0, 0, 0]), binary=True)
    assert result.measure == "Cox index"
    assert result.difference == pytest.approx(20 / 23 * 2 * math.log(3) / 1.65, rel=1e-12)
    assert (result.pilot_mean, result.comparison_mean) == (0.75, 0.25)
    assert not result.corrected
    # 60 of 100 against 50 of 100: ln(1.5) / 1.65 * (1 - 3/791) = 0.244804..., a middle band
    pilot = np.r_[np.ones(60), np.zeros(40)]
    comparison = np.r_[np.ones(50), np.zeros(50)]
    middle = baseline_equivalence(pilot, comparison, binary=True)
    assert middle.difference == pytest.approx((1 - 3 / 791) * math.log(1.5) / 1.65, rel=1e-12)
    assert middle.level == "needs statistical adjustment"


def test_cox_index_when_a_group_is_all_yes_adds_half_to_each_cell() -> None:
    # pilot 4 of 4 -> (4.5, 0.5); comparison 1 of 4 -> (1.5, 3.5)
    # ln(9) - ln(3/7) = ln 21; d = 20/23 * ln 21 / 1.65
    result = baseline_equivalence(np.array([1, 1, 1, 1]), np.array([1, 0, 0, 0]), binary=True)
    assert result.corrected
    assert result.difference == pytest.approx(20 / 23 * math.log(21) / 1.65, rel=1e-12)
    assert "half a unit" in result.message


def test_missing_values_are_left_out_and_bad_input_refused() -> None:
    with_gaps = baseline_equivalence(np.array([2.0, 4, np.nan, 6, 8]), np.array([1.0, 2, 3]))
    assert with_gaps.pilot_n == 4
    assert with_gaps.difference == pytest.approx(1.204374, abs=1e-6)
    with pytest.raises(ValueError, match="0/1"):
        baseline_equivalence(np.array([0, 1, 2]), np.array([0, 1]), binary=True)
    with pytest.raises(ValueError, match="two units"):
        baseline_equivalence(np.array([1.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="same baseline value"):
        baseline_equivalence(np.array([1.0, 1.0]), np.array([1.0, 1.0]))


@pytest.mark.parametrize(
    ("difference", "level"),
    [
        (0.0, "equivalent"),
        (0.05, "equivalent"),
        (-0.05, "equivalent"),
        (0.0501, "needs statistical adjustment"),
        (-0.2, "needs statistical adjustment"),
        (0.25, "needs statistical adjustment"),
        (-0.25, "needs statistical adjustment"),
        (0.2501, "not equivalent"),
        (-0.9, "not equivalent"),
    ],
)
def test_equivalence_bands_at_their_edges(difference: float, level: str) -> None:
    assert classify_equivalence(difference) == level


def test_equivalence_message_says_what_the_band_means() -> None:
    # identical groups
    same = baseline_equivalence(np.array([1.0, 2, 3]), np.array([1.0, 2, 3]))
    assert same.level == "equivalent" and same.difference == 0
    assert "started out alike" in same.message
    apart = baseline_equivalence(np.array([5.0, 6, 7]), np.array([4.0, 5, 6]))
    assert apart.difference == pytest.approx(0.8)  # d = 1, omega = 1 - 3/15
    assert apart.message.endswith("how were they chosen?")
