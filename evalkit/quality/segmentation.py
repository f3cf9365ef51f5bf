"""Binary segmentation with a simulated test: where a series of records breaks.

The method behind :mod:`evalkit.quality.breaks` (see its docstring): each
stretch's best split is scored, set against the series' own noise, and
judged by the same score on series simulated with no break.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from scipy import integrate, stats
from scipy.special import xlogy

#: Fewest periods on either side of a break.
MIN_SEGMENT = 3
#: Chance of flagging a break in a series that has none (per series tested).
ALPHA = 0.01
#: Series simulated without a break to judge each candidate break.
SIMULATIONS = 999

Test = Callable[[int, int], tuple[int, float]]

# the dispersion estimate is kept above this so a perfectly flat series cannot divide by 0
_DISPERSION_FLOOR = 0.2


def binary_segmentation(length: int, test: Test) -> list[tuple[int, float]]:
    """Return (index of the first period after a break, p-value) for each break found.

    ``test(start, end)`` returns the best split of that stretch (counted in
    periods from its start) and the p-value of a break there.
    """
    found: list[tuple[int, float]] = []

    def search(lo: int, hi: int) -> None:
        if hi - lo < 2 * MIN_SEGMENT:
            return
        split, p_value = test(lo, hi)
        if p_value > ALPHA:
            return
        found.append((lo + split, p_value))
        search(lo, lo + split)
        search(lo + split, hi)

    search(0, length)
    return sorted(found)


def count_split_test(y: np.ndarray, rng: np.random.Generator) -> tuple[int, float]:
    """Return the best split of a count series and the simulated p-value of a break there."""
    observed, split = _count_score(y[None])
    if observed[0] <= 0:
        return 0, 1.0
    # simulate with no less noise than Poisson, whatever the estimate says
    mean, dispersion = float(y.mean()), max(1.0, float(_count_dispersion(y[None])[0]))
    size = (SIMULATIONS, len(y))
    if dispersion > 1:
        # negative binomial with the same mean and variance = dispersion x mean
        simulated = rng.negative_binomial(mean / (dispersion - 1), 1 / dispersion, size=size)
    else:
        simulated = rng.poisson(mean, size=size)
    scores, _ = _count_score(simulated.astype(float))
    return int(split[0]), _p_value(observed[0], scores)


def share_split_test(counts: np.ndarray, rng: np.random.Generator) -> tuple[int, float]:
    """Return the best split of a period x category table and the simulated p-value there."""
    counts = counts[:, counts.sum(axis=0) > 0]
    if counts.shape[1] < 2:
        return 0, 1.0
    observed, split = _share_score(counts[None])
    if observed[0] <= 0:
        return 0, 1.0
    totals = counts.sum(axis=1).astype(int)
    mix = counts.sum(axis=0) / counts.sum()
    dispersion = max(1.0, float(_share_dispersion(counts[None])[0]))
    shape = (SIMULATIONS, len(counts), len(mix))
    if dispersion > 1:
        # Dirichlet-multinomial: each period's mix wobbles around the stretch's mix
        rho = np.clip((dispersion - 1) / max(float(totals.mean()) - 1, 1.0), 1e-6, 0.99)
        draws = rng.gamma(np.broadcast_to(mix * (1 - rho) / rho, shape))
        probabilities = draws / draws.sum(axis=-1, keepdims=True)
    else:
        probabilities = np.broadcast_to(mix, shape)
    simulated = rng.multinomial(np.broadcast_to(totals, shape[:2]), probabilities)
    scores, _ = _share_score(simulated.astype(float))
    return int(split[0]), _p_value(observed[0], scores)


def _p_value(observed: float, simulated: np.ndarray) -> float:
    # a small relative slack so that exact ties (equal counts) count as ties
    exceed = int((simulated >= observed * (1 - 1e-9)).sum())
    return (1 + exceed) / (1 + len(simulated))


def _count_score(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each series' best split score over its dispersion, and where the split is."""
    scores = _allowed(_poisson_statistic(y))
    return scores.max(axis=1) / _count_dispersion(y), scores.argmax(axis=1) + 1


def _share_score(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each table's best split score over its dispersion, and where the split is."""
    scores = _allowed(_chi_square_statistic(stack))
    return scores.max(axis=1) / _share_dispersion(stack), scores.argmax(axis=1) + 1


def _allowed(scores: np.ndarray) -> np.ndarray:
    """Return the split scores with splits leaving under MIN_SEGMENT periods on a side blanked."""
    n = scores.shape[-1] + 1
    allowed = np.zeros(n - 1, dtype=bool)
    allowed[MIN_SEGMENT - 1 : n - MIN_SEGMENT] = True
    return np.where(allowed, scores, -np.inf)


def _count_dispersion(y: np.ndarray) -> np.ndarray:
    """Return how much noisier than Poisson each series is, read from neighbouring periods.

    For Poisson counts with mean m, a difference between neighbouring periods
    has variance 2m, so its square is about 2m x chi-square(1). The largest
    square is dropped, because a step makes one difference large.
    """
    squares = np.sort(np.diff(y, axis=1) ** 2, axis=1)[:, :-1]
    expected = _trimmed_chi2_mean(1, squares.shape[1] + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = squares.mean(axis=1) / (expected * 2 * y.mean(axis=1))
    return np.asarray(
        np.maximum(_DISPERSION_FLOOR, np.nan_to_num(ratio, nan=1.0, posinf=1.0)), dtype=float
    )


def _share_dispersion(stack: np.ndarray) -> np.ndarray:
    """Return how much more the mix varies than multinomial noise allows.

    Each pair of neighbouring periods gives a chi-square on K - 1 degrees of
    freedom when nothing changes; the largest is dropped (a step moves one
    pair), and the mean of the rest is set against its expected value.
    """
    pairs = np.stack([stack[..., :-1, :], stack[..., 1:, :]], axis=-2)  # B x (T-1) x 2 x K
    chi = _chi_square_statistic(pairs.reshape(-1, 2, stack.shape[-1]))[:, 0]
    chi = np.sort(chi.reshape(stack.shape[0], -1), axis=1)[:, :-1]
    categories = int((stack.sum(axis=(0, 1)) > 0).sum())
    expected = _trimmed_chi2_mean(max(categories - 1, 1), chi.shape[1] + 1)
    return np.asarray(np.maximum(_DISPERSION_FLOOR, chi.mean(axis=1) / expected), dtype=float)


@functools.cache
def _trimmed_chi2_mean(df: int, m: int) -> float:
    """Return the expected mean of m chi-square(df) draws once the largest is dropped."""
    largest, _ = integrate.quad(lambda x: 1 - stats.chi2.cdf(x, df) ** m, 0, np.inf)
    return float((m * df - largest) / (m - 1))


def _poisson_statistic(stack: np.ndarray) -> np.ndarray:
    """Return, for each split, twice the log-likelihood gain of two Poisson rates over one."""
    n = stack.shape[-1]
    k = np.arange(1, n)
    left = np.cumsum(stack, axis=-1)[..., :-1]
    total = stack.sum(axis=-1, keepdims=True)
    right = total - left
    gain = xlogy(left, left / k) + xlogy(right, right / (n - k)) - xlogy(total, total / n)
    return np.asarray(2 * gain, dtype=float)


def _chi_square_statistic(stack: np.ndarray) -> np.ndarray:
    """Return, for each split, Pearson's chi-square for the before/after x category table.

    ``stack`` is B x periods x categories; the result is B x (periods - 1).
    """
    by_category = stack.sum(axis=-2, keepdims=True)  # B x 1 x K
    grand = by_category.sum(axis=-1)  # B x 1
    before = np.cumsum(stack, axis=-2)[..., :-1, :]  # B x (T-1) x K
    before_total = before.sum(axis=-1)  # B x (T-1)
    after_total = grand - before_total
    expected = before_total[..., None] * by_category / grand[..., None]
    present = by_category > 0
    spread = np.where(present, (before - expected) ** 2 / np.where(present, by_category, 1), 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = grand**2 / (before_total * after_total) * spread.sum(axis=-1)
    return np.asarray(np.nan_to_num(chi, nan=0.0, posinf=0.0), dtype=float)


def merge_small(
    found: list[tuple[int, float]], length: int, size: Callable[[int, int, int], float]
) -> list[tuple[int, float]]:
    """Return the breaks left after removing, smallest first, those whose size is below 1.

    ``size(start, break, end)`` measures a break against the stretches on either
    side; removing one joins its two stretches, so the sizes are measured again.
    """
    kept = list(found)
    while kept:
        sizes = [size(lo, mid, hi) for lo, mid, hi, _ in with_neighbours(kept, length)]
        smallest = int(np.argmin(sizes))
        if sizes[smallest] >= 1:
            break
        del kept[smallest]
    return kept


def with_neighbours(
    kept: list[tuple[int, float]], length: int
) -> list[tuple[int, int, int, float]]:
    """Return (start of stretch before, break, end of stretch after, p-value) for each break."""
    bounds = [0, *(index for index, _ in kept), length]
    return [(bounds[i], bounds[i + 1], bounds[i + 2], p) for i, (_, p) in enumerate(kept)]
