"""Planning power: published tables, statsmodels, and simulations of the estimators at the MDE.

Published numbers reproduced to their printed precision:

- Bloom (1995) "Minimum detectable effects", Evaluation Review 19(5):547-556: the
  multipliers of Table 1 (normal), and the allocation penalty (pp. 553-554, note 9).
- Cohen (1988) Statistical Power Analysis for the Behavioral Sciences, 2nd ed.,
  Table 2.4.1: n per group for d = 0.2, 0.5, 0.8 at 80% power, two-sided 5%.
- Killip, Mahfoud & Pearce (2004) "What is an intracluster correlation
  coefficient?", Annals of Family Medicine 2(3):204-208, the table for rho = 0.017
  with k = 4 physicians: design effects, effective sample sizes and t-test power.

Simulations put a true change of exactly the MDE into data and count how often
evalkit's own estimators find it significant: about 80% of the time, within
Monte Carlo error (3 standard errors). Fast versions run by default, longer
ones with ``pytest -m slow``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower, TTestPower
from statsmodels.stats.proportion import power_proportions_2indep
from statsmodels.stats.rates import power_poisson_ratio_2indep

from evalkit.card import PilotCard, load_pilot
from evalkit.contract import validate_data
from evalkit.errors import EstimationError
from evalkit.estimate import estimate_effects, registry
from evalkit.estimate._its_interval import ErrorModel, calibrate, draw, newey_west_lags
from evalkit.estimate.power import (
    Mde,
    design_effect,
    minimum_detectable_effect,
    multiplier,
    plan_pilot,
    power_summary,
)
from evalkit.estimate.registry import get_design
from evalkit.estimate.wording import format_number

from .conftest import DID_CARD, DID_ROWS, REPO, PilotFactory

# --- published tables ----------------------------------------------------------------------------


def test_multipliers_reproduce_bloom_1995_table_1() -> None:
    """Bloom (1995) Table 1 and text, pp. 549-552, normal multipliers to 2 decimals.

    One-sided .05: 2.93 (90% power), 2.49 (80%), 2.17 (70%); one-sided .10 at 80%:
    2.12; two-sided .05 at 80%: 2.80. A one-sided test at alpha is the two-sided
    test at 2 x alpha, which is how evalkit (two-sided only) gives the first four.
    """
    printed = {(0.10, 0.90): 2.93, (0.10, 0.80): 2.49, (0.10, 0.70): 2.17, (0.20, 0.80): 2.12}
    for (two_sided_alpha, power), value in printed.items():
        assert round(multiplier(power=power, alpha=two_sided_alpha), 2) == value
    assert round(multiplier(power=0.8, alpha=0.05), 2) == 2.80
    # the t multiplier is larger with few degrees of freedom and tends to Bloom's
    by_df = [multiplier(df=df) for df in (5, 10, 20, 40, 120, 10_000)]
    assert by_df == sorted(by_df, reverse=True)
    assert round(by_df[-1], 2) == 2.80 and by_df[0] > 3.4


def test_unequal_allocation_reproduces_bloom_1995_note_9() -> None:
    """Bloom (1995) pp. 553-554 and note 9: a 60/40 split has an MDE 1.02 times a
    50/50 split's, a 70/30 split 1.09 times."""

    def size(pilot: int) -> float:
        return minimum_detectable_effect(
            design="rct", n_pilot=pilot, n_comparison=1000 - pilot, sd=1, approximation="normal"
        ).mde

    assert round(size(600) / size(500), 2) == 1.02
    assert round(size(700) / size(500), 2) == 1.09
    assert size(400) == pytest.approx(size(600), rel=1e-12)  # symmetric in T and 1 - T


def test_sample_sizes_reproduce_cohen_1988_table_2_4_1() -> None:
    """Cohen (1988) Table 2.4.1: 393, 64 and 26 per group for d = .20, .50, .80
    (80% power, two-sided .05). The n at which evalkit's t-based MDE equals d
    rounds to each; the normal multiplier alone falls short by about one.
    """

    def n_for(d: float, approximation: str) -> float:
        n = 2 * (multiplier() / d) ** 2
        for _ in range(50):  # n = 2 (M(2n - 2) / d)^2 with M on the design's df
            df = math.inf if approximation == "normal" else 2 * n - 2
            n = 2 * (multiplier(df=df) / d) ** 2
        return n

    t_based = [n_for(d, "t") for d in (0.2, 0.5, 0.8)]
    assert [round(n) for n in t_based] == [393, 64, 26]
    normal = [n_for(d, "normal") for d in (0.2, 0.5, 0.8)]
    assert all(t - 1.1 < z < t for z, t in zip(normal, t_based, strict=True))
    # and through minimum_detectable_effect: at Cohen's n the MDE is d, to his rounding of n
    for d, n in ((0.2, 393), (0.5, 64), (0.8, 26)):
        at_n = minimum_detectable_effect(design="rct", n_pilot=n, n_comparison=n, sd=1)
        assert at_n.mde_standardised == pytest.approx(d, rel=0.01)


def test_design_effects_reproduce_killip_2004() -> None:
    """Killip, Mahfoud & Pearce (2004), the table for rho = 0.017, k = 4 physicians.

    m = 10, 20, 40, 80 patients each: DE 1.153, 1.323, 1.663, 2.343; effective
    sample size (rounded down) 34, 60, 96, 136; power of a two-sample t test to
    detect d = 0.5 on the effective sample, half in each arm: 29, 47, 67, 82%.
    """
    printed = [(10, 1.153, 34, 29), (20, 1.323, 60, 47), (40, 1.663, 96, 67), (80, 2.343, 136, 82)]
    for m, de, ess, power_percent in printed:
        deff = design_effect(m, 0.017)
        assert round(deff, 3) == de
        assert math.floor(4 * m / deff) == ess
        exact = TTestIndPower().power(0.5, nobs1=ess / 2, alpha=0.05)
        assert math.floor(100 * exact) == power_percent  # the table truncates
        plan = minimum_detectable_effect(
            design="rct", n_pilot=ess // 2, n_comparison=ess // 2, sd=1
        )
        assert 100 * plan.power_to_detect(0.5) == pytest.approx(power_percent, abs=1.5)
        # the same pilot planned honestly on its 4 clusters (df = 4 - 2) can barely detect d = 0.5
        clustered = minimum_detectable_effect(
            design="rct", n_pilot=2 * m, n_comparison=2 * m, sd=1, clusters=4, icc=0.017
        )
        assert clustered.design_effect == pytest.approx(deff, rel=1e-12)
        assert clustered.df == 2 and clustered.power_to_detect(0.5) < plan.power_to_detect(0.5)


# --- independent agreement with statsmodels ------------------------------------------------------


@pytest.mark.parametrize(("n1", "n0"), [(10, 10), (20, 30), (64, 64), (500, 700)])
def test_two_group_mde_agrees_with_statsmodels(n1: int, n0: int) -> None:
    t_based = minimum_detectable_effect(design="rct", n_pilot=n1, n_comparison=n0, sd=2.0)
    exact = TTestIndPower().solve_power(nobs1=n1, ratio=n0 / n1, power=0.8, alpha=0.05)
    # Bloom's t multiplier against the exact noncentral t: within 0.1% from df = 18
    assert t_based.mde == pytest.approx(2.0 * exact, rel=1e-3)
    normal = minimum_detectable_effect(
        design="rct", n_pilot=n1, n_comparison=n0, sd=2.0, approximation="normal"
    )
    # statsmodels keeps the far tail of the two-sided test, which Bloom leaves out
    z = NormalIndPower().solve_power(nobs1=n1, ratio=n0 / n1, power=0.8, alpha=0.05)
    assert normal.mde == pytest.approx(2.0 * z, rel=2e-5)


@pytest.mark.parametrize("n", [10, 30, 100])
def test_paired_mde_agrees_with_statsmodels(n: int) -> None:
    paired = minimum_detectable_effect(design="pre_post", n_pilot=n, sd=10.0, correlation=0.6)
    sd_change = 10.0 * math.sqrt(2 * (1 - 0.6))
    exact = TTestPower().solve_power(nobs=n, power=0.8, alpha=0.05)
    assert paired.mde == pytest.approx(sd_change * exact, rel=2e-3)
    assert paired.mde_standardised == pytest.approx(paired.mde / 10.0)
    assert paired.df == n - 1


@pytest.mark.parametrize(("rate", "n", "better"), [(0.3, 200, "higher"), (0.1, 1000, "lower")])
def test_binary_mde_agrees_with_statsmodels(rate: float, n: int, better: str) -> None:
    plan = minimum_detectable_effect(
        design="rct",
        n_pilot=n,
        n_comparison=n,
        outcome_type="binary",
        baseline_rate=rate,
        better=better,
    )
    change = plan.mde / 100 * (1 if better == "higher" else -1)
    assert plan.unit == "percentage points"
    assert plan.power_to_detect(100 * change) == pytest.approx(0.8, abs=1e-9)
    found = power_proportions_2indep(change, rate, n, ratio=1, alpha=0.05).power
    assert found == pytest.approx(0.8, abs=0.01)


@pytest.mark.parametrize(("mean", "n", "better"), [(2.0, 150, "higher"), (0.5, 400, "lower")])
def test_count_mde_agrees_with_statsmodels(mean: float, n: int, better: str) -> None:
    plan = minimum_detectable_effect(
        design="rct",
        n_pilot=n,
        n_comparison=n,
        outcome_type="count",
        baseline_rate=mean,
        better=better,
    )
    assert plan.rate_ratio is not None and plan.rate_ratio > 1
    ratio = plan.rate_ratio if better == "higher" else 1 / plan.rate_ratio
    assert plan.mde == pytest.approx(abs(mean * ratio - mean), rel=1e-9)
    found = power_poisson_ratio_2indep(
        mean * ratio, mean, n, value=1, alternative="two-sided", return_results=False
    )
    assert found == pytest.approx(0.8, abs=0.01)
    assert any("delta method" in note for note in plan.assumptions)


def test_time_series_level_change_se_agrees_with_statsmodels_ols() -> None:
    before, after = 24, 12
    plan = minimum_detectable_effect(design="its", n_pilot=720, periods=(before, after), sd=3.0)
    time = np.arange(before + after, dtype=float)
    post = (time >= before).astype(float)
    X = np.column_stack([np.ones_like(time), time, post, (time - before) * post])
    fit = sm.OLS(np.random.default_rng(0).normal(size=len(time)), X).fit()
    residual_sd = math.sqrt(fit.scale)
    assert plan.se / 3.0 == pytest.approx(fit.bse[2] / residual_sd, rel=1e-10)
    assert plan.df == before + after - 4
    # Bloom's formula with the critical value of evalkit's calibrated test, not t's 2.04
    assert plan.critical is not None and plan.critical > stats.t.ppf(0.975, 32)
    assert plan.mde == pytest.approx((plan.critical + stats.t.ppf(0.8, 32)) * plan.se, rel=1e-9)
    assert plan.mde > multiplier(df=32) * plan.se


# --- the function's contract ---------------------------------------------------------------------


def test_cross_sectional_did_adds_the_four_cell_variances() -> None:
    plan = minimum_detectable_effect(design="did", n_pilot=(40, 60), n_comparison=(80, 100), sd=5.0)
    se = 5.0 * math.sqrt(1 / 40 + 1 / 60 + 1 / 80 + 1 / 100)
    assert plan.se == pytest.approx(se, rel=1e-12)
    assert plan.df == 280 - 4
    assert (plan.n_pilot, plan.n_comparison, plan.n) == (100, 180, 280)
    panel = minimum_detectable_effect(
        design="did", n_pilot=50, n_comparison=70, sd=5.0, sd_change=4.0
    )
    assert panel.se == pytest.approx(4.0 * math.sqrt(1 / 50 + 1 / 70), rel=1e-12)
    assert panel.df == 118 and "each seen before and after" in panel.sample


def test_clusters_inflate_the_variance_by_the_design_effect() -> None:
    plain = minimum_detectable_effect(design="rct", n_pilot=300, n_comparison=300, sd=1)
    clustered = minimum_detectable_effect(
        design="rct", n_pilot=300, n_comparison=300, sd=1, clusters=30, icc=0.1
    )
    assert clustered.design_effect == pytest.approx(1 + (20 - 1) * 0.1)
    assert clustered.se == pytest.approx(plain.se * math.sqrt(2.9), rel=1e-12)
    assert clustered.df == 28  # clusters minus the two groups (Bloom 2006)
    assert clustered.mde == pytest.approx(multiplier(df=28) * clustered.se, rel=1e-12)
    assert any("design effect 2.90" in note for note in clustered.assumptions)


def test_detectable_compares_a_hoped_change_with_the_mde() -> None:
    plan = minimum_detectable_effect(design="rct", n_pilot=100, n_comparison=100, sd=10)
    assert plan.detectable() is None
    assert plan.detectable(plan.mde) is True and plan.detectable(-plan.mde) is True
    assert plan.detectable(0.95 * plan.mde) is False
    assert plan.power_to_detect(plan.mde) == pytest.approx(0.8, abs=1e-12)
    assert plan.power_to_detect(0.0) < 0.05


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="standard deviation"):
        minimum_detectable_effect(design="rct", n_pilot=10, n_comparison=10)
    with pytest.raises(ValueError, match="ICC"):
        minimum_detectable_effect(design="rct", n_pilot=10, n_comparison=10, sd=1, clusters=6)
    with pytest.raises(ValueError, match="n_comparison"):
        minimum_detectable_effect(design="did", n_pilot=10, sd=1)
    with pytest.raises(ValueError, match="baseline rate"):
        minimum_detectable_effect(design="pre_post", n_pilot=10, outcome_type="binary")


# --- reading a pilot -----------------------------------------------------------------------------


def test_plan_pilot_reads_sizes_and_spread_from_a_did_pilot(make_pilot: PilotFactory) -> None:
    card = load_pilot(make_pilot())
    frame = validate_data(card).valid
    (plan,) = plan_pilot(card, frame)
    before = frame[frame["phase"] == "before"]
    spread = before.groupby("arm", observed=True)["days"].transform(lambda v: v - v.mean())
    sd = math.sqrt((spread**2).sum() / (len(before) - 2))
    assert plan.se == pytest.approx(sd * math.sqrt(4 / 15), rel=1e-12)
    assert plan.mde == pytest.approx(multiplier(df=56) * plan.se, rel=1e-12)
    assert plan.sample.startswith("30 cases in the pilot and 30 in the comparison group")
    assert plan.outcome == "days" and plan.design == "did"


def test_power_summary_says_whether_the_hoped_change_can_be_detected(
    make_pilot: PilotFactory,
) -> None:
    card = load_pilot(make_pilot())
    frame = validate_data(card).valid
    (plan,) = plan_pilot(card, frame)
    text = power_summary([plan])
    assert text.startswith("With 30 cases in the pilot and 30 in the comparison group")
    assert f"about {plan.mde:.1f} days or more (80% power, 5% significance)" in text

    def hoping(change: float) -> tuple[Mde, str]:
        outcome = card.outcomes[0].model_copy(update={"hoped_change": change})
        (hoped,) = plan_pilot(card.model_copy(update={"outcomes": (outcome,)}), frame)
        return hoped, power_summary([hoped])

    big, text = hoping(-1.2 * plan.mde)
    assert big.detectable() is True and "the pilot is big enough" in text
    middle, text = hoping(-0.9 * plan.mde)
    assert middle.detectable() is False and 0.5 < middle.power_to_detect(-0.9 * plan.mde) < 0.8
    assert "a little small" in text and "short of the 80% planned for" in text
    small, text = hoping(-0.4 * plan.mde)
    assert small.detectable() is False
    assert "probably too small to detect it" in text and "missed more often than not" in text


PAIRED_CARD = """\
name: Paired pilot
place: Testford
design: pre_post
data:
  path: {data_path}
  unit: family_id
  period: {{column: timepoint, post: follow-up, pre: baseline}}
outcomes:
  - column: score
    unit: points
    better: higher
"""


def test_plan_pilot_pairs_units_seen_before_and_after(make_pilot: PilotFactory) -> None:
    rng = np.random.default_rng(5)
    start = rng.normal(40, 8, 25)
    end = start + rng.normal(3, 5, 25)
    rows = "family_id,timepoint,score\n" + "".join(
        f"F{i},baseline,{a:.3f}\nF{i},follow-up,{b:.3f}\n"
        for i, (a, b) in enumerate(zip(start, end, strict=True))
    )
    card = load_pilot(make_pilot(PAIRED_CARD, data=rows))
    (plan,) = plan_pilot(card, validate_data(card).valid)
    change = np.round(end, 3) - np.round(start, 3)
    assert plan.n == 25 and plan.df == 24
    assert plan.se == pytest.approx(change.std(ddof=1) / 5, rel=1e-9)
    assert plan.mde_standardised == pytest.approx(plan.mde / np.round(start, 3).std(ddof=1))
    assert plan.sample == "25 families seen both before and after the change"


def test_plan_pilot_uses_the_cards_icc_and_cluster_sizes(make_pilot: PilotFactory) -> None:
    card_text = DID_CARD.replace("  columns:", "  cluster: ward\n  columns:")
    card_text += "plan: {{icc: 0.05}}\n"
    card = load_pilot(make_pilot(card_text))
    frame = validate_data(card).valid
    (plan,) = plan_pilot(card, frame)
    size = frame.groupby(["ward", "arm", "phase"], observed=True).size().mean()
    assert plan.design_effect == pytest.approx(1 + (size - 1) * 0.05, rel=1e-12)
    assert plan.df == 3 - 2
    assert any("ICC 0.05 assumed" in note for note in plan.assumptions)


RCT_CARD = """\
name: Cluster-randomised pilot
place: Testford
design: rct
data:
  path: {data_path}
  group: {{column: arm, pilot: pilot, comparison: comparison}}
  cluster: school
outcomes:
  - column: score
    better: higher
"""


def test_plan_pilot_estimates_the_icc_as_a_mixed_model_does(make_pilot: PilotFactory) -> None:
    """Balanced one-way data: the ANOVA ICC equals the REML estimate (MixedLM)."""
    rng = np.random.default_rng(11)
    schools = np.repeat(np.arange(40), 25)
    score = 50 + rng.normal(0, math.sqrt(20), 40)[schools] + rng.normal(0, math.sqrt(80), 1000)
    arm = np.where(schools % 2 == 0, "pilot", "comparison")
    rows = "school,arm,score\n" + "".join(
        f"S{s},{a},{v:.4f}\n" for s, a, v in zip(schools, arm, score, strict=True)
    )
    card = load_pilot(make_pilot(RCT_CARD, data=rows))
    frame = validate_data(card).valid
    (plan,) = plan_pilot(card, frame)
    icc = (plan.design_effect - 1) / (25 - 1)
    comparison = frame[frame["arm"] == "comparison"]
    fit = sm.MixedLM(
        comparison["score"].to_numpy(),
        np.ones((len(comparison), 1)),
        groups=comparison["school"].astype(str).to_numpy(),
    ).fit(reml=True)
    between, within = float(np.asarray(fit.cov_re)[0, 0]), float(fit.scale)
    assert icc == pytest.approx(between / (between + within), abs=1e-4)
    assert 0.05 < icc < 0.4  # the truth is 0.2; 20 clusters make it rough
    assert plan.df == 38 and any("estimated from the data" in n for n in plan.assumptions)


ITS_CARD = """\
name: Time series pilot
place: Testford
design: its
data:
  path: {data_path}
  time: {{column: month, start: 19}}
outcomes:
  - column: waits
    unit: days
    better: lower
"""


def test_plan_pilot_reads_a_time_series(make_pilot: PilotFactory) -> None:
    rng = np.random.default_rng(2)
    rows = "month,waits\n" + "".join(
        f"{month},{30 - 0.2 * month + rng.normal(0, 2):.4f}\n"
        for month in range(1, 31)
        for _ in range(10)
    )
    card = load_pilot(make_pilot(ITS_CARD, data=rows))
    frame = validate_data(card).valid
    (plan,) = plan_pilot(card, frame)
    means = frame.groupby("month")["waits"].mean()
    before = means[means.index < 19].to_numpy()
    trend = sm.OLS(before, sm.add_constant(np.arange(18.0))).fit()
    expected = minimum_detectable_effect(
        design="its", n_pilot=300, periods=(18, 12), sd=math.sqrt(trend.scale)
    )
    assert plan.mde == pytest.approx(expected.mde, rel=1e-9)
    assert plan.sample == "18 time points before the change and 12 after"


def test_plan_pilot_counts_staggered_starts_from_each_units_own_start(
    make_pilot: PilotFactory,
) -> None:
    card_text = """\
name: Staggered pilot
place: Testford
design: did
data:
  path: {data_path}
  unit: team
  group: {{column: arm, pilot: pilot}}
  time: {{column: week, start_column: joined}}
outcomes:
  - column: calls
    better: higher
"""
    joined = {"A": 3, "B": 5, "C": None, "D": None}
    rows = "team,arm,week,joined,calls\n" + "".join(
        f"{team},{'pilot' if start else 'comparison'},{week},{start or ''},{10 + week % 3}\n"
        for team, start in joined.items()
        for week in range(1, 9)
    )
    card = load_pilot(make_pilot(card_text, data=rows))
    (plan,) = plan_pilot(card, validate_data(card).valid)
    # each team's change, after its own start (comparison teams from the first, week 3):
    # A -0.5, B +0.25 (joined week 5), C and D -0.5; pooled within arms, sd 0.375
    assert (plan.n_pilot, plan.n_comparison, plan.df) == (2, 2, 2)
    assert plan.se == pytest.approx(0.375 * math.sqrt(1 / 2 + 1 / 2), rel=1e-12)
    # 2 teams is a count below the card's min_cell_count: the words do not state it
    assert plan.sample == (
        "fewer than 10 teams in the pilot and fewer than 10 in the comparison group, "
        "each seen before and after"
    )


def test_plan_pilot_refuses_a_binary_outcome_that_never_varies(make_pilot: PilotFactory) -> None:
    card_text = DID_CARD.replace("    min: 0\n", "    type: binary\n").replace(
        "better: lower", "better: higher"
    )
    data = "\n".join(
        line if i == 0 else line.rsplit(",", 1)[0] + ",0"
        for i, line in enumerate(DID_ROWS.splitlines())
    )
    card = load_pilot(make_pilot(card_text, data=data + "\n"))
    with pytest.raises(EstimationError, match="no spread to plan on"):
        plan_pilot(card, validate_data(card).valid)


def test_power_summary_tells_a_count_as_a_fall_in_the_rate() -> None:
    plan = minimum_detectable_effect(
        design="pre_post",
        n_pilot=(300, 300),
        outcome_type="count",
        baseline_rate=1.6,
        better="lower",
        label="Missed appointments",
        unit="appointments",
        noun="families",
    )
    assert plan.rate_ratio is not None
    text = power_summary([plan])
    fall = 100 * (1 - 1 / plan.rate_ratio)
    assert f"a fall in missed appointments of about {format_number(fall)}% or more" in text
    assert "from an average of 1.6" in text and "300 families before the change" in text


# --- simulations: the estimators at the MDE ------------------------------------------------------

SIM_DID_CARD = """\
name: Simulated pilot
place: Testford
design: {design}
data:
  path: {{data_path}}
  {group}period: {{{{column: phase, post: after, pre: before}}}}
outcomes:
  - column: days
    unit: days
    better: lower
"""


def _sim_card(make_pilot: PilotFactory, design: str, rows: str) -> PilotCard:
    group = (
        "group: {{column: arm, pilot: pilot, comparison: comparison}}\n  "
        if design == "did"
        else ""
    )
    card = load_pilot(make_pilot(SIM_DID_CARD.format(design=design, group=group), data=rows))
    return card


def _rejections(
    card: PilotCard, make_frame: Callable[[np.random.Generator], pd.DataFrame], reps: int
) -> float:
    rng = np.random.default_rng(20240501)
    found = [estimate_effects(card, make_frame(rng))[0].p_value < 0.05 for _ in range(reps)]
    return float(np.mean(found))


def _did_simulation(make_pilot: PilotFactory, reps: int) -> tuple[float, float]:
    cell, sd = 50, 12.0
    plan = minimum_detectable_effect(design="did", n_pilot=cell, n_comparison=cell, sd=sd)
    arm = np.repeat(["pilot", "pilot", "comparison", "comparison"], cell)
    phase = np.tile(np.repeat(["before", "after"], cell), 2)
    treated = (arm == "pilot") & (phase == "after")
    base = pd.DataFrame({"arm": pd.Categorical(arm), "phase": pd.Categorical(phase)})
    rows = base.assign(days=100.0).to_csv(index=False)
    card = _sim_card(make_pilot, "did", rows)
    validated = validate_data(card).valid
    assert dict(validated.dtypes) == dict(base.assign(days=1.0).dtypes)  # built like the contract

    def make(rng: np.random.Generator) -> pd.DataFrame:
        days = 100 + 8 * (arm == "pilot") + 5 * (phase == "after") - plan.mde * treated
        return base.assign(days=days + rng.normal(0, sd, len(arm)))

    return _rejections(card, make, reps), plan.power


def _pre_post_simulation(make_pilot: PilotFactory, reps: int) -> tuple[float, float]:
    n, sd = 60, 9.0
    plan = minimum_detectable_effect(design="pre_post", n_pilot=n, sd=sd)
    phase = np.repeat(["before", "after"], n)
    base = pd.DataFrame({"phase": pd.Categorical(phase)})
    card = _sim_card(make_pilot, "pre_post", base.assign(days=1.0).to_csv(index=False))

    def make(rng: np.random.Generator) -> pd.DataFrame:
        return base.assign(days=50 - plan.mde * (phase == "after") + rng.normal(0, sd, 2 * n))

    return _rejections(card, make, reps), plan.power


def _within_monte_carlo_error(rate: float, power: float, reps: int) -> bool:
    return abs(rate - power) < 3 * math.sqrt(power * (1 - power) / reps)


def test_did_estimator_detects_the_mde_about_80_percent_of_the_time(
    make_pilot: PilotFactory,
) -> None:
    rate, power = _did_simulation(make_pilot, reps=400)
    assert _within_monte_carlo_error(rate, power, 400), rate


def test_pre_post_estimator_detects_the_mde_about_80_percent_of_the_time(
    make_pilot: PilotFactory,
) -> None:
    rate, power = _pre_post_simulation(make_pilot, reps=400)
    assert _within_monte_carlo_error(rate, power, 400), rate


@pytest.mark.slow
def test_estimators_detect_the_mde_80_percent_of_the_time_over_2000_runs(
    make_pilot: PilotFactory,
) -> None:
    for simulate in (_did_simulation, _pre_post_simulation):
        rate, power = simulate(make_pilot, 2000)
        assert _within_monte_carlo_error(rate, power, 2000), (simulate.__name__, rate)


@pytest.mark.slow
def test_paired_estimator_detects_the_mde_80_percent_of_the_time(make_pilot: PilotFactory) -> None:
    n, sd, rho, reps = 40, 10.0, 0.6, 1000
    plan = minimum_detectable_effect(design="pre_post", n_pilot=n, sd=sd, correlation=rho)
    units = np.tile([f"F{i}" for i in range(n)], 2)
    phase = np.repeat(["baseline", "follow-up"], n)
    base = pd.DataFrame({"family_id": pd.Categorical(units), "timepoint": pd.Categorical(phase)})
    card = load_pilot(make_pilot(PAIRED_CARD, data=base.assign(score=1.0).to_csv(index=False)))
    cov = sd**2 * np.array([[1, rho], [rho, 1]])

    def make(rng: np.random.Generator) -> pd.DataFrame:
        pair = rng.multivariate_normal([40, 40 + plan.mde], cov, n)
        return base.assign(score=np.concatenate([pair[:, 0], pair[:, 1]]))

    rate = _rejections(card, make, reps)
    assert _within_monte_carlo_error(rate, plan.power, reps), rate


def _cluster_simulation(reps: int, seed: int) -> tuple[float, float, float]:
    """Return the simulated and formula variance of a cluster trial's difference, and power."""
    clusters, size, icc = 30, 20, 0.1
    plan = minimum_detectable_effect(
        design="rct", n_pilot=300, n_comparison=300, sd=1, clusters=clusters, icc=icc
    )
    rng = np.random.default_rng(seed)
    arm = np.arange(clusters) < clusters // 2
    effect = rng.normal(0, math.sqrt(icc), (reps, clusters))
    noise = rng.normal(0, math.sqrt(1 - icc), (reps, clusters, size)).mean(axis=2)
    means = effect + noise  # each cluster's mean outcome
    null_difference = means[:, arm].mean(axis=1) - means[:, ~arm].mean(axis=1)
    # the analysis Bloom's formula describes: a t test on cluster means, clusters - 2 df
    shifted = means + plan.mde * arm
    t = stats.ttest_ind(shifted[:, arm], shifted[:, ~arm], axis=1)
    formula = (1 / 300 + 1 / 300) * design_effect(size, icc)
    return float(null_difference.var()), formula, float(np.mean(t.pvalue < 0.05))


def test_cluster_design_effect_matches_a_simulation() -> None:
    reps = 4000
    simulated, formula, rejected = _cluster_simulation(reps, seed=7)
    # a variance estimated from R draws has relative standard error sqrt(2 / (R - 1))
    assert abs(simulated / formula - 1) < 3 * math.sqrt(2 / (reps - 1))
    assert _within_monte_carlo_error(rejected, 0.8, reps), rejected


@pytest.mark.slow
def test_cluster_design_effect_matches_a_long_simulation() -> None:
    reps = 40_000
    simulated, formula, rejected = _cluster_simulation(reps, seed=8)
    assert abs(simulated / formula - 1) < 3 * math.sqrt(2 / (reps - 1))
    assert _within_monte_carlo_error(rejected, 0.8, reps), rejected


def test_time_series_level_change_at_the_mde_is_found_80_percent_of_the_time() -> None:
    """evalkit's ITS test: Newey-West t (statsmodels here) against the bootstrap critical
    value of the design; at the planned MDE it rejects 80% of the time (independent periods)."""
    before, after, sd, reps = 24, 12, 2.0, 2000
    plan = minimum_detectable_effect(design="its", n_pilot=360, periods=(before, after), sd=sd)
    time = np.arange(before + after, dtype=float)
    post = (time >= before).astype(float)
    X = np.column_stack([np.ones_like(time), time, post, (time - before) * post])
    lags = newey_west_lags(len(time))
    independent = ErrorModel(1.0, 0.0, np.zeros(len(time)), time)
    critical = calibrate(draw(X, independent), np.eye(4)[[2]], np.zeros(1), lags).critical[0]
    rng = np.random.default_rng(3)
    rejected = 0
    for _ in range(reps):
        y = 20 - 0.1 * time + plan.mde * post + rng.normal(0, sd, len(time))
        fit = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
        rejected += abs(fit.tvalues[2]) > critical
    assert _within_monte_carlo_error(rejected / reps, 0.8, reps)


def test_binary_mde_holds_in_a_simulation_of_a_risk_difference() -> None:
    """Risk difference between two groups at the MDE (rate falling from 30%)."""
    n, rate, reps = 400, 0.3, 4000
    plan = minimum_detectable_effect(
        design="rct",
        n_pilot=n,
        n_comparison=n,
        outcome_type="binary",
        baseline_rate=rate,
        better="lower",
    )
    rng = np.random.default_rng(9)
    pilot = rng.binomial(n, rate - plan.mde / 100, reps) / n
    comparison = rng.binomial(n, rate, reps) / n
    se = np.sqrt(pilot * (1 - pilot) / n + comparison * (1 - comparison) / n)
    p = 2 * stats.t.sf(np.abs((pilot - comparison) / se), 2 * n - 2)
    assert _within_monte_carlo_error(float(np.mean(p < 0.05)), 0.8, reps)


def test_mde_is_a_plain_frozen_value() -> None:
    plan = minimum_detectable_effect(design="rct", n_pilot=50, n_comparison=50, sd=1)
    with pytest.raises(AttributeError):
        plan.mde = 0.0  # type: ignore[misc]
    assert replace(plan, hoped_change=plan.mde).detectable() is True


def test_plan_pilot_names_a_missing_group_and_period(make_pilot: PilotFactory) -> None:
    rows = "\n".join(line for line in DID_ROWS.splitlines() if ",comparison,before," not in line)
    card = load_pilot(make_pilot(data=rows + "\n"))
    with pytest.raises(EstimationError, match="every group and period needs at least one record"):
        plan_pilot(card, validate_data(card).valid)


def test_a_pilot_too_small_for_any_possible_change_says_so() -> None:
    plan = minimum_detectable_effect(
        design="rct",
        n_pilot=5,
        n_comparison=5,
        outcome_type="binary",
        baseline_rate=0.5,
        label="Settled",
        hoped_change=20.0,
    )
    assert math.isinf(plan.mde) and plan.detectable() is False
    text = power_summary([plan])
    assert "too small to expect to detect even the largest possible change in settled" in text
    assert "missed more often than not" in text


def test_plan_counts_a_dated_series_in_months_as_the_time_series_is_fitted() -> None:
    """Westmere's records carry the day each case closed; the series, and its plan, are monthly:
    April 2022 to March 2024 before the change, April 2024 to September 2025 after."""
    card = load_pilot(REPO / "pilots" / "westmere-social-work")
    plans = plan_pilot(card, validate_data(card).valid)
    assert [plan.sample for plan in plans] == ["24 time points before the change and 18 after"] * 2
    assert all(plan.critical is not None and plan.critical > 2.02 for plan in plans)


# --- planning for the test evalkit will run with few clusters (#13) -----------------------------


def test_a_single_ward_among_five_cannot_show_any_change_and_the_plan_says_so() -> None:
    """Five ways to choose one pilot ward: p can be no smaller than 1/5, whatever the change."""
    mde = minimum_detectable_effect(
        design="rct", n_pilot=100, n_comparison=400, sd=10, clusters=5, icc=0.05, pilot_clusters=1
    )
    assert math.isinf(mde.mde)
    text = power_summary([mde])
    assert "5 ways to choose them" in text and "none can be shown at 5% significance" in text


def test_two_wards_among_eight_are_planned_as_randomisation_over_wards() -> None:
    mde = minimum_detectable_effect(
        design="rct", n_pilot=60, n_comparison=180, sd=10, clusters=8, icc=0.05, pilot_clusters=2
    )
    assert math.isfinite(mde.mde)
    assert any("28 ways to choose them" in a for a in mde.assumptions)  # 8 choose 2


def test_the_plan_says_how_many_wards_the_hoped_change_needs() -> None:
    """The wards needed is the smallest number, of the same size and split, that detects it."""
    base = {"design": "rct", "sd": 10.0, "icc": 0.05, "hoped_change": 4.0}
    mde = minimum_detectable_effect(
        n_pilot=150, n_comparison=150, clusters=10, pilot_clusters=5, **base
    )
    assert mde.detectable() is False
    needed = mde.clusters_needed
    assert needed is not None and needed > 10

    def with_wards(wards: int) -> bool | None:
        per = 30 * wards  # 30 records a ward, as in the pilot
        return minimum_detectable_effect(
            n_pilot=per, n_comparison=per, clusters=2 * wards, pilot_clusters=wards, **base
        ).detectable()

    # even splits only: the needed number of wards, rounded up to an even number, detects it
    assert with_wards((needed + 1) // 2) is True
    assert with_wards((needed + 1) // 2 - 1) is False
    assert f"about {needed} clusters would be needed rather than 10" in power_summary([mde])


def test_a_hoped_change_out_of_reach_of_any_number_of_wards_is_said_at_once() -> None:
    """Each larger plan tried is checked, not searched again (the search was exponential)."""
    mde = minimum_detectable_effect(
        design="rct", n_pilot=60, n_comparison=55, sd=2.0, clusters=8, icc=0.05, hoped_change=0.01
    )
    assert mde.detectable() is False and mde.clusters_needed is None
    assert "Even 400 clusters like these would not be enough" in power_summary([mde])


# --- the layout comes from the design registry (#14) ---------------------------------------------


def test_plan_pilot_sizes_a_design_as_the_layout_it_registers(
    make_pilot: PilotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    did = get_design("did")
    assert did is not None
    # a did-shaped design planned as a before/after: sized as pre_post is, not as did
    monkeypatch.setitem(registry._REGISTRY, "toy", replace(did, name="toy", plan_as="pre_post"))
    card = load_pilot(make_pilot())
    frame = validate_data(card).valid
    (as_did,) = plan_pilot(card, frame)
    (as_pre_post,) = plan_pilot(card.model_copy(update={"design": "pre_post"}), frame)
    (toy,) = plan_pilot(card.model_copy(update={"design": "toy"}), frame)
    assert toy == as_pre_post and toy != as_did
    assert toy.design == "pre_post"


def test_plan_pilot_refuses_a_design_it_cannot_plan_in_plain_words(
    make_pilot: PilotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    did = get_design("did")
    assert did is not None
    monkeypatch.setitem(
        registry._REGISTRY, "unplanned", replace(did, name="unplanned", plan_as=None)
    )
    card = load_pilot(make_pilot())
    frame = validate_data(card).valid
    with pytest.raises(EstimationError, match="cannot be planned yet") as raised:
        plan_pilot(card.model_copy(update={"design": "unplanned"}), frame)
    assert raised.value.where == "design" and "evalkit run" in raised.value.hint
    with pytest.raises(EstimationError, match="design 'nonesuch' is not known") as raised:
        plan_pilot(card.model_copy(update={"design": "nonesuch"}), frame)
    assert "did" in raised.value.hint
