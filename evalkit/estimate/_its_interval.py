"""Honest intervals for an interrupted time series: bootstrap critical values for Newey-West t.

With the few dozen periods a local pilot has, a Newey-West t statistic is not
close to normal: the long-run variance is estimated from the same short series,
the points beside the start have high leverage, and period means rest on
uneven numbers of records. Compared with the usual t quantile its 95% intervals
covered the truth only about 87% of the time at 60 monthly points.

So the standard error stays Newey-West, with the larger bandwidth that
Lazarus, Lewis, Stock and Watson (2018, "HAR inference: recommendations for
practice", JBES 36(4), 541-559) recommend, ceil(1.3 sqrt(T)) lags, and the
critical value comes from a parametric bootstrap of the t statistic itself
(a bootstrap-t; Goncalves and Vogelsang 2011, Econometric Theory 27, 745-791,
show that bootstrapping the HAC t statistic captures its small-sample
distribution). The bootstrap's errors follow a model fitted to the residuals
by REML: each period's value is the period's true level, which drifts as an
AR(1) process (``process_sd``, ``rho``; gaps between periods respected), plus
the sampling error of a mean of that period's records, whose variance is known
from the records themselves (within-period variance / count). With one record a
period that part is zero and the model is a plain AR(1).

In simulations (tests/test_its.py) the intervals cover the truth 93-97% of
the time at 24-120 monthly points, where the usual t quantile gave 87% at 60.
Draws are seeded, so the same data always gives the same interval; one set of
draws (``Draws``) serves every interval and band of a fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, stats

#: Bootstrap draws of the t statistic: the t statistic is heavy-tailed in short series, and
#: with 9,999 draws its 95% quantile is found to about +-0.05 (999 left +-0.2).
BOOTSTRAP_DRAWS = 9999
#: Seed of the draws: the same data gives the same interval every run.
SEED = 20181
#: Contrasts handled at once when many are calibrated, to bound memory.
_CHUNK = 16


def newey_west_lags(periods: int) -> int:
    """Return ceil(1.3 sqrt(T)) lags (Lazarus et al. 2018), at most T - 1."""
    return max(1, min(periods - 1, math.ceil(1.3 * math.sqrt(periods))))


@dataclass(frozen=True)
class ErrorModel:
    """The fitted errors: AR(1) drift of the period's level plus known sampling error."""

    process_sd: float  # innovation sd of the AR(1) drift
    rho: float
    sampling_var: np.ndarray  # per period, from the records
    time: np.ndarray  # periods since the first (gaps kept)

    def covariance(self) -> np.ndarray:
        return _covariance(self.process_sd**2, self.rho, self.time, self.sampling_var)

    @property
    def sampling_share(self) -> float:
        """Share of the average error variance that is sampling error of the period means."""
        drift = self.process_sd**2 / (1 - self.rho**2)
        sampling = float(np.mean(self.sampling_var))
        total = drift + sampling
        return sampling / total if total > 0 else 0.0


@dataclass(frozen=True)
class Draws:
    """Seeded error draws from a model, each refitted by OLS: what every calibration reads."""

    projector: np.ndarray  # (X'X)^-1 X'
    shifts: np.ndarray  # b* - b, one column a draw
    resid: np.ndarray  # the draws' OLS residuals, one column a draw


@dataclass(frozen=True)
class Calibration:
    """Bootstrap critical values (|t| at 95%) and p-values, one per contrast."""

    critical: np.ndarray
    p_value: np.ndarray


def _covariance(
    drift_var: float, rho: float, time: np.ndarray, sampling_var: np.ndarray
) -> np.ndarray:
    lag = np.abs(np.subtract.outer(time, time))
    covariance: np.ndarray = drift_var * np.power(rho, lag) / (1 - rho**2) + np.diag(sampling_var)
    return covariance


def _negative_reml(
    params: np.ndarray, y: np.ndarray, X: np.ndarray, time: np.ndarray, sampling_var: np.ndarray
) -> float:
    """Return minus the restricted log-likelihood (Harville 1974), constants dropped."""
    covariance = _covariance(math.exp(params[0]), math.tanh(params[1]), time, sampling_var)
    try:
        root = np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        return 1e300
    Xw = linalg.solve_triangular(root, X, lower=True)
    yw = linalg.solve_triangular(root, y, lower=True)
    information = Xw.T @ Xw
    beta = np.linalg.solve(information, Xw.T @ yw)
    resid = yw - Xw @ beta
    log_det = 2.0 * float(np.log(np.diag(root)).sum())
    return 0.5 * (log_det + float(np.linalg.slogdet(information)[1]) + float(resid @ resid))


def fit_error_model(
    y: np.ndarray, X: np.ndarray, time: np.ndarray, sampling_var: np.ndarray
) -> ErrorModel:
    """Return the error model that maximises the REML likelihood of the segmented regression."""
    periods, terms = X.shape
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    residual_var = max(float(resid @ resid) / (periods - terms), 1e-12)
    start_var = max(residual_var - float(np.mean(sampling_var)), 1e-3 * residual_var)
    low, high = math.log(residual_var) - 25.0, math.log(residual_var) + 5.0
    starts = (
        optimize.minimize(
            _negative_reml,
            x0=[math.log(start_var), math.atanh(rho)],
            args=(y, X, time, sampling_var),
            method="L-BFGS-B",
            bounds=[(low, high), (-2.0, 2.0)],  # |rho| up to tanh(2) = 0.96
        )
        for rho in (0.0, 0.5)
    )
    best = min(starts, key=lambda found: found.fun)  # the first start wins a tie
    return ErrorModel(
        process_sd=math.sqrt(math.exp(best.x[0])),
        rho=math.tanh(best.x[1]),
        sampling_var=sampling_var,
        time=time,
    )


def contrast_hac_variance(weights: np.ndarray, resid: np.ndarray, lags: int) -> np.ndarray:
    """Return Newey-West variances of contrasts, as statsmodels' HAC (Bartlett, no correction).

    For a contrast c of OLS coefficients, c' (X'X)^-1 Omega (X'X)^-1 c is the
    Bartlett long-run variance of the series a_t e_t, where a = X (X'X)^-1 c is
    ``weights`` (T x C) and e the residuals (T x B); the result is C x B.
    """
    scores = weights[:, :, None] * resid[:, None, :]
    variance: np.ndarray = np.einsum("tcb,tcb->cb", scores, scores)
    for lag in range(1, lags + 1):
        weight = 1.0 - lag / (lags + 1.0)
        variance += 2.0 * weight * np.einsum("tcb,tcb->cb", scores[lag:], scores[:-lag])
    return variance


def draw(X: np.ndarray, model: ErrorModel, draws: int = BOOTSTRAP_DRAWS) -> Draws:
    """Return seeded draws of the errors from ``model``, refitted by OLS on ``X``."""
    rng = np.random.default_rng(SEED)
    root = np.linalg.cholesky(model.covariance())
    errors = root @ rng.standard_normal((X.shape[0], draws))
    projector = np.linalg.solve(X.T @ X, X.T)
    shifts = projector @ errors
    return Draws(projector=projector, shifts=shifts, resid=errors - X @ shifts)


def calibrate(
    draws: Draws, contrasts: np.ndarray, observed_t: np.ndarray, lags: int
) -> Calibration:
    """Return bootstrap critical values and p-values of Newey-West t for each contrast (row).

    Each draw's t statistic (its estimate minus the model's value, over its
    own Newey-West standard error) is recorded. The critical value is the 95%
    quantile of |t*| and the p-value (1 + #{|t*| >= |t|}) / (draws + 1).
    """
    projector, shifts, resid = draws.projector, draws.shifts, draws.resid
    critical = np.empty(len(contrasts))
    p_value = np.empty(len(contrasts))
    for first in range(0, len(contrasts), _CHUNK):
        block = contrasts[first : first + _CHUNK]
        weights = (block @ projector).T  # T x C
        variance = contrast_hac_variance(weights, resid, lags)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = np.abs(block @ shifts) / np.sqrt(variance)
        t_star = np.where(np.isfinite(t_star), t_star, 0.0)
        chunk = slice(first, first + len(block))
        critical[chunk] = np.quantile(t_star, 0.95, axis=1)
        exceed = (t_star >= np.abs(observed_t[chunk])[:, None]).sum(axis=1)
        p_value[chunk] = (1.0 + exceed) / (shifts.shape[1] + 1.0)
    return Calibration(critical=critical, p_value=p_value)


def prediction_band(draws: Draws, rows: np.ndarray) -> np.ndarray:
    """Return the half-width of a 95% band for each row's prediction (rows @ coefficients).

    The band is the 95% quantile of |rows @ (b* - b)| over the bootstrap draws:
    how far the fitted line moves when the period values are redrawn from the
    error model. It depends only on the design and the error model, so it is
    smooth where a per-point Newey-West standard error would be erratic.
    """
    band: np.ndarray = np.quantile(np.abs(rows @ draws.shifts), 0.95, axis=1)
    return band


def planned_critical(X: np.ndarray, column: int, alpha: float, power: float, df: float) -> float:
    """Return the critical value that makes Bloom's MDE formula fit the calibrated ITS test.

    For a planned series with independent periods (unit variance), the test
    rejects when |t| exceeds the bootstrap critical value of the Newey-West t;
    its power at a level change d is the share of draws with
    |d + shift| > critical x Newey-West se. The d with the wanted power, in
    OLS standard errors, is Bloom's multiplier; less the t quantile of the
    power it is the critical value that formula needs.
    """
    periods = X.shape[0]
    model = ErrorModel(1.0, 0.0, np.zeros(periods), np.arange(periods, dtype=float))
    lags = newey_west_lags(periods)
    draws = draw(X, model)
    shift = draws.shifts[column]
    weights = draws.projector[column][:, None]
    se = np.sqrt(contrast_hac_variance(weights, draws.resid, lags)[0])
    critical = float(np.quantile(np.abs(shift) / se, 1.0 - alpha))
    low, high = 0.0, 1.0
    while np.mean(np.abs(high + shift) > critical * se) < power and high < 1e6:
        high *= 2.0
    for _ in range(60):  # bisection on the change, in the errors' sd
        middle = (low + high) / 2.0
        if np.mean(np.abs(middle + shift) > critical * se) < power:
            low = middle
        else:
            high = middle
    ols_se = math.sqrt(float(np.linalg.inv(X.T @ X)[column, column]))
    quantile = stats.norm.ppf(power) if math.isinf(df) else stats.t.ppf(power, df)
    return high / ols_se - float(quantile)
