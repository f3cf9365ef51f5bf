"""Pooling pilots: Hartung-Knapp-Sidik-Jonkman intervals reproduce metafor and statsmodels,
never come out narrower than the usual interval, cover as they should, and two places are
said to tell little."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects

from evalkit.compare import SharedOutcome, pool_effects
from evalkit.compare.report import outcome_markdown

#: BCG vaccine trials (Colditz et al. 1994), metafor's dat.bcg: vaccinated TB+, TB-, control
#: TB+, TB- (the same rows as tests/test_compare.py's BCG).
BCG = [
    (4, 119, 11, 128),
    (6, 300, 29, 274),
    (3, 228, 11, 209),
    (62, 13536, 248, 12619),
    (33, 5036, 47, 5761),
    (180, 1361, 372, 1079),
    (8, 2537, 10, 619),
    (505, 87886, 499, 87892),
    (29, 7470, 45, 7232),
    (17, 1699, 65, 1600),
    (186, 50448, 141, 27197),
    (5, 2493, 3, 2338),
    (27, 16886, 29, 17825),
]

#: Teacher expectancy and pupil IQ, 19 studies (Raudenbush 1984; Raudenbush and Bryk 1985):
#: standardised mean difference and its sampling variance, as metadat's dat.raudenbush1985
#: (wviechtb/metadat, data-raw/dat.raudenbush1985.txt, columns yi and vi).
RAUDENBUSH = [
    (0.03, 0.0156),
    (0.12, 0.0216),
    (-0.14, 0.0279),
    (1.18, 0.1391),
    (0.26, 0.1362),
    (-0.06, 0.0106),
    (-0.02, 0.0106),
    (-0.32, 0.0484),
    (0.27, 0.0269),
    (0.80, 0.0630),
    (0.54, 0.0912),
    (0.18, 0.0497),
    (-0.02, 0.0835),
    (0.23, 0.0841),
    (-0.18, 0.0253),
    (-0.06, 0.0279),
    (0.30, 0.0193),
    (0.07, 0.0088),
    (-0.07, 0.0303),
]

#: the last printed digit of a published number
PRINTED = 1.5e-4


def _bcg() -> tuple[list[float], list[float]]:
    log_rr = [math.log((a / (a + b)) / (c / (c + d))) for a, b, c, d in BCG]
    ses = [math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)) for a, b, c, d in BCG]
    return log_rr, ses


def test_hksj_reproduces_metafors_printed_bcg_analysis() -> None:
    """metafor's README (github.com/wviechtb/metafor, README.md at commit 71ae8f5), the BCG
    trials as log risk ratios, ``rma(yi, vi, data=dat, test="knha")``: tau^2 = 0.3132,
    estimate -0.7145, se 0.1808, tval -3.9522, df 12, pval 0.0019, CI -1.1084 to -0.3206;
    ``predict(res, transf=exp, digits=2)``: 0.49 (CI 0.33 to 0.73; PI 0.14 to 1.76).

    The Knapp-Hartung scale here is above 1, so the floor does not bind and evalkit's
    interval is metafor's. metafor's prediction interval uses t with k - 1 = 12 degrees of
    freedom; evalkit's uses k - 2 = 11 (Higgins, Thompson and Spiegelhalter 2009), so it is
    checked with 12 degrees of freedom against the printed one, then shown to be wider.
    """
    pooled = pool_effects(*_bcg())
    assert pooled.k == 13 and pooled.df == 12
    assert pooled.tau2 == pytest.approx(0.3132, abs=PRINTED)
    assert pooled.estimate == pytest.approx(-0.7145, abs=PRINTED)
    assert pooled.se_hksj == pytest.approx(0.1808, abs=PRINTED)
    assert pooled.estimate / pooled.se_hksj == pytest.approx(-3.9522, abs=PRINTED)
    assert pooled.p_value == pytest.approx(0.0019, abs=PRINTED)
    assert pooled.ci_low == pytest.approx(-1.1084, abs=PRINTED)
    assert pooled.ci_high == pytest.approx(-0.3206, abs=PRINTED)
    assert pooled.hk_scale > 1
    # the usual (Wald) interval is kept for reference: metafor's rma(yi, vi) on the same data
    assert (pooled.wald_low, pooled.wald_high) == (
        pytest.approx(-1.0669, abs=PRINTED),
        pytest.approx(-0.3622, abs=PRINTED),
    )
    assert [round(math.exp(x), 2) for x in (pooled.estimate, pooled.ci_low, pooled.ci_high)] == [
        0.49,
        0.33,
        0.73,
    ]
    metafor_half = stats.t.ppf(0.975, 12) * math.sqrt(pooled.tau2 + pooled.se_hksj**2)
    metafor_pi = [round(math.exp(pooled.estimate + s * metafor_half), 2) for s in (-1, 1)]
    assert metafor_pi == [0.14, 1.76]
    assert pooled.pi_low is not None and pooled.pi_high is not None
    assert pooled.pi_low < pooled.estimate - metafor_half
    assert pooled.pi_high > pooled.estimate + metafor_half
    assert [round(math.exp(x), 2) for x in (pooled.pi_low, pooled.pi_high)] == [0.13, 1.79]


@pytest.mark.parametrize(
    ("method", "tau2", "estimate", "se", "t", "ci_low", "ci_high"),
    [
        ("REML", 0.0188, 0.0837, 0.0616, 1.3593, -0.0457, 0.2131),
        ("DL", 0.0259, 0.0893, 0.0636, 1.4050, -0.0442, 0.2229),
    ],
)
def test_hksj_reproduces_raudenbush_2009_table_16_3(
    method: str, tau2: float, estimate: float, se: float, t: float, ci_low: float, ci_high: float
) -> None:
    """Raudenbush (2009) "Analyzing effect sizes: random-effects models", in Cooper, Hedges
    and Valentine (eds) The Handbook of Research Synthesis and Meta-Analysis, 2nd ed., p. 309,
    Table 16.3, Knapp-Hartung rows, on the teacher expectancy studies, as reproduced by
    metafor's tests/testthat/test_analysis_example_raudenbush2009.r ("results are correct for
    the random-effects model (Knapp & Hartung method)"). The usual rows of the same table:
    REML se 0.0516, CI -0.0175 to 0.1849."""
    yi = [y for y, _ in RAUDENBUSH]
    sei = [math.sqrt(v) for _, v in RAUDENBUSH]
    pooled = pool_effects(yi, sei, method=method)  # type: ignore[arg-type]
    assert pooled.tau2 == pytest.approx(tau2, abs=PRINTED)
    assert pooled.estimate == pytest.approx(estimate, abs=PRINTED)
    assert pooled.se_hksj == pytest.approx(se, abs=PRINTED)
    assert pooled.estimate / pooled.se_hksj == pytest.approx(t, abs=PRINTED)
    assert (pooled.ci_low, pooled.ci_high) == (
        pytest.approx(ci_low, abs=PRINTED),
        pytest.approx(ci_high, abs=PRINTED),
    )
    if method == "REML":
        assert pooled.se == pytest.approx(0.0516, abs=PRINTED)
        assert (pooled.wald_low, pooled.wald_high) == (
            pytest.approx(-0.0175, abs=PRINTED),
            pytest.approx(0.1849, abs=PRINTED),
        )


def _q(y: np.ndarray, variances: np.ndarray, tau2: float) -> float:
    """Return Cochran's Q with weights 1 / (v + tau2): Paule-Mandel solves Q = k - 1."""
    w = 1 / (variances + tau2)
    mean = (w * y).sum() / w.sum()
    return float((w * (y - mean) ** 2).sum())


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
def test_hksj_matches_statsmodels_on_seeded_sets_of_2_to_10_pilots() -> None:
    """statsmodels' combine_effects (use_t=True) gives the t interval with the usual variance
    (ci_eff_re) and the unfloored Knapp-Hartung one (ci_eff_re_wls); the floored interval is
    the wider of the two. Compared on DerSimonian-Laird (where statsmodels' tau-squared is not
    negative; it does not truncate) and Paule-Mandel."""
    rng = np.random.default_rng(20240611)
    compared = {"DL": 0, "PM": 0}
    floored = unfloored = 0
    for _ in range(100):
        k = int(rng.integers(2, 11))
        ses = rng.uniform(2.0, 9.0, k)
        tau = rng.choice([0.0, 2.0, 6.0])
        y = -10 + rng.normal(0, tau, k) + rng.normal(0, ses)
        for method, sm_method in (("DL", "dl"), ("PM", "pm")):
            # statsmodels' Paule-Mandel iterates to an absolute tolerance on Q - (k - 1)
            sm = combine_effects(y, ses**2, method_re=sm_method, use_t=True, atol=1e-8, maxiter=200)
            if sm.tau2 < 0:
                continue
            compared[method] += 1
            ours = pool_effects(y, ses, method=method)  # type: ignore[arg-type]
            if method == "PM" and sm.tau2 == 0 and _q(y, ses**2, 0.0) > k - 1:
                # statsmodels 0.15's Paule-Mandel can step past the root and then stops at 0,
                # which does not solve Q(tau2) = k - 1 (Q(0) > k - 1); the root by bracketing
                variances, df = ses**2, k - 1
                root = optimize.brentq(
                    lambda t2, y=y, v=variances, df=df: _q(y, v, t2) - df, 0.0, 1e4
                )
                assert ours.tau2 == pytest.approx(root, rel=1e-6)
                continue
            assert ours.tau2 == pytest.approx(sm.tau2, rel=1e-6, abs=1e-9)
            assert ours.estimate == pytest.approx(sm.mean_effect_re, rel=1e-6)
            assert ours.se == pytest.approx(sm.sd_eff_w_re, rel=1e-6)
            _, usual_t, _, knapp_hartung = sm.conf_int(use_t=True)
            wider = max((usual_t, knapp_hartung), key=lambda interval: interval[1] - interval[0])
            assert (ours.ci_low, ours.ci_high) == (
                pytest.approx(wider[0], rel=1e-6),
                pytest.approx(wider[1], rel=1e-6),
            )
            z = stats.norm.ppf(0.975)
            assert ours.wald_high - ours.wald_low == pytest.approx(2 * z * sm.sd_eff_w_re, rel=1e-7)
            if sm.var_hksj_re < sm.var_eff_w_re:
                floored += 1
            else:
                unfloored += 1
    assert compared["DL"] >= 40 and compared["PM"] >= 90
    assert floored >= 20 and unfloored >= 20  # both sides of the floor were checked


def test_the_floor_keeps_the_interval_from_being_narrower_than_the_usual_one() -> None:
    """Three pilots that agree far more closely than their standard errors suggest: the
    Knapp-Hartung scale is 0.01, and the unfloored interval would be a fifth as wide as even
    the normal one. The floor gives the t interval on the usual standard error instead."""
    estimates, ses = [-10.0, -10.25, -9.75], [2.5, 2.5, 2.5]
    pooled = pool_effects(estimates, ses)
    assert pooled.tau2 == 0.0
    assert pooled.hk_scale == pytest.approx(0.01)
    t = stats.t.ppf(0.975, 2)
    unfloored = 2 * t * pooled.se * math.sqrt(pooled.hk_scale)
    wald = pooled.wald_high - pooled.wald_low
    assert unfloored < wald / 4
    assert pooled.se_hksj == pooled.se
    assert pooled.ci_high - pooled.ci_low == pytest.approx(2 * t * pooled.se)
    assert pooled.ci_high - pooled.ci_low > wald
    assert pooled.ci_low < pooled.wald_low and pooled.ci_high > pooled.wald_high
    _, usual_t, _, knapp_hartung = combine_effects(
        np.array(estimates), np.array(ses) ** 2, method_re="pm", use_t=True
    ).conf_int(use_t=True)
    assert knapp_hartung[1] - knapp_hartung[0] == pytest.approx(unfloored)
    assert (pooled.ci_low, pooled.ci_high) == (pytest.approx(usual_t[0]), pytest.approx(usual_t[1]))
    assert pooled.p_value == pytest.approx(2 * stats.t.sf(abs(pooled.estimate / pooled.se), 2))


def test_two_pilots_get_the_hartung_knapp_interval_and_are_said_to_tell_little() -> None:
    """Two pilots: the usual interval reads -24 to -2.9 days; the Hartung-Knapp one, t with
    1 degree of freedom (12.7 where the normal has 1.96), -82 to +55."""
    pooled = pool_effects([-15.0, -11.2], [7.0, 8.4])
    assert pooled.k == 2 and pooled.df == 1
    assert (round(pooled.wald_low), round(pooled.wald_high, 1)) == (-24, -2.9)
    assert (round(pooled.ci_low), round(pooled.ci_high)) == (-82, 55)
    assert pooled.ci_low <= pooled.wald_low and pooled.ci_high >= pooled.wald_high
    assert pooled.p_value > 0.2
    assert pooled.pi_low is None and pooled.pi_high is None
    words = pooled.heterogeneity_words()
    assert "pooling two places tells little" in words
    assert "cannot be estimated" in words
    assert "very wide" in words and "No range for a new place" in words
    three = pool_effects([-17.0, -9.0, -12.0], [5.0, 6.0, 4.0]).heterogeneity_words()
    assert "tells little" not in three and "95% prediction interval" in three
    assert "wide and rough" in three
    many = pool_effects([-17.0, -9.0, -12.0, -14.0, -8.0], [5.0, 6.0, 4.0, 3.0, 4.0])
    assert "wide and rough" not in many.heterogeneity_words()


def test_the_report_reads_the_two_pilot_interval_in_plain_words() -> None:
    pooled = pool_effects([-15.0, -11.2], [7.0, 8.4])
    outcome = SharedOutcome(
        outcome="days",
        label="Days in temporary accommodation",
        scale="difference",
        unit="days",
        better="lower",
        estimates=(),
        pooled=pooled,
    )
    text = outcome_markdown(outcome)
    assert "Pooled across 2 places" in text
    assert "pooling two places tells little" in text
    assert "Hartung-Knapp method (a t distribution with 1 degree of freedom)" in text
    assert "two places cannot estimate these reliably" in text
    assert f"p = {pooled.p_value:.3f}" in text
    # the narrow usual interval is not offered to quote
    assert "\u22122.9" not in text
    assert "rank" not in text.lower()


def _coverage(k: int, reps: int, tau: float, seed: int) -> dict[str, float]:
    """Return how often each 95% interval covers the true average, and the prediction
    interval's expected coverage of a new place's true effect."""
    rng = np.random.default_rng(seed)
    mu = -10.0
    hits = {"hksj": 0.0, "unfloored": 0.0, "wald": 0.0, "pi": 0.0}
    widths = []
    for _ in range(reps):
        ses = rng.uniform(3.0, 8.0, k)  # pilots of different sizes
        y = mu + rng.normal(0, tau, k) + rng.normal(0, ses)
        pooled = pool_effects(y, ses)
        half = stats.t.ppf(0.975, k - 1) * pooled.se * math.sqrt(pooled.hk_scale)
        hits["hksj"] += pooled.ci_low <= mu <= pooled.ci_high
        hits["unfloored"] += pooled.estimate - half <= mu <= pooled.estimate + half
        hits["wald"] += pooled.wald_low <= mu <= pooled.wald_high
        widths.append((pooled.ci_high - pooled.ci_low) / (pooled.wald_high - pooled.wald_low))
        if pooled.pi_low is not None and pooled.pi_high is not None:
            hits["pi"] += float(
                stats.norm.cdf((pooled.pi_high - mu) / tau)
                - stats.norm.cdf((pooled.pi_low - mu) / tau)
            )
    return {name: value / reps for name, value in hits.items()} | {
        "width_ratio": float(np.median(widths))
    }


@pytest.mark.slow
def test_hksj_covers_about_95_percent_with_three_and_five_pilots() -> None:
    """Seeded replications (4,000 for 3 and 5 pilots, 2,000 for 2): true average -10, pilots'
    standard errors uniform on 3 to 8, between-place sd 5 (I-squared about 50%) or 10 (about
    80%). Recorded:

    | pilots, sd | published (floored) | HKSJ unfloored | usual (Wald) | PI    | width |
    | 2, 5       | 100.0%              | 95.0%          | 88.7%        | none  | 6.5   |
    | 3, 5       | 99.8%               | 94.5%          | 90.0%        | 100%  | 2.2   |
    | 5, 5       | 97.4%               | 93.7%          | 90.5%        | 91.7% | 1.4   |
    | 3, 10      | 98.5%               | 94.5%          | 84.8%        | 99.9% | 2.2   |
    | 5, 10      | 96.1%               | 94.9%          | 88.9%        | 92.4% | 1.4   |

    (PI: the prediction interval's expected coverage of a new place's true effect; width: the
    median of the published interval's width over the usual one's, which is t over z, the
    floor, in most replications.) The Knapp-Hartung interval covers 93-97%, where the usual
    one covers 85-91%. The floor makes the published interval conservative: with 3 pilots it
    covers 98.5-99.8%, with 5 96.1-97.4%. With 2 pilots it always covers, being very wide
    (median 6.5 times the usual width: t with 1 degree of freedom is 12.7, the normal 1.96).
    The prediction interval (t with k - 2 df) is very wide with 3 pilots and covers a little
    under 95% with 5.
    """
    two = _coverage(2, 2000, tau=5.0, seed=2)
    assert two["hksj"] >= 0.99 and two["wald"] < 0.92 and two["width_ratio"] > 6
    for k, tau, seed in ((3, 5.0, 3), (5, 5.0, 5), (3, 10.0, 13), (5, 10.0, 15)):
        found = _coverage(k, 4000, tau=tau, seed=seed)
        assert 0.93 <= found["unfloored"] <= 0.97, (k, tau, found)
        assert found["hksj"] >= max(0.95, found["unfloored"]), (k, tau, found)
        assert found["wald"] < 0.92, (k, tau, found)
        assert found["pi"] >= 0.90, (k, tau, found)
