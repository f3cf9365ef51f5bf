"""Random-effects pooling of pilots' estimates of the same outcome on the same scale.

The between-pilot variance tau-squared is estimated by restricted maximum
likelihood (REML, the default), Paule-Mandel or DerSimonian-Laird; the pooled
estimate has a 95% confidence interval and a 95% prediction interval for the
effect in a new place (Higgins, Thompson and Spiegelhalter 2009, t with k - 2
degrees of freedom), with Cochran's Q and I-squared (Higgins and Thompson 2002).
Formulas as in Viechtbauer (2005) "Bias and efficiency of meta-analytic
variance estimators in the random-effects model", J. Educ. Behav. Stat. 30(3),
and the metafor package (Viechtbauer 2010, J. Stat. Softw. 36(3)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

Method = Literal["REML", "PM", "DL"]


@dataclass(frozen=True)
class Pooled:
    """A random-effects pooled estimate, with how much the effect varies between places."""

    method: Method
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    pi_low: float | None  # 95% prediction interval for a new place (needs k >= 3)
    pi_high: float | None
    tau2: float
    i2: float  # percent
    q: float
    q_p_value: float

    def heterogeneity_words(self) -> str:
        """Return a plain statement of how much the effect varies between places."""
        if self.k < 3:
            return (
                f"Only {self.k} pilots measure this, too few to say how much the effect "
                "varies between places."
            )
        if self.i2 < 25:
            size = "little"
        elif self.i2 < 50:
            size = "some"
        elif self.i2 < 75:
            size = "a lot of"
        else:
            size = "very large"
        assert self.pi_low is not None and self.pi_high is not None
        return (
            f"There is {size} variation between places (I\u00b2 = {self.i2:.0f}%: the share of "
            "the spread in estimates that is more than chance). In a new place the effect "
            f"could plausibly be anywhere from {self.pi_low:.3g} to {self.pi_high:.3g} "
            "(95% prediction interval)."
        )


def pool_effects(
    estimates: Sequence[float], ses: Sequence[float], method: Method = "REML"
) -> Pooled:
    """Return the random-effects pooled estimate of pilots' estimates and standard errors."""
    y = np.asarray(estimates, dtype="float64")
    v = np.asarray(ses, dtype="float64") ** 2
    k = len(y)
    if k < 2:
        raise ValueError("pooling needs at least two estimates")
    if np.any(v <= 0) or not np.all(np.isfinite(v)):
        raise ValueError("every estimate needs a positive, finite standard error")
    w = 1.0 / v
    fixed = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - fixed) ** 2))
    tau2 = {"REML": _tau2_reml, "PM": _tau2_pm, "DL": _tau2_dl}[method](y, v)
    weights = 1.0 / (v + tau2)
    estimate = float(np.sum(weights * y) / np.sum(weights))
    se = math.sqrt(1.0 / float(np.sum(weights)))
    z = stats.norm.ppf(0.975)
    # I-squared from the typical within-study variance (Higgins and Thompson 2002), as metafor
    typical = (k - 1) * np.sum(w) / (np.sum(w) ** 2 - np.sum(w**2))
    i2 = 100.0 * tau2 / (tau2 + typical)
    pi_low = pi_high = None
    if k >= 3:
        half = stats.t.ppf(0.975, k - 2) * math.sqrt(tau2 + se**2)
        pi_low, pi_high = estimate - half, estimate + half
    return Pooled(
        method=method,
        k=k,
        estimate=estimate,
        se=se,
        ci_low=estimate - z * se,
        ci_high=estimate + z * se,
        p_value=float(2 * stats.norm.sf(abs(estimate / se))),
        pi_low=pi_low,
        pi_high=pi_high,
        tau2=tau2,
        i2=float(i2),
        q=q,
        q_p_value=float(stats.chi2.sf(q, k - 1)),
    )


def _tau2_dl(y: np.ndarray, v: np.ndarray) -> float:
    w = 1.0 / v
    fixed = np.sum(w * y) / np.sum(w)
    q = np.sum(w * (y - fixed) ** 2)
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    return float(max(0.0, (q - (len(y) - 1)) / c))


def _generalised_q(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    w = 1.0 / (v + tau2)
    mean = np.sum(w * y) / np.sum(w)
    return float(np.sum(w * (y - mean) ** 2))


def _tau2_pm(y: np.ndarray, v: np.ndarray) -> float:
    """Paule-Mandel: the tau-squared at which the generalised Q equals its expectation k - 1."""
    k = len(y)
    if _generalised_q(0.0, y, v) <= k - 1:
        return 0.0
    upper = max(1.0, float(np.var(y)) * 10)
    while _generalised_q(upper, y, v) > k - 1:
        upper *= 10
    return float(
        optimize.brentq(lambda t: _generalised_q(t, y, v) - (k - 1), 0.0, upper, xtol=1e-12)
    )


def _tau2_reml(y: np.ndarray, v: np.ndarray) -> float:
    """REML by Fisher scoring from the DerSimonian-Laird start, as metafor does."""
    tau2 = _tau2_dl(y, v)
    for _ in range(200):
        w = 1.0 / (v + tau2)
        mean = np.sum(w * y) / np.sum(w)
        p_y = w * (y - mean)
        # P = W - W 1 1' W / sum(W): the REML score and information use its trace and quadratic
        trace_p = np.sum(w) - np.sum(w**2) / np.sum(w)
        p_squared_trace = (
            np.sum(w**2) - 2 * np.sum(w**3) / np.sum(w) + (np.sum(w**2) / np.sum(w)) ** 2
        )
        step = (np.sum(p_y**2) - trace_p) / p_squared_trace
        new = max(0.0, float(tau2 + step))
        if abs(new - tau2) < 1e-12:
            return new
        tau2 = new
    return float(tau2)
