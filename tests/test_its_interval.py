"""The bootstrap critical values behind the interrupted time series intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.regression.linear_model import OLS

from evalkit.estimate._its_interval import (
    ErrorModel,
    calibrate,
    contrast_hac_variance,
    draw,
    fit_error_model,
    newey_west_lags,
    prediction_band,
)


def segmented_design(periods: int, start: int) -> np.ndarray:
    t = np.arange(periods, dtype=float)
    after = (t >= start).astype(float)
    return np.column_stack([np.ones(periods), t, after, (t - start) * after])


def test_lag_rule_is_lazarus_lewis_stock_watson() -> None:
    # ceil(1.3 sqrt(T)): 60 periods -> 11 lags, 24 -> 7, 120 -> 15; never T or more
    assert [newey_west_lags(t) for t in (24, 48, 60, 120)] == [7, 10, 11, 15]
    assert newey_west_lags(2) == 1


def test_contrast_variance_is_statsmodels_newey_west() -> None:
    rng = np.random.default_rng(4)
    X = segmented_design(40, 25)
    y = X @ [10.0, -0.2, -3.0, 0.1] + rng.normal(0, 1, 40)
    fit = OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": 6})
    contrasts = np.vstack([np.eye(4), rng.normal(size=(3, 4))])
    weights = (contrasts @ np.linalg.solve(X.T @ X, X.T)).T
    ours = contrast_hac_variance(weights, np.asarray(fit.resid)[:, None], 6)[:, 0]
    theirs = np.einsum("ck,kl,cl->c", contrasts, np.asarray(fit.cov_params()), contrasts)
    assert ours == pytest.approx(theirs, rel=1e-10)


@pytest.mark.parametrize(("lags", "published"), [(50, 2.2612), (150, 2.8738)])
def test_critical_value_of_a_mean_is_kiefer_vogelsang(lags: int, published: float) -> None:
    """Kiefer and Vogelsang (2005), "A new asymptotic theory for heteroskedasticity-
    autocorrelation robust tests", Econometric Theory 21, 1130-1164: for the Bartlett
    kernel the fixed-b 97.5% quantile of the t statistic of a mean is
    1.9600 + 2.9694 b + 0.4160 b^2 - 0.5324 b^3, b = lags / T; at b = 0.1 that is
    2.2612 and at b = 0.3, 2.8738. The bootstrap of a mean of 500 independent
    values reproduces it (20,000 draws: Monte-Carlo error about 0.02)."""
    periods = 500
    X = np.ones((periods, 1))
    model = ErrorModel(1.0, 0.0, np.zeros(periods), np.arange(periods, dtype=float))
    found = calibrate(draw(X, model, draws=20_000), np.eye(1), np.zeros(1), lags)
    assert found.critical[0] == pytest.approx(published, abs=0.06)


def restricted_log_likelihood(
    y: np.ndarray, X: np.ndarray, variance: float, rho: float, sampling: np.ndarray
) -> float:
    """REML log-likelihood written out directly (Harville 1974), constants dropped."""
    t = np.arange(len(y), dtype=float)
    sigma = variance * rho ** np.abs(np.subtract.outer(t, t)) / (1 - rho**2) + np.diag(sampling)
    inverse = np.linalg.inv(sigma)
    information = X.T @ inverse @ X
    beta = np.linalg.solve(information, X.T @ inverse @ y)
    resid = y - X @ beta
    return -0.5 * (
        np.linalg.slogdet(sigma)[1]
        + np.linalg.slogdet(information)[1]
        + float(resid @ inverse @ resid)
    )


def simulate(rng: np.random.Generator, periods: int, rho: float) -> tuple[np.ndarray, ...]:
    X = segmented_design(periods, periods // 2)
    drift = np.empty(periods)
    drift[0] = rng.normal(0, 1 / math.sqrt(1 - rho**2))
    for i in range(1, periods):
        drift[i] = rho * drift[i - 1] + rng.normal()
    sampling = rng.uniform(0.2, 0.8, periods)
    y = X @ [5.0, 0.1, -2.0, 0.05] + drift + rng.normal(0, np.sqrt(sampling))
    return y, X, sampling


def test_error_model_maximises_the_restricted_likelihood() -> None:
    y, X, sampling = simulate(np.random.default_rng(5), 60, 0.4)
    model = fit_error_model(y, X, np.arange(60, dtype=float), sampling)
    best = restricted_log_likelihood(y, X, model.process_sd**2, model.rho, sampling)
    for variance in model.process_sd**2 * np.array([0.8, 0.9, 1.1, 1.25]):
        for rho in (model.rho - 0.05, model.rho, model.rho + 0.05):
            assert restricted_log_likelihood(y, X, variance, rho, sampling) <= best + 1e-6


def test_error_model_recovers_drift_and_autocorrelation_in_a_long_series() -> None:
    y, X, sampling = simulate(np.random.default_rng(6), 800, 0.5)
    model = fit_error_model(y, X, np.arange(800, dtype=float), sampling)
    assert model.rho == pytest.approx(0.5, abs=0.08)
    assert model.process_sd == pytest.approx(1.0, abs=0.12)
    assert 0.2 < model.sampling_share < 0.4  # 0.5 / (1 / 0.75 + 0.5) = 0.27


def test_calibration_is_seeded_and_its_p_value_agrees_with_the_interval() -> None:
    y, X, sampling = simulate(np.random.default_rng(7), 48, 0.3)
    model = fit_error_model(y, X, np.arange(48, dtype=float), sampling)
    fit = OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": newey_west_lags(48)})
    contrasts = np.eye(4)
    t = np.asarray(fit.tvalues)
    first = calibrate(draw(X, model), contrasts, t, newey_west_lags(48))
    second = calibrate(draw(X, model), contrasts, t, newey_west_lags(48))
    assert np.array_equal(first.critical, second.critical)
    assert np.array_equal(first.p_value, second.p_value)
    # a coefficient is outside its 95% interval's zero exactly when p < 0.05 (to one draw)
    for column in range(4):
        outside = abs(t[column]) > first.critical[column]
        assert outside == (first.p_value[column] <= 0.05 + 1 / 1000)


def test_prediction_band_is_the_exact_band_when_errors_are_independent() -> None:
    """With independent errors of known sd, the 95% band of a prediction x'b is
    1.96 sd sqrt(x'(X'X)^-1 x); 999 draws find it to within Monte-Carlo error."""
    periods = 40
    X = segmented_design(periods, 25)
    model = ErrorModel(2.0, 0.0, np.zeros(periods), np.arange(periods, dtype=float))
    rows = X.copy()
    rows[:, 2:] = 0.0  # the counterfactual: the earlier trend carried on
    exact = 1.96 * 2.0 * np.sqrt(np.einsum("ij,jk,ik->i", rows, np.linalg.inv(X.T @ X), rows))
    assert prediction_band(draw(X, model), rows) == pytest.approx(exact, rel=0.08)
