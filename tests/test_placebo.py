"""Placebo-in-space randomisation inference: published examples, brute force, simulations, edges."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evalkit.estimate._placebo import Placebo, placebo_inference

from .conftest import DATA


def difference_in_means(rows: int) -> Callable[[np.ndarray], np.ndarray]:
    """Return a design [1, in pilot]: its coefficient is the difference in means."""
    return lambda mask: np.column_stack([np.ones(rows), mask.astype("float64")])


def two_by_two(post: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Return the 2x2 difference-in-differences design [1, pilot, after, pilot x after]."""

    def design(mask: np.ndarray) -> np.ndarray:
        pilot = mask.astype("float64")
        return np.column_stack([np.ones(post.size), pilot, post, pilot * post])

    return design


# --- published worked examples --------------------------------------------------------------------


def test_reproduces_imbens_rubin_honey_fisher_exact_p_value() -> None:
    """Imbens and Rubin (2015), *Causal Inference for Statistics, Social, and Biomedical
    Sciences*, ch. 5: Table 5.4 gives the first six children of the honey study (cough
    frequency after, cfa: 3, 5, 0 with honey; 4, 0, 1 without) and Table 5.5 the
    absolute difference in means under all 20 assignments of three children to honey.
    Printed: T_obs = 8/3 - 5/3 = 1.00 and the Fisher exact p-value 16/20 = 0.80 (the
    data and table as quoted in the lecture notes and teaching apps citing the book).

    Six of the twenty assignments tie with the actual |1.00|: the p-value is 0.80 only
    if ties count as at least as extreme, which is also what keeps the test honest.
    """
    y = np.array([3.0, 5, 0, 4, 0, 1])
    result = placebo_inference(y, difference_in_means(6), 1, np.arange(1, 7), [1, 2, 3])
    assert result.estimate == pytest.approx(1.0)
    assert result.p_value == pytest.approx(16 / 20)
    assert (result.assignments, result.enumerated, result.units, result.treated) == (20, True, 6, 3)
    assert result.smallest_p == pytest.approx(1 / 20)
    printed = [1.00, 3.67, 1.00, 1.67, 0.33, 2.33, 1.67, 0.33, 1.00, 1.67]
    printed += [1.67, 1.00, 0.33, 1.67, 2.33, 0.33, 1.67, 1.00, 3.67, 1.00]
    assert sorted(np.round(np.abs(result.placebo_estimates), 2)) == sorted(printed)
    # the mirror assignment (children 4-6 given honey) always ties with the actual one,
    # so p(tau) >= 2/20 for every tau and no 95% interval can exclude anything
    assert (result.ci_low, result.ci_high) == (None, None)


def cigarette_panel() -> pd.DataFrame:
    """Return the Proposition 99 panel (tests/data/cigsales.csv, see tests/test_its.py)."""
    wide = pd.read_csv(DATA / "cigsales.csv")
    return wide.melt(id_vars="year", var_name="state", value_name="packs")


def test_california_difference_in_differences_among_39_states() -> None:
    """Abadie, Diamond and Hainmueller (2010) JASA 105(490), 493-505, placebo-in-space on
    California's Proposition 99 (1989): each of the 38 other states in turn plays the
    treated one. Their statistic is the synthetic control's post/pre RMSPE ratio, for
    which California ranks first (p = 1/39); this engine's is the difference-in-
    differences coefficient. That estimate is printed by Arkhangelsky, Athey, Hirshberg,
    Imbens and Wager (2021) AER 111(12), 4088-4118, Table 1: DID -27.3 packs. The rank
    is checked against each state's own change minus the other 38 states' mean change,
    computed directly from the means: California ranks fifth (New Hampshire, Nevada,
    North Carolina and Tennessee move more), so p = 5/39, with 1/39 the least possible.
    """
    rows = cigarette_panel()
    after = (rows["year"] >= 1989).to_numpy(dtype="float64")
    y = rows["packs"].to_numpy(dtype="float64")
    result = placebo_inference(y, two_by_two(after), 3, rows["state"].to_numpy(), ["California"])
    assert round(result.estimate, 1) == -27.3
    assert result.assignments == 39 and result.enumerated
    assert result.smallest_p == pytest.approx(1 / 39)

    wide = rows.pivot(index="year", columns="state", values="packs")
    change = wide[wide.index >= 1989].mean() - wide[wide.index < 1989].mean()
    direct = {state: change[state] - change.drop(state).mean() for state in change.index}
    for units, estimate in zip(result.placebo_units, result.placebo_estimates, strict=True):
        assert estimate == pytest.approx(direct[str(units[0])], abs=1e-9)
    assert result.p_value == pytest.approx(5 / 39)
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low < result.estimate < result.ci_high


# --- against an independent brute-force implementation --------------------------------------------


def brute_force_p(
    y: np.ndarray,
    design: Callable[[np.ndarray], np.ndarray],
    column: int,
    units: np.ndarray,
    treated: tuple[int, ...],
    effects: np.ndarray,
) -> np.ndarray:
    """Return p(tau) by refitting statsmodels OLS on y - tau D for every assignment and tau."""
    labels = sorted(set(units.tolist()))
    combos = list(itertools.combinations(labels, len(treated)))
    d = design(np.isin(units, treated))[:, column]
    fits = [sm.OLS(y, design(np.isin(units, combo))).fit() for combo in combos]
    out = []
    for tau in effects:
        shifted = y - tau * d
        stats = np.array(
            [sm.OLS(shifted, fit.model.exog).fit().params[column] for fit in fits],
        )
        actual = stats[combos.index(tuple(sorted(treated)))]
        tolerance = 1e-7 * (np.abs(stats).max() + abs(tau))
        out.append(np.mean(np.abs(stats) >= abs(actual) - tolerance))
    return np.array(out)


def small_panel(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return y, unit, period and a covariate for 8 units x 6 periods with units 2 and 5 treated."""
    unit, period = np.repeat(np.arange(8), 6), np.tile(np.arange(6), 8)
    covariate = rng.normal(size=unit.size)
    treated = np.isin(unit, [2, 5]) & (period >= 3)
    y = (
        rng.normal(0, 3, 8)[unit]
        + rng.normal(0, 1, 6)[period]
        + rng.normal(0, 1.5, 8)[unit] * (period >= 3)
        + 0.5 * covariate
        + 2.0 * treated
        + rng.normal(size=unit.size)
    )
    return y, unit, period, covariate


RANK_DEFICIENT = pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")


@RANK_DEFICIENT
def test_p_value_function_and_interval_match_brute_force_statsmodels() -> None:
    """The step function p(tau) and the interval, against refitting statsmodels OLS for each
    of the 28 assignments and each tau on a grid. The design has unit and period dummies
    and the pilot indicator, which the unit dummies make redundant: statsmodels' pinv
    and the engine must both see through it to the pilot x after coefficient.
    """
    rng = np.random.default_rng(7)
    y, unit, period, covariate = small_panel(rng)
    after = (period >= 3).astype("float64")
    dummies = np.column_stack([unit == u for u in range(8)] + [period == t for t in range(1, 6)])

    def design(mask: np.ndarray) -> np.ndarray:
        pilot = mask.astype("float64")
        return np.column_stack([dummies, pilot, covariate, pilot * after])

    result = placebo_inference(y, design, 15, unit, [2, 5])
    assert result.assignments == math.comb(8, 2) == 28
    spread = float(np.ptp(result.placebo_estimates))
    grid = np.sort(rng.uniform(result.estimate - 3 * spread, result.estimate + 3 * spread, 120))
    expected = brute_force_p(y, design, 15, unit, (2, 5), grid)
    assert [result.p_value_at(tau) for tau in grid] == pytest.approx(expected.tolist())
    assert result.p_value == pytest.approx(
        brute_force_p(y, design, 15, unit, (2, 5), np.zeros(1))[0]
    )

    assert result.ci_low is not None and result.ci_high is not None
    alpha, nudge = 0.05, 1e-6 * spread
    ends = np.array([result.ci_low, result.ci_high, result.ci_low - nudge, result.ci_high + nudge])
    at_ends = brute_force_p(y, design, 15, unit, (2, 5), ends)
    assert at_ends[0] > alpha and at_ends[1] > alpha  # the bounds are in the interval
    assert at_ends[2] <= alpha and at_ends[3] <= alpha  # and just beyond them is not
    accepted = grid[expected > alpha]
    assert result.ci_low <= accepted.min() and accepted.max() <= result.ci_high


@RANK_DEFICIENT
def test_assignment_that_changes_an_unexpected_column_is_refitted_in_full() -> None:
    """A design column that changes only when unit 5 is in the pilot looks fixed between
    the actual pilot (unit 0) and the first placebo (unit 1); the assignments with unit 5
    must still come out as statsmodels fits them.
    """
    rng = np.random.default_rng(3)
    unit = np.repeat(np.arange(7), 5)
    after = np.tile(np.arange(5) >= 2, 7).astype("float64")
    y = rng.normal(size=unit.size) + rng.normal(size=7)[unit]

    def design(mask: np.ndarray) -> np.ndarray:
        pilot = mask.astype("float64")
        quirk = pilot * (unit == 5) * np.arange(unit.size)
        return np.column_stack([np.ones(unit.size), pilot, after, pilot * after, quirk])

    result = placebo_inference(y, design, 3, unit, [0])
    for units, estimate in zip(result.placebo_units, result.placebo_estimates, strict=True):
        fit = sm.OLS(y, design(np.isin(unit, np.array(units)))).fit()
        assert estimate == pytest.approx(fit.params[3], abs=1e-9)


# --- simulations with known truth -----------------------------------------------------------------


def covers(result: Placebo, truth: float) -> bool:
    """Return True when the interval (None meaning unbounded) contains the truth."""
    low = -math.inf if result.ci_low is None else result.ci_low
    high = math.inf if result.ci_high is None else result.ci_high
    return low <= truth <= high


@pytest.mark.slow
def test_one_treated_council_among_20_keeps_coverage_and_size() -> None:
    """20 councils x 10 periods, change after period 5, one council in the pilot at random;
    council and period effects, a council-specific shift after the change (the shock
    that makes clustered errors fail with one treated cluster) and AR(1) noise. With 20
    assignments the test rejects only when the pilot is the most extreme: size 1/20.
    """
    rng = np.random.default_rng(20261201)
    councils, periods, replications = 20, 10, 1000
    unit = np.repeat(np.arange(councils), periods)
    time_index = np.tile(np.arange(periods), councils)
    after = (time_index >= 5).astype("float64")
    design = two_by_two(after)

    def draw(effect: float) -> Placebo:
        noise = np.empty((councils, periods))
        noise[:, 0] = rng.normal(size=councils)
        for t in range(1, periods):
            noise[:, t] = 0.5 * noise[:, t - 1] + rng.normal(size=councils)
        pilot = int(rng.integers(councils))
        y = (
            rng.normal(0, 2, councils)[unit]
            + rng.normal(0, 1, periods)[time_index]
            + rng.normal(0, 1, councils)[unit] * after
            + effect * ((unit == pilot) * after)
            + noise.ravel()
        )
        return placebo_inference(y, design, 3, unit, [pilot])

    false_positives = np.mean([draw(0.0).p_value <= 0.05 for _ in range(replications)])
    coverage = np.mean([covers(draw(1.5), 1.5) for _ in range(replications)])
    print(f"one of 20 councils: coverage {coverage:.3f}, false positives {false_positives:.3f}")
    assert 0.93 <= coverage <= 0.97
    assert false_positives <= 0.07


@pytest.mark.slow
def test_two_treated_wards_among_12_keep_coverage_and_size() -> None:
    """A ward-randomised trial: 12 wards of 15-44 people, 2 wards given the change at
    random, ward effects and individual noise. The 66 assignments reject when at most 3
    are as extreme, so the exact size is 3/66 = 4.5% and coverage 95.5%.
    """
    rng = np.random.default_rng(20261202)
    wards, replications = 12, 1000

    def draw(effect: float) -> Placebo:
        sizes = rng.integers(15, 45, wards)
        ward = np.repeat(np.arange(wards), sizes)
        pilot = rng.choice(wards, size=2, replace=False)
        y = (
            rng.normal(0, 0.5, wards)[ward]
            + effect * np.isin(ward, pilot)
            + rng.normal(size=ward.size)
        )
        return placebo_inference(y, difference_in_means(ward.size), 1, ward, pilot.tolist())

    false_positives = np.mean([draw(0.0).p_value <= 0.05 for _ in range(replications)])
    coverage = np.mean([covers(draw(0.8), 0.8) for _ in range(replications)])
    print(f"two of 12 wards: coverage {coverage:.3f}, false positives {false_positives:.3f}")
    assert 0.93 <= coverage <= 0.97
    assert false_positives <= 0.07


@pytest.mark.slow
def test_two_of_20_councils_on_100k_rows_take_seconds_not_minutes() -> None:
    """190 assignments on 100,000 rows with a 2x2 design and four covariates. The bound is
    loose because the machine is shared; the cost is one design call and one pass over
    the changing columns per assignment.
    """
    rng = np.random.default_rng(11)
    rows = 100_000
    unit = rng.integers(0, 20, rows)
    after = (rng.random(rows) < 0.5).astype("float64")
    covariates = rng.normal(size=(rows, 4))
    y = rng.normal(size=rows) + 0.2 * np.isin(unit, [0, 1]) * after

    def design(mask: np.ndarray) -> np.ndarray:
        pilot = mask.astype("float64")
        return np.column_stack([np.ones(rows), pilot, after, pilot * after, covariates])

    start = time.perf_counter()
    result = placebo_inference(y, design, 3, unit, [0, 1])
    seconds = time.perf_counter() - start
    print(f"190 assignments on 100k rows: {seconds:.2f} s")
    assert result.assignments == 190
    assert seconds < 30


# --- edge cases -----------------------------------------------------------------------------------


def one_row_per_unit(units: int, effect: float, seed: int = 1) -> np.ndarray:
    """Return one outcome a unit with unit 0 treated by ``effect``."""
    y = np.random.default_rng(seed).normal(size=units)
    y[0] += effect
    return y


def test_fewer_than_20_assignments_give_no_interval_and_say_the_smallest_p() -> None:
    y = one_row_per_unit(10, effect=100.0)
    result = placebo_inference(y, difference_in_means(10), 1, np.arange(10), [0])
    assert result.assignments == 10 and result.smallest_p == pytest.approx(0.1)
    assert result.p_value == pytest.approx(0.1)  # the most extreme possible, and no smaller
    assert (result.ci_low, result.ci_high) == (None, None)


def test_p_value_never_falls_below_one_over_the_assignments() -> None:
    y = one_row_per_unit(20, effect=1e6)
    result = placebo_inference(y, difference_in_means(20), 1, np.arange(20), [0])
    assert result.p_value == pytest.approx(1 / 20) == result.smallest_p
    effects = np.linspace(-1e7, 1e7, 41)
    assert min(result.p_value_at(tau) for tau in effects) >= 1 / 20
    # with exactly 20 assignments a 95% interval exists: 1/20 is not above 0.05
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low < result.estimate < result.ci_high


def test_sampled_assignments_are_reproducible_for_a_seed() -> None:
    y = one_row_per_unit(30, effect=2.0)
    design, labels = difference_in_means(30), np.arange(30)
    first = placebo_inference(y, design, 1, labels, [0, 7], max_assignments=60, seed=5)
    again = placebo_inference(y, design, 1, labels, [7, 0], max_assignments=60, seed=5)
    other = placebo_inference(y, design, 1, labels, [0, 7], max_assignments=60, seed=6)
    assert not first.enumerated and first.assignments == 60 < math.comb(30, 2)
    assert first.placebo_units == again.placebo_units
    np.testing.assert_array_equal(first.placebo_estimates, again.placebo_estimates)
    assert first.placebo_units != other.placebo_units
    assert first.placebo_units[0] == (0, 7)  # the actual pilot is always compared
    assert len(set(first.placebo_units)) == 60  # no assignment counted twice
    assert first.p_value >= first.smallest_p == pytest.approx(1 / 60)


def test_ties_count_against_the_pilot() -> None:
    """Units 0 and 2 have the same outcome, and units 1 and 3 mirror them: every
    assignment's estimate is +-2/3, so every one is as extreme as the actual.
    """
    y = np.array([1.0, 0.0, 1.0, 0.0])
    result = placebo_inference(y, difference_in_means(4), 1, np.array(list("abcd")), ["a"])
    assert np.abs(result.placebo_estimates) == pytest.approx([2 / 3] * 4)
    assert result.p_value == 1.0
    assert result.placebo_units == (("a",), ("b",), ("c",), ("d",))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"treated_units": ["z"]}, "not found"),
        ({"treated_units": ["a", "a"]}, "more than once"),
        ({"treated_units": list("abcde")}, "leave at least one out"),
        ({"treated_units": []}, "at least one unit"),
        ({"level": 1.0}, "level"),
        ({"max_assignments": 1}, "max_assignments"),
        ({"column": 2}, "outside the design"),
        ({"y": np.array([1.0, np.nan, 0, 1, 2])}, "missing or infinite"),
        ({"units": np.array(list("abcd"))}, "each of the 5 rows"),
        ({"design": lambda mask: np.ones((5, 2))}, "does not change"),
        ({"design": lambda mask: np.ones((4, 2))}, "with 5 rows"),
    ],
)
def test_impossible_input_is_refused_in_words(change: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "y": np.array([1.0, 0, 2, 1, 3]),
        "design": difference_in_means(5),
        "column": 1,
        "units": np.array(list("abcde")),
        "treated_units": ["a"],
    }
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        placebo_inference(**arguments)  # type: ignore[arg-type]


def test_a_placebo_unit_without_rows_after_the_change_is_refused() -> None:
    unit = np.repeat(np.arange(4), 4)
    after = np.tile(np.arange(4) >= 2, 4).astype("float64")
    keep = ~((unit == 3) & (after == 1))
    unit, after = unit[keep], after[keep]
    y = np.random.default_rng(2).normal(size=unit.size)
    with pytest.raises(ValueError, match="placebo pilot of 3"):
        placebo_inference(y, two_by_two(after), 3, unit, [0])
