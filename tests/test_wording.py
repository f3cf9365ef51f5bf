"""Plain-language summaries follow the interval in grades, never overclaim, and read well."""

from __future__ import annotations

import math

import pytest

from evalkit.estimate.wording import (
    PROBABLY,
    change_unit,
    describe_change,
    describe_ratio,
    detectable_change,
    format_mean_and_range,
    format_number,
    format_numbers,
    format_range,
    in_sentence,
    interval_grade,
    quantity,
    share_of,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12.1, "12"),
        (5.84, "5.8"),
        (0.0342, "0.034"),
        (-18.4, "18"),
        (1234.5, "1,234"),
        (0.5, "0.5"),
        (100.0, "100"),
        (0.0, "0"),
    ],
)
def test_numbers_are_rounded_for_reading(value: float, text: str) -> None:
    assert format_number(value) == text


# --- grades -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "grade"),
    [
        (-24.0, -8.1, "clear"),
        (2.0, 5.0, "clear"),
        (-15.0, 0.1, "probably"),  # the example: p = 0.053
        (-7.0, 9.1, "cannot tell"),  # the other example
        (0.0, 3.0, "probably"),  # touching no change is not excluding it
        (-3.0, 3.0, "cannot tell"),
        (-math.inf, 2.0, "unbounded"),
        (-1.0, math.inf, "unbounded"),
    ],
)
def test_the_interval_decides_the_grade(low: float, high: float, grade: str) -> None:
    assert interval_grade(low, high) == grade


def test_probably_begins_where_the_80_percent_interval_leaves_no_change() -> None:
    # centre c, half-width 1: no change is outside the 80% interval when |c| > 1.28 / 1.96
    edge = PROBABLY
    assert math.isclose(edge, 1.281552 / 1.959964)
    assert interval_grade(-edge - 1e-6 - 1, -edge - 1e-6 + 1) == "probably"
    assert interval_grade(-edge + 1e-6 - 1, -edge + 1e-6 + 1) == "cannot tell"
    assert interval_grade(edge + 1e-6 - 1, edge + 1e-6 + 1) == "probably"


@pytest.mark.parametrize(
    ("low", "high", "grade"),
    [
        (0.7, 0.9, "clear"),
        (1.1, 1.6, "clear"),
        (0.8, 1.01, "probably"),
        (0.8, 1.3, "cannot tell"),
        (0.0, 1.3, "unbounded"),  # a ratio's interval reaching 0 has no lower end
    ],
)
def test_ratios_are_graded_around_one_on_the_log_scale(low: float, high: float, grade: str) -> None:
    assert interval_grade(low, high, ratio=True) == grade


def test_the_detectable_change_is_2_8_standard_errors_read_from_the_interval() -> None:
    assert math.isclose(detectable_change(-7.0, 9.1), 8.05 / 1.959964 * 2.801585, rel_tol=1e-6)
    fall = detectable_change(0.8, 1.25, ratio=True)
    assert math.isclose(math.log(fall), -math.log(1.25) / 1.959964 * 2.801585, rel_tol=1e-6)


# --- full sentences -----------------------------------------------------------------------------


def _change(low: float, high: float, **kwargs: object) -> str:
    values: dict[str, object] = {
        "label": "Days in temporary accommodation",
        "design": "did",
        "estimate": (low + high) / 2,
        "ci_low": low,
        "ci_high": high,
        "better": "lower",
        "unit": "days",
    }
    values.update(kwargs)
    return describe_change(**values)  # type: ignore[arg-type]


def test_a_clear_improvement_states_size_interval_and_direction() -> None:
    text = _change(-18.4, -5.8, estimate=-12.1)
    assert "days in temporary accommodation in the pilot fell by about 12 days" in text
    assert "(95% CI: a fall of 5.8 to 18 days)" in text
    assert "Lower is better" in text and "comparison group" in text
    assert " was " not in text  # no verb to agree with a plural label


def test_a_clear_worsening_is_not_dressed_up() -> None:
    text = _change(-3.0, -1.0, label="Wellbeing", design="pre_post", better="higher", unit="points")
    assert "After the change, wellbeing fell by about 2 points" in text
    assert "Higher is better" in text and "improv" not in text


def test_a_clear_change_is_set_beside_the_level_before() -> None:
    text = _change(-24.0, -12.0, estimate=-18.0, baseline=164.0)
    assert "That is about 11% of the pilot's average before the change (164 days)." in text


def test_mostly_one_side_reads_probably_with_no_change_not_ruled_out() -> None:
    text = _change(-15.0, 0.1, estimate=-7.4)
    assert "probably fell, by about 7.4 days, but no change is not ruled out" in text
    assert "runs from 15 days lower to 0.1 days higher" in text
    assert "could not reliably be told apart from chance" in text
    assert "fairly sure" not in text


def test_an_interval_spanning_zero_says_we_cannot_tell_and_what_could_be_seen() -> None:
    text = _change(
        -7.0, 9.1, label="Settled within six months", unit="percentage points", better="higher"
    )
    assert text.startswith("We can't tell yet whether settled within six months changed")
    assert "consistent with no change" in text
    assert "A change smaller than about 12 percentage points could not reliably be told" in text
    # a small p-value is not what drives the wording; the interval is
    assert "significant" not in text


def test_a_detectable_change_given_by_the_plan_is_the_one_said() -> None:
    assert "smaller than about 4.5 days" in _change(-7.0, 9.1, mde=4.5)


def test_an_unbounded_interval_claims_nothing() -> None:
    text = _change(-math.inf, math.inf, estimate=-3.0)
    assert text.startswith("We can't tell from these data") and "too few places" in text


# --- ratios -------------------------------------------------------------------------------------


def _ratio(low: float, high: float, **kwargs: object) -> str:
    values: dict[str, object] = {
        "label": "A&E visits",
        "design": "pre_post",
        "estimate": math.sqrt(low * high),
        "ci_low": low,
        "ci_high": high,
        "better": "lower",
    }
    values.update(kwargs)
    return describe_ratio(**values)  # type: ignore[arg-type]


def test_ratio_grades_read_as_percentages() -> None:
    assert "After the change, A&E visits fell by about 12%" in _ratio(0.82, 0.95, estimate=0.88)
    assert "(95% CI: a fall of 5% to 18%)" in _ratio(0.82, 0.95, estimate=0.88)
    probably = _ratio(0.8, 1.01)
    assert "A&E visits probably fell" in probably and "20% lower to 1% higher" in probably
    unclear = _ratio(0.8, 1.3)
    assert unclear.startswith("We can't tell yet whether A&E visits changed")
    assert "could not reliably be told apart from chance" in unclear
    assert "rose by about 30%" in _ratio(1.1, 1.6, estimate=1.3, better="higher")


def test_an_odds_ratio_speaks_of_the_odds() -> None:
    text = _ratio(0.5, 0.9, label="Re-referred", scale="odds ratio")
    assert "the odds of re-referred fell" in text


# --- grammar ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "mid_sentence"),
    [
        ("Days in temporary accommodation", "days in temporary accommodation"),
        ("WEMWBS score", "WEMWBS score"),
        ("A&E attendances", "A&E attendances"),
        ("A&E visits", "A&E visits"),
        ("NHS 111 calls", "NHS 111 calls"),
        ("Tried NHS 111", "tried NHS 111"),
        ("GP appointments", "GP appointments"),
        ("A named worker", "a named worker"),
        ("Re-referred within 12 months", "re-referred within 12 months"),
        ("Weekly home visits; one liaison officer", "weekly home visits; one liaison officer"),
    ],
)
def test_labels_read_mid_sentence_with_acronyms_kept(label: str, mid_sentence: str) -> None:
    assert in_sentence(label) == mid_sentence


def test_acronyms_are_kept_in_the_sentences() -> None:
    assert "A&E visits fell" in _ratio(0.8, 0.9) and "a&e" not in _ratio(0.8, 0.9)
    text = _change(-3.0, -1.0, label="Tried NHS 111", design="rct", unit="%", better="higher")
    assert "tried NHS 111" in text and "nHS" not in text


@pytest.mark.parametrize(
    ("number", "unit", "text"),
    [
        ("1", "percentage points", "1 percentage point"),
        ("1", "days", "1 day"),
        ("1", "per 1,000 households", "1 per 1,000 households"),
        ("1", "appointments per week", "1 appointment per week"),
        ("1.5", "days", "1.5 days"),
        ("1", "", "1"),
    ],
)
def test_one_is_singular(number: str, unit: str, text: str) -> None:
    assert quantity(number, unit) == text


def test_a_difference_of_percentages_is_in_percentage_points() -> None:
    assert change_unit("%") == "percentage points"
    text = _change(0.5, 1.5, estimate=1.0, unit="%", better="higher")
    assert "rose by about 1 percentage point " in text and "%" not in text.split("(95%")[0]
    assert "1 percentage points" not in text


def test_interval_ends_read_apart_whenever_they_differ() -> None:
    assert format_range(88.2, 88.4) == "88.2 to 88.4"
    assert format_range(87.6, 91.0) == "88 to 91"  # no more precision than needed
    assert format_range(54.7, 55.5) == "54.7 to 55.5"  # enough to show a narrow width
    assert format_range(150.3, 178.9) == "150 to 179"
    assert format_mean_and_range(55.1, 54.7, 55.5) == ("55.1", "54.7 to 55.5")
    assert format_mean_and_range(-2.0, -3.14, -0.5) == ("\u22122", "\u22123.1 to \u22120.5")
    assert format_range(1234.2, 1234.4) == "1,234.2 to 1,234.4"
    assert format_range(-3.1, 4.2, "days") == "\u22123.1 to 4.2 days"
    assert format_range(5.0, 5.0) == "5 to 5"  # the same number reads the same
    assert format_numbers(0.101, 0.104) == ("0.101", "0.104")
    text = _change(-88.4, -88.2, estimate=-88.3)
    assert "a fall of 88.2 to 88.4 days" in text


@pytest.mark.parametrize(
    ("change", "baseline", "text"),
    [(18.0, 164.0, "11%"), (16.0, 164.0, "10%"), (0.57, 349.0, "0.2%"), (0.01, 349.0, "")],
)
def test_a_share_of_the_level_before_is_rounded_as_a_reader_would(
    change: float, baseline: float, text: str
) -> None:
    assert share_of(change, baseline) == text


def test_a_share_too_small_to_mean_anything_is_left_out() -> None:
    assert "average before" not in _change(-0.02, -0.01, estimate=-0.015, baseline=349.0)
