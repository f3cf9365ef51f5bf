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

The overall effect is their "group" aggregation (eq. 3.11 and the ``did``
package's ``aggte(type = "group")``): each cohort's effects averaged over its
periods since the start, then averaged over cohorts weighted by cohort size,
with the influence function of the estimated weights included. The arithmetic
of these effects and averages lives in :mod:`evalkit.estimate._group_time`.

Intervals: the influence-function standard errors of their Theorem 2 with
normal critical values (what the ``did`` package prints) are too narrow with
the handful of wards of a local pilot: a start group of one ward has no
spread within it, so that ward's own noise never reaches them. Here the
standard errors are the cluster jackknife's (each unit, or cluster, left out
in turn) with t critical values on G - 1 degrees of freedom, for the overall
effect, the effects by period from the start and the pre-start test (a t test
on the mean pre-start effect); see
:mod:`evalkit.estimate._staggered_boot`, and tests/test_staggered.py for the
coverage measured and the alternatives set aside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from evalkit.errors import EstimationError
from evalkit.estimate import _staggered_boot as boot
from evalkit.estimate._group_time import (
    Aggregate,
    Base,
    Control,
    GroupTime,
    aggregate,
    aggregate_by_cohort,
    aggregate_by_event_time,
    event_cells,
    group_time_effects,
    standard_error,
    wald_test,
)
from evalkit.quality.disclosure import describe_count

__all__ = [
    "Aggregate",
    "Base",
    "Control",
    "GroupTime",
    "PreTrend",
    "Staggered",
    "aggregate",
    "aggregate_by_cohort",
    "aggregate_by_event_time",
    "balanced_panel",
    "estimate_staggered",
    "group_time_effects",
    "standard_error",
    "wald_test",
]


@dataclass(frozen=True)
class PreTrend:
    """The test that the mean of the effects before the reference period is zero.

    A t test on the jackknife standard error of that mean, ``df`` = G - 1. A
    joint (Wald) test of every pre-start effect, as the ``did`` package does,
    was measured and set aside: with few units each effect resting on a small
    start group, it called trends in a fifth of simulated pilots with none.
    """

    estimate: float
    statistic: float  # t
    df: int
    p_value: float
    periods: int  # pre-start effects averaged

    @property
    def words(self) -> str:
        """Return the test as printed: "t(7) = 1.23 on the mean of 4 pre-start effects"."""
        return (
            f"t({self.df}) = {self.statistic:.2f} on the mean of {self.periods} pre-start effects"
        )


@dataclass(frozen=True)
class Staggered:
    """The overall effect, effects by period relative to the start, and the pre-start test.

    ``pre_trend`` is the t test on the mean pre-start effect (None when no
    pre-start effect before the reference period has a jackknife). ``pretest`` is the older
    (chi-squared, df, p) on the influence-function covariance, as the ``did``
    package prints it, kept until panel.py reads ``pre_trend``.
    ``method_words`` says how the intervals were made, in plain words.
    """

    overall: Aggregate
    dynamic: dict[int, Aggregate]
    pretest: tuple[float, int, float] | None
    records: int
    notes: tuple[str, ...]
    pre_trend: PreTrend | None
    method_words: str
    clusters: int


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
    "fewer than 10", disclosure control); so are start groups too small for
    their intervals to rest on much. Comparisons are not-yet-treated units,
    pre-start effects use the universal base period, and intervals are the
    jackknife's with t critical values (see the module docstring).
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
    notes += boot.small_group_notes(starts, labels, min_count)
    codes = boot.cluster_codes(unit_clusters, starts.size)
    groups = int(codes.max()) + 1
    if groups < 2:
        raise EstimationError(
            "every unit is in one cluster: there is nothing to tell chance from an effect",
            path=path,
            where="data.cluster",
            hint="name a cluster column with at least two clusters, or none",
        )
    cells = (effects.cohort, effects.period, effects.base)
    left = boot.leave_one_out(wide, starts, cells, effects.comparison, codes)
    overall = _with_interval(
        aggregate_by_cohort(effects), left.by_cohort(effects.cohort, effects.period), groups
    )
    by_event = event_cells(effects)
    dynamic = {
        e: _with_interval(aggregate(effects, c), left.weighted(c), groups, fallback=False)
        for e, c in by_event.items()
    }
    before = [e for e in dynamic if e < -1]
    pretest, pre_trend = None, None
    if before:
        pretest = wald_test(
            np.array([dynamic[e].estimate for e in before]),
            np.column_stack([dynamic[e].influence for e in before]),
            unit_clusters,
        )
    tested = [e for e in before if dynamic[e].jackknife]
    if tested:
        mean = float(np.mean([dynamic[e].estimate for e in tested]))
        left_out = np.column_stack([left.weighted(by_event[e]) for e in tested]).mean(axis=1)
        se = float(np.sqrt((groups - 1) / groups * np.sum((left_out - mean) ** 2)))
        p_value = boot.t_interval(mean, se, groups - 1)[2]
        pre_trend = PreTrend(mean, mean / se, groups - 1, p_value, len(tested))
    clustered = clusters is not None
    fell_back = sorted(e for e, a in dynamic.items() if not a.jackknife)
    if not overall.jackknife or fell_back:
        notes.append(boot.fallback_note(overall.jackknife, fell_back, clustered=clustered))
    return Staggered(
        overall,
        dynamic,
        pretest,
        int(wide.size),
        tuple(notes),
        pre_trend,
        boot.method_words(clustered=clustered),
        groups,
    )


def _with_interval(
    figure: Aggregate, left_out: np.ndarray, groups: int, *, fallback: bool = True
) -> Aggregate:
    """Return the figure with its jackknife standard error and t interval.

    Without a jackknife (see :mod:`._staggered_boot`) the overall effect falls
    back to the influence function's standard error times sqrt(G / (G - 1));
    an event-time effect (``fallback`` False) gets no interval (nan).
    """
    covariance = boot.jackknife_covariance(np.array([figure.estimate]), left_out[:, None])
    if covariance is None:
        se = figure.se * float(np.sqrt(groups / (groups - 1))) if fallback else float("nan")
    else:
        se = float(np.sqrt(covariance[0, 0]))
    low, high, p = boot.t_interval(figure.estimate, se, groups - 1)
    return replace(
        figure,
        se=se,
        ci_low=low,
        ci_high=high,
        p_value=p,
        df=groups - 1,
        jackknife=covariance is not None,
    )


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
