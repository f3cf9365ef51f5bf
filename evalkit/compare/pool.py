"""Random-effects pooling of pilots' estimates of the same outcome on the same scale.

The between-pilot variance tau-squared is estimated by restricted maximum
likelihood (REML, the default), Paule-Mandel or DerSimonian-Laird. The 95%
confidence interval and the p-value for the pooled estimate are the
Hartung-Knapp-Sidik-Jonkman (HKSJ) ones: a t distribution with k - 1 degrees of
freedom and the Knapp-Hartung variance, floored so that it is never smaller
than the usual random-effects variance ("modified" Knapp-Hartung, Knapp and
Hartung 2003; Röver, Knapp and Friede 2015, BMC Med. Res. Methodol. 15:99).
With two or three pilots the usual normal-based (Wald) interval is far too
narrow, because it treats tau-squared, estimated from a handful of places, as
known; the Wald interval is kept beside it (``wald_low``, ``wald_high``) for
reference only.

In metafor (Viechtbauer 2010, J. Stat. Softw. 36(3); `rma.uni` help page) this
floored interval is ``test="adhoc"``: "the Knapp-Hartung method is used, but
with the restriction that the adjustment to the standard errors can never
result in adjusted standard errors that are smaller than the unadjusted ones
(see Jackson et al., 2017, section 4.3)". metafor's ``test="knha"`` (alias
``"hksj"``) is the unfloored method; the two agree whenever the Knapp-Hartung
scale is at least 1. The floored interval is never narrower than the Wald one:
its standard error is at least the usual one and t with k - 1 degrees of
freedom is wider than the normal.

The 95% prediction interval for the effect in a new place (k >= 3) is
Higgins, Thompson and Spiegelhalter (2009, J. R. Stat. Soc. A 172(1)):
t with k - 2 degrees of freedom times sqrt(tau-squared + the variance of the
pooled estimate), taking that variance from the floored HKSJ standard error.
This is metafor's ``predict(..., predtype="Riley")`` on a ``test="adhoc"`` fit.
metafor's default ``predict()`` after ``test="knha"`` uses k - 1 degrees of
freedom instead (its help page: "Neither a normal, nor a t-distribution with
k-1 or k-2 degrees of freedom is correct; all of these are approximations");
evalkit keeps k - 2, the wider, because with a handful of places even it covers
a new place's effect a little less often than 95% (about 92% with five places
in tests/test_pool.py's simulation; k - 1 gives about 89%).

In that simulation the Knapp-Hartung interval covers the true average 93-97% of
the time with 3 or 5 places, where the Wald one covers 85-91%; the floor makes
the published interval conservative (about 99% with 3 places, 96-97% with 5,
and always with 2, where it is t with 1 degree of freedom, 6.5 times the Wald
width).

Cochran's Q and I-squared follow Higgins and Thompson (2002). Formulas as in
Viechtbauer (2005) "Bias and efficiency of meta-analytic variance estimators in
the random-effects model", J. Educ. Behav. Stat. 30(3), and metafor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

Method = Literal["REML", "PM", "DL"]

#: The name of the confidence interval, as comparison.json and the report give it.
INTERVAL = "Hartung-Knapp-Sidik-Jonkman, modified (variance never below the usual one)"


@dataclass(frozen=True)
class Pooled:
    """A random-effects pooled estimate, with how much the effect varies between places."""

    method: Method
    k: int
    estimate: float
    se: float  # the usual random-effects standard error (tau-squared taken as known)
    ci_low: float  # 95% HKSJ confidence interval
    ci_high: float
    p_value: float  # the HKSJ t test of no change, k - 1 degrees of freedom
    pi_low: float | None  # 95% prediction interval for a new place (needs k >= 3)
    pi_high: float | None
    tau2: float
    i2: float  # percent
    q: float
    q_p_value: float
    df: int  # degrees of freedom of the t distribution behind ci_low, ci_high, p_value
    se_hksj: float  # the standard error behind ci_low and ci_high: se * sqrt(max(1, hk_scale))
    hk_scale: float  # Knapp-Hartung's scale before the floor at 1
    wald_low: float  # the usual normal-based random-effects interval, for reference only
    wald_high: float
    interval: str = INTERVAL

    def heterogeneity_words(self) -> str:
        """Return a plain statement of how much the effect varies between places."""
        if self.k == 2:
            return (
                "Only 2 places measure this, and pooling two places tells little. With two, "
                "how much the effect differs from place to place cannot be estimated, so the "
                "pooled 95% interval is very wide: it allows for the two places being quite "
                "different. No range for a new place can be given. Read each place's own "
                "result first."
            )
        if self.i2 < 25:
            size = "little"
        elif self.i2 < 50:
            size = "some"
        elif self.i2 < 75:
            size = "a lot of"
        else:
            size = "very large"
        if self.pi_low is None or self.pi_high is None:
            return (
                f"There is {size} variation between places (I\u00b2 = {self.i2:.0f}%: the share "
                "of the spread in estimates that is more than chance). No range for a new place "
                "can be given."
            )
        few = " With so few places this range is wide and rough." if self.k < 5 else ""
        return (
            f"There is {size} variation between places (I\u00b2 = {self.i2:.0f}%: the share of "
            "the spread in estimates that is more than chance). In a new place the effect "
            f"could plausibly be anywhere from {self.pi_low:.3g} to {self.pi_high:.3g} "
            f"(95% prediction interval).{few}"
        )


def pool_effects(
    estimates: Sequence[float], ses: Sequence[float], method: Method = "REML"
) -> Pooled:
    """Return the random-effects pooled estimate of pilots' estimates and standard errors.

    The confidence interval and p-value are Hartung-Knapp-Sidik-Jonkman's, floored
    (see the module docstring); the normal-based interval is in ``wald_low``,
    ``wald_high``.
    """
    y = np.asarray(estimates, dtype="float64")
    v = np.asarray(ses, dtype="float64") ** 2
    k = len(y)
    if k < 2:
        raise ValueError("pooling needs at least two estimates")
    if not np.all(np.isfinite(y)):
        raise ValueError("every estimate needs to be a finite number")
    if np.any(v <= 0) or not np.all(np.isfinite(v)):
        raise ValueError("every estimate needs a positive, finite standard error")
    w = 1.0 / v
    fixed = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - fixed) ** 2))
    tau2 = {"REML": _tau2_reml, "PM": _tau2_pm, "DL": _tau2_dl}[method](y, v)
    weights = 1.0 / (v + tau2)
    estimate = float(np.sum(weights * y) / np.sum(weights))
    se = math.sqrt(1.0 / float(np.sum(weights)))
    df = k - 1
    # Knapp-Hartung: the weighted spread of the estimates about the pooled one, per df
    hk_scale = float(np.sum(weights * (y - estimate) ** 2)) / df
    # the floor: when the estimates agree more than chance predicts, the Knapp-Hartung
    # variance would be smaller than the usual one and the interval too narrow
    se_hksj = se * math.sqrt(max(1.0, hk_scale))
    t_crit = float(stats.t.ppf(0.975, df))
    z = float(stats.norm.ppf(0.975))
    # I-squared from the typical within-study variance (Higgins and Thompson 2002), as metafor
    typical = (k - 1) * np.sum(w) / (np.sum(w) ** 2 - np.sum(w**2))
    i2 = 100.0 * tau2 / (tau2 + typical)
    pi_low = pi_high = None
    if k >= 3:
        half = float(stats.t.ppf(0.975, k - 2)) * math.sqrt(tau2 + se_hksj**2)
        pi_low, pi_high = estimate - half, estimate + half
    return Pooled(
        method=method,
        k=k,
        estimate=estimate,
        se=se,
        ci_low=estimate - t_crit * se_hksj,
        ci_high=estimate + t_crit * se_hksj,
        p_value=float(2 * stats.t.sf(abs(estimate / se_hksj), df)),
        pi_low=pi_low,
        pi_high=pi_high,
        tau2=tau2,
        i2=float(i2),
        q=q,
        q_p_value=float(stats.chi2.sf(q, k - 1)),
        df=df,
        se_hksj=se_hksj,
        hk_scale=hk_scale,
        wald_low=estimate - z * se,
        wald_high=estimate + z * se,
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
