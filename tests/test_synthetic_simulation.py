"""Simulations with known truth for the synthetic design: is the placebo test honest?

The data follow the interactive fixed-effects model of Arkhangelsky et al.'s
(2021) simulations: 30 places followed over 24 periods (16 before the change,
8 after),

    Y_it = alpha_i + beta_t + L_i . F_t + e_it,

with place and period effects, two smooth factors (a trend and a 12-period
cycle) whose loadings L_i are drawn afresh for every place, and noise with sd 1
that is AR(1) (0.3) in time. The pilot place (or places) is drawn at random, so
it is exchangeable with the others: under no effect the placebo test's
false-positive rate should be its nominal size and the 95% interval should hold
the truth as often as the permutation argument says.

Each replication builds ``Places`` directly and calls ``fit_places``, the code a
report runs, then ``permutation_p`` and ``half_width`` on the placebo estimates.
Every number is seeded (one stream per replication), so the results do not
depend on how many processes share the work. The measured rates are printed:
run with ``python -m pytest tests/test_synthetic_simulation.py -m slow -s``.

Cost: ``fit_places`` takes about 1.1 s for one pilot place on this panel (2.7 s
for three, whose 200 placebo draws are 7 times the problems), almost all of it
Frank-Wolfe steps of the slowest problems, so fewer periods would not make it
faster (20 periods measured the same). The replications are therefore shared
among the machine's cores (two here), each still one ``fit_places`` call.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest

from evalkit.estimate._synthetic_places import Places
from evalkit.estimate.synthetic import ALPHA, fit_places, half_width, permutation_p

SEED = 20261203
PLACES, PERIODS, PRE = 30, 24, 16
REPLICATIONS = 300
TRUE_EFFECT = 2.0
METHODS = ("sdid", "sc", "did")

#: With one pilot place and 29 comparison places the test rejects (p = 1/30 <= 0.05) when
#: the pilot's |estimate| is the largest of the 30, which under exchangeability happens with
#: probability 1/30: the false-positive rate is 3.3% and, since the interval inverts the
#: test, it holds the truth with probability 29/30 = 96.7% (not 95%). (Exchangeability is
#: nearly, not exactly, exact: the pilot's estimate has 29 comparison places, each placebo's
#: 28.) At R = 300 the Monte-Carlo SE of either rate is sqrt(29/30 * 1/30 / 300) = 1.04
#: points, so a 93%-97% band would fail a correct test about two runs in five (97% is 0.3
#: SE above 96.7%). The band below is 3.5 SE under and 2.2 SE over: a correct test falls
#: below 93% (22 or more rejections of 300) with probability 0.05% and above 99% (2 or
#: fewer) with probability 0.25% (binomial, 300, 1/30). Coverage over 99% would mean the
#: placebos are systematically larger than the pilot's estimate: a test too wide to be of use.
COVERAGE_BAND = (0.93, 0.99)
#: The false-positive rate allowed. For one pilot place a correct test (size 1/30) exceeds
#: it with probability 0.05%; for three pilot places (200 random placebo draws, size
#: 10/201 = 5.0%, SE 1.26 points) with probability 4.6%.
MOST_FALSE_POSITIVES = 0.07


def factors(periods: int = PERIODS) -> np.ndarray:
    """Return the two smooth factors F_t (periods x 2): a trend and a 12-period cycle."""
    t = np.arange(periods)
    trend = 1.5 * (t - (periods - 1) / 2) / ((periods - 1) / 2)
    return np.column_stack([trend, 1.5 * np.sin(2 * np.pi * t / 12)])


def outcomes(rng: np.random.Generator, places: int, periods: int) -> np.ndarray:
    """Return Y (places x periods) from the interactive fixed-effects model, no effect."""
    alpha = rng.normal(0, 2, places)
    beta = rng.normal(0, 1, periods)
    loadings = rng.normal(0, 1, (places, 2))
    shocks = rng.normal(0, 1, (places, periods))
    noise = np.empty((places, periods))
    noise[:, 0] = shocks[:, 0]  # stationary from the start: AR(1) 0.3 with marginal sd 1
    for t in range(1, periods):
        noise[:, t] = 0.3 * noise[:, t - 1] + np.sqrt(1 - 0.3**2) * shocks[:, t]
    return alpha[:, None] + beta[None, :] + loadings @ factors(periods).T + noise


@dataclass(frozen=True)
class Scenario:
    name: str
    stream: int  # which seeded stream, so each scenario's data are independent
    places: int = PLACES
    pilots: int = 1
    effect: float = 0.0
    periods: int = PERIODS
    pre: int = PRE


def replicate(scenario: Scenario, r: int) -> np.ndarray:
    """Return (method, [estimate, p-value, half-width]) for replication ``r``: 3 x 3."""
    rng = np.random.default_rng([SEED, scenario.stream, r])
    Y = outcomes(rng, scenario.places, scenario.periods)
    pilot = np.sort(rng.choice(scenario.places, scenario.pilots, replace=False))
    Y[pilot, scenario.pre :] += scenario.effect
    places = Places(
        Y=Y,
        names=tuple(f"Place {i}" for i in range(scenario.places)),
        periods=tuple(f"P{t}" for t in range(scenario.periods)),
        pilot=pilot,
        donors=np.setdiff1d(np.arange(scenario.places), pilot),
        pre=scenario.pre,
        records=Y.size,
        notes=(),
        word="places",
    )
    fits = fit_places(places)
    out = np.empty((len(METHODS), 3))
    for row, method in enumerate(METHODS):
        tau, placebo = float(fits.main.tau[row]), fits.placebo[method].tau
        out[row] = tau, permutation_p(tau, placebo), half_width(placebo)
    return out


def _replicate(job: tuple[Scenario, int]) -> np.ndarray:
    return replicate(*job)


def _workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(2, cores or 1))


@dataclass(frozen=True)
class Results:
    scenario: Scenario
    tau: np.ndarray  # (R, method)
    p: np.ndarray
    half: np.ndarray

    def rejected(self, method: str = "sdid") -> np.ndarray:
        return self.p[:, METHODS.index(method)] <= ALPHA

    def covered(self, method: str = "sdid") -> np.ndarray:
        m = METHODS.index(method)
        return np.abs(self.tau[:, m] - self.scenario.effect) <= self.half[:, m]

    def bias(self, method: str = "sdid") -> tuple[float, float]:
        """Return the mean estimate minus the truth and its Monte-Carlo SE."""
        tau = self.tau[:, METHODS.index(method)]
        return float(tau.mean() - self.scenario.effect), float(tau.std(ddof=1) / np.sqrt(tau.size))


def simulate(scenario: Scenario, replications: int) -> Results:
    """Return every replication's estimates, p-values and half-widths, and print the rates."""
    start = time.perf_counter()
    jobs = [(scenario, r) for r in range(replications)]
    workers = _workers() if replications > 10 else 1
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            rows = list(pool.map(_replicate, jobs, chunksize=5))
    else:
        workers, rows = 1, [_replicate(job) for job in jobs]
    table = np.array(rows)  # (R, method, 3)
    results = Results(scenario, table[:, :, 0], table[:, :, 1], table[:, :, 2])
    seconds = time.perf_counter() - start
    print(
        f"\n{scenario.name}: {scenario.places} places ({scenario.pilots} pilot), "
        f"{scenario.periods} periods ({scenario.pre} before), true effect {scenario.effect:g}, "
        f"{replications} replications in {seconds:.0f} s ({workers} process(es))"
    )
    print(f"  {'method':<6}{'p<=0.05':>9}{'covers':>9}{'bias':>9}{'MC SE':>8}{'sd':>9}")
    for method in METHODS:
        bias, mc_se = results.bias(method)
        sd = mc_se * np.sqrt(replications)
        print(
            f"  {method:<6}{results.rejected(method).mean():>9.3f}"
            f"{results.covered(method).mean():>9.3f}{bias:>+9.3f}{mc_se:>8.3f}{sd:>9.3f}"
        )
    return results


def check_interval_inverts_test(results: Results) -> None:
    """In every replication the interval leaves out 0 exactly when p <= 0.05."""
    for m, method in enumerate(METHODS):
        excludes_zero = np.abs(results.tau[:, m]) > results.half[:, m]
        assert np.array_equal(excludes_zero, results.rejected(method)), method


@pytest.mark.slow
def test_no_effect_false_positives_and_coverage() -> None:
    results = simulate(Scenario("no effect", stream=0), REPLICATIONS)
    check_interval_inverts_test(results)
    false_positives, coverage = results.rejected().mean(), results.covered().mean()
    assert false_positives <= MOST_FALSE_POSITIVES, f"SDID false-positive rate {false_positives}"
    low, high = COVERAGE_BAND
    assert low <= coverage <= high, f"SDID coverage of 0 {coverage:.3f}, outside {low}-{high}"
    bias, mc_se = results.bias()
    assert abs(bias) <= 3 * mc_se, f"SDID mean estimate {bias:+.3f} (3 MC SE {3 * mc_se:.3f})"


@pytest.mark.slow
def test_true_effect_is_estimated_without_bias_and_covered() -> None:
    results = simulate(Scenario("true effect 2", stream=1, effect=TRUE_EFFECT), REPLICATIONS)
    check_interval_inverts_test(results)
    bias, mc_se = results.bias()
    assert abs(bias) <= 3 * mc_se, (
        f"SDID mean estimate off by {bias:+.3f} (3 MC SE {3 * mc_se:.3f})"
    )
    coverage = results.covered().mean()
    low, high = COVERAGE_BAND
    assert low <= coverage <= high, f"SDID coverage of 2 {coverage:.3f}, outside {low}-{high}"


@pytest.mark.slow
def test_three_pilot_places_false_positives() -> None:
    results = simulate(Scenario("three pilot places", stream=2, pilots=3), REPLICATIONS)
    check_interval_inverts_test(results)
    false_positives = results.rejected().mean()
    assert false_positives <= MOST_FALSE_POSITIVES, f"SDID false-positive rate {false_positives}"


def test_too_few_places_give_no_interval_and_no_small_p() -> None:
    """12 places: 11 placebos, so p >= 1/12 > 0.05 and no 95% interval, every time."""
    scenario = Scenario("too few places", stream=3, places=12, effect=TRUE_EFFECT)
    results = simulate(scenario, 5)
    assert np.all(np.isinf(results.half)), results.half
    assert np.all(results.p >= 1 / 12 - 1e-12), results.p
    assert not results.rejected().any()
