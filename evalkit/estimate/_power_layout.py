"""The planning arithmetic of each layout: variance weight, degrees of freedom, sizes in words.

:func:`evalkit.estimate.power.minimum_detectable_effect` multiplies the
standard error these give by Bloom's multiplier; the layouts are those of the
registry's ``plan_as`` (:data:`evalkit.estimate.registry.PlanLayout`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from evalkit.estimate.wording import format_number
from evalkit.quality.disclosure import is_small

Counts = int | tuple[int, int]  # the same number in each period, or (before, after)


#: The most clusters ``clusters_needed`` looks for before saying "more than this".
MAX_PLANNED_CLUSTERS = 400


@dataclass(frozen=True)
class Layout:
    """How one design lays out its estimate: variance weight, degrees of freedom, sizes."""

    weight: float  # the estimate's variance over sd²
    treated: float  # the part of the weight from the changed group (pilot, after)
    df: float
    n: int
    n_pilot: int
    n_comparison: int | None
    groups: int
    sample: str
    regressors: np.ndarray | None = None  # the planned segmented regression (its only)


def t_quantile(p: float, df: float) -> float:
    """Return the normal quantile when ``df`` is infinite, else the t quantile."""
    return float(stats.norm.ppf(p) if math.isinf(df) else stats.t.ppf(p, df))


def outcome_spread(
    outcome_type: str, sd: float | None, rate: float | None, said: list[str], shown: bool = True
) -> float:
    """Return the outcome's sd: from the baseline rate for binary outcomes and Poisson counts."""
    if outcome_type == "binary":
        if rate is None or not 0 < rate < 1:
            raise ValueError("a binary outcome needs a baseline rate between 0 and 1")
        if sd is not None:
            return sd
        said.append(
            (f"Baseline rate {format_number(100 * rate)}%" if shown else "Baseline rate not shown")
            + "; spread √(p(1 − p)) at each rate"
        )
        return math.sqrt(rate * (1 - rate))
    if outcome_type == "count":
        if rate is None or rate <= 0:
            raise ValueError("a count outcome needs a baseline mean count above 0")
        said.append(
            "Judged as a rate ratio by the delta method (the log of a mean count has variance "
            f"sd²/(n × mean²), dispersion as at baseline), baseline mean {format_number(rate)}"
            + (", Poisson spread" if sd is None else "")
        )
        return sd if sd is not None else math.sqrt(rate)
    if sd is None or not sd > 0:
        raise ValueError("a continuous outcome needs its standard deviation (sd > 0)")
    return sd


def design_layout(
    design: str,
    n_pilot: Counts,
    n_comparison: Counts | None,
    periods: tuple[int, int] | None,
    paired: bool,
    noun: str,
    min_count: int | None = None,
) -> Layout:
    """Return the variance weight, degrees of freedom and sizes of one design.

    With ``min_count``, sizes are worded as :func:`size_words` says (disclosure control).
    """

    def pair(counts: Counts) -> tuple[int, int]:
        return (counts, counts) if isinstance(counts, int) else counts

    def total(counts: Counts) -> int:
        return counts if isinstance(counts, int) else sum(counts)

    given = [n_pilot, n_comparison] if n_comparison is not None else [n_pilot]
    if min(min(pair(counts)) for counts in given) < 1:
        raise ValueError("every group and period needs at least one record")

    if design == "its":
        if periods is None or min(periods) < 1 or sum(periods) < 5:
            raise ValueError("an interrupted time series needs periods=(before, after), 5+ in all")
        b, a = periods
        words = f"{b:,} time points before the change and {a:,} after"
        n = total(n_pilot)
        X = its_design_matrix(b, a)
        weight = float(np.linalg.inv(X.T @ X)[2, 2])
        return Layout(weight, 0.0, b + a - X.shape[1], n, n, None, 1, words, X)
    if design == "pre_post":
        if paired:
            n = n_pilot if isinstance(n_pilot, int) else min(n_pilot)
            words = f"{size_words([n], min_count)[0]} {noun} seen both before and after the change"
            return Layout(1 / n, 0.0, n - 1, n, n, None, 1, words)
        b, a = pair(n_pilot)
        before, after = size_words([b, a], min_count)
        words = f"{before} {noun} before the change and {after} after"
        return Layout(1 / b + 1 / a, 1 / a, b + a - 2, b + a, b + a, None, 1, words)
    if n_comparison is None or design not in {"rct", "did"}:
        raise ValueError(
            f"design '{design}' needs n_comparison and must be rct, did, pre_post, its"
        )
    p, c = total(n_pilot), total(n_comparison)
    cells = (*pair(n_pilot), *pair(n_comparison))
    separate = design == "rct" or paired
    small_cell = (
        not separate and min_count is not None and any(is_small(n, min_count) for n in cells)
    )
    # a group's total is as telling as its cells when one of them is hidden
    pilot, comparison = size_words([p, c], min_count, hide=small_cell)
    words = f"{pilot} {noun} in the pilot and {comparison} in the comparison group"
    if separate:
        words += ", each seen before and after" if paired else ""
        return Layout(1 / p + 1 / c, 1 / p, p + c - 2, p + c, p, c, 2, words)
    weight = sum(1 / n for n in cells)  # four independent cells: their variances add
    words += " (before and after)"
    if small_cell:
        words += f", fewer than {min_count} in at least one group and period"
    return Layout(weight, 1 / cells[1], p + c - 4, p + c, p, c, 2, words)


def size_words(counts: Sequence[int], min_count: int | None, *, hide: bool = False) -> list[str]:
    """Return sizes for the words: exact, or when any is below ``min_count`` (or ``hide``)
    "fewer than 10" and "10 or more", as one exact size beside the published n gives another."""
    if min_count is None or not (hide or any(is_small(n, min_count) for n in counts)):
        return [f"{n:,}" for n in counts]
    return [
        f"fewer than {min_count}" if is_small(n, min_count) else f"{min_count} or more"
        for n in counts
    ]


def its_design_matrix(before: int, after: int) -> np.ndarray:
    """Return a planned segmented regression on time points: [1, t, after, (t - start) after]."""
    time = np.arange(before + after, dtype="float64")
    post = (time >= before).astype("float64")
    columns = [np.ones_like(time), time, post]
    if after > 1:
        columns.append((time - before) * post)
    return np.column_stack(columns)


def scaled_counts(counts: Counts, factor: float) -> Counts:
    """Return sizes grown by ``factor`` (more clusters of the same size)."""
    if isinstance(counts, tuple):
        return (max(1, round(counts[0] * factor)), max(1, round(counts[1] * factor)))
    return max(1, round(counts * factor))
