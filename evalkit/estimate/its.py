"""Interrupted time series: segmented regression on one value per period.

The records are first averaged within each period (calendar months for a date
column; each distinct value for a numeric one, which should count periods
1, 2, 3, ...). An interrupted time series asks how the series of periods
moved, and the uncertainty that matters is how one period's value leans on
the last; fitting the records themselves would treat thousands of records as
independent evidence about a trend seen only T times. Each period counts once
(unweighted), and Newey-West standard errors absorb both uneven period sizes
and autocorrelation; their critical values come from a bootstrap of the t
statistic (see ``_its_interval``), because the usual t quantile gives intervals
that run narrow in series this short.

The model (Wagner et al. 2002, J Clin Pharm Ther 27, 299-309; Linden 2015,
Stata Journal 15, 480-500)::

    y_t = b0 + b1 t + b2 after_t + b3 (t - t_start) after_t [+ seasons + covariates] + e_t

``b2`` is the level change at the start (the headline) and ``b3`` the change in
slope per period. Seasonality adds month or quarter effects; covariates from
the card enter as their period means. With a comparison group (controlled
ITS) the model is fitted to the pilot-minus-comparison series, so b2 and b3
are the differences between the two groups' changes and shocks shared by both
cancel. Newey-West (HAC, Bartlett kernel) standard errors use ceil(1.3 sqrt(T))
lags (Lazarus et al. 2018); intervals are the estimate plus or minus a
bootstrap critical value times that standard error. The odds and rate ratios
of binary and count outcomes come from GLMs of the period totals with
Newey-West standard errors on the same lags, their t statistics calibrated
by the same bootstrap draws as the level change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.diagnostic import acorr_ljungbox

from evalkit.card import Outcome, PilotCard
from evalkit.errors import EstimationError
from evalkit.estimate._common import Errors, make_finding
from evalkit.estimate._its_interval import (
    BOOTSTRAP_DRAWS,
    Calibration,
    Draws,
    ErrorModel,
    calibrate,
    draw,
    fit_error_model,
    newey_west_lags,
    prediction_band,
)
from evalkit.estimate._its_series import MIN_PERIODS_EACH_SIDE as MIN_PERIODS_EACH_SIDE
from evalkit.estimate._its_series import Series as Series
from evalkit.estimate._its_series import period_numbers as period_numbers
from evalkit.estimate._its_series import period_series as period_series
from evalkit.estimate._models import EstimationProblem, Model, Ratio
from evalkit.estimate._ols import Coefficient
from evalkit.estimate._ratios import fit_ratio
from evalkit.estimate.evidence import ADVISED_PRE_PERIODS
from evalkit.estimate.finding import Finding
from evalkit.estimate.registry import Estimated

#: Fewer periods before the start than this are reported in ``checks`` (Penfold and Zhang
#: 2013, Academic Pediatrics 13(6 Suppl), S38-S44, suggest at least 8 on each side).
RECOMMENDED_PRE_PERIODS = ADVISED_PRE_PERIODS
#: Degrees of freedom left after the model's terms, at the least.
MIN_RESIDUAL_DF = 3

LEVEL, SLOPE = 2, 3  # columns of the level and slope changes in the design matrix


@dataclass(frozen=True)
class ItsChartData:
    """Observed values, fitted line and counterfactual with its 95% band, per period."""

    points: pd.DataFrame  # period, time, observed, fitted, counterfactual, cf_low, cf_high, after
    start_label: str
    series: str
    per: str
    level_change: float
    ci_low: float
    ci_high: float
    hidden_periods: int
    min_cell_count: int


@dataclass(frozen=True)
class _Fit:
    series: Series
    X: np.ndarray
    result: Any
    lags: int
    errors: ErrorModel
    draws: Draws
    calibration: Calibration  # for the level and slope changes, in that order


def estimate_its(
    card: PilotCard, frame: pd.DataFrame, outcome: Outcome, maxlags: int | None = None
) -> Finding:
    """Return the level change in one outcome at the start of the change (see its_finding)."""
    return its_finding(card, outcome, _fit_its(card, frame, outcome, maxlags))


def estimate_its_and_chart(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Estimated:
    """Return the ITS finding and what its chart draws, from one fit."""
    fit = _fit_its(card, frame, outcome, None)
    return Estimated(its_finding(card, outcome, fit), _chart_data(card, outcome, fit))


def its_finding(card: PilotCard, outcome: Outcome, fit: _Fit) -> Finding:
    """Return the level change in one outcome at the start of the change, from an ITS.

    The headline is the immediate level change against the projected earlier
    trend; the slope change is in ``slope_change`` and the design's checks
    (periods before and after, residual autocorrelation) in ``checks``.
    Binary outcomes add ``odds_ratio`` and counts ``rate_ratio`` for the level
    change, from a binomial or Poisson model of the period totals with the
    same terms and Newey-West errors. ``maxlags`` (to :func:`estimate_its`)
    overrides the lag rule.
    """
    series = fit.series
    level = _coefficient(fit, LEVEL, int(series.rows.sum()))
    slope = _coefficient(fit, SLOPE, int(series.rows.sum()))
    factor = 100.0 if outcome.type == "binary" else 1.0
    seasons = {"month": ["month effects"], "quarter": ["quarter effects"]}
    seasonality = card.data.time.seasonality if card.data.time is not None else None
    terms = [*seasons.get(seasonality or "", []), *card.data.covariates]
    adjusted = f", adjusted for {', '.join(terms)}" if terms else ""
    kind = "interrupted time series"
    if series.controlled:
        kind = "controlled interrupted time series (pilot minus comparison)"
    method = (
        f"{kind}, segmented regression on {len(series.value)} period means{adjusted}, "
        f"Newey-West standard errors ({fit.lags} lag{'s' if fit.lags > 1 else ''}) with "
        f"critical values from {BOOTSTRAP_DRAWS} bootstrap draws of a fitted error model; "
        "headline: level change at the start"
    )
    notes: list[str] = []
    after = int(series.after.sum())
    before = len(series.after) - after
    if before < RECOMMENDED_PRE_PERIODS:
        notes.append(
            f"only {before} periods before the start: the earlier trend is uncertain "
            f"(at least {RECOMMENDED_PRE_PERIODS} are recommended)"
        )
    if series.dropped:
        notes.append(f"{series.dropped} periods seen in only one group were left out")
    extra: dict[str, Any] = {
        "slope_change": {
            "estimate": slope.estimate * factor,
            "se": slope.se * factor,
            "ci_low": slope.ci_low * factor,
            "ci_high": slope.ci_high * factor,
            "p_value": slope.p_value,
            "per": series.per,
        },
        "checks": _checks(fit, before, after),
    }
    if not series.controlled and outcome.type in ("binary", "count"):
        try:
            key, ratio = _level_ratio(fit, outcome)
        except EstimationProblem as problem:
            notes.append(f"no ratio for the level change: {problem}")
        else:
            extra[key] = ratio.as_dict()
            model = "Poisson" if key == "rate_ratio" else "binomial"
            method += f"; {key.replace('_', ' ')} from a {model} model of the period totals"
    finding = make_finding(card, outcome, level, method, tuple(notes))
    return finding.with_parts(**extra)


def its_chart_data(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> ItsChartData:
    """Return what the ITS chart draws: observed, fitted and counterfactual values per period.

    This fits the series again; a report takes the chart data from
    :func:`estimate_its_and_chart` instead (one fit for finding and chart).

    The counterfactual is the fitted model with the level and slope changes set
    to zero (the earlier trend carried on, seasons and covariates kept); its
    band holds 95% of the counterfactual's bootstrap draws under the fitted error
    model (smooth, unlike per-point Newey-West errors). Periods with fewer records
    than ``min_cell_count`` keep their fitted values but their observed value is
    blanked.
    """
    return _chart_data(card, outcome, _fit_its(card, frame, outcome, None))


def _chart_data(card: PilotCard, outcome: Outcome, fit: _Fit) -> ItsChartData:
    series, result = fit.series, fit.result
    params = np.asarray(result.params)
    counterfactual_X = fit.X.copy()
    counterfactual_X[:, [LEVEL, SLOPE]] = 0.0
    counterfactual = counterfactual_X @ params
    half = prediction_band(fit.draws, counterfactual_X)
    factor = 100.0 if outcome.type == "binary" else 1.0
    hidden = ((series.rows > 0) & (series.rows < card.min_cell_count)).any(axis=1)
    observed = np.where(hidden, np.nan, series.value)
    points = pd.DataFrame(
        {
            "period": list(series.labels),
            "time": series.time,
            "observed": observed * factor,
            "fitted": (fit.X @ params) * factor,
            "counterfactual": counterfactual * factor,
            "cf_low": (counterfactual - half) * factor,
            "cf_high": (counterfactual + half) * factor,
            "after": series.after,
        }
    )
    level = _coefficient(fit, LEVEL, int(series.rows.sum()))
    return ItsChartData(
        points=points,
        start_label=series.start_label,
        series="pilot minus comparison" if series.controlled else "pilot",
        per=series.per,
        level_change=level.estimate * factor,
        ci_low=level.ci_low * factor,
        ci_high=level.ci_high * factor,
        hidden_periods=int(hidden.sum()),
        min_cell_count=card.min_cell_count,
    )


# --- fitting -------------------------------------------------------------------------------------


def _fit_its(card: PilotCard, frame: pd.DataFrame, outcome: Outcome, maxlags: int | None) -> _Fit:
    series = period_series(card, frame, outcome)
    after = int(series.after.sum())
    before = len(series.after) - after
    if before < MIN_PERIODS_EACH_SIDE or after < MIN_PERIODS_EACH_SIDE:
        raise EstimationError(
            f"'{outcome.column}' has {before} period(s) before the start "
            f"({series.start_label}) and {after} after; an interrupted time series needs "
            f"at least {MIN_PERIODS_EACH_SIDE} on each side",
            path=card.card_path,
            where="data.time",
            hint=f"collect at least {MIN_PERIODS_EACH_SIDE} periods on each side of the start "
            "(8 or more before is better), or use design pre_post",
        )
    X = _design(series)
    if not np.isfinite(X).all() or not np.isfinite(series.value).all():
        raise EstimationError(
            f"a covariate of '{outcome.column}' has no values in some periods",
            path=card.card_path,
            where="data.covariates",
            hint="record the covariates in every period, or leave them out of the card",
        )
    needed = X.shape[1] + MIN_RESIDUAL_DF
    if len(series.value) < needed:
        raise EstimationError(
            f"'{outcome.column}' has {len(series.value)} periods; this model has "
            f"{X.shape[1]} terms and needs at least {needed} periods",
            path=card.card_path,
            where="data.time",
            hint="collect more periods, or drop seasonality or covariates from the card",
        )
    lags = maxlags if maxlags is not None else newey_west_lags(len(series.value))
    result = OLS(series.value, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags}, use_t=True)
    errors = fit_error_model(series.value, X, series.time, series.sampling_var)
    contrasts = np.eye(X.shape[1])[[LEVEL, SLOPE]]
    observed_t = np.asarray(result.tvalues)[[LEVEL, SLOPE]]
    draws = draw(X, errors)
    calibration = calibrate(draws, contrasts, observed_t, lags)
    return _Fit(series, X, result, lags, errors, draws, calibration)


def _design(series: Series) -> np.ndarray:
    """Return [1, t, after, (t - start) after, season effects..., covariates...]."""
    after = series.after.astype("float64")
    columns = [
        np.ones(len(series.time)),
        series.time,
        after,
        (series.time - series.start_time) * after,
    ]
    if series.season is not None:
        dummies = pd.get_dummies(pd.Categorical(series.season), drop_first=True)
        columns += [dummies[c].to_numpy(dtype="float64") for c in dummies.columns]
    matrix = np.column_stack([*columns, series.covariates])
    return matrix


def _coefficient(fit: _Fit, column: int, n: int) -> Coefficient:
    """Return the level (or slope) change with its bootstrap-calibrated interval and p-value."""
    which = (LEVEL, SLOPE).index(column)
    estimate = float(fit.result.params[column])
    se = float(fit.result.bse[column])
    half = float(fit.calibration.critical[which]) * se
    return Coefficient(
        estimate=estimate,
        se=se,
        ci_low=estimate - half,
        ci_high=estimate + half,
        p_value=float(fit.calibration.p_value[which]),
        n=n,
        df=float(fit.result.df_resid),
    )


def _checks(fit: _Fit, before: int, after: int) -> dict[str, Any]:
    residuals = np.asarray(fit.result.resid)
    lag1 = float(np.corrcoef(residuals[:-1], residuals[1:])[0, 1]) if len(residuals) > 2 else 0.0
    ljung = acorr_ljungbox(residuals, lags=[fit.lags])
    return {
        "pre_periods": before,
        "post_periods": after,
        "periods": before + after,
        "few_pre_periods": before < RECOMMENDED_PRE_PERIODS,
        "hac_lags": fit.lags,
        "critical_value": float(fit.calibration.critical[0]),
        "bootstrap_draws": BOOTSTRAP_DRAWS,
        "drift_autocorrelation": fit.errors.rho,
        "sampling_share": fit.errors.sampling_share,
        "residual_autocorrelation": lag1,
        "ljung_box_p": float(ljung["lb_pvalue"].iloc[0]),
    }


def _level_ratio(fit: _Fit, outcome: Outcome) -> tuple[str, Ratio]:
    """Return the level change as a rate or odds ratio, from a model of the period totals."""
    series = fit.series
    if series.totals is None:
        raise EstimationProblem("the series has no period totals to fit a ratio to")
    total, count = series.totals[:, 0], series.totals[:, 1]
    errors = Errors("HC1", None, "")
    if outcome.type == "count":
        model = Model(total, fit.X, LEVEL, errors)
        key, ratio = (
            "rate_ratio",
            fit_ratio(model, kind="rate", offset=np.log(count), hac_lags=fit.lags),
        )
    else:
        model = Model(np.column_stack([total, count - total]), fit.X, LEVEL, errors)
        key, ratio = "odds_ratio", fit_ratio(model, kind="odds", hac_lags=fit.lags)
    # the GLM's Newey-West t is calibrated by the linear model's bootstrap draws
    observed_t = np.array([ratio.log_estimate / ratio.log_se])
    level = np.eye(fit.X.shape[1])[[LEVEL]]
    calibration = calibrate(fit.draws, level, observed_t, fit.lags)
    half = float(calibration.critical[0]) * ratio.log_se
    return key, replace(
        ratio,
        ci_low=math.exp(ratio.log_estimate - half),
        ci_high=math.exp(ratio.log_estimate + half),
        p_value=float(calibration.p_value[0]),
    )
