"""Plain-language summaries follow the interval and never overclaim."""

from __future__ import annotations

import pytest

from evalkit.estimate.wording import describe_change, format_number, in_sentence


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


def test_a_clear_improvement_states_size_interval_and_direction() -> None:
    text = describe_change(
        label="Days in temporary accommodation",
        design="did",
        estimate=-12.1,
        ci_low=-18.4,
        ci_high=-5.8,
        better="lower",
        unit="days",
    )
    assert "about 12 days lower (95% CI 5.8 to 18 days lower)" in text
    assert "Lower is better" in text
    assert "comparison group" in text


def test_a_clear_worsening_is_not_dressed_up() -> None:
    text = describe_change(
        label="Wellbeing",
        design="pre_post",
        estimate=-2.0,
        ci_low=-3.0,
        ci_high=-1.0,
        better="higher",
        unit="points",
    )
    assert "about 2 points lower" in text and "Higher is better" in text
    assert "improv" not in text


def test_an_interval_spanning_zero_says_we_cannot_tell() -> None:
    text = describe_change(
        label="Settled within six months",
        design="did",
        estimate=1.0,
        ci_low=-7.0,
        ci_high=9.1,
        better="higher",
        unit="percentage points",
    )
    assert text.startswith("We can't tell yet whether settled within six months changed")
    assert "consistent with no change" in text
    # a small p-value is not what drives the wording; the interval is
    assert "significant" not in text


@pytest.mark.parametrize(
    ("label", "mid_sentence"),
    [
        ("Days in temporary accommodation", "days in temporary accommodation"),
        ("WEMWBS score", "WEMWBS score"),
        ("A&E attendances", "A&E attendances"),
        ("Weekly home visits; one liaison officer", "weekly home visits; one liaison officer"),
    ],
)
def test_labels_read_mid_sentence_with_acronyms_kept(label: str, mid_sentence: str) -> None:
    assert in_sentence(label) == mid_sentence
