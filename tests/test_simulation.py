"""Simulation checks of the estimators: data with a known true effect, many times over.

Each scenario draws R data sets from a seeded generator, estimates the effect
with ``estimate_effects`` exactly as a pilot run does, and checks that

- the mean estimate is within 3 Monte-Carlo standard errors of the truth
  (the estimator is unbiased), and
- the 95% confidence interval covers the truth about 95% of the time
  (the standard errors are honest).

The fast versions (R=200) run by default; the ``slow`` versions (R=1000, tighter
coverage bounds) run with ``pytest -m slow``. A second set of tests checks that
``estimate_effects`` gives the same numbers as a statsmodels formula fit of
the same model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evalkit.card import PilotCard, load_pilot
from evalkit.contract import validate_data
from evalkit.estimate import Finding, estimate_effects

SEED = 20261126
TRUE_EFFECT = -12.0
WARDS = 40

#: With R=200 the Monte-Carlo SE of a 95% coverage rate is sqrt(.95 * .05 / 200) = 1.5
#: points, so 3 SE either side is about 90.4%-99.6%; we use 90%-99.5%. Narrower bounds
#: would fail a correct estimator too often by chance alone.
FAST = (200, 0.90, 0.995)
#: For the 93%-97% band to be about 3 Monte-Carlo SE either side of 95%, as the fast band
#: is, it needs R=1000 (SE 0.69 points). At R=500 (SE 0.97 points) the band is only 2 SE,
#: and a correct estimator would fail one of the four scenarios about one run in seven.
SLOW = (1000, 0.93, 0.97)


def make_card(folder: Path, design: str, **data: Any) -> PilotCard:
    """Return a card for an in-memory frame with outcome ``days`` (no file is read)."""
    return PilotCard.model_validate(
        {
            "name": "Simulated pilot",
            "place": "Simford",
            "design": design,
            "data": {"path": "data/cases.csv", **data},
            "outcomes": [{"column": "days", "better": "lower", "unit": "days"}],
            "folder": folder,
        }
    )


DID_ROLES = {
    "unit": "case_id",
    "group": {"column": "arm", "pilot": "pilot"},
    "period": {"column": "phase", "post": "after"},
}


def frame_of(**columns: Any) -> pd.DataFrame:
    """Return a frame with role columns as text, the way validated data holds them."""
    frame = pd.DataFrame(columns)
    n = len(frame)
    frame.insert(0, "case_id", [f"C{i:04d}" for i in range(n)])
    return frame


def did_rows(rng: np.random.Generator, effect: float = TRUE_EFFECT) -> pd.DataFrame:
    """Return independent rows for a 2x2 DiD: unbalanced arms, unequal noise, a covariate."""
    n = 400
    pilot = rng.random(n) < 0.4
    after = rng.random(n) < 0.5
    household = rng.integers(1, 9, n)
    # noise differs by cell, so HC1 (not the classical formula) is the right choice
    sd = np.where(pilot, 40.0, 25.0) + np.where(after, 10.0, 0.0)
    days = (
        120
        + 15 * pilot
        + 8 * after
        + 5 * (household - 3)
        + effect * (pilot & after)
        + rng.normal(0, 1, n) * sd
    )
    return frame_of(
        arm=np.where(pilot, "pilot", "comparison"),
        phase=np.where(after, "after", "before"),
        household_size=household.astype("float64"),
        days=days,
    )


def did_cluster_rows(rng: np.random.Generator, effect: float = TRUE_EFFECT) -> pd.DataFrame:
    """Return rows in 40 wards (half in the pilot) with ward and ward-by-period shocks."""
    per_ward = 15
    ward = np.repeat(np.arange(WARDS), per_ward)
    n = ward.size
    pilot = ward < WARDS // 2
    after = rng.random(n) < 0.5
    ward_effect = rng.normal(0, 10, WARDS)[ward]
    # shared by everyone in a ward in a period: rows are not independent
    shock = rng.normal(0, 8, (WARDS, 2))[ward, after.astype(int)]
    days = (
        120
        + 15 * pilot
        + 8 * after
        + effect * (pilot & after)
        + ward_effect
        + shock
        + rng.normal(0, 30, n)
    )
    return frame_of(
        arm=np.where(pilot, "pilot", "comparison"),
        phase=np.where(after, "after", "before"),
        ward=np.char.add("W", ward.astype(str)),
        days=days,
    )


def two_sample_rows(rng: np.random.Generator, effect: float = TRUE_EFFECT) -> pd.DataFrame:
    """Return different people before and after (no unit seen twice), unequal noise."""
    n = 300
    after = rng.random(n) < 0.6
    household = rng.integers(1, 9, n)
    days = (
        120
        + 5 * (household - 3)
        + effect * after
        + rng.normal(0, 1, n) * np.where(after, 35.0, 20.0)
    )
    return frame_of(
        phase=np.where(after, "after", "before"),
        household_size=household.astype("float64"),
        days=days,
    )


def paired_rows(rng: np.random.Generator, effect: float = TRUE_EFFECT) -> pd.DataFrame:
    """Return 120 units each seen before and after, with a lasting unit effect."""
    units = 120
    level = rng.normal(120, 25, units)
    before = level + rng.normal(0, 15, units)
    after = level + effect + rng.normal(0, 15, units)
    case_id = [f"U{i:04d}" for i in range(units)]
    # rows in shuffled order, as an export would have them
    order = rng.permutation(2 * units)
    return pd.DataFrame(
        {
            "case_id": (case_id + case_id),
            "phase": ["before"] * units + ["after"] * units,
            "days": np.concatenate([before, after]),
        }
    ).iloc[order]


@dataclass(frozen=True)
class Scenario:
    design: str
    data: dict[str, Any]
    simulate: Callable[[np.random.Generator], pd.DataFrame]
    method_says: str


SCENARIOS = {
    "did-hc1": Scenario("did", {**DID_ROLES, "covariates": ["household_size"]}, did_rows, "(HC1)"),
    "did-cluster": Scenario(
        "did", {**DID_ROLES, "cluster": "ward"}, did_cluster_rows, "cluster-robust by ward"
    ),
    "pre-post-two-sample": Scenario(
        "pre_post",
        {"unit": "case_id", "period": DID_ROLES["period"], "covariates": ["household_size"]},
        two_sample_rows,
        "before/after difference in means",
    ),
    "pre-post-paired": Scenario(
        "pre_post",
        {"unit": "case_id", "period": DID_ROLES["period"]},
        paired_rows,
        "paired before/after change within case_id",
    ),
}


def simulate(
    scenario: Scenario, folder: Path, replications: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return each replication's estimate and whether its 95% CI covered the truth."""
    card = make_card(folder, scenario.design, **scenario.data)
    rng = np.random.default_rng(seed)
    estimates = np.empty(replications)
    covered = np.empty(replications, dtype=bool)
    for r in range(replications):
        (finding,) = estimate_effects(card, scenario.simulate(rng))
        # make sure the estimator under test is the one the scenario is about
        assert scenario.method_says in finding.method, finding.method
        estimates[r] = finding.estimate
        covered[r] = finding.ci_low <= TRUE_EFFECT <= finding.ci_high
    return estimates, covered


def check_unbiased_and_covered(
    scenario: Scenario, folder: Path, replications: int, low: float, high: float, seed: int
) -> None:
    estimates, covered = simulate(scenario, folder, replications, seed)
    mc_se = estimates.std(ddof=1) / np.sqrt(replications)
    bias = estimates.mean() - TRUE_EFFECT
    assert abs(bias) <= 3 * mc_se, f"mean estimate off by {bias:.3f} (3 MC SE = {3 * mc_se:.3f})"
    coverage = covered.mean()
    assert low <= coverage <= high, f"95% CI coverage {coverage:.3f}, outside {low}-{high}"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_estimator_is_unbiased_with_honest_intervals(name: str, tmp_path: Path) -> None:
    replications, low, high = FAST
    seed = SEED + list(SCENARIOS).index(name)
    check_unbiased_and_covered(SCENARIOS[name], tmp_path, replications, low, high, seed)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_estimator_is_unbiased_with_honest_intervals_long(name: str, tmp_path: Path) -> None:
    replications, low, high = SLOW
    # a different stream from the fast test, so the two are independent checks
    seed = SEED + 100 + list(SCENARIOS).index(name)
    check_unbiased_and_covered(SCENARIOS[name], tmp_path, replications, low, high, seed)


def test_simulation_detects_a_biased_estimate(tmp_path: Path) -> None:
    """The check itself can fail: data built with another effect is caught as biased."""
    scenario = SCENARIOS["did-hc1"]
    shifted = Scenario(
        scenario.design,
        scenario.data,
        lambda rng: did_rows(rng, effect=TRUE_EFFECT + 10),
        scenario.method_says,
    )
    with pytest.raises(AssertionError, match="mean estimate off"):
        check_unbiased_and_covered(shifted, tmp_path, 50, *FAST[1:], seed=SEED)


# --- the same numbers as a statsmodels formula fit ------------------------------------------------


def formula_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the frame with the 0/1 indicators a formula needs."""
    out = frame.copy()
    if "arm" in out:
        out["pilot"] = (out["arm"] == "pilot").astype(int)
    out["post"] = (out["phase"] == "after").astype(int)
    return out


def assert_same_as_formula(finding: Finding, fit: Any, term: str) -> None:
    ci = fit.conf_int(alpha=0.05).loc[term]
    assert finding.estimate == pytest.approx(fit.params[term], rel=1e-8)
    assert finding.se == pytest.approx(fit.bse[term], rel=1e-8)
    assert finding.ci_low == pytest.approx(ci.iloc[0], rel=1e-8)
    assert finding.ci_high == pytest.approx(ci.iloc[1], rel=1e-8)
    assert finding.n == int(fit.nobs)


def test_did_hc1_matches_formula_fit_on_validated_file(make_pilot: Callable[..., Path]) -> None:
    """Through the real path: the card and a CSV on disk, validated, then estimated."""
    rows = did_rows(np.random.default_rng(SEED))
    rows["household_size"] = rows["household_size"].astype(int)
    rows["days"] = rows["days"].clip(lower=0).round(2)
    card_text = (
        "name: Formula check\nplace: Testford\ndesign: did\ndata:\n"
        "  path: {data_path}\n  unit: case_id\n"
        "  group: {{column: arm, pilot: pilot}}\n  period: {{column: phase, post: after}}\n"
        "  covariates: [household_size]\n"
        "outcomes:\n  - column: days\n    better: lower\n    min: 0\n"
    )
    card = load_pilot(make_pilot(card=card_text, data=rows.to_csv(index=False)))
    validation = validate_data(card)
    assert len(validation.valid) == len(rows)
    (finding,) = estimate_effects(card, validation.valid)
    fit = smf.ols("days ~ pilot*post + household_size", data=formula_frame(rows)).fit(
        cov_type="HC1", use_t=True
    )
    assert_same_as_formula(finding, fit, "pilot:post")
    assert "(HC1)" in finding.method


def test_did_cluster_matches_formula_fit(tmp_path: Path) -> None:
    rows = did_cluster_rows(np.random.default_rng(SEED))
    card = make_card(tmp_path, "did", **DID_ROLES, cluster="ward")
    (finding,) = estimate_effects(card, rows)
    data = formula_frame(rows)
    fit = smf.ols("days ~ pilot*post", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["ward"])[0]}, use_t=True
    )
    assert_same_as_formula(finding, fit, "pilot:post")
    assert "cluster-robust by ward" in finding.method


def test_pre_post_two_sample_with_covariate_matches_formula_fit(tmp_path: Path) -> None:
    rows = two_sample_rows(np.random.default_rng(SEED))
    scenario = SCENARIOS["pre-post-two-sample"]
    card = make_card(tmp_path, scenario.design, **scenario.data)
    (finding,) = estimate_effects(card, rows)
    fit = smf.ols("days ~ post + household_size", data=formula_frame(rows)).fit(
        cov_type="HC1", use_t=True
    )
    assert_same_as_formula(finding, fit, "post")
    assert "adjusted for household_size" in finding.method
