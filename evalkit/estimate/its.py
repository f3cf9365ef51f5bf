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
from evalkit.contract import as_key, pilot_mask
from evalkit.errors import EstimationError
from evalkit.estimate._common import Errors, make_finding, outcome_rows
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
from evalkit.estimate._ols import Coefficient
from evalkit.estimate.finding import Finding
from evalkit.estimate.outcomes import EstimationProblem, Model, Ratio, fit_ratio

#: At least this many periods on each side (Cochrane EPOC criteria for an ITS study).
MIN_PERIODS_EACH_SIDE = 3
#: Fewer periods before the start than this are reported in ``checks`` (Penfold and Zhang
#: 2013, Academic Pediatrics 13(6 Suppl), S38-S44, suggest at least 8 on each side).
RECOMMENDED_PRE_PERIODS = 8
#: Degrees of freedom left after the model's terms, at the least.
MIN_RESIDUAL_DF = 3

LEVEL, SLOPE = 2, 3  # columns of the level and slope changes in the design matrix


@dataclass(frozen=True)
class Series:
    """An outcome as one value per period: what the segmented regression is fitted to."""

    labels: tuple[str, ...]
    time: np.ndarray  # periods since the first (months for dates)
    value: np.ndarray  # mean per period (pilot, or pilot minus comparison)
    rows: np.ndarray  # records behind each value: one column a group (pilot, comparison)
    sampling_var: np.ndarray  # variance of each value as a mean of its records
    totals: np.ndarray | None  # pilot's sum and count per period, for the ratio models
    after: np.ndarray
    start_time: float
    start_label: str
    season: np.ndarray | None
    covariates: np.ndarray
    per: str
    controlled: bool
    dropped: int  # periods seen in only one group (controlled ITS)


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
    """Return the level change in one outcome at the start of the change, from an ITS.

    The headline is the immediate level change against the projected earlier
    trend; the slope change is in ``slope_change`` and the design's checks
    (periods before and after, residual autocorrelation) in ``checks``.
    Binary outcomes add ``odds_ratio`` and counts ``rate_ratio`` for the level
    change, from a binomial or Poisson model of the period totals with the
    same terms and Newey-West errors. ``maxlags`` overrides the lag rule.
    """
    fit = _fit_its(card, frame, outcome, maxlags)
    series = fit.series
    level = _coefficient(fit, LEVEL, int(series.rows.sum()))
    slope = _coefficient(fit, SLOPE, int(series.rows.sum()))
    factor = 100.0 if outcome.type == "binary" else 1.0
    seasons = {"month": ["month effects"], "quarter": ["quarter effects"]}
    assert card.data.time is not None  # period_series has checked
    terms = [*seasons.get(card.data.time.seasonality, []), *card.data.covariates]
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
    return finding.model_copy(update=extra)


def its_chart_data(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> ItsChartData:
    """Return what the ITS chart draws: observed, fitted and counterfactual values per period.

    The counterfactual is the fitted model with the level and slope changes set
    to zero (the earlier trend carried on, seasons and covariates kept); its
    band holds 95% of the counterfactual's bootstrap draws under the fitted error
    model (smooth, unlike per-point Newey-West errors). Periods with fewer records
    than ``min_cell_count`` keep their fitted values but their observed value is
    blanked.
    """
    fit = _fit_its(card, frame, outcome, None)
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


def period_numbers(column: pd.Series) -> np.ndarray:
    """Return each record's period: a calendar month number for dates, else the value itself."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        months = column.dt.to_period("M")
        numbers: np.ndarray = (months.dt.year * 12 + months.dt.month).to_numpy(dtype="float64")
        return numbers
    return column.to_numpy(dtype="float64")


def period_series(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Series:
    """Return the outcome as one mean per period (pilot minus comparison when there are groups)."""
    time_role = card.data.time
    if time_role is None or time_role.start is None:
        raise EstimationError(
            "an interrupted time series needs data.time with `start`",
            path=card.card_path,
            where="data.time",
            hint="add start: with the first period of the change, e.g. start: 2025-04",
        )
    rows = outcome_rows(frame, outcome)
    column = rows[time_role.column]
    index = period_numbers(column)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        try:
            start_month = pd.Timestamp(as_key(time_role.start)).to_period("M")
        except ValueError:
            raise _start_error(card, time_role.start, "a date such as 2025-04") from None
        start = float(start_month.year * 12 + start_month.month)
        per = "month"

        def label(value: float) -> str:
            year, month = divmod(int(value) - 1, 12)
            return f"{year:04d}-{month + 1:02d}"

    else:
        try:
            start = float(time_role.start)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _start_error(card, time_role.start, "a number like the time column's") from None
        per = "period"

        def label(value: float) -> str:
            return as_key(value)

    columns = [outcome.column, *card.data.covariates]
    values = rows[columns].astype("float64").assign(_period=index)
    if card.data.group is None:
        pilot, comparison = values, None
    else:
        in_pilot = pilot_mask(card, rows)
        pilot, comparison = values[in_pilot], values[~in_pilot]
    means = pilot.groupby("_period")[columns].mean()
    counts = pilot.groupby("_period")[outcome.column].agg(["sum", "count"])
    group_rows = counts[["count"]]
    sampling_var = _sampling_variance(pilot, outcome.column)
    dropped = 0
    if comparison is not None:
        other = comparison.groupby("_period")[columns].mean()
        other_counts = comparison.groupby("_period")[outcome.column].count()
        shared = means.index.intersection(other.index)
        dropped = len(means.index.union(other.index)) - len(shared)
        means = means.loc[shared] - other.loc[shared]
        group_rows = pd.concat([counts["count"], other_counts], axis=1).loc[shared]
        sampling_var = (sampling_var + _sampling_variance(comparison, outcome.column)).loc[shared]
    periods = means.index.to_numpy(dtype="float64")
    time = periods - periods[0] if len(periods) else periods
    season = _seasons(time_role.seasonality, periods, per)
    return Series(
        labels=tuple(label(p) for p in periods),
        time=time,
        value=means[outcome.column].to_numpy(dtype="float64"),
        rows=group_rows.to_numpy(dtype="float64"),
        sampling_var=sampling_var.to_numpy(dtype="float64"),
        totals=None if comparison is not None else counts.to_numpy(dtype="float64"),
        after=periods >= start,
        start_time=(start - periods[0]) if len(periods) else 0.0,
        start_label=label(start),
        season=season,
        covariates=means[list(card.data.covariates)].to_numpy(dtype="float64"),
        per=per,
        controlled=comparison is not None,
        dropped=dropped,
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


def _sampling_variance(values: pd.DataFrame, column: str) -> pd.Series:
    """Return each period's variance of the mean of its records (pooled where one record)."""
    grouped = values.groupby("_period")[column]
    count = grouped.count()
    variance = grouped.var(ddof=1)
    several = count > 1
    if not several.any():
        return pd.Series(0.0, index=count.index)  # one record a period: no sampling error
    pooled = float(((count[several] - 1) * variance[several]).sum() / (count[several] - 1).sum())
    variance = variance.where(several, pooled).fillna(pooled)
    result: pd.Series = variance / count
    return result


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


def _seasons(seasonality: str, periods: np.ndarray, per: str) -> np.ndarray | None:
    if seasonality == "none" or not len(periods):
        return None
    if per == "month":
        month: np.ndarray = (periods.astype(int) - 1) % 12
        return month if seasonality == "month" else month // 3
    # a numeric time column counts periods: seasons repeat every 12 (or 4) of them
    position: np.ndarray = (periods - periods[0]).astype(int)
    return position % (12 if seasonality == "month" else 4)


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
    assert series.totals is not None
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


def _start_error(card: PilotCard, start: object, expected: str) -> EstimationError:
    return EstimationError(
        f"data.time.start {start!r} does not match the time column",
        path=card.card_path,
        where="data.time.start",
        hint=f"give the start as {expected}",
    )
