"""Outcome types: one Finding on the scale that suits a continuous, binary or count outcome.

Each design builds its regressors and chooses its standard errors; this module
turns them into a Finding:

- ``continuous``: the OLS coefficient (a difference in means).
- ``binary``: the OLS coefficient in percentage points stays the headline (a
  risk difference from a linear probability model, robust standard errors);
  an odds ratio from a logit with the same terms and the same kind of
  standard errors is added as ``odds_ratio``.
- ``count``: the headline is a rate ratio from Poisson regression, or from
  negative binomial (NB2) regression when the Cameron and Trivedi (1990) test
  finds overdispersion at the 5% level. Either way the standard errors are
  sandwich (HC0) or cluster-robust, so the interval does not lean on the
  variance model. The OLS difference in mean counts is kept as
  ``mean_difference``, and ``log_estimate``/``log_se`` carry the log rate
  ratio for pooling.

Ratio intervals are Wald intervals on the log scale, exponentiated: normal
quantiles, or t with clusters - 1 degrees of freedom when cluster-robust (as
the OLS fits do). Cameron, A.C. and Trivedi, P.K. (1990) "Regression-based
tests for overdispersion in the Poisson model", Journal of Econometrics 46,
347-364.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS

from evalkit.card import Outcome, PilotCard
from evalkit.errors import EstimationError
from evalkit.estimate._common import Errors, make_finding
from evalkit.estimate._ols import Coefficient, Covariance, fit_coefficient
from evalkit.estimate._proportions import (
    TwoProportions,
    compare_paired_proportions,
    compare_proportions,
)
from evalkit.estimate._score_boot import Family, score_bootstrap
from evalkit.estimate.evidence import FEW_EVENTS
from evalkit.estimate.finding import Finding
from evalkit.estimate.inference import DRAWS, SEED, Honest, honest_interval, read_structure
from evalkit.estimate.wording import describe_ratio
from evalkit.quality.disclosure import describe_count

#: The scales whose "no change" is 1, not 0.
RATIO_SCALES = frozenset({"rate ratio", "odds ratio"})
#: Negative binomial replaces Poisson when the overdispersion test rejects at this level.
OVERDISPERSION_ALPHA = 0.05

RatioKind = Literal["rate", "odds"]


@dataclass(frozen=True)
class Model:
    """One regression to fit: outcome, regressors, the column of interest and its errors."""

    y: np.ndarray
    X: np.ndarray
    column: int
    errors: Errors
    words: str = "OLS"
    #: The rows in the pilot, and how each regressor depends on that (X = base + pilot x
    #: pilot_columns), so a placebo pilot's regressors can be built; see ``inference``.
    pilot: np.ndarray | None = None
    pilot_columns: np.ndarray | None = None
    #: For a yes/no outcome compared in a plain two-group (or paired) table: its counts,
    #: (events, n) in the changed group then the other, or paired (both, first only,
    #: second only, neither); a score interval replaces the linear one when events are few.
    table: tuple[int, int, int, int] | None = None
    paired: bool = False


@dataclass(frozen=True)
class Ratio:
    """A rate or odds ratio with its 95% CI, Wald p-value and the log-scale estimate."""

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    log_estimate: float
    log_se: float
    n: int
    model: str

    def as_dict(self) -> dict[str, float]:
        """Return the ratio as the plain numbers a Finding carries."""
        return {
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
        }


@dataclass(frozen=True)
class Overdispersion:
    """The Cameron-Trivedi test of Poisson variance against NB2 (one-sided)."""

    alpha: float
    statistic: float
    p_value: float


class EstimationProblem(Exception):
    """A ratio model could not be estimated on these data (said in plain words)."""


def estimate_outcome(
    card: PilotCard,
    outcome: Outcome,
    linear: Model,
    *,
    design: str,
    adjusted: str = "",
    cov: Covariance | None = None,
    ratio: Model | None = None,
    notes: tuple[str, ...] = (),
    extras: Mapping[str, Any] | None = None,
) -> Finding:
    """Return the finding for one outcome on the scale its type calls for.

    ``linear`` is the model whose coefficient is the difference (the headline
    for continuous and binary outcomes); ``ratio`` the same comparison for the
    logit or Poisson fit when it needs other rows (a paired design fits its
    ratio on each unit's values, not on their differences). ``cov`` overrides
    the standard errors, as for checking a textbook's classical errors.
    """
    linear, dropped = _complete_cases(linear)
    ratio_model, _ = _complete_cases(ratio or linear)
    if dropped:
        how_many = describe_count(dropped, card.min_cell_count)
        notes = (*notes, f"{how_many} records without a value for every covariate were left out")
    extra: dict[str, Any] = dict(extras or {})
    coefficient = _fit_linear(linear, cov)
    honest = None if cov is not None else _honest(card, linear, coefficient)
    error_words = _linear_words(linear.errors, cov)
    if honest is not None:
        coefficient, error_words = honest.coefficient, honest.words
        notes = (*notes, honest.note)
        extra["inference"] = _on_scale(honest.record, outcome)
    if outcome.type == "count":
        return _count_finding(
            card,
            outcome,
            coefficient,
            ratio_model,
            design,
            adjusted,
            cov,
            notes,
            extra,
            few_clusters=honest,
        )
    method = f"{design}, {linear.words}{adjusted}, {error_words}"
    if outcome.type == "binary" and cov is None and _few_events(ratio_model):
        extra["checks"] = {**extra.get("checks", {}), "few_events": True}
        if linear.table is not None:
            scored = _score_interval(linear.table, linear.paired)
            coefficient = replace(
                coefficient, ci_low=scored.ci_low, ci_high=scored.ci_high, p_value=scored.p_value
            )
            extra["odds_ratio"] = {
                "estimate": scored.odds_ratio,
                "ci_low": scored.or_low,
                "ci_high": scored.or_high,
                "p_value": _exact_p(linear.table, linear.paired),
            }
            method = (
                f"{design}, {scored.method} for the difference in shares (fewer than "
                f"{FEW_EVENTS} events or non-events in a group); odds ratio: {scored.or_method}"
            )
            notes = (
                *notes,
                _few_events_note(card) + " so the interval is a score interval, which "
                "stays honest with few events.",
            )
            finding = make_finding(card, outcome, coefficient, method, notes)
            return finding.model_copy(update=extra)
        notes = (
            *notes,
            _few_events_note(card) + " so the interval may be narrower than it should be.",
        )
    if outcome.type == "binary":
        try:
            odds = fit_ratio(ratio_model, kind="odds", cov=cov)
        except EstimationProblem as problem:
            notes = (*notes, f"no odds ratio: {problem}")
        else:
            words = _glm_words(ratio_model.errors, cov)
            if honest is not None:
                odds, words = _score_bootstrapped(odds, ratio_model, "logit", honest)
            extra["odds_ratio"] = odds.as_dict()
            method += f"; odds ratio from a logit with the same terms, {words}"
    finding = make_finding(card, outcome, coefficient, method, notes)
    return finding.model_copy(update=extra) if extra else finding


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
    if _separated(model, kind):
        raise EstimationProblem(
            "the outcome is always or never present in one group, so a ratio cannot be estimated"
            if kind == "odds"
            else "one group has no events at all, so a ratio cannot be estimated"
        )
    cov_type, cov_kwds, use_t = _glm_covariance(model.errors, cov, hac_lags)
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


def is_ratio_scale(scale: str) -> bool:
    """Return True when a finding's "no change" is a ratio of 1 rather than a difference of 0."""
    return scale in RATIO_SCALES


# --- count outcomes -------------------------------------------------------------------------------


def _count_finding(
    card: PilotCard,
    outcome: Outcome,
    difference: Coefficient,
    model: Model,
    design: str,
    adjusted: str,
    cov: Covariance | None,
    notes: tuple[str, ...],
    extra: dict[str, Any],
    *,
    few_clusters: Honest | None = None,
) -> Finding:
    dispersion = measure_overdispersion(model.y, model.X)
    overdispersed = dispersion.p_value < OVERDISPERSION_ALPHA
    test_words = (
        f"Cameron-Trivedi overdispersion test p={_p_text(dispersion.p_value)}"
        f"{', so negative binomial' if overdispersed else ''}"
    )
    try:
        try:
            ratio = fit_ratio(model, kind="rate", cov=cov, negative_binomial=overdispersed)
        except EstimationProblem:
            if not overdispersed:
                raise
            # NB2 can fail to converge on awkward data; Poisson with sandwich errors stays valid
            ratio = fit_ratio(model, kind="rate", cov=cov)
            notes = (*notes, "negative binomial did not converge; Poisson with robust errors used")
    except EstimationProblem as problem:
        raise EstimationError(
            f"'{outcome.column}': {problem}",
            path=card.card_path,
            where="outcomes",
            hint="a count outcome needs events in each group compared; "
            "check the data, or describe this outcome as continuous",
        ) from None
    error_words = _glm_words(model.errors, cov)
    if few_clusters is not None:
        ratio, error_words = _score_bootstrapped(ratio, model, "poisson", few_clusters)
    method = f"{design}, {ratio.model} rate ratio{adjusted}, {error_words}; {test_words}"
    summary = describe_ratio(
        label=outcome.name,
        design=card.design,
        estimate=ratio.estimate,
        ci_low=ratio.ci_low,
        ci_high=ratio.ci_high,
        better=outcome.better,
    )
    extra["mean_difference"] = {
        "estimate": difference.estimate,
        "se": difference.se,
        "ci_low": difference.ci_low,
        "ci_high": difference.ci_high,
        "p_value": difference.p_value,
        "unit": outcome.unit,
    }
    extra["overdispersion"] = {"statistic": dispersion.statistic, "p_value": dispersion.p_value}
    return Finding(
        outcome=outcome.measure_id,
        label=outcome.name,
        # the delta-method se keeps estimate and se on one scale; pool on log_estimate/log_se
        estimate=ratio.estimate,
        se=ratio.estimate * ratio.log_se,
        ci_low=ratio.ci_low,
        ci_high=ratio.ci_high,
        p_value=ratio.p_value,
        # records (or, when paired, units) compared: the same n as the difference
        n=difference.n,
        method=method,
        better=outcome.better,
        summary=summary,
        scale="rate ratio",
        unit="",
        notes=notes,
        log_estimate=ratio.log_estimate,
        log_se=ratio.log_se,
        **extra,
    )


# --- shared helpers -------------------------------------------------------------------------------


def _complete_cases(model: Model) -> tuple[Model, int]:
    """Return the model without rows missing the outcome or a regressor, and how many went."""
    keep = np.isfinite(model.y) & np.isfinite(model.X).all(axis=1)
    dropped = int((~keep).sum())
    if not dropped:
        return model, 0
    groups = model.errors.groups[keep] if model.errors.groups is not None else None
    pilot = model.pilot[keep] if model.pilot is not None else None
    columns = model.pilot_columns[keep] if model.pilot_columns is not None else None
    kept = replace(
        model,
        y=model.y[keep],
        X=model.X[keep],
        errors=replace(model.errors, groups=groups),
        pilot=pilot,
        pilot_columns=columns,
    )
    return kept, dropped


def _separated(model: Model, kind: RatioKind) -> bool:
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


def _few_events_note(card: PilotCard) -> str:
    # never a number below the pilot's own threshold beside "people"
    fewer = max(FEW_EVENTS, card.min_cell_count)
    return f"A group had fewer than {fewer} people with (or without) this outcome,"


def _exact_p(table: tuple[int, int, int, int], paired: bool) -> float:
    """Return the exact p-value of "no difference": Fisher's, or the binomial one when paired."""
    if paired:
        _, after_only, before_only, _ = table
        discordant = after_only + before_only
        return float(stats.binomtest(after_only, discordant).pvalue) if discordant else 1.0
    events_1, n_1, events_2, n_2 = table
    two_by_two = [[events_1, n_1 - events_1], [events_2, n_2 - events_2]]
    return float(stats.fisher_exact(two_by_two).pvalue)


def _on_scale(record: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
    """Return the inference record with its comparison numbers on the finding's scale."""
    scale = {"binary": 100.0}.get(outcome.type, 1.0)
    if scale == 1.0 and outcome.type != "count":
        return record
    shown = dict(record)
    for key in ("cluster_robust", "cr2_bell_mccaffrey"):
        if key in shown:
            numbers = dict(shown[key])
            for end in ("ci_low", "ci_high"):
                numbers[end] = numbers[end] * scale
            shown[key] = numbers
    shown["scale"] = (
        "percentage points" if outcome.type == "binary" else "difference in mean counts"
    )
    return shown


def _few_events(model: Model) -> bool:
    """Return True when a yes/no comparison has fewer than FEW_EVENTS events in a group."""
    if model.y.ndim != 1 or not np.isin(model.y, (0.0, 1.0)).all():
        return False
    indicator = model.X[:, model.column]
    if not np.isin(indicator, (0.0, 1.0)).all():
        return False
    for level in (0.0, 1.0):
        values = model.y[indicator == level]
        if values.size and min(values.sum(), values.size - values.sum()) < FEW_EVENTS:
            return True
    return False


def _score_interval(table: tuple[int, int, int, int], paired: bool) -> TwoProportions:
    """Return the score interval for a two-group (or paired) table."""
    if paired:
        return compare_paired_proportions(*table)
    return compare_proportions(*table)


def _score_bootstrapped(
    ratio: Ratio, model: Model, family: Family, honest: Honest
) -> tuple[Ratio, str]:
    """Return the ratio with the score bootstrap's p-value and interval, and words for them.

    Used when the clusters are too few for cluster-robust errors; a negative
    binomial fit is tested on its Poisson score, which its mean model shares.
    When the difference was judged by randomisation and no interval exists,
    the ratio has none either: the same places cannot bound one scale and
    not the other.
    """
    groups = model.errors.groups
    if groups is None:
        return ratio, _glm_words(model.errors, None)
    if honest.record.get("unbounded") and honest.method == "randomisation":
        open_ratio = replace(
            ratio, ci_low=0.0, ci_high=math.inf, p_value=honest.coefficient.p_value
        )
        return open_ratio, f"{honest.words}; no interval for the ratio either"
    test = score_bootstrap(
        model.y,
        model.X,
        model.column,
        groups,
        family,
        estimate=ratio.log_estimate,
        se=ratio.log_se,
        draws=DRAWS,
        seed=SEED,
    )
    draws = f"all {test.draws:,} sign patterns" if test.enumerated else f"{test.draws:,} draws"
    if test.enumerated and not model.errors.stated:
        draws = "every sign pattern"  # 2^G would give the number of clusters away
    words = (
        f"wild score bootstrap by {model.errors.name or 'cluster'} (Kline and Santos 2012; "
        f"{test.weights} weights, {draws})"
    )
    bootstrapped = replace(
        ratio,
        ci_low=math.exp(test.log_low),
        ci_high=math.exp(test.log_high),
        p_value=test.p_value,
    )
    return bootstrapped, words


def _honest(card: PilotCard, model: Model, usual: Coefficient) -> Honest | None:
    """Return the interval the clusters' structure calls for, or None if the usual one will do."""
    errors = model.errors
    if errors.cov != "cluster" or errors.groups is None:
        return None
    structure = read_structure(
        errors.groups,
        model.pilot,
        word=errors.name or "cluster",
        stated=errors.stated,
        min_count=card.min_cell_count,
    )
    return honest_interval(
        usual,
        model.y,
        model.X,
        model.column,
        errors.groups,
        structure,
        pilot=model.pilot,
        pilot_columns=model.pilot_columns,
    )


def _fit_linear(model: Model, cov: Covariance | None) -> Coefficient:
    return fit_coefficient(
        model.y,
        model.X,
        column=model.column,
        cov=cov or model.errors.cov,
        groups=model.errors.groups,
    )


def _glm_covariance(
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


def _linear_words(errors: Errors, cov: Covariance | None) -> str:
    if cov is None or cov == errors.cov:
        return errors.words
    return "classical standard errors" if cov == "nonrobust" else "robust (HC1) standard errors"


def _glm_words(errors: Errors, cov: Covariance | None) -> str:
    chosen = cov or errors.cov
    if chosen == "nonrobust":
        return "model-based standard errors"
    if chosen == "cluster":
        return errors.words
    return "robust (HC0 sandwich) standard errors"


def _p_text(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.2f}" if p >= 0.01 else f"{p:.3f}"
