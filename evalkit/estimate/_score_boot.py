"""The wild score bootstrap: honest odds and rate ratios with few clusters.

A logit or Poisson fit with cluster-robust errors is as over-confident with a
handful of wards as OLS is. The wild bootstrap cannot simply re-draw outcomes
for these models, so the score bootstrap of Kline and Santos (2012), "A score
based approach to wild bootstrap inference", Journal of Econometric Methods
1(1):23-41, perturbs each cluster's contribution to the score instead
(the method ``boottest`` uses after maximum-likelihood fits; Roodman,
Nielsen, MacKinnon and Webb 2019, Stata Journal 19(1), section 3.4).

For H0: beta_j = b0 the model is fitted with the null imposed (``b0 x_j`` as
an offset, ``x_j`` dropped). With a canonical link (logit, log-Poisson) the
score for beta_j is sum_i x_ij (y_i - mu_i); each cluster's part, with
``x_j`` first partialled out of the other regressors in the information
metric (weights ``mu`` for Poisson, ``mu (1 - mu)`` for the logit), is
c_g, so that sum_g c_g is the efficient score. The statistic is
T = sum_g c_g / sqrt(sum_g c_g^2) and its bootstrap copies
T* = sum_g w_g c_g / sqrt(sum_g w_g^2 c_g^2), with the same Rademacher or
weights as :mod:`._wild` (Rademacher, every sign pattern when there are
no more of them than draws; Webb below 12 clusters otherwise). The p-value is
the share of |T*| >= |T|; the interval is the set of b0 not rejected, found
by bisection on each side with the same weights for every b0, and has no end
on a side where no b0 is rejected.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM

from evalkit.estimate._wild import (
    WEIGHT_NAMES,
    Weights,
    choose_weights,
    draw_weights,
    enumerate_weights,
)

Family = Literal["logit", "poisson"]
#: |T*| within this relative distance of |T| counts as a tie (ties count against the pilot).
_TIE = 1e-9
_BISECTIONS = 40
#: Log ratios further than this from the estimate (a ratio of e^12, about 160,000) are not
#: searched: an interval not closed by then is reported as having no end.
_FURTHEST = 12.0


@dataclass(frozen=True)
class ScoreBootstrap:
    """A log odds or log rate ratio's score-bootstrap p-value and interval (log scale)."""

    p_value: float
    log_low: float  # -inf when the interval has no lower end
    log_high: float  # +inf when it has no upper end
    draws: int
    weights: str
    enumerated: bool
    clusters: int

    @property
    def unbounded(self) -> bool:
        """Return True when the interval has no end on at least one side."""
        return math.isinf(self.log_low) or math.isinf(self.log_high)


def score_bootstrap(
    y: np.ndarray,
    X: np.ndarray,
    column: int,
    clusters: np.ndarray,
    family: Family,
    *,
    estimate: float,
    se: float,
    draws: int = 9999,
    seed: int = 20261201,
    level: float = 0.95,
) -> ScoreBootstrap:
    """Return the score-bootstrap test of the log ratio in ``column`` and its interval.

    ``estimate`` and ``se`` (the usual fit's log ratio and cluster-robust
    standard error) only say where to start looking for the interval's ends.
    """
    codes = pd.factorize(clusters)[0]
    groups = int(codes.max()) + 1
    if groups < 2:
        raise ValueError("the score bootstrap needs at least two clusters")
    kind: Weights = choose_weights(groups, draws)
    total = 6**groups if kind == "webb" else 2**groups
    enumerated = total <= draws
    weights = (
        enumerate_weights(groups, kind)
        if enumerated
        else draw_weights(groups, draws, kind, np.random.default_rng(seed))
    )
    others = np.delete(X, column, axis=1)
    x = X[:, column]
    alpha = 1 - level

    def p_value(null: float) -> float:
        try:
            scores = _cluster_scores(y, others, x, null, codes, groups, family)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            return 1.0  # a null the model cannot be fitted under is not rejected: cautious
        total_score, spread = scores.sum(), math.sqrt(float(scores @ scores))
        if spread == 0:
            return 1.0
        observed = abs(total_score) / spread
        boot = np.abs(scores @ weights) / np.sqrt((scores**2) @ (weights**2))
        return float(np.mean(boot >= observed * (1 - _TIE)))

    if 2 / (weights.shape[1] * (2 if enumerated else 1)) > alpha:
        # every sign pattern and its mirror tie the sample: no null can be rejected
        low, high = -math.inf, math.inf
    else:
        low = _end(p_value, estimate, -max(se, 1e-3), alpha)
        high = _end(p_value, estimate, max(se, 1e-3), alpha)
    return ScoreBootstrap(
        p_value=p_value(0.0),
        log_low=low,
        log_high=high,
        draws=int(weights.shape[1] * (2 if enumerated else 1)),
        weights=WEIGHT_NAMES[kind],
        enumerated=enumerated,
        clusters=groups,
    )


def _cluster_scores(
    y: np.ndarray,
    others: np.ndarray,
    x: np.ndarray,
    null: float,
    codes: np.ndarray,
    groups: int,
    family: Family,
) -> np.ndarray:
    """Return each cluster's part of the efficient score for the tested column under H0."""
    chosen = families.Binomial() if family == "logit" else families.Poisson()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a null far from the data fits badly; that is its answer
        fit = GLM(y, others, family=chosen, offset=null * x).fit()
        mu = np.asarray(fit.fittedvalues, dtype="float64")
    weight = mu * (1 - mu) if family == "logit" else mu
    # partial x out of the other regressors in the information metric
    gram = others.T @ (others * weight[:, None])
    gamma = np.linalg.lstsq(gram, others.T @ (weight * x), rcond=None)[0]
    scores: np.ndarray = np.bincount(
        codes, weights=(x - others @ gamma) * (y - mu), minlength=groups
    )
    return scores


def _end(p_value: Callable[[float], float], estimate: float, step: float, alpha: float) -> float:
    """Return where p(b0) falls to ``alpha`` moving from the estimate by ``step``; inf if never."""
    inside, outside = estimate, estimate + 2 * step
    while p_value(outside) > alpha:
        if abs(outside - estimate) > _FURTHEST:
            return math.copysign(math.inf, step)
        inside, outside = outside, estimate + (outside - estimate) * 3
    for _ in range(_BISECTIONS):
        middle = (inside + outside) / 2
        if p_value(middle) > alpha:
            inside = middle
        else:
            outside = middle
        if abs(outside - inside) < 1e-6 * max(1.0, abs(step)):
            break
    return (inside + outside) / 2
