"""Who is served: a planted under-representation is raised; a random sample is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.quality.served import compare_served


def people(counts: dict[str, int], column: str = "children") -> pd.DataFrame:
    """Return one row per person from category counts."""
    return pd.DataFrame({column: [k for k, n in counts.items() for _ in range(n)]})


def test_a_planted_under_representation_is_raised_as_a_question() -> None:
    # 18% of those eligible have 5+ children, 6% of those served
    eligible = people({"0-1": 900, "2-4": 740, "5+": 360})
    served = people({"0-1": 200, "2-4": 176, "5+": 24})
    found = {d.category: d for d in compare_served(served, eligible)}
    five = found["5+"]
    assert five.flagged
    assert (five.eligible, five.served) == (pytest.approx(18.0), pytest.approx(6.0))
    assert five.difference == pytest.approx(-12.0)
    assert five.message == (
        "Those with children \u201c5+\u201d are 18% of those eligible but 6% of those served. "
        "Is the service reaching them?"
    )
    # the groups that make up the difference move less than 10 points and are not raised
    assert not found["0-1"].flagged and not found["2-4"].flagged


def test_share_p_value_is_the_chi_square_goodness_of_fit_by_hand() -> None:
    # served 30 and 70 against eligible shares of a half each:
    # chi-square = (30 - 50)^2 / 50 + (70 - 50)^2 / 50 = 16 on 1 degree of freedom
    eligible = people({"yes": 500, "no": 500}, "owns car")
    served = people({"yes": 30, "no": 70}, "owns car")
    found = compare_served(served, eligible)
    assert [d.p_value for d in found] == [pytest.approx(stats.chi2.sf(16, 1))] * 2
    yes = next(d for d in found if d.category == "yes")
    assert yes.flagged and yes.difference == pytest.approx(-20.0)


def test_a_ten_point_gap_that_chance_could_explain_is_not_raised() -> None:
    # 12 of 30 served (40%) against 50% eligible: 10 points but p = 0.27
    eligible = people({"yes": 500, "no": 500})
    served = people({"yes": 12, "no": 18})
    found = compare_served(served, eligible)
    assert max(abs(d.difference) for d in found) == pytest.approx(10.0)
    assert not any(d.flagged for d in found)


def test_a_numeric_column_is_compared_by_standardised_mean_difference() -> None:
    rng = np.random.default_rng(1)
    eligible = pd.DataFrame({"age": rng.normal(40, 10, 3000)})
    older = pd.DataFrame({"age": rng.normal(45, 10, 300)})
    (found,) = compare_served(older, eligible)
    # (45 - 40) / 10 = 0.5 in expectation
    expected = (older["age"].mean() - eligible["age"].mean()) / eligible["age"].std(ddof=1)
    assert found.kind == "numeric" and found.difference == pytest.approx(expected)
    assert found.flagged and found.difference == pytest.approx(0.5, abs=0.1)
    assert "lower age" in found.message


@pytest.mark.parametrize("seed", range(8))
def test_a_random_sample_of_those_eligible_raises_nothing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 5000
    eligible = pd.DataFrame(
        {
            "children": rng.choice(["0-1", "2-4", "5+"], size=n, p=[0.45, 0.37, 0.18]),
            "ward": rng.choice(list("ABCDEF"), size=n),
            "age": rng.normal(38, 11, n),
            "disabled": rng.random(n) < 0.2,
        }
    )
    served = eligible.sample(300, random_state=seed)
    found = compare_served(served, eligible)
    assert {d.column for d in found} == {"children", "ward", "age", "disabled"}
    assert not [d.message for d in found if d.flagged]


def test_small_categories_are_merged_into_other_and_never_named() -> None:
    # "6" and "7" have fewer than 10 people in one population or both; merged they have
    # 12 served and 40 eligible, enough to show as "other"
    eligible = people({"0-1": 500, "2-4": 460, "6": 25, "7": 15})
    served = people({"0-1": 100, "2-4": 90, "6": 4, "7": 8})
    found = compare_served(served, eligible)
    assert {d.category for d in found} == {"0-1", "2-4", "other"}
    other = next(d for d in found if d.category == "other")
    assert other.served == pytest.approx(100 * 12 / 202)
    assert all(
        d.disclosure == "2 categories with fewer than 10 people were merged into \u201cother\u201d"
        for d in found
    )
    assert not any("\u201c6\u201d" in d.message or "\u201c7\u201d" in d.message for d in found)


def test_small_categories_too_small_even_merged_are_left_out() -> None:
    eligible = people({"0-1": 500, "2-4": 460, "9": 40})
    served = people({"0-1": 100, "2-4": 90, "9": 3})
    found = compare_served(served, eligible)
    assert {d.category for d in found} == {"0-1", "2-4"}
    assert all("1 category with fewer than 10 people was left out" in d.disclosure for d in found)


def test_blanks_are_compared_and_columns_not_shared_or_too_small_are_skipped() -> None:
    eligible = pd.DataFrame(
        {"ethnicity": ["A"] * 60 + ["B"] * 40, "only_here": range(100), "score": range(100)}
    )
    served = pd.DataFrame({"ethnicity": ["A"] * 20 + [None] * 15 + ["B"] * 5, "score": range(40)})
    served.loc[9:, "score"] = np.nan  # 9 scores left: fewer than 10
    found = compare_served(served, eligible)
    assert {d.column for d in found} == {"ethnicity"}
    # blanks: 0 eligible, so under 10 there and merged away rather than named
    assert "not recorded" not in {d.category for d in found}
    recorded = compare_served(served, pd.concat([eligible, served.iloc[20:35]]))
    assert "not recorded" in {d.category for d in recorded}
