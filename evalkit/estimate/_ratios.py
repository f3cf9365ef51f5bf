"""Odds and rate ratios from logit, Poisson and negative binomial (NB2) fits.

The overdispersion test (Cameron and Trivedi 1990) chooses between the last two.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS

from evalkit.estimate._common import Errors
from evalkit.estimate._models import EstimationProblem, Model, Overdispersion, Ratio, RatioKind
from evalkit.estimate._ols import Covariance

#: Negative binomial replaces Poisson when the overdispersion test rejects at this level.
OVERDISPERSION_ALPHA = 0.05


def fit_ratio(
    model: Model,
    *,
    kind: RatioKind,
    cov: Covariance | None = None,
    offset: np.ndarray | None = None,
    hac_lags: int | None = None,
    negative_binomial: bool = False,
) -> Ratio:
    """Return exp(coefficient) of a logit (odds ratio) or Poisson/NB2 fit (rate ratio).

    Standard errors follow ``model.errors`` (HC0 sandwich, or cluster-robust),
    unless ``cov`` overrides them or ``hac_lags`` asks for Newey-West errors
    (interrupted time series on period totals).
    """
    if separated(model, kind):
        raise EstimationProblem(
            "the outcome is always or never present in one group, so a ratio cannot be estimated"
            if kind == "odds"
            else "one group has no events at all, so a ratio cannot be estimated"
        )
    cov_type, cov_kwds, use_t = glm_covariance(model.errors, cov, hac_lags)
    with warnings.catch_warnings():
        # separation and non-convergence are checked below and said in words
        warnings.simplefilter("ignore")
        try:
            if negative_binomial:
                result = NegativeBinomial(
                    model.y, model.X, loglike_method="nb2", offset=offset
                ).fit(disp=0, maxiter=200, cov_type=cov_type, cov_kwds=cov_kwds, use_t=use_t)
                converged = bool(result.mle_retvals.get("converged", True))
                name = "negative binomial (NB2) regression"
            else:
                family = families.Binomial() if kind == "odds" else families.Poisson()
                result = GLM(model.y, model.X, family=family, offset=offset).fit(
                    cov_type=cov_type, cov_kwds=cov_kwds, use_t=use_t
                )
                converged = bool(getattr(result, "converged", True))
                name = "logit" if kind == "odds" else "Poisson regression"
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError) as exc:
            raise EstimationProblem(f"the {kind} model could not be fitted ({exc})") from None
    log_estimate = float(result.params[model.column])
    log_se = float(result.bse[model.column])
    if not (converged and math.isfinite(log_estimate) and math.isfinite(log_se) and log_se > 0):
        raise EstimationProblem(
            "the model did not settle on an estimate (an outcome that is always or never "
            "present in one group cannot give a ratio)"
        )
    ci = np.asarray(result.conf_int(alpha=0.05))[model.column]
    return Ratio(
        estimate=math.exp(log_estimate),
        ci_low=math.exp(float(ci[0])),
        ci_high=math.exp(float(ci[1])),
        p_value=float(np.asarray(result.pvalues)[model.column]),
        log_estimate=log_estimate,
        log_se=log_se,
        n=int(result.nobs),
        model=name,
    )


def measure_overdispersion(y: np.ndarray, X: np.ndarray) -> Overdispersion:
    """Return the Cameron-Trivedi test of a Poisson fit's variance against NB2.

    After the Poisson fit, ((y - mu)^2 - y) / mu is regressed on mu with no
    constant; the t statistic of that coefficient is compared with a normal
    distribution, one-sided (overdispersion only).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mu = GLM(y, X, family=families.Poisson()).fit().fittedvalues
    mu = np.asarray(mu, dtype="float64")
    auxiliary = ((y - mu) ** 2 - y) / mu
    fit = OLS(auxiliary, mu[:, None]).fit()
    statistic = float(fit.tvalues[0])
    return Overdispersion(
        alpha=float(fit.params[0]), statistic=statistic, p_value=float(stats.norm.sf(statistic))
    )


def separated(model: Model, kind: RatioKind) -> bool:
    """Return True when the compared group has no variation a ratio could be estimated from.

    Logit and Poisson fits on such data "converge" to a huge coefficient with a
    small, meaningless standard error, so the check is made before fitting.
    """
    if model.y.ndim != 1:
        return False  # period totals (successes, failures): the ITS checks its own periods
    indicator = model.X[:, model.column]
    if not np.isin(indicator, (0.0, 1.0)).all():
        return False
    for level in (0.0, 1.0):
        values = model.y[indicator == level]
        if not values.size:
            return True
        if kind == "odds" and (values.min() == values.max()):
            return True
        if kind == "rate" and values.sum() == 0:
            return True
    return False


def glm_covariance(
    errors: Errors, cov: Covariance | None, hac_lags: int | None
) -> tuple[str, dict[str, Any] | None, bool]:
    if hac_lags is not None:
        return "HAC", {"maxlags": hac_lags}, False
    chosen = cov or errors.cov
    if chosen == "cluster":
        if errors.groups is None:
            raise ValueError("cluster-robust standard errors need groups")
        return "cluster", {"groups": pd.factorize(errors.groups)[0]}, True
    if chosen == "nonrobust":
        return "nonrobust", None, False
    # statsmodels' GLM HC1 applies no small-sample factor, so it is HC0; say so
    return "HC0", None, False


def glm_words(errors: Errors, cov: Covariance | None) -> str:
    chosen = cov or errors.cov
    if chosen == "nonrobust":
        return "model-based standard errors"
    if chosen == "cluster":
        return errors.words
    return "robust (HC0 sandwich) standard errors"


def p_text(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.2f}" if p >= 0.01 else f"{p:.3f}"
