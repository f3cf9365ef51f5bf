"""A finding in a resident's words: graded by its interval, with what could be seen and scale."""

from __future__ import annotations

import dataclasses
import math

import pytest

from evalkit.analysis import Analysis, analyse_pilot
from evalkit.estimate.finding import Finding
from evalkit.estimate.power import Mde
from evalkit.report.words import finding_context, found_sentence, grade, plain_finding

from .conftest import REPO

DAYS = "days-in-temporary-accommodation"  # the measure id; its column is days_in_ta


def _finding(low: float, high: float, **kwargs: object) -> Finding:
    values: dict[str, object] = {
        "outcome": "days_in_ta",
        "label": "Days in temporary accommodation",
        "estimate": (low + high) / 2,
        "se": (high - low) / 2 / 1.96,
        "ci_low": low,
        "ci_high": high,
        "p_value": None,
        "n": 500,
        "method": "test",
        "better": "lower",
        "summary": "",
        "unit": "days",
    }
    values.update(kwargs)
    return Finding.model_validate(values)


def _ratio(low: float, high: float, **kwargs: object) -> Finding:
    values: dict[str, object] = {
        "label": "A&E visits",
        "estimate": math.sqrt(low * high),
        "scale": "rate ratio",
        "unit": "",
    }
    values.update(kwargs)
    return _finding(low, high, **values)


@pytest.mark.parametrize(
    ("finding", "expected"),
    [
        (_finding(-24.0, -8.1), "clear"),
        (_finding(-15.0, 0.1), "probably"),
        (_finding(-7.0, 9.1), "cannot tell"),
        (_finding(-math.inf, 3.0), "unbounded"),
        (_ratio(0.7, 0.9), "clear"),
        (_ratio(0.8, 1.01), "probably"),
        (_ratio(0.8, 1.3), "cannot tell"),
        (_ratio(0.0, 1.3), "unbounded"),
    ],
)
def test_grade_follows_the_interval(finding: Finding, expected: str) -> None:
    assert grade(finding) == expected


def test_a_clear_fall_is_fairly_sure_and_set_beside_the_level_before() -> None:
    finding = _finding(-24.0, -12.0, estimate=-18.0)
    text = plain_finding(finding, baseline=164.0)
    assert text.startswith(
        "We are fairly sure days in temporary accommodation fell: by somewhere between 12 and "
        "24 days. That is an improvement"
    )
    assert "the best estimate, 18 days, is about 11% of the pilot's average before" in text
    assert "(164 days)" in text
    assert " was " not in text


def test_a_clear_rise_where_lower_is_better_is_a_change_for_the_worse() -> None:
    text = plain_finding(_finding(2.0, 6.0))
    assert "fairly sure days in temporary accommodation rose" in text
    assert "a change for the worse" in text


def test_mostly_one_side_is_probably_with_no_change_not_ruled_out() -> None:
    text = plain_finding(_finding(-15.0, 0.1))
    assert text.startswith("Days in temporary accommodation probably fell, but no change is not")
    assert "ruled out: the data fit anything from 15 days lower to 0.1 days higher" in text
    assert "A change smaller than about 11 days could not reliably be told apart" in text
    assert "fairly sure" not in text


def test_cannot_tell_says_the_smallest_change_the_data_could_show() -> None:
    text = plain_finding(_finding(-7.0, 9.1), mde=6.0)
    assert text.startswith("We can't tell yet whether days in temporary accommodation changed")
    assert "7 days lower to 9.1 days higher" in text
    assert "A change smaller than about 6 days could not reliably be told apart" in text
    # without a plan, read from the interval: 2.8 standard errors
    assert "about 12 days" in plain_finding(_finding(-7.0, 9.1))


def test_an_unbounded_interval_says_too_few_places() -> None:
    text = plain_finding(_finding(-math.inf, math.inf, estimate=-3.0))
    assert "too few places" in text and "fairly sure" not in text


def test_binary_outcomes_speak_of_percentage_points() -> None:
    finding = _finding(
        0.5, 1.5, label="Tried NHS 111", unit="percentage points", better="higher", outcome="x"
    )
    text = plain_finding(finding, baseline=40.0)
    assert "fairly sure tried NHS 111 rose: by somewhere between 0.5 and 1.5 percentage" in text
    assert "before the change the pilot's level was 40%" in text
    assert "%" not in text.split("40%")[0]  # a difference of percentages is points
    one = plain_finding(_finding(-3.0, 1.0, estimate=-1.0, unit="percentage points"))
    assert "1 percentage point " in one or "1 percentage point." in one
    assert "1 percentage points" not in one


def test_ratio_findings_read_as_percentages_in_every_grade() -> None:
    clear = plain_finding(_ratio(0.7, 0.9))
    assert "We are fairly sure A&E visits fell: by somewhere between 10% and 30%" in clear
    assert "an improvement" in clear
    probably = plain_finding(_ratio(0.8, 1.01))
    assert probably.startswith("A&E visits probably fell, but no change is not ruled out")
    assert "20% lower to 1% higher" in probably and "could not reliably" in probably
    unclear = plain_finding(_ratio(0.8, 1.3), mde=0.85)
    assert "We can't tell yet whether A&E visits changed" in unclear
    assert "smaller than about 15%" in unclear
    assert "too few places" in plain_finding(_ratio(0.0, 1.3))


def test_an_odds_ratio_finding_speaks_of_the_odds() -> None:
    text = plain_finding(_ratio(0.5, 0.9, label="Re-referred", scale="odds ratio"))
    assert "the odds of re-referred fell" in text


def test_interval_ends_that_differ_read_apart() -> None:
    text = plain_finding(_finding(-88.4, -88.2))
    assert "between 88.2 and 88.4 days" in text


@pytest.fixture(scope="module")
def northbridge() -> Analysis:
    return analyse_pilot(REPO / "pilots" / "northbridge-ta")


def test_context_is_the_pilot_before_mean_and_a_detectable_change(northbridge: Analysis) -> None:
    days = next(f for f in northbridge.findings if f.outcome == DAYS)
    mde, baseline = finding_context(northbridge, days)
    cells = northbridge.cells["days_in_ta"]
    before = cells[(cells["group"] == "pilot") & (cells["period"] == "before")]
    assert baseline == pytest.approx(float(before["mean"].iloc[0]))
    assert mde == pytest.approx((days.ci_high - days.ci_low) / 2 / 1.959964 * 2.801585)
    text = plain_finding(days, mde=mde, baseline=baseline)
    assert "of the pilot's average before the change" in text
    # the full sentence and the short one agree on the grade
    full = found_sentence(days, northbridge.card.design, mde=mde, baseline=baseline)
    assert "in the pilot fell by about" in full and "of the pilot's average before" in full


def test_context_never_uses_a_suppressed_mean(northbridge: Analysis) -> None:
    days = next(f for f in northbridge.findings if f.outcome == DAYS)
    cells = northbridge.cells["days_in_ta"].copy()
    pilot_before = (cells["group"] == "pilot") & (cells["period"] == "before")
    cells.loc[pilot_before, "suppressed"] = True
    hidden = dataclasses.replace(northbridge, cells={**northbridge.cells, "days_in_ta": cells})
    assert finding_context(hidden, days)[1] is None


def test_context_prefers_the_analysis_plan(northbridge: Analysis) -> None:
    days = next(f for f in northbridge.findings if f.outcome == DAYS)
    planned = Mde(outcome=DAYS, design="did", mde=-9.5, mde_standardised=0.2, n=500, assumptions=())
    with_plan = dataclasses.replace(northbridge, plan=(planned,))
    assert finding_context(with_plan, days)[0] == pytest.approx(9.5)
