"""Two-by-two difference-in-differences: pilot vs comparison, before vs after."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.contract import pilot_mask, post_mask
from evalkit.errors import EstimationError
from evalkit.estimate._common import Errors, choose_errors, covariate_matrix, outcome_rows
from evalkit.estimate._models import Model
from evalkit.estimate._ols import Covariance, fit_coefficient
from evalkit.estimate.finding import Checks, Finding
from evalkit.estimate.outcomes import estimate_outcome
from evalkit.estimate.panel import estimate_panel
from evalkit.estimate.registry import Estimated

#: Periods before the change each group must be seen in to test for parallel paths (a slope
#: needs three points).
MIN_TEST_PERIODS = 3
#: Fewer clusters than this and cluster-robust errors cannot be trusted for a slope test
#: (the estimate itself then uses evalkit.estimate.inference's few-cluster methods).
MIN_TEST_CLUSTERS = 30


def did_design(card: PilotCard, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the columns [1, pilot, after, pilot x after, covariates...] and the pilot mask."""
    pilot = pilot_mask(card, frame).astype("float64")
    after = post_mask(card, frame).astype("float64")
    X = np.column_stack(
        [np.ones(len(frame)), pilot, after, pilot * after, covariate_matrix(card, frame)]
    )
    return X, pilot


def estimate_did_outcome(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Estimated:
    """Return one outcome's difference-in-differences finding, with its event study over many
    periods (drawn in the report)."""
    if card.data.period is None and card.data.time is not None:
        return Estimated(*estimate_panel(card, frame, outcome))
    return Estimated(estimate_did(card, frame, outcome))


def estimate_did(
    card: PilotCard, frame: pd.DataFrame, outcome: Outcome, cov: Covariance | None = None
) -> Finding:
    """Return the difference-in-differences estimate for one outcome.

    With a time column and no 2x2 period, the panel estimator runs instead
    (:func:`evalkit.estimate.panel.estimate_panel_did`). Otherwise the
    estimate is the pilot group's before/after change minus the comparison
    group's, from OLS of the outcome on pilot, after and their product (plus
    the card's covariates). ``cov`` overrides the choice of standard errors.
    Binary outcomes add an odds ratio; for counts the headline is the ratio of
    the two groups' before/after rate ratios, from Poisson or negative
    binomial regression with the same terms (see :mod:`evalkit.estimate.outcomes`).
    """
    if card.data.period is None and card.data.time is not None:
        # many periods (or staggered starts): two-way fixed effects or Callaway-Sant'Anna
        return estimate_did_outcome(card, frame, outcome).finding
    rows = outcome_rows(frame, outcome)
    X, _ = did_design(card, rows)
    cells = np.bincount((2 * X[:, 1] + X[:, 2]).astype(np.int64), minlength=4)
    if (cells == 0).any():
        raise EstimationError(
            f"'{outcome.column}' is not recorded in all four groups "
            "(pilot/comparison x before/after)",
            path=card.card_path,
            where="data",
            hint="difference-in-differences needs outcomes for both groups in both periods",
        )
    errors = choose_errors(card, rows)
    y = rows[outcome.column].to_numpy(dtype="float64")
    by_pilot = np.zeros_like(X)
    by_pilot[:, 1], by_pilot[:, 3] = 1.0, X[:, 2]  # pilot, and pilot x after
    adjusted = f", adjusted for {', '.join(card.data.covariates)}" if card.data.covariates else ""
    finding = estimate_outcome(
        card,
        outcome,
        Model(y, X, 3, errors, pilot=X[:, 1] == 1, pilot_columns=by_pilot),
        design="difference-in-differences (2x2)",
        adjusted=adjusted,
        cov=cov,
    )
    tested = parallel_paths_test(card, rows, y, errors, cov)
    if tested is None:
        return finding
    periods, p_value = tested
    checks = (finding.checks or Checks()).model_copy(
        update={"pre_periods": periods, "pretrend_p": p_value}
    )
    return finding.model_copy(update={"checks": checks})


def parallel_paths_test(
    card: PilotCard,
    rows: pd.DataFrame,
    y: np.ndarray,
    errors: Errors,
    cov: Covariance | None = None,
) -> tuple[int, float] | None:
    """Return (periods, p) for a test that the groups ran in parallel before the change.

    The 2x2 estimate rests on the pilot and comparison groups having been on
    parallel paths. When the card has a time column and each group is seen in
    at least ``MIN_TEST_PERIODS`` periods before the change (calendar months
    for dates; numbers in their own order), the before rows are fitted as
    outcome ~ group + period effects + group x linear time (+ covariates), and
    the group x time slope tested with the same standard errors as the
    estimate (``cov`` overrides them as it does the estimate's): the linear
    pre-trend test of Angrist and Pischke, *Mostly Harmless Econometrics*
    (2009), section 5.2. Time is the period's own value (months since the
    first for dates), so a gap in the periods is a gap in time. None when the
    test cannot be run or trusted: no time column, too few periods seen in
    either group, a fit that cannot separate the slope, or cluster-robust
    errors with fewer than ``MIN_TEST_CLUSTERS`` clusters (or one in the
    pilot), where such a test is not reliable.
    """
    time = card.data.time
    if time is None or time.column not in rows.columns:
        return None
    before = (~post_mask(card, rows)) & rows[time.column].notna().to_numpy()
    column = rows.loc[before, time.column]
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        when = (column.dt.year * 12 + column.dt.month).to_numpy(dtype="float64")
    elif pd.api.types.is_numeric_dtype(column.dtype):
        when = column.to_numpy(dtype="float64")
    else:
        return None  # text periods have no order evalkit can trust
    pilot = pilot_mask(card, rows)[before].astype("float64")
    periods, index = np.unique(when, return_inverse=True)
    seen = [np.unique(index[pilot == side]).size for side in (1.0, 0.0)]
    if min(seen) < MIN_TEST_PERIODS:
        return None
    dummies = (index[:, None] == np.arange(1, len(periods))[None, :]).astype("float64")
    X = np.column_stack(
        [
            np.ones(len(index)),
            pilot,
            dummies,
            pilot * (when - when.mean()),
            covariate_matrix(card, rows[before]),
        ]
    )
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return None
    kind = cov or errors.cov
    groups = errors.groups[before] if errors.groups is not None else None
    if kind == "cluster":
        if groups is None:
            return None
        clusters = pd.unique(groups)
        pilot_clusters = pd.unique(groups[pilot == 1.0])
        if len(clusters) < MIN_TEST_CLUSTERS or len(pilot_clusters) < 2:
            return None
    try:
        fit = fit_coefficient(y[before], X, 2 + dummies.shape[1], kind, groups)
    except (ValueError, np.linalg.LinAlgError):
        return None
    return (int(min(seen)), fit.p_value) if np.isfinite(fit.p_value) else None
