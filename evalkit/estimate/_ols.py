"""Array-based least squares with honest standard errors (no formula parsing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS

Covariance = Literal["HC1", "cluster", "nonrobust"]


@dataclass(frozen=True)
class Coefficient:
    """One coefficient with its standard error, 95% CI and p-value."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    df: float


def fit_coefficient(
    y: np.ndarray,
    X: np.ndarray,
    column: int,
    cov: Covariance = "HC1",
    groups: np.ndarray | None = None,
) -> Coefficient:
    """Return one coefficient of an OLS fit of ``y`` on ``X`` with t-based 95% CI.

    ``cov`` is HC1 (heteroskedasticity-robust), cluster-robust by ``groups``
    (degrees of freedom: clusters - 1, as Stata and statsmodels do), or the
    classical formula (used to check published worked examples).
    """
    model = OLS(y, X)
    if cov == "cluster":
        if groups is None:
            raise ValueError("cluster-robust standard errors need groups")
        codes = pd.factorize(groups)[0]
        result = model.fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    elif cov == "HC1":
        result = model.fit(cov_type="HC1", use_t=True)
    else:
        result = model.fit(use_t=True)
    ci = result.conf_int(alpha=0.05)
    return Coefficient(
        estimate=float(result.params[column]),
        se=float(result.bse[column]),
        ci_low=float(ci[column, 0]),
        ci_high=float(ci[column, 1]),
        p_value=float(result.pvalues[column]),
        n=int(result.nobs),
        df=float(result.df_resid_inference if cov == "cluster" else result.df_resid),
    )
