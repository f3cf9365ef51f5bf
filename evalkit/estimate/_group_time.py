"""Group-time average effects ATT(g, t) and their averages, each with its influence function.

The arithmetic of Callaway and Sant'Anna (2021, J. Econometrics 225(2):200-230)
behind :mod:`evalkit.estimate.staggered`, whose docstring says which units are
compared, from which base period, and how the intervals are made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import stats

from evalkit.errors import EstimationError

Control = Literal["not_yet", "never"]
Base = Literal["universal", "varying"]


@dataclass(frozen=True)
class GroupTime:
    """Group-time average effects ATT(g, t), each with its influence function over units.

    Cohorts and periods are positions among the data's distinct periods.
    ``starts`` holds each unit's start position (``inf`` for never).
    """

    cohort: np.ndarray
    period: np.ndarray
    att: np.ndarray
    influence: np.ndarray  # units x cells
    starts: np.ndarray
    clusters: np.ndarray | None
    base: np.ndarray  # each cell's base period
    comparison: np.ndarray  # units x cells: True for the cell's comparison units

    @property
    def units(self) -> int:
        """Return the number of units the effects are estimated on."""
        return int(self.starts.size)


@dataclass(frozen=True)
class Aggregate:
    """An average of group-time effects: estimate, standard error, 95% interval, influence function.

    From the aggregation functions alone ``se`` is the influence-function
    standard error and the interval is unset (nan);
    :func:`evalkit.estimate.staggered.estimate_staggered`
    gives the jackknife standard error and the t interval on ``df`` degrees of
    freedom (``jackknife`` False where it fell back, see the module docstring).
    """

    estimate: float
    se: float
    influence: np.ndarray
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    p_value: float = float("nan")
    df: float = float("inf")
    jackknife: bool = False


def group_time_effects(
    wide: np.ndarray,
    starts: np.ndarray,
    *,
    clusters: np.ndarray | None = None,
    labels: Sequence[str] = (),
    control: Control = "not_yet",
    base: Base = "universal",
    path: Path | None = None,
) -> GroupTime:
    """Return ATT(g, t) for every cohort and period, with influence functions.

    ``wide`` is units x periods; ``starts`` each unit's first period in the
    pilot (a position; ``inf`` if never). Units already in the pilot in the
    first period must have been removed (they have no period before).
    Raises EstimationError when a cohort has no unit to be compared with.
    """
    n, periods = wide.shape
    names = list(labels) or [str(p) for p in range(periods)]
    cohorts = np.unique(starts[np.isfinite(starts) & (starts < periods)])
    rows: list[tuple[int, int, int, float]] = []
    columns: list[np.ndarray] = []
    compared: list[np.ndarray] = []
    for g in cohorts.astype(int):
        treated = starts == g
        for t in range(periods):
            b = g - 1 if (t >= g or base == "universal") else t - 1
            if b < 0 or b == t:
                continue
            later = max(t, b)
            if control == "never":
                comparison = ~np.isfinite(starts) | (starts >= periods)
            else:
                comparison = (starts > later) & (starts != g)
            if not comparison.any():
                raise EstimationError(
                    f"the units that started in {names[g]} have nothing to be compared with "
                    f"in {names[t]}: every other unit had started by then and none stays "
                    "outside the pilot",
                    path=path,
                    where="data.time.start_column",
                    hint="staggered starts need units that never join the pilot, or that join "
                    "later than each period compared; add such units or end the data "
                    "before the last group starts",
                )
            change = wide[:, t] - wide[:, b]
            mean_t, mean_c = change[treated].mean(), change[comparison].mean()
            influence = np.zeros(n)
            influence[treated] = n * (change[treated] - mean_t) / treated.sum()
            influence[comparison] = -n * (change[comparison] - mean_c) / comparison.sum()
            rows.append((g, t, b, mean_t - mean_c))
            columns.append(influence)
            compared.append(comparison)
    if not rows:
        raise EstimationError(
            "no start group can be compared with units not yet in the pilot: after units "
            "missing a period were left out, none that started is left beside one that had not",
            path=path,
            where="data.time.start_column",
            hint="fill in the missing periods (or drop the few periods that are missing for "
            "many units) so that units are seen in every period",
        )
    cohort, period, base_period, att = (np.array(v) for v in zip(*rows, strict=True))
    return GroupTime(
        cohort=cohort.astype(int),
        period=period.astype(int),
        att=att.astype(float),
        influence=np.column_stack(columns),
        starts=starts,
        clusters=clusters,
        base=base_period.astype(int),
        comparison=np.column_stack(compared),
    )


def standard_error(influence: np.ndarray, clusters: np.ndarray | None = None) -> float:
    """Return the standard error from an influence function (summed within clusters if given)."""
    n = influence.shape[0]
    if clusters is not None:
        influence = _cluster_sums(influence, clusters)
    return float(np.sqrt(np.sum(influence**2)) / n)


def aggregate(effects: GroupTime, cells: np.ndarray) -> Aggregate:
    """Return the cohort-size-weighted average of the chosen cells (the ``did`` weights).

    The weights P(G = g) are estimated, so their influence function is added
    (the ``did`` package's ``wif``).
    """
    share = _cohort_share(effects)[cells]
    weights = share / share.sum()
    influence = (
        effects.influence[:, cells] @ weights
        + _weight_influence(effects, effects.cohort[cells], share) @ effects.att[cells]
    )
    estimate = float(effects.att[cells] @ weights)
    return Aggregate(estimate, standard_error(influence, effects.clusters), influence)


def aggregate_by_cohort(effects: GroupTime) -> Aggregate:
    """Return the overall effect: each cohort's mean effect since its start, weighted by size.

    This is Callaway and Sant'Anna's theta^O_sel, ``aggte(type = "group")``.
    """
    post = effects.period >= effects.cohort
    cohorts = np.unique(effects.cohort[post])
    by_cohort = [np.flatnonzero(post & (effects.cohort == g)) for g in cohorts]
    theta = np.array([effects.att[cells].mean() for cells in by_cohort])
    influence_g = np.column_stack([effects.influence[:, cells].mean(axis=1) for cells in by_cohort])
    n = effects.units
    share = np.array([np.sum(effects.starts == g) / n for g in cohorts])
    weights = share / share.sum()
    influence = influence_g @ weights + _weight_influence(effects, cohorts, share) @ theta
    return Aggregate(float(theta @ weights), standard_error(influence, effects.clusters), influence)


def aggregate_by_event_time(effects: GroupTime) -> dict[int, Aggregate]:
    """Return the effect at each period relative to the start (``aggte(type = "dynamic")``)."""
    return {e: aggregate(effects, cells) for e, cells in event_cells(effects).items()}


def wald_test(
    estimates: np.ndarray, influences: np.ndarray, clusters: np.ndarray | None = None
) -> tuple[float, int, float]:
    """Return the Wald chi-squared statistic that all estimates are 0, its df and p-value.

    The covariance comes from the influence functions (the ``did`` package's
    pre-test of parallel trends uses the same statistic).
    """
    n = influences.shape[0]
    scores = _cluster_sums(influences, clusters) if clusters is not None else influences
    covariance = scores.T @ scores / n**2
    rank = int(np.linalg.matrix_rank(covariance))
    statistic = float(estimates @ np.linalg.pinv(covariance) @ estimates)
    return statistic, rank, float(stats.chi2.sf(statistic, rank))


def event_cells(effects: GroupTime) -> dict[int, np.ndarray]:
    """Return the cells at each period relative to the start."""
    relative = effects.period - effects.cohort
    return {int(e): np.flatnonzero(relative == e) for e in np.unique(relative)}


def _cohort_share(effects: GroupTime) -> np.ndarray:
    """Return P(G = g) for the cohort of each cell."""
    n = effects.units
    return np.array([np.sum(effects.starts == g) / n for g in effects.cohort])


def _weight_influence(effects: GroupTime, cohorts: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Return the influence function of the weights P(G=g) / sum P(G=g') (units x weights)."""
    total = share.sum()
    member = np.column_stack([(effects.starts == g).astype(float) for g in cohorts]) - share
    weights: np.ndarray = member / total - np.outer(member.sum(axis=1), share / total**2)
    return weights


def _cluster_sums(values: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Return the rows of ``values`` summed within each cluster."""
    codes: np.ndarray = np.unique(clusters, return_inverse=True)[1]
    if values.ndim == 1:
        return np.bincount(codes, weights=values)
    return np.column_stack(
        [np.bincount(codes, weights=values[:, j]) for j in range(values.shape[1])]
    )
