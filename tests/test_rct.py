"""Randomised pilots: a textbook trial, formula fits, the balance table and simulations."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evalkit.card import PilotCard, load_pilot
from evalkit.contract import validate_data
from evalkit.errors import EstimationError
from evalkit.estimate._ols import Covariance
from evalkit.estimate.rct import BALANCE_COLUMNS, balance_table, estimate_rct

from .conftest import DATA, PilotFactory

JTRAIN2_CARD = """\
name: National Supported Work demonstration (LaLonde 1986)
place: United States
design: rct
data:
  path: {data_path}
  unit: person
  group: {{column: train, pilot: 1, comparison: 0}}
  covariates: [{covariates}]
outcomes:
  - column: re78
    label: Earnings in 1978
    unit: thousand dollars
    better: higher
"""


def jtrain2_pilot(make_pilot: PilotFactory, tmp_path: Path, covariates: str) -> PilotCard:
    target = tmp_path / "jtrain2.csv"
    shutil.copy(DATA / "jtrain2.csv", target)
    text = JTRAIN2_CARD.replace("{covariates}", covariates)
    return load_pilot(make_pilot(text, data=target.read_text(), data_name="data/jtrain2.csv"))


def test_rct_reproduces_wooldridge_jtrain2(make_pilot: PilotFactory, tmp_path: Path) -> None:
    """Wooldridge, Introductory Econometrics (7th ed., 2020), Section 7-6a, pp. 340-341
    (the pages the `wooldridge` R package's JTRAIN2 notes list: "Used in Text: pages 18,
    340-341, 626").

    JTRAIN2 (LaLonde 1986: the National Supported Work experiment, n = 445, 185
    randomly assigned to job training). Printed, with the usual OLS standard errors:
    re78 on train gives 1.79 (.63); adding re74, re75, educ, age, black and hisp gives
    1.68 (.63). tests/data/jtrain2.csv is the `wooldridge` package's JTRAIN2 (these
    columns, plus married and unem78, and a row id).
    """
    plain = jtrain2_pilot(make_pilot, tmp_path, "")
    frame = validate_data(plain).valid
    finding = estimate_rct(plain, frame, plain.outcomes[0], cov="nonrobust")
    assert finding.n == 445
    assert (round(finding.estimate, 2), round(finding.se, 2)) == (1.79, 0.63)
    assert finding.method.startswith("randomised comparison, difference in means")
    means = frame.groupby("train")["re78"].mean()
    assert finding.estimate == pytest.approx(means["1"] - means["0"], abs=1e-9)

    adjusted = jtrain2_pilot(make_pilot, tmp_path, "re74, re75, educ, age, black, hisp")
    frame = validate_data(adjusted).valid
    finding = estimate_rct(adjusted, frame, adjusted.outcomes[0], cov="nonrobust")
    assert (round(finding.estimate, 2), round(finding.se, 2)) == (1.68, 0.63)
    assert "ANCOVA" in finding.method and "adjusted for re74, re75" in finding.method
    assert "classical standard errors" in finding.method
    # by default the errors are robust: the estimate stays, the interval changes
    robust = estimate_rct(adjusted, frame, adjusted.outcomes[0])
    assert robust.estimate == pytest.approx(finding.estimate, rel=1e-12)
    assert robust.se != pytest.approx(finding.se, rel=1e-3)
    assert "(HC1)" in robust.method


def test_rct_matches_formula_fits_with_robust_and_cluster_errors(tmp_path: Path) -> None:
    rows = cluster_trial(np.random.default_rng(7), icc=0.1)
    data = rows.assign(pilot=(rows["arm"] == "pilot").astype(int))
    groups = pd.factorize(data["ward"])[0]
    for cluster, cov_type, kwds in (
        (None, "HC1", {}),
        ("ward", "cluster", {"cov_kwds": {"groups": groups}}),
    ):
        card = rct_card(
            tmp_path, covariates=["baseline"], **({"cluster": cluster} if cluster else {})
        )
        finding = estimate_rct(card, rows, card.outcomes[0])
        fit = smf.ols("score ~ pilot + baseline", data).fit(cov_type=cov_type, use_t=True, **kwds)
        ci = fit.conf_int().loc["pilot"]
        assert finding.estimate == pytest.approx(fit.params["pilot"], rel=1e-8)
        assert finding.se == pytest.approx(fit.bse["pilot"], rel=1e-8)
        assert (finding.ci_low, finding.ci_high) == pytest.approx(
            (ci.iloc[0], ci.iloc[1]), rel=1e-8
        )
        assert finding.p_value == pytest.approx(fit.pvalues["pilot"], rel=1e-8)
    assert "cluster-robust by ward" in finding.method
    assert finding.checks.clusters == 40


def test_an_arm_without_outcomes_is_refused(tmp_path: Path) -> None:
    rows = cluster_trial(np.random.default_rng(8), icc=0.0)
    rows.loc[rows["arm"] == "comparison", "score"] = np.nan
    card = rct_card(tmp_path)
    with pytest.raises(EstimationError, match="no recorded values in the comparison arm"):
        estimate_rct(card, rows, card.outcomes[0])


# --- the balance table ---------------------------------------------------------------------------


def test_balance_table_shows_means_shares_and_standardised_differences(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    card = jtrain2_pilot(make_pilot, tmp_path, "re75, age, black, hisp")
    frame = validate_data(card).valid
    table = balance_table(card, frame).set_index("variable")
    assert list(table.reset_index().columns) == list(BALANCE_COLUMNS)
    treated, control = frame[frame["train"] == "1"], frame[frame["train"] == "0"]
    for name in ("re75", "age"):
        difference = treated[name].mean() - control[name].mean()
        pooled = np.sqrt((treated[name].var() + control[name].var()) / 2)
        assert table.loc[name, "kind"] == "mean"
        assert table.loc[name, "pilot"] == pytest.approx(treated[name].mean(), rel=1e-12)
        assert table.loc[name, "std_diff"] == pytest.approx(difference / pooled, rel=1e-12)
    p1, p0 = treated["black"].mean(), control["black"].mean()
    assert table.loc["black", "kind"] == "share"
    expected = (p1 - p0) / np.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    assert table.loc["black", "std_diff"] == pytest.approx(expected, rel=1e-12)
    assert table.loc["black", ["n_pilot", "n_comparison"]].tolist() == [185, 260]
    assert not table["suppressed"].any()
    # the largest imbalance goes to the evidence rating with the finding
    finding = estimate_rct(card, frame, card.outcomes[0])
    assert finding.checks.max_abs_std_diff == pytest.approx(
        table["std_diff"].abs().max(), rel=1e-12
    )


def test_balance_table_suppresses_small_groups_and_rare_attributes(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    rows = pd.DataFrame(
        {
            "arm": ["pilot"] * 60 + ["comparison"] * 8,
            "age": rng.normal(40, 10, 68),
            "veteran": [1.0] * 4 + [0.0] * 56 + [1.0] * 3 + [0.0] * 5,
            "score": rng.normal(50, 10, 68),
        }
    )
    card = rct_card(tmp_path, covariates=["age", "veteran"])
    table = balance_table(card, rows).set_index("variable")
    # 8 in the comparison arm: its n and means are hidden, and so is the difference
    assert table["suppressed"].all()
    assert table["n_comparison"].isna().all() and table["comparison"].isna().all()
    # and the pilot arm's n too: the finding's n less it would give the 8 back
    assert table["n_pilot"].isna().all() and not np.isnan(table.loc["age", "pilot"])
    # 4 veterans among 60 in the pilot arm: the share would disclose them
    assert np.isnan(table.loc["veteran", "pilot"])
    assert table["std_diff"].isna().all()


def test_balance_table_adds_each_outcomes_baseline_from_the_period_before(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    n = 200
    arm = np.where(rng.random(n) < 0.5, "pilot", "comparison")
    baseline = rng.normal(50, 10, n)
    rows = pd.DataFrame(
        {
            "case_id": np.tile([f"C{i}" for i in range(n)], 2),
            "arm": np.tile(arm, 2),
            "phase": ["before"] * n + ["after"] * n,
            "score": np.concatenate(
                [baseline, baseline + 3 * (arm == "pilot") + rng.normal(0, 5, n)]
            ),
        }
    )
    card = rct_card(tmp_path, unit="case_id", period={"column": "phase", "post": "after"})
    table = balance_table(card, rows).set_index("variable")
    assert list(table.index) == ["Score (baseline)"]
    assert table.loc["Score (baseline)", "pilot"] == pytest.approx(
        baseline[arm == "pilot"].mean(), rel=1e-12
    )
    finding = estimate_rct(card, rows, card.outcomes[0])
    after = rows[rows["phase"] == "after"]
    by_arm = after.groupby("arm")["score"].mean()
    assert finding.estimate == pytest.approx(by_arm["pilot"] - by_arm["comparison"], rel=1e-9)
    assert finding.n == n


# --- simulations -------------------------------------------------------------------------------

TRUE_EFFECT = 4.0
WARDS = 40


def rct_card(folder: Path, **data: Any) -> PilotCard:
    return PilotCard.model_validate(
        {
            "name": "Simulated trial",
            "place": "Simford",
            "design": "rct",
            "data": {"path": "data/cases.csv", "group": {"column": "arm", "pilot": "pilot"}} | data,
            "outcomes": [{"column": "score", "better": "higher"}],
            "folder": folder,
        }
    )


def cluster_trial(rng: np.random.Generator, icc: float, per_ward: int = 20) -> pd.DataFrame:
    """Return a trial randomised by ward (half the wards in the pilot), outcome ICC ``icc``."""
    ward = np.repeat(np.arange(WARDS), per_ward)
    pilot_wards = rng.permutation(WARDS) < WARDS // 2
    pilot = pilot_wards[ward]
    baseline = rng.normal(0, 1, ward.size)
    total_sd = 10.0
    ward_effect = rng.normal(0, total_sd * np.sqrt(icc), WARDS)[ward]
    person = rng.normal(0, total_sd * np.sqrt(1 - icc), ward.size)
    score = 50 + 3 * baseline + TRUE_EFFECT * pilot + ward_effect + person
    return pd.DataFrame(
        {
            "arm": np.where(pilot, "pilot", "comparison"),
            "ward": np.char.add("W", ward.astype(str)),
            "baseline": baseline,
            "score": score,
        }
    )


def individual_trial(rng: np.random.Generator) -> pd.DataFrame:
    """Return an individually randomised trial with unequal arms and unequal spread."""
    n = 400
    pilot = rng.random(n) < 0.35
    baseline = rng.normal(0, 1, n)
    score = 50 + 3 * baseline + TRUE_EFFECT * pilot + rng.normal(0, 1, n) * np.where(pilot, 14, 8)
    return pd.DataFrame(
        {"arm": np.where(pilot, "pilot", "comparison"), "baseline": baseline, "score": score}
    )


def coverage_of(
    folder: Path,
    simulate: Any,
    replications: int,
    seed: int,
    cov: Covariance | None = None,
    **data: Any,
) -> tuple[float, float, float]:
    """Return the bias in Monte-Carlo SEs, the 95% CI coverage and the Monte-Carlo SE."""
    card = rct_card(folder, covariates=["baseline"], **data)
    rng = np.random.default_rng(seed)
    estimates, covered = np.empty(replications), np.empty(replications, dtype=bool)
    for r in range(replications):
        finding = estimate_rct(card, simulate(rng), card.outcomes[0], cov=cov)
        estimates[r] = finding.estimate
        covered[r] = finding.ci_low <= TRUE_EFFECT <= finding.ci_high
    mc_se = estimates.std(ddof=1) / np.sqrt(replications)
    return (estimates.mean() - TRUE_EFFECT) / mc_se, float(covered.mean()), mc_se


SCENARIOS = {
    "individual-hc1": (individual_trial, {}, None),
    "cluster-robust": (lambda rng: cluster_trial(rng, icc=0.1), {"cluster": "ward"}, None),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_rct_is_unbiased_with_honest_intervals(name: str, tmp_path: Path) -> None:
    simulate, data, cov = SCENARIOS[name]
    bias, coverage, _ = coverage_of(tmp_path, simulate, 200, 500 + len(name), cov, **data)
    assert abs(bias) <= 3
    assert 0.90 <= coverage <= 0.995  # 3 Monte-Carlo SE either side of 95% at R=200


def test_ignoring_clusters_gives_intervals_that_are_too_narrow(tmp_path: Path) -> None:
    """ICC 0.1 with 20 a ward: the design effect is 1 + 19 x 0.1 = 2.9, so naive
    intervals are about 1/sqrt(2.9) as wide as they should be: they covered 75.6% of
    1,000 replications (cluster-robust ones 94.4%)."""
    simulate = SCENARIOS["cluster-robust"][0]
    _, naive, _ = coverage_of(tmp_path, simulate, 200, 600, "HC1", cluster="ward")
    assert naive < 0.85


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_rct_is_unbiased_with_honest_intervals_long(name: str, tmp_path: Path) -> None:
    simulate, data, cov = SCENARIOS[name]
    bias, coverage, _ = coverage_of(tmp_path, simulate, 1000, 700 + len(name), cov, **data)
    assert abs(bias) <= 3
    assert 0.93 <= coverage <= 0.97
