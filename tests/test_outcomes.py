"""Outcome types: odds ratios for binary outcomes, rate ratios for counts, in every design."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from evalkit.card import PilotCard
from evalkit.errors import EstimationError
from evalkit.estimate._ratios import measure_overdispersion
from evalkit.estimate.did import estimate_did
from evalkit.estimate.pre_post import estimate_pre_post
from evalkit.estimate.rct import estimate_rct
from evalkit.estimate.wording import describe_ratio

SEED = 20261127


def card_for(folder: Path, design: str, outcome: dict[str, Any], **data: Any) -> PilotCard:
    return PilotCard.model_validate(
        {
            "name": "Simulated pilot",
            "place": "Simford",
            "design": design,
            "data": {"path": "data/cases.csv", **data},
            "outcomes": [outcome],
            "folder": folder,
        }
    )


COUNT = {"column": "missed", "type": "count", "better": "lower", "unit": "appointments"}
BINARY = {"column": "settled", "type": "binary", "better": "higher"}
DID = {"group": {"column": "arm", "pilot": "pilot"}, "period": {"column": "phase", "post": "after"}}
RCT = {"group": {"column": "arm", "pilot": "pilot"}}


def trial_rows(
    rng: np.random.Generator,
    n: int = 600,
    rate_ratio: float = 0.75,
    odds_ratio: float = 1.8,
    dispersion: float = 0.0,
    clusters: int = 0,
) -> pd.DataFrame:
    """Return a two-arm trial: a count with a known rate ratio, a binary with a known odds ratio.

    ``dispersion`` > 0 draws counts from a negative binomial with that NB2 alpha; the
    covariate ``age_band`` moves both outcomes, so adjustment matters.
    """
    pilot = rng.random(n) < 0.5
    band = rng.integers(0, 4, n).astype("float64")
    mean = np.exp(np.log(1.6) + 0.15 * (band - 1.5) + np.log(rate_ratio) * pilot)
    if dispersion > 0:
        mean = mean * rng.gamma(1 / dispersion, dispersion, n)
    missed = rng.poisson(mean).astype("float64")
    logit = -0.4 + 0.3 * (band - 1.5) + np.log(odds_ratio) * pilot
    settled = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("float64")
    rows = pd.DataFrame(
        {
            "arm": np.where(pilot, "pilot", "comparison"),
            "age_band": band,
            "missed": missed,
            "settled": settled,
        }
    )
    if clusters:
        rows["ward"] = np.char.add("W", rng.integers(0, clusters, n).astype(str))
    return rows


def did_rows(rng: np.random.Generator, n: int = 1200, ratio: float = 0.8) -> pd.DataFrame:
    pilot = rng.random(n) < 0.5
    after = rng.random(n) < 0.5
    size = rng.integers(1, 6, n).astype("float64")
    mean = np.exp(0.3 + 0.2 * pilot + 0.1 * after + 0.1 * size + np.log(ratio) * (pilot & after))
    return pd.DataFrame(
        {
            "arm": np.where(pilot, "pilot", "comparison"),
            "phase": np.where(after, "after", "before"),
            "household_size": size,
            "missed": rng.poisson(mean).astype("float64"),
        }
    )


def formula_data(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.copy()
    out["pilot"] = (out["arm"] == "pilot").astype(int)
    if "phase" in out:
        out["post"] = (out["phase"] == "after").astype(int)
    return out


# --- the same numbers as a statsmodels formula fit ------------------------------------------------


def test_rate_ratio_matches_a_poisson_formula_fit(tmp_path: Path) -> None:
    rows = did_rows(np.random.default_rng(SEED))
    card = card_for(tmp_path, "did", COUNT, covariates=["household_size"], **DID)
    finding = estimate_did(card, rows, card.outcomes[0])
    assert "Poisson regression rate ratio" in finding.method
    fit = smf.glm(
        "missed ~ pilot * post + household_size", formula_data(rows), family=sm.families.Poisson()
    ).fit(cov_type="HC0")
    term = "pilot:post"
    assert finding.scale == "rate ratio"
    assert finding.estimate == pytest.approx(np.exp(fit.params[term]), rel=1e-8)
    low, high = np.exp(fit.conf_int().loc[term])
    assert (finding.ci_low, finding.ci_high) == pytest.approx((low, high), rel=1e-8)
    assert finding.p_value == pytest.approx(fit.pvalues[term], rel=1e-8)
    assert finding.log_se == pytest.approx(fit.bse[term], rel=1e-8)
    assert finding.se == pytest.approx(finding.estimate * fit.bse[term], rel=1e-12)
    # the difference in mean counts is kept beside the ratio, from the same OLS as before
    ols = smf.ols("missed ~ pilot * post + household_size", formula_data(rows)).fit(cov_type="HC1")
    difference = finding.mean_difference
    assert difference.estimate == pytest.approx(ols.params[term], rel=1e-8)
    assert difference.se == pytest.approx(ols.bse[term], rel=1e-8)


def test_overdispersed_counts_use_negative_binomial_matching_a_formula_fit(
    tmp_path: Path,
) -> None:
    rows = trial_rows(np.random.default_rng(SEED), n=800, dispersion=1.0)
    card = card_for(tmp_path, "rct", COUNT, covariates=["age_band"], **RCT)
    finding = estimate_rct(card, rows, card.outcomes[0])
    assert "negative binomial (NB2) regression rate ratio" in finding.method
    assert finding.overdispersion.p_value < 0.05
    fit = smf.negativebinomial("missed ~ pilot + age_band", formula_data(rows)).fit(
        disp=0, maxiter=200, cov_type="HC0"
    )
    assert finding.estimate == pytest.approx(np.exp(fit.params["pilot"]), rel=1e-6)
    low, high = np.exp(fit.conf_int().loc["pilot"])
    assert (finding.ci_low, finding.ci_high) == pytest.approx((low, high), rel=1e-6)


def test_odds_ratio_matches_a_logit_formula_fit_with_robust_and_cluster_errors(
    tmp_path: Path,
) -> None:
    rows = trial_rows(np.random.default_rng(SEED + 1), clusters=30)
    data = formula_data(rows)
    for cluster in (None, "ward"):
        extra = {"cluster": cluster} if cluster else {}
        card = card_for(tmp_path, "rct", BINARY, covariates=["age_band"], **RCT, **extra)
        finding = estimate_rct(card, rows, card.outcomes[0])
        model = smf.glm("settled ~ pilot + age_band", data, family=sm.families.Binomial())
        if cluster:
            fit = model.fit(
                cov_type="cluster", cov_kwds={"groups": pd.factorize(data["ward"])[0]}, use_t=True
            )
        else:
            fit = model.fit(cov_type="HC0")
        odds = finding.odds_ratio
        assert odds.estimate == pytest.approx(np.exp(fit.params["pilot"]), rel=1e-8)
        low, high = np.exp(fit.conf_int().loc["pilot"])
        assert (odds.ci_low, odds.ci_high) == pytest.approx((low, high), rel=1e-8)
        assert odds.p_value == pytest.approx(fit.pvalues["pilot"], rel=1e-8)
        # the headline stays the risk difference in percentage points
        assert finding.scale == "percentage points"
        ols = smf.ols("settled ~ pilot + age_band", data).fit(
            **(
                {"cov_type": "cluster", "cov_kwds": {"groups": pd.factorize(data["ward"])[0]}}
                if cluster
                else {"cov_type": "HC1"}
            ),
            use_t=True,
        )
        assert finding.estimate == pytest.approx(100 * ols.params["pilot"], rel=1e-8)
        assert "odds ratio from a logit with the same terms" in finding.method


def test_paired_counts_compare_each_units_before_and_after(tmp_path: Path) -> None:
    """Units differ (gamma-distributed levels), so counts are overdispersed: NB2 is used."""
    rng = np.random.default_rng(SEED + 2)
    units = 300
    level = rng.gamma(2.0, 0.8, units)
    before, after = rng.poisson(level), rng.poisson(level * 0.7)
    ids = [f"U{i}" for i in range(units)]
    rows = pd.DataFrame(
        {
            "case_id": ids + ids,
            "phase": ["before"] * units + ["after"] * units,
            "missed": np.concatenate([before, after]).astype("float64"),
        }
    )
    card = card_for(
        tmp_path, "pre_post", COUNT, unit="case_id", period={"column": "phase", "post": "after"}
    )
    finding = estimate_pre_post(card, rows, card.outcomes[0])
    assert finding.estimate == pytest.approx(after.sum() / before.sum(), rel=1e-9)
    data = formula_data(rows.assign(arm="pilot"))
    assert "negative binomial (NB2) regression" in finding.method
    fit = smf.negativebinomial("missed ~ post", data).fit(
        disp=0,
        maxiter=200,
        cov_type="cluster",
        cov_kwds={"groups": pd.factorize(data["case_id"])[0]},
        use_t=True,
    )
    low, high = np.exp(fit.conf_int().loc["post"])
    assert (finding.ci_low, finding.ci_high) == pytest.approx((low, high), rel=1e-6)
    assert finding.n == units
    assert "paired before/after change within case_id" in finding.method
    assert "cluster-robust by case_id" in finding.method


def test_cameron_trivedi_test_matches_its_auxiliary_regression() -> None:
    rng = np.random.default_rng(SEED + 3)
    x = rng.normal(size=500)
    X = np.column_stack([np.ones(500), x])
    for mean, expect_overdispersed in ((np.exp(0.5 + 0.3 * x), False), (None, True)):
        if mean is None:
            mean = np.exp(0.5 + 0.3 * x) * rng.gamma(1.0, 1.0, 500)
        y = rng.poisson(mean).astype("float64")
        result = measure_overdispersion(y, X)
        mu = sm.GLM(y, X, family=sm.families.Poisson()).fit().fittedvalues
        aux = sm.OLS(((y - mu) ** 2 - y) / mu, mu).fit()
        assert result.statistic == pytest.approx(aux.tvalues[0], rel=1e-8)
        assert result.p_value == pytest.approx(stats.norm.sf(aux.tvalues[0]), rel=1e-8)
        assert (result.p_value < 0.05) is expect_overdispersed


def test_an_arm_that_never_has_the_outcome_gets_an_exact_odds_ratio(tmp_path: Path) -> None:
    """No events in one arm: the logit cannot fit, so the exact conditional odds ratio is given."""
    rows = trial_rows(np.random.default_rng(SEED + 4), n=200)
    rows.loc[rows["arm"] == "pilot", "settled"] = 0.0
    card = card_for(tmp_path, "rct", BINARY, **RCT)
    finding = estimate_rct(card, rows, card.outcomes[0])
    assert finding.odds_ratio.estimate == 0.0
    assert 0.0 < finding.odds_ratio.ci_high < 1.0
    assert "Fisher's exact" in finding.method and "score interval" in finding.method
    assert finding.checks.few_events is True
    assert finding.scale == "percentage points"


def test_with_covariates_a_missing_odds_ratio_is_said(tmp_path: Path) -> None:
    rows = trial_rows(np.random.default_rng(SEED + 4), n=200)
    rows.loc[rows["arm"] == "pilot", "settled"] = 0.0
    card = card_for(tmp_path, "rct", BINARY, covariates=["age_band"], **RCT)
    finding = estimate_rct(card, rows, card.outcomes[0])
    assert finding.odds_ratio is None
    assert any(note.startswith("no odds ratio") for note in finding.notes)
    assert any("fewer than 10 people with (or without)" in note for note in finding.notes)


def test_a_count_with_no_events_in_one_arm_is_refused(tmp_path: Path) -> None:
    rows = trial_rows(np.random.default_rng(SEED + 6), n=200)
    rows.loc[rows["arm"] == "pilot", "missed"] = 0.0
    card = card_for(tmp_path, "rct", COUNT, **RCT)
    with pytest.raises(EstimationError, match="one group has no events at all"):
        estimate_rct(card, rows, card.outcomes[0])


def test_records_missing_a_covariate_are_left_out_and_said(tmp_path: Path) -> None:
    rows = trial_rows(np.random.default_rng(SEED + 5))
    rows.loc[:9, "age_band"] = np.nan
    card = card_for(tmp_path, "rct", COUNT, covariates=["age_band"], **RCT)
    finding = estimate_rct(card, rows, card.outcomes[0])
    assert finding.n == len(rows) - 10
    assert "10 records without a value for every covariate were left out" in finding.notes


def test_ratio_wording_follows_the_interval() -> None:
    clear = describe_ratio(
        label="Missed appointments",
        design="pre_post",
        estimate=0.88,
        ci_low=0.82,
        ci_high=0.95,
        better="lower",
    )
    assert clear == (
        "After the change, missed appointments fell by about 12% "
        "(95% CI: a fall of 5% to 18%). Lower is better for this measure."
    )
    unclear = describe_ratio(
        label="Missed appointments",
        design="did",
        estimate=0.92,
        ci_low=0.8,
        ci_high=1.06,
        better="lower",
    )
    assert unclear.startswith("We can't tell yet whether missed appointments changed in the pilot")
    assert "runs from 20% lower to 6% higher" in unclear
    assert "A change smaller than about 18% could not reliably be told apart" in unclear
    more = describe_ratio(
        label="Visits", design="rct", estimate=1.3, ci_low=1.1, ci_high=1.6, better="higher"
    )
    assert "visits in the pilot group rose by about 30% (95% CI: a rise of 10% to 60%)" in more


# --- simulations with a known ratio ------------------------------------------------------------

#: R=200: Monte-Carlo SE of a 95% coverage is 1.5 points, so 3 SE either side is 90.4-99.6%.
FAST = (200, 0.90, 0.995)
#: R=1000: 3 SE either side of 95% is 93-97%, the issue's band.
SLOW = (1000, 0.93, 0.97)

RATIO_SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any], str, float]] = {
    "rate-ratio-poisson": (COUNT, {}, "estimate", 0.75),
    "rate-ratio-overdispersed": (COUNT, {"dispersion": 0.8}, "estimate", 0.75),
    "odds-ratio": (BINARY, {}, "odds_ratio", 1.8),
}


def simulate_ratio(name: str, folder: Path, replications: int, seed: int) -> tuple[float, float]:
    """Return the bias of the mean log ratio in Monte-Carlo SEs, and the 95% CI coverage."""
    outcome, options, key, truth = RATIO_SCENARIOS[name]
    card = card_for(folder, "rct", outcome, covariates=["age_band"], **RCT)
    rng = np.random.default_rng(seed)
    logs = np.empty(replications)
    covered = np.empty(replications, dtype=bool)
    for r in range(replications):
        finding = estimate_rct(card, trial_rows(rng, **options), card.outcomes[0])
        values = finding.model_dump() if key == "estimate" else finding.model_dump()["odds_ratio"]
        logs[r] = np.log(values["estimate"])
        covered[r] = values["ci_low"] <= truth <= values["ci_high"]
    bias = (logs.mean() - np.log(truth)) / (logs.std(ddof=1) / np.sqrt(replications))
    return float(bias), float(covered.mean())


@pytest.mark.parametrize("name", list(RATIO_SCENARIOS))
def test_ratios_are_unbiased_with_honest_intervals(name: str, tmp_path: Path) -> None:
    replications, low, high = FAST
    bias_in_se, coverage = simulate_ratio(name, tmp_path, replications, SEED + 10)
    # the log ratio's small-sample bias is far below 3 Monte-Carlo SEs at n=600
    assert abs(bias_in_se) <= 3
    assert low <= coverage <= high


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RATIO_SCENARIOS))
def test_ratios_are_unbiased_with_honest_intervals_long(name: str, tmp_path: Path) -> None:
    replications, low, high = SLOW
    bias_in_se, coverage = simulate_ratio(name, tmp_path, replications, SEED + 110)
    assert abs(bias_in_se) <= 3
    assert low <= coverage <= high
