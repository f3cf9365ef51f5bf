"""Resampling for staggered starts: the cluster jackknife and its t intervals.

Each figure of :mod:`evalkit.estimate.staggered` is recomputed with one unit
(or one cluster of units) left out at a time, the CV3 estimator of MacKinnon,
Nielsen and Webb (2023, J. Applied Econometrics 38(5):671-694; their
``summclust`` package calls it CRV3): ``(G - 1) / G`` times the sum over the
``G`` clusters of the squared difference between the estimate without the
cluster and the full-sample one, with t critical values on ``G - 1`` degrees
of freedom as they use it (Bester, Conley and Hansen 2011, J. Econometrics
165(2):137-151, justify t(G - 1) for the usual cluster-robust variance).

The estimates are means of outcome changes, so leaving a cluster out only
takes its part out of each sum and count; nothing is re-run. A start group
whose every unit is in the cluster left out drops out, and the averages over
groups are re-weighted by the group sizes left, as the full estimate would be
on those data. Where a cluster holds every comparison unit of a cell, or
every unit behind an event time, the estimate without it does not exist and
the jackknife is None: the caller falls back and says so.

The module keeps the name it was planned under: the bootstraps measured
(of the influence functions, and the restricted wild bootstrap) were set
aside for the jackknife; tests/test_staggered.py says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from evalkit.quality.disclosure import describe_count

#: A start group (or the never-started group) with fewer units than this gets a note: the
#: ``did`` package's warning threshold with no covariates (``reqsize`` in pre_process_did.R).
SMALL_GROUP = 5


@dataclass(frozen=True)
class LeftOut:
    """Group-time effects with each cluster left out in turn (rows: clusters, columns: cells).

    ``att`` is nan where a cell cannot be estimated without the cluster;
    ``size`` is how many units of the cell's start group are left.
    """

    att: np.ndarray
    size: np.ndarray

    @property
    def groups(self) -> int:
        """Return the number of clusters (units when there are no clusters)."""
        return int(self.att.shape[0])

    def weighted(self, cells: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
        """Return, for each cluster left out, the group-size-weighted mean of ``cells``.

        ``values`` (clusters x cells) replaces the cells' effects, for averages of
        them (each start group's mean effect since its start). Cells whose group
        has no unit left get no weight; the result is nan for a cluster without
        which a weighted cell (or every cell) cannot be estimated.
        """
        att = self.att[:, cells] if values is None else values
        size = self.size[:, cells]
        total = size.sum(axis=1)
        present = size > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(present, att * size, 0.0).sum(axis=1) / total
        missing = (present & np.isnan(att)).any(axis=1) | (total == 0)
        return np.where(missing, np.nan, mean)

    def by_cohort(self, cohort: np.ndarray, period: np.ndarray) -> np.ndarray:
        """Return the overall effect (start groups' mean effects since the start) per cluster."""
        post = period >= cohort
        firsts, means = [], []
        for g in np.unique(cohort[post]):
            cells = np.flatnonzero(post & (cohort == g))
            firsts.append(cells[0])
            means.append(self.att[:, cells].mean(axis=1))
        return self.weighted(np.array(firsts), np.column_stack(means))


def leave_one_out(
    wide: np.ndarray,
    starts: np.ndarray,
    cells: tuple[np.ndarray, np.ndarray, np.ndarray],
    comparison: np.ndarray,
    codes: np.ndarray,
) -> LeftOut:
    """Return every cell's effect with each cluster left out (``codes``: cluster of each unit).

    ``cells`` is (cohort, period, base period) of each cell; ``comparison`` is
    units x cells, True for the cell's comparison units.
    """
    groups = int(codes.max()) + 1
    cohort, period, base = cells
    att = np.empty((groups, cohort.size))
    size = np.empty((groups, cohort.size))

    def without(values: np.ndarray) -> np.ndarray:
        rest: np.ndarray = values.sum() - np.bincount(codes, weights=values, minlength=groups)
        return rest

    for j in range(cohort.size):
        change = wide[:, period[j]] - wide[:, base[j]]
        means = []
        for members in (starts == cohort[j], comparison[:, j]):
            count = without(members.astype(float))
            total = without(np.where(members, change, 0.0))
            safe = np.where(count > 0, count, 1.0)
            means.append(np.where(count > 0, total / safe, np.nan))
            if len(means) == 1:
                size[:, j] = count
        att[:, j] = means[0] - means[1]
    return LeftOut(att, size)


def jackknife_covariance(estimates: np.ndarray, left_out: np.ndarray) -> np.ndarray | None:
    """Return the CV3 covariance of ``estimates`` from their leave-one-out values (G x k).

    None when some estimate does not exist without one of the clusters.
    """
    if np.isnan(left_out).any():
        return None
    groups = left_out.shape[0]
    deviation = left_out - estimates
    covariance: np.ndarray = (groups - 1) / groups * deviation.T @ deviation
    return covariance


def t_interval(estimate: float, se: float, df: int) -> tuple[float, float, float]:
    """Return the t-based 95% interval and the two-sided p-value on ``df`` degrees of freedom."""
    half = float(stats.t.ppf(0.975, df)) * se
    p = float(2 * stats.t.sf(abs(estimate / se), df)) if se > 0 else float("nan")
    return estimate - half, estimate + half, p


def method_words(*, clustered: bool) -> str:
    """Return how the intervals were made, in plain words."""
    left = "each cluster" if clustered else "each unit"
    return (
        f"jackknife standard errors (the whole estimate recomputed leaving out {left} in turn; "
        "MacKinnon, Nielsen and Webb 2023), t-based 95% CI with one degree of freedom fewer "
        f"than the {'clusters' if clustered else 'units'}"
    )


def fallback_note(overall: bool, event_times: list[int], *, clustered: bool) -> str:
    """Return the note for figures whose jackknife does not exist (``overall``: it did).

    The overall effect keeps the influence function's interval; an effect by
    period from the start gets none, and stays out of the pre-start test.
    """
    # "a single unit", not "one unit": no count of people is stated
    which = "a single cluster" if clustered else "a single unit"
    words = []
    if not overall:
        words.append(
            "for the overall effect, leaving out "
            f"{which} leaves nothing to estimate it from (every unit behind it, or every "
            "comparison, is there), so the jackknife cannot be used: its interval is the "
            "influence function's, widened by the small-sample factor and t-based, and is "
            "likely too narrow"
        )
    if event_times:
        words.append(
            f"the effects at {', '.join(f'{e:+d}' for e in event_times)} periods from the start "
            f"rest on {which}: without it there is nothing to estimate them from, so no "
            "interval is given for them and they are not in the pre-start test"
        )
    text = "; ".join(words)
    return text[0].upper() + text[1:] + "."


def small_group_notes(starts: np.ndarray, labels: Sequence[str], min_count: int) -> list[str]:
    """Return a note naming the start groups (and the never-started) with few units.

    Sizes are given as disclosure allows ("fewer than 10"), never below ``min_count``.
    """
    periods = len(labels)
    never = ~np.isfinite(starts) | (starts >= periods)
    sizes = {int(g): int(np.sum(starts == g)) for g in np.unique(starts[~never])}
    small = [
        f"those starting in {labels[g]} ({describe_count(size, min_count)})"
        for g, size in sizes.items()
        if size < SMALL_GROUP
    ]
    if 0 < never.sum() < SMALL_GROUP:
        small.append(f"those never in the pilot ({describe_count(int(never.sum()), min_count)})")
    if not small:
        return []
    return [
        f"Small groups of units: {'; '.join(small)}. A group this small says little about "
        "its own effect, which cannot be told apart from its units' ups and downs; the "
        "intervals allow for that and are wide, and the effects by start group or period "
        "are rough."
    ]


def cluster_codes(clusters: np.ndarray | None, units: int) -> np.ndarray:
    """Return each unit's cluster as 0..G-1 (each unit its own cluster when there are none)."""
    if clusters is None:
        return np.arange(units)
    codes: np.ndarray = np.unique(clusters, return_inverse=True)[1]
    return codes
