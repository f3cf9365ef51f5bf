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

#: Periods before the change needed to test for parallel paths (a slope needs three points).
MIN_TEST_PERIODS = 3


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
    tested = parallel_paths_test(card, rows, y, errors)
    if tested is None:
        return finding
    periods, p_value = tested
    checks = (finding.checks or Checks()).model_copy(
        update={"pre_periods": periods, "pretrend_p": p_value}
    )
    return finding.model_copy(update={"checks": checks})


def parallel_paths_test(
    card: PilotCard, rows: pd.DataFrame, y: np.ndarray, errors: Errors
) -> tuple[int, float] | None:
    """Return (periods, p) for a test that the groups ran in parallel before the change.

    The 2x2 estimate rests on the pilot and comparison groups having been on
    parallel paths. When the card has a time column with at least
    ``MIN_TEST_PERIODS`` periods before the change (calendar months for dates),
    the before rows are fitted as outcome ~ group + period effects + group x
    linear time (+ covariates), and the group x time slope tested with the same
    standard errors as the estimate: the linear pre-trend test of Angrist and
    Pischke, *Mostly Harmless Econometrics* (2009), section 5.2. None when the
    test cannot be run (no time column, too few periods, or a group missing).
    """
    time = card.data.time
    if time is None or time.column not in rows.columns:
        return None
    before = ~post_mask(card, rows)
    column = rows.loc[before, time.column]
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        column = column.dt.strftime("%Y-%m")
    keys = column.astype(str).to_numpy()
    present = column.notna().to_numpy()
    periods = np.unique(keys[present])
    pilot = pilot_mask(card, rows)[before].astype("float64")[present]
    if len(periods) < MIN_TEST_PERIODS or pilot.min() == pilot.max():
        return None
    index = np.searchsorted(periods, keys[present]).astype("float64")
    dummies = (index[:, None] == np.arange(1, len(periods))[None, :]).astype("float64")
    slope = pilot * (index - index.mean())
    X = np.column_stack(
        [
            np.ones(len(index)),
            pilot,
            dummies,
            slope,
            covariate_matrix(card, rows[before][present]),
        ]
    )
    groups = errors.groups[before][present] if errors.groups is not None else None
    try:
        fit = fit_coefficient(y[before][present], X, 2 + dummies.shape[1], errors.cov, groups)
    except (ValueError, np.linalg.LinAlgError):
        return None
    return (len(periods), fit.p_value) if np.isfinite(fit.p_value) else None
