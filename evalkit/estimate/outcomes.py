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

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from evalkit.card import Outcome, PilotCard
from evalkit.errors import EstimationError
from evalkit.estimate._common import Errors, make_finding
from evalkit.estimate._few import (
    exact_p,
    few_events,
    few_events_note,
    honest_for,
    on_scale,
    score_bootstrapped,
    score_interval,
)
from evalkit.estimate._models import EstimationProblem, Model
from evalkit.estimate._ols import Coefficient, Covariance, fit_coefficient
from evalkit.estimate._ratios import (
    OVERDISPERSION_ALPHA,
    fit_ratio,
    glm_words,
    measure_overdispersion,
    p_text,
)
from evalkit.estimate.evidence import FEW_EVENTS
from evalkit.estimate.finding import Finding
from evalkit.estimate.inference import Honest
from evalkit.estimate.wording import describe_ratio
from evalkit.quality.disclosure import describe_count


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
    honest = None if cov is not None else honest_for(card, linear, coefficient)
    error_words = _linear_words(linear.errors, cov)
    if honest is not None:
        coefficient, error_words = honest.coefficient, honest.words
        notes = (*notes, honest.note)
        extra["inference"] = on_scale(honest.record, outcome)
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
    if outcome.type == "binary" and cov is None and few_events(ratio_model):
        extra["checks"] = {**extra.get("checks", {}), "few_events": True}
        if linear.table is not None:
            scored = score_interval(linear.table, linear.paired)
            coefficient = replace(
                coefficient, ci_low=scored.ci_low, ci_high=scored.ci_high, p_value=scored.p_value
            )
            extra["odds_ratio"] = {
                "estimate": scored.odds_ratio,
                "ci_low": scored.or_low,
                "ci_high": scored.or_high,
                "p_value": exact_p(linear.table, linear.paired),
            }
            method = (
                f"{design}, {scored.method} for the difference in shares (fewer than "
                f"{FEW_EVENTS} events or non-events in a group); odds ratio: {scored.or_method}"
            )
            notes = (
                *notes,
                few_events_note(card) + " so the interval is a score interval, which "
                "stays honest with few events.",
            )
            finding = make_finding(card, outcome, coefficient, method, notes)
            return finding.with_parts(**extra)
        notes = (
            *notes,
            few_events_note(card) + " so the interval may be narrower than it should be.",
        )
    if outcome.type == "binary":
        try:
            odds = fit_ratio(ratio_model, kind="odds", cov=cov)
        except EstimationProblem as problem:
            notes = (*notes, f"no odds ratio: {problem}")
        else:
            words = glm_words(ratio_model.errors, cov)
            if honest is not None:
                odds, words = score_bootstrapped(odds, ratio_model, "logit", honest)
            extra["odds_ratio"] = odds.as_dict()
            method += f"; odds ratio from a logit with the same terms, {words}"
    finding = make_finding(card, outcome, coefficient, method, notes)
    return finding.with_parts(**extra) if extra else finding


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
        f"Cameron-Trivedi overdispersion test p={p_text(dispersion.p_value)}"
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
    error_words = glm_words(model.errors, cov)
    if few_clusters is not None:
        ratio, error_words = score_bootstrapped(ratio, model, "poisson", few_clusters)
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


def _fit_linear(model: Model, cov: Covariance | None) -> Coefficient:
    return fit_coefficient(
        model.y,
        model.X,
        column=model.column,
        cov=cov or model.errors.cov,
        groups=model.errors.groups,
    )


def _linear_words(errors: Errors, cov: Covariance | None) -> str:
    if cov is None or cov == errors.cov:
        return errors.words
    return "classical standard errors" if cov == "nonrobust" else "robust (HC1) standard errors"
