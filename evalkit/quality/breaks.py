"""Recording breaks: sudden shifts in how many records arrive, or in what they record.

A change of system, form or practice shows up as a step: records per month
drop when a team stops logging a contact type, or "unknown" ethnicity jumps
when a field stops being mandatory. Each break is a question for the local
team ("what changed in 2025-07?"), never a verdict.

Method: binary segmentation with a simulated (parametric bootstrap) test.
For a stretch of periods, every split with at least ``MIN_SEGMENT`` periods
on each side is scored (records per period: the likelihood-ratio statistic
for a change in a Poisson rate; shares: Pearson's chi-square of the
before/after x category table). The best score, divided by how noisy the
series is from one period to the next (its dispersion, read from neighbouring
periods so that a step barely moves it), is compared with the same score on
``SIMULATIONS`` series simulated with no break and the same level, mix and
noise (Poisson or multinomial; negative binomial or Dirichlet-multinomial when
the data are noisier than that). A break found splits the stretch and each
side is searched again. Each test has a false-alarm rate of ``ALPHA`` on a
stable series; breaks too small to matter (``MIN_RATIO``,
``MIN_SHARE_POINTS``) are merged away.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import integrate, stats
from scipy.special import xlogy

from evalkit.quality.disclosure import is_small, is_small_share

#: Fewest periods on either side of a break.
MIN_SEGMENT = 3
#: Chance of flagging a break in a series that has none (per series tested).
ALPHA = 0.01
#: Series simulated without a break to judge each candidate break.
SIMULATIONS = 999
#: A change in records per period is reported when one level is at least this many
#: times the other (1.25: a rise of a quarter, or a fall of a fifth).
MIN_RATIO = 1.25
#: A change in a category's share is reported when it moves by at least this many points.
MIN_SHARE_POINTS = 5.0
#: Records with no value are counted under this name, so a jump in blanks is seen.
BLANK = "(blank)"
#: Categories too small to name are pooled under this label, which is never reported.
POOLED = "(small categories pooled)"

Test = Callable[[int, int], tuple[int, float]]

# the dispersion estimate is kept above this so a perfectly flat series cannot divide by 0
_DISPERSION_FLOOR = 0.2


@dataclass(frozen=True)
class RecordingBreak:
    """A sudden shift in a series: where it happened, its size, and the question it raises."""

    kind: Literal["count", "share"]
    period: str  # the first period at the new level
    category: str | None  # the category whose share shifted (share breaks only)
    before: float  # records per period, or percent share, in the stretch before
    after: float  # the same in the stretch from `period` on
    p_value: float  # from the simulated test that found the break
    message: str
    #: "before" and/or "after" when that level rests on a count too small to publish; the
    #: message says "fewer than 10" instead and the signal's numbers leave it out
    hidden: tuple[str, ...] = ()


def count_breaks(
    periods: Sequence[str],
    counts: Sequence[int],
    *,
    per: str | None = None,
    seed: int = 0,
    min_count: int | None = None,
) -> tuple[RecordingBreak, ...]:
    """Return the sudden shifts in how many records arrive per period (periods in time order).

    ``per`` names the period in messages ("month"); by default it is read from
    the labels ("2025-07" is a month, "2025-W07" a week, "2025-Q3" a quarter).
    With ``min_count`` (disclosure control), a level below it is said as
    "fewer than 10" rather than as a number.
    """
    labels = [str(period) for period in periods]
    values = np.asarray(counts, dtype=float)
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} periods but {len(values)} counts")
    if len(set(labels)) != len(labels):
        raise ValueError("each period must appear once")
    if (~np.isfinite(values)).any() or (values < 0).any():
        raise ValueError("counts must be whole numbers of records, 0 or more")
    rng = np.random.default_rng(seed)
    found = _binary_segmentation(len(values), lambda lo, hi: _test_counts(values[lo:hi], rng))
    kept = _merge_small(
        found,
        len(values),
        lambda lo, mid, hi: _ratio(values[lo:mid].mean(), values[mid:hi].mean()),
    )
    unit = per or _period_unit(labels)
    breaks = []
    for lo, mid, hi, p_value in _with_neighbours(kept, len(values)):
        before, after = float(values[lo:mid].mean()), float(values[mid:hi].mean())
        verb = "fell" if after < before else "rose"
        levels = {"before": before, "after": after}
        hidden = tuple(
            k for k, v in levels.items() if min_count is not None and is_small(v, min_count)
        )
        words = {
            k: f"fewer than {min_count}" if k in hidden else f"about {_about(v)}"
            for k, v in levels.items()
        }
        breaks.append(
            RecordingBreak(
                kind="count",
                period=labels[mid],
                category=None,
                before=before,
                after=after,
                p_value=p_value,
                message=f"Records per {unit} {verb} from {words['before']} to "
                f"{words['after']} from {labels[mid]}. Did recording practice, a system or "
                "the service change then?",
                hidden=hidden,
            )
        )
    return tuple(breaks)


def share_breaks(
    periods: Sequence[object],
    category_values: Sequence[object],
    *,
    column: str = "",
    min_count: int = 10,
    seed: int = 0,
) -> tuple[RecordingBreak, ...]:
    """Return the sudden shifts in the share of a category, one record per pair of values.

    Periods must sort in time order ("2025-07", ISO dates). Blank values count
    as their own category. Categories with fewer than ``min_count`` records in
    all are tested together, pooled, and never named (disclosure control); a
    share resting on fewer than ``min_count`` records with (or without) the
    category in its stretch is said in words, not as a percentage.
    """
    if len(periods) != len(category_values):
        raise ValueError(f"{len(periods)} periods but {len(category_values)} values")
    frame = pd.DataFrame({"period": list(periods), "value": list(category_values)})
    frame = frame[frame["period"].notna()]
    frame["value"] = frame["value"].map(lambda v: BLANK if pd.isna(v) else str(v))
    totals = frame["value"].value_counts()
    small = set(totals[totals < min_count].index)
    frame["value"] = frame["value"].where(~frame["value"].isin(small), POOLED)
    table = pd.crosstab(frame["period"], frame["value"]).sort_index()
    if table.shape[1] < 2:
        return ()
    counts = table.to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    found = _binary_segmentation(len(counts), lambda lo, hi: _test_shares(counts[lo:hi], rng))

    named = np.array([category != POOLED for category in table.columns])

    def change(lo: int, mid: int, hi: int) -> float:
        """Return the largest move, in points, of a category that may be named."""
        moves = np.abs(_shares(counts[mid:hi]) - _shares(counts[lo:mid]))
        return float(moves[named].max() * 100)

    kept = _merge_small(
        found, len(counts), lambda lo, mid, hi: change(lo, mid, hi) / MIN_SHARE_POINTS
    )
    labels = [str(p) for p in table.index]
    what = f"records with {column}" if column else "records in the category"
    breaks = []
    for lo, mid, hi, p_value in _with_neighbours(kept, len(counts)):
        before_shares, after_shares = _shares(counts[lo:mid]), _shares(counts[mid:hi])
        stretches = {"before": counts[lo:mid].sum(axis=0), "after": counts[mid:hi].sum(axis=0)}
        for j, category in enumerate(table.columns):
            before, after = 100 * before_shares[j], 100 * after_shares[j]
            if category == POOLED or abs(after - before) < MIN_SHARE_POINTS:
                continue
            verb = "fell" if after < before else "rose"
            hidden = tuple(
                k
                for k, stretch in stretches.items()
                if is_small_share(float(stretch[j]), float(stretch.sum()), min_count)
            )
            words = {
                k: _share_words(float(stretches[k][j]), min_count)
                if k in hidden
                else f"about {_about_share(v)}"
                for k, v in (("before", before), ("after", after))
            }
            breaks.append(
                RecordingBreak(
                    kind="share",
                    period=labels[mid],
                    category=str(category),
                    before=float(before),
                    after=float(after),
                    p_value=p_value,
                    message=f"The share of {what} \u201c{category}\u201d {verb} from "
                    f"{words['before']} to {words['after']} from "
                    f"{labels[mid]}. Did the way it is recorded change then?",
                    hidden=hidden,
                )
            )
    return tuple(breaks)


def _binary_segmentation(length: int, test: Test) -> list[tuple[int, float]]:
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


def _test_counts(y: np.ndarray, rng: np.random.Generator) -> tuple[int, float]:
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


def _test_shares(counts: np.ndarray, rng: np.random.Generator) -> tuple[int, float]:
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


def _merge_small(
    found: list[tuple[int, float]], length: int, size: Callable[[int, int, int], float]
) -> list[tuple[int, float]]:
    """Return the breaks left after removing, smallest first, those whose size is below 1.

    ``size(start, break, end)`` measures a break against the stretches on either
    side; removing one joins its two stretches, so the sizes are measured again.
    """
    kept = list(found)
    while kept:
        sizes = [size(lo, mid, hi) for lo, mid, hi, _ in _with_neighbours(kept, length)]
        smallest = int(np.argmin(sizes))
        if sizes[smallest] >= 1:
            break
        del kept[smallest]
    return kept


def _with_neighbours(
    kept: list[tuple[int, float]], length: int
) -> list[tuple[int, int, int, float]]:
    """Return (start of stretch before, break, end of stretch after, p-value) for each break."""
    bounds = [0, *(index for index, _ in kept), length]
    return [(bounds[i], bounds[i + 1], bounds[i + 2], p) for i, (_, p) in enumerate(kept)]


def _ratio(before: float, after: float) -> float:
    """Return how many times MIN_RATIO apart two levels are, on a log scale (>= 1 reports)."""
    low, high = sorted((before, after))
    if high == 0:
        return 0.0
    if low == 0:
        return np.inf
    return float(np.log(high / low) / np.log(MIN_RATIO))


def _shares(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=0)
    return np.asarray(totals / max(totals.sum(), 1), dtype=float)


def _period_unit(labels: list[str]) -> str:
    patterns = {
        "month": r"\d{4}-\d{2}",
        "week": r"\d{4}-W\d{2}",
        "quarter": r"\d{4}-Q[1-4]",
        "day": r"\d{4}-\d{2}-\d{2}",
        "year": r"\d{4}",
    }
    for unit, pattern in patterns.items():
        if all(re.fullmatch(pattern, label) for label in labels):
            return unit
    return "period"


def _about(value: float) -> str:
    """Return a level rounded for reading: 213 -> 210, 1234 -> 1,200, 45.3 -> 45, 4.4 -> 4.4."""
    if value >= 100:
        digits = len(str(int(value))) - 2
        return f"{round(value, -digits):,.0f}"
    return f"{value:.0f}" if value >= 10 else f"{value:.1g}" if value < 1 else f"{value:.1f}"


def _share_words(count: float, min_count: int) -> str:
    """Return a share too near a small count to give, in words that state no count."""
    if is_small(count, min_count):
        return f"fewer than {min_count} records"
    return f"all but fewer than {min_count} records" if count else "no records"


def _about_share(percent: float) -> str:
    return f"{percent:.1f}%" if 0 < percent < 1 else f"{percent:.0f}%"
