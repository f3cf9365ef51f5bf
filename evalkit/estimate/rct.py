"""Randomised pilots: difference in means or ANCOVA, and the baseline balance table.

Random assignment makes the arms alike on average, so the plain difference in
means is unbiased; adjusting for baseline covariates (ANCOVA, with a baseline
measure of the outcome as one of them) keeps it unbiased and usually narrows
the interval. Standard errors are robust (HC1) by default and cluster-robust
when the card names a cluster, as a cluster-randomised pilot must: people in
one ward or school share more than chance, and treating them as independent
makes intervals too narrow.

When the card has a period role, the estimate uses the rows after the change
and the rows before are the baseline shown in the balance table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.contract import pilot_mask, post_mask
from evalkit.errors import EstimationError
from evalkit.estimate._common import choose_errors, covariate_matrix, outcome_rows, two_groups
from evalkit.estimate._models import Model
from evalkit.estimate._ols import Covariance
from evalkit.estimate.finding import Finding
from evalkit.estimate.outcomes import estimate_outcome

#: Columns of :func:`balance_table`, in order.
BALANCE_COLUMNS = (
    "variable",
    "kind",
    "pilot",
    "comparison",
    "std_diff",
    "n_pilot",
    "n_comparison",
    "suppressed",
)


def estimate_rct(
    card: PilotCard, frame: pd.DataFrame, outcome: Outcome, cov: Covariance | None = None
) -> Finding:
    """Return the difference between the randomised arms in one outcome.

    With no covariates in the card this is the difference in means (OLS of the
    outcome on the arm); with covariates it is ANCOVA, the same regression
    adjusted for them. ``cov`` overrides the choice of standard errors.
    Binary outcomes add an odds ratio and counts report a rate ratio (see
    :mod:`evalkit.estimate.outcomes`). The finding carries ``checks`` with the
    largest baseline standardised difference, for the evidence rating.
    """
    rows = _analysis_rows(card, outcome_rows(frame, outcome))
    pilot = pilot_mask(card, rows)
    if pilot.all() or not pilot.any():
        missing = "comparison" if pilot.any() else "pilot"
        raise EstimationError(
            f"'{outcome.column}' has no recorded values in the {missing} arm",
            path=card.card_path,
            where="data.group",
            hint="a randomised comparison needs outcomes recorded in both arms",
        )
    errors = choose_errors(card, rows)
    X = np.column_stack([np.ones(len(rows)), pilot.astype("float64"), covariate_matrix(card, rows)])
    by_pilot = np.zeros_like(X)
    by_pilot[:, 1] = 1.0  # the arm column is the only one a placebo pilot changes
    y = rows[outcome.column].to_numpy(dtype="float64")
    covariates = card.data.covariates
    design = (
        "randomised comparison, ANCOVA"
        if covariates
        else "randomised comparison, difference in means"
    )
    adjusted = f", adjusted for {', '.join(covariates)}" if covariates else ""
    checks: dict[str, float] = {}
    balance = balance_table(card, frame)
    shown = balance["std_diff"].dropna()
    if len(shown):
        checks["max_abs_std_diff"] = float(shown.abs().max())
    if errors.cov == "cluster" and errors.groups is not None:
        checks["clusters"] = float(pd.unique(errors.groups).size)
    return estimate_outcome(
        card,
        outcome,
        Model(
            y,
            X,
            1,
            errors,
            pilot=pilot,
            pilot_columns=by_pilot,
            table=two_groups(y, pilot) if errors.cov == "HC1" and not covariates else None,
        ),
        design=design,
        adjusted=adjusted,
        cov=cov,
        extras={"checks": checks},
    )


def balance_table(card: PilotCard, frame: pd.DataFrame) -> pd.DataFrame:
    """Return each baseline covariate's mean (or share) by arm and its standardised difference.

    Covariates are the card's; when the card has a period role, the rows
    before the change give the baseline, and each outcome's baseline mean is
    added. A variable holding only 0 and 1 is shown as a share. The
    standardised difference is (pilot - comparison) / sqrt((s_p^2 + s_c^2) / 2)
    (Austin 2009, Statistics in Medicine 28, 3083-3107); the What Works
    Clearinghouse treats more than 0.25 as beyond what adjustment can fix.
    Arms with fewer records than the card's ``min_cell_count``, and shares
    resting on fewer than that many people with (or without) the attribute,
    are blanked and marked ``suppressed``.
    """
    rows = frame
    if card.data.period is not None:
        rows = frame[~post_mask(card, frame)]
    pilot = pilot_mask(card, rows)
    variables = [(name, name) for name in card.data.covariates]
    if card.data.period is not None:
        variables += [(f"{o.name} (baseline)", o.column) for o in card.outcomes]
    table = [
        _balance_row(label, rows[column].to_numpy(dtype="float64"), pilot, card.min_cell_count)
        for label, column in variables
    ]
    return pd.DataFrame(table, columns=list(BALANCE_COLUMNS))


def _balance_row(
    label: str, values: np.ndarray, pilot: np.ndarray, threshold: int
) -> tuple[object, ...]:
    seen = np.isfinite(values)
    arms = (values[seen & pilot], values[seen & ~pilot])
    binary = bool(seen.any()) and bool(np.isin(values[seen], (0.0, 1.0)).all())
    means = [float(arm.mean()) if arm.size else float("nan") for arm in arms]
    spreads = [
        m * (1 - m) if binary else (float(arm.var(ddof=1)) if arm.size > 1 else float("nan"))
        for m, arm in zip(means, arms, strict=True)
    ]
    pooled = float(np.sqrt((spreads[0] + spreads[1]) / 2))
    std_diff = (means[0] - means[1]) / pooled if pooled > 0 else float("nan")

    def small(count: float) -> bool:
        return 0 < count < threshold

    hidden = []
    for arm in arms:
        counts = [arm.size]
        if binary:
            counts += [float(arm.sum()), float(arm.size - arm.sum())]
        hidden.append(any(small(c) for c in counts))
    sizes: list[float] = [float(arm.size) for arm in arms]
    for index, is_hidden in enumerate(hidden):
        if is_hidden:
            means[index] = float("nan")
    if any(small(size) for size in sizes):
        # with the total n published, one arm's size gives the other's away
        sizes = [float("nan"), float("nan")]
    suppressed = any(hidden)
    if suppressed:
        # with one arm's mean and the difference, the hidden mean could be worked back
        std_diff = float("nan")
    return (
        label,
        "share" if binary else "mean",
        means[0],
        means[1],
        std_diff,
        sizes[0],
        sizes[1],
        suppressed,
    )


def _analysis_rows(card: PilotCard, rows: pd.DataFrame) -> pd.DataFrame:
    """Return the rows the comparison uses: after the change when the card has periods."""
    if card.data.period is None:
        return rows
    return rows[post_mask(card, rows)]
