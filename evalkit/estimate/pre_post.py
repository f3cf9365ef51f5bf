"""Before/after: change from before to after, paired when the same units are seen twice."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.contract import post_mask
from evalkit.errors import EstimationError
from evalkit.estimate._common import (
    Errors,
    choose_errors,
    covariate_matrix,
    outcome_rows,
    two_groups,
)
from evalkit.estimate._models import Model
from evalkit.estimate.finding import Finding
from evalkit.estimate.inference import names_people
from evalkit.estimate.outcomes import estimate_outcome
from evalkit.quality.disclosure import describe_count

#: Pair units when at least this share of them is seen both before and after.
PAIRED_SHARE = 0.5


def estimate_pre_post(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Finding:
    """Return the before/after change in one outcome.

    When the card names a unit and most units are seen both before and after,
    the change is the mean of each unit's own change (a paired comparison);
    otherwise the difference between before and after means, with covariates
    from the card as adjustment. Binary outcomes add an odds ratio and count
    outcomes report a rate ratio (see :mod:`evalkit.estimate.outcomes`).
    """
    rows = outcome_rows(frame, outcome)
    after = post_mask(card, rows)
    if after.all() or not after.any():
        raise EstimationError(
            f"'{outcome.column}' has values only {'after' if after.any() else 'before'} the change",
            path=card.card_path,
            where="data.period",
            hint="a before/after comparison needs recorded outcomes in both periods",
        )
    unit = card.data.unit
    if unit:
        units = rows[unit].to_numpy()
        both = np.intersect1d(units[after], units[~after])
        seen = pd.unique(units).size
        if both.size >= 2 and both.size >= PAIRED_SHARE * seen:
            return _paired(card, rows, outcome, unit, after, both, seen)
    errors = choose_errors(card, rows)
    X = np.column_stack([np.ones(len(rows)), after.astype("float64"), covariate_matrix(card, rows)])
    y = rows[outcome.column].to_numpy(dtype="float64")
    adjusted = f", adjusted for {', '.join(card.data.covariates)}" if card.data.covariates else ""
    simple = errors.cov == "HC1" and not card.data.covariates
    return estimate_outcome(
        card,
        outcome,
        Model(y, X, 1, errors, table=two_groups(y, after) if simple else None),
        design="before/after difference in means",
        adjusted=adjusted,
    )


def _paired(
    card: PilotCard,
    rows: pd.DataFrame,
    outcome: Outcome,
    unit: str,
    after: np.ndarray,
    both: np.ndarray,
    seen: int,
) -> Finding:
    values = rows[outcome.column].astype("float64")
    means = values.groupby([rows[unit].to_numpy(), after]).mean().unstack()
    means = means.loc[both]
    change = (means[True] - means[False]).to_numpy(dtype="float64")
    groups = None
    words = "robust (HC1) standard errors"
    cluster = card.data.cluster or ""
    if cluster:
        cluster_of = rows.drop_duplicates(unit).set_index(unit)[cluster]
        groups = cluster_of.loc[both].to_numpy()
        words = f"cluster-robust by {cluster}"
    before, later = (means[k].to_numpy(dtype="float64") for k in (False, True))
    table = None
    if groups is None and np.isin(np.concatenate([before, later]), (0.0, 1.0)).all():
        # the same people twice: with the outcome both times, after only, before only, neither
        table = (
            int(np.sum((before == 1) & (later == 1))),
            int(np.sum((before == 0) & (later == 1))),
            int(np.sum((before == 1) & (later == 0))),
            int(np.sum((before == 0) & (later == 0))),
        )
    errors = Errors(
        "cluster" if groups is not None else "HC1",
        groups,
        words,
        cluster,
        not names_people(cluster),
    )
    linear = Model(
        change,
        np.ones((len(change), 1)),
        0,
        errors,
        "OLS on unit differences",
        table=table,
        paired=True,
    )
    # odds and rate ratios compare each unit's before and after values (a difference of
    # two rates is not a rate), with errors clustered by unit as the pairs are not independent
    ratio_groups = np.concatenate([groups, groups]) if groups is not None else np.tile(both, 2)
    ratio = Model(
        np.concatenate([means[False].to_numpy(dtype="float64"), means[True].to_numpy("float64")]),
        np.column_stack([np.ones(2 * len(both)), np.repeat([0.0, 1.0], len(both))]),
        1,
        Errors("cluster", ratio_groups, f"cluster-robust by {card.data.cluster or unit}"),
    )
    notes: tuple[str, ...] = ()
    if both.size < seen:
        once, threshold = seen - both.size, card.min_cell_count
        # no "of {seen}": the units seen, beside the finding's n (the units paired) and each
        # period's records, would give a small count away (units seen only after, say)
        notes = (
            f"{describe_count(once, threshold)} units were seen in only one period "
            "and are not in the paired estimate",
        )
    return estimate_outcome(
        card,
        outcome,
        linear,
        design=f"paired before/after change within {unit}",
        ratio=ratio,
        notes=notes,
    )
