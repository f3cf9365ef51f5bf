"""Staggered starts: group-time effects against units not yet in the pilot.

When units join a pilot at different times, a two-way fixed-effects
regression compares later joiners with earlier joiners whose effects are
still growing, and can give a weighted average with negative weights
(Goodman-Bacon 2021, J. Econometrics 225(2):254-277). So here each group of
units that started in the same period (a *cohort* ``g``) is compared, period
by period, only with units that had not started yet: the group-time average
effect ATT(g, t) of Callaway and Sant'Anna (2021, J. Econometrics
225(2):200-230), their unconditional estimator (no covariates) on a
balanced panel:

    ATT(g, t) = mean over cohort g of (Y_t - Y_b) - mean over comparisons of (Y_t - Y_b)

with base period ``b = g - 1`` after the start. Before the start the base is
``g - 1`` too (their ``base_period = "universal"``), so the period before the
start is the reference and pre-start effects read like an event study's
(Roth 2024, "Interpreting event-studies from recent difference-in-differences
methods", arXiv:2401.12309); ``base="varying"`` (``b = t - 1``, the ``did``
package's default) is kept for checking against its printed output. The
comparison units in period ``t`` are those never in the pilot and those
starting after ``max(t, b)`` (not-yet-treated, their eq. 2.7);
``control="never"`` uses only the never-treated.

Standard errors come from the influence functions of the estimates (their
Theorem 2, and the ``did`` package's analytical standard errors), summed
within clusters when there are clusters; intervals are normal-based. The
overall effect is their "group" aggregation (eq. 3.11 and the ``did``
package's ``aggte(type = "group")``): each cohort's effects averaged over its
periods since the start, then averaged over cohorts weighted by cohort size,
with the influence function of the estimated weights included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import stats

from evalkit.errors import EstimationError
from evalkit.quality.disclosure import describe_count

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

    @property
    def units(self) -> int:
        """Return the number of units the effects are estimated on."""
        return int(self.starts.size)


@dataclass(frozen=True)
class Aggregate:
    """An average of group-time effects with its standard error and influence function."""

    estimate: float
    se: float
    influence: np.ndarray


@dataclass(frozen=True)
class Staggered:
    """The overall effect, effects by period relative to the start, and the pre-start test.

    ``pretest`` is (chi-squared, df, p) for the pre-start effects before the
    reference period, or None when there are none.
    """

    overall: Aggregate
    dynamic: dict[int, Aggregate]
    pretest: tuple[float, int, float] | None
    records: int
    notes: tuple[str, ...]


def estimate_staggered(
    y: np.ndarray,
    unit: np.ndarray,
    period: np.ndarray,
    start: np.ndarray,
    labels: Sequence[str],
    *,
    clusters: np.ndarray | None = None,
    path: Path | None = None,
    min_count: int = 10,
) -> Staggered:
    """Return the staggered-start estimates from records (codes, positions; start inf if never).

    Units in the pilot from the first period and units missing a period are
    left out, and said so in ``notes`` (fewer than ``min_count`` of them as
    "fewer than 10", disclosure control). Comparisons are not-yet-treated units,
    pre-start effects use the universal base period.
    """
    notes: list[str] = []
    always = start == 0
    if always.any():
        notes.append(
            f"{describe_count(np.unique(unit[always]).size, min_count)} unit(s) already in "
            "the pilot in the first period were left out: there is no period before their "
            "start to compare with."
        )
    keep = ~always
    wide, starts, kept, dropped = balanced_panel(
        y[keep], unit[keep], period[keep], start[keep], len(labels), path=path
    )
    if dropped:
        notes.append(
            f"{describe_count(dropped, min_count)} unit(s) without a record in every period "
            "were left out."
        )
    unit_clusters = None
    if clusters is not None:
        per_unit = np.full(int(unit.max()) + 1, -1)
        per_unit[unit] = clusters
        unit_clusters = per_unit[kept]
    effects = group_time_effects(wide, starts, clusters=unit_clusters, labels=labels, path=path)
    dynamic = aggregate_by_event_time(effects)
    before = [e for e in dynamic if e < -1]
    pretest = None
    if before:
        pretest = wald_test(
            np.array([dynamic[e].estimate for e in before]),
            np.column_stack([dynamic[e].influence for e in before]),
            unit_clusters,
        )
    return Staggered(aggregate_by_cohort(effects), dynamic, pretest, int(wide.size), tuple(notes))


def balanced_panel(
    y: np.ndarray,
    unit: np.ndarray,
    period: np.ndarray,
    start: np.ndarray,
    periods: int,
    *,
    path: Path | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Return outcomes as units x periods, each kept unit's start, kept unit codes, units dropped.

    Units missing any period are left out (as the ``did`` package does by
    default), so every unit is compared with itself over the same periods.
    """
    units = int(unit.max()) + 1
    counts = np.bincount(unit * periods + period, minlength=units * periods)
    if (counts > 1).any():
        raise EstimationError(
            "some units have more than one record in the same period",
            path=path,
            where="data.unit",
            hint="staggered estimation needs one record per unit and period; "
            "combine repeated records (for example their mean) before running",
        )
    first = np.full(units, np.nan)
    first[unit] = start
    same = (first[unit] == start) | (np.isnan(first[unit]) & np.isnan(start))
    if not same.all():
        raise EstimationError(
            "a unit's start is not the same in all its records",
            path=path,
            where="data.time.start_column",
            hint="give each unit one start period (or leave it blank in every record)",
        )
    complete = counts.reshape(units, periods).sum(axis=1) == periods
    observed = np.bincount(unit, minlength=units) > 0
    wide = np.full((units, periods), np.nan)
    wide[unit, period] = y
    kept = np.flatnonzero(complete)
    return wide[kept], first[kept], kept, int((observed & ~complete).sum())


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
    rows: list[tuple[int, int, float]] = []
    columns: list[np.ndarray] = []
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
            rows.append((g, t, mean_t - mean_c))
            columns.append(influence)
    cohort, period, att = (np.array(v) for v in zip(*rows, strict=True))
    return GroupTime(
        cohort=cohort.astype(int),
        period=period.astype(int),
        att=att.astype(float),
        influence=np.column_stack(columns),
        starts=starts,
        clusters=clusters,
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
    relative = effects.period - effects.cohort
    return {int(e): aggregate(effects, np.flatnonzero(relative == e)) for e in np.unique(relative)}


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
