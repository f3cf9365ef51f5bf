"""Bunching at a target threshold: is there a pile-up of records just on the "good" side?

The A&E four-hour pattern: records crowd just under 240 minutes and thin out
above it. That is a question for the local team, not proof of gaming: a real
change in practice aimed at the target also moves people just under it.

Method (bunching estimation; Chetty, Friedman, Olsen and Pistaferri 2011, QJE
126(2); Kleven 2016, Annual Review of Economics 8): count records in narrow
bins, fit a polynomial to the counts outside a window around the threshold,
and read the excess on the good side against it, over the counterfactual
("b"); no integration constraint (the window also covers the missing mass).
Defaults were chosen by simulation (2-5% false alarms on smooth data); the
slow tests in tests/test_bunching.py keep them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Below this many records a histogram is too thin to say anything.
MIN_VALUES = 100
#: Default excluded window: this many bins on each side of the threshold.
WINDOW_BINS = 3
#: The fit reaches at least this many bins (or one window width) beyond each end of the window.
FIT_BINS = 10
#: By default the fit reaches this share of the interquartile range either side of the
#: threshold: wide enough to pin the curve down, narrow enough for a degree-5 polynomial
#: to follow a skewed or two-humped shape (wider reaches biased the counterfactual).
REACH_IQR = 0.5
#: Default placebo thresholds: the real one shifted by these many window widths.
PLACEBO_SHIFTS = (-4, -2, 2, 4)
#: Bins of fit needed on each side of a window, so the polynomial interpolates.
MIN_SIDE_BINS = 3

Better = Literal["lower", "higher"]
Side = Literal["below", "above"]


@dataclass(frozen=True)
class Bunching:
    """An estimate of the excess of records just on the good side of a target, with its checks.

    ``excess`` is how many records sit in the good-side bins of the window
    above what the smooth counterfactual predicts; ``excess_ratio`` divides
    it by the counterfactual count of those bins (Kleven's normalised "b"):
    0.10 means 10% more records just inside the target than the smooth
    shape of the rest of the distribution suggests.

    ``detected`` is True when the ratio is positive and its bootstrap 95% interval
    excludes zero; ``placebo_detections`` counts the placebo thresholds (where
    nothing should happen) that "detect" too, which say the histogram is lumpy.
    Report the two together (:func:`describe_bunching`).
    """

    threshold: float
    good_side: Side
    #: The bin edge between the good side and the other: the threshold, or half a unit
    #: beyond it for whole-number data (bins then centre on whole numbers; a record
    #: exactly at the target always counts as meeting it).
    edge: float
    bin_width: float
    #: (lower, upper) bin edges of the excluded window.
    window: tuple[float, float]
    #: Bin centres of the fitting region, the window included.
    bins: tuple[float, ...]
    observed: tuple[int, ...]
    counterfactual: tuple[float, ...]
    excess: float
    excess_ratio: float
    ci_low: float
    ci_high: float
    #: (threshold, excess_ratio, ci_low, ci_high) at each placebo threshold.
    placebo: tuple[tuple[float, float, float, float], ...]
    detected: bool
    records: int
    degree: int
    bootstrap: int

    @property
    def placebo_detections(self) -> int:
        """Return how many placebo thresholds also show an excess whose interval excludes zero."""
        return sum(1 for _, ratio, low, _high in self.placebo if ratio > 0 and low > 0)


@dataclass(frozen=True)
class _Grid:
    """Equal bins laid so that ``edge`` is a bin edge; bin 0 is the first on the good side."""

    edge: float
    width: float
    better: Better

    def index(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        # Rounding first keeps a value on an edge (240.0 with width 0.1) on the side the
        # target puts it, whatever the floating-point noise.
        position = np.round((values - self.edge) / self.width, 9)
        if self.better == "lower":  # bin k is (edge + (k-1)w, edge + kw]: "at or below"
            return np.ceil(position).astype(np.int64)
        return np.floor(position).astype(np.int64)  # bin k is [edge + kw, edge + (k+1)w)

    def left(self, k: int) -> float:
        return self.edge + (k - 1 if self.better == "lower" else k) * self.width

    def good(self, k: NDArray[np.int64]) -> NDArray[np.bool_]:
        return k <= 0 if self.better == "lower" else k >= 0

    def covering(self, lower: float, upper: float) -> tuple[int, int]:
        """Return the first and last bin overlapping (lower, upper): the window snapped outward."""
        shift = 1 if self.better == "lower" else 0
        first = math.floor(round((lower - self.edge) / self.width + shift - 1, 9)) + 1
        last = math.ceil(round((upper - self.edge) / self.width + shift, 9)) - 1
        return first, last


@dataclass(frozen=True)
class _Fit:
    bins: NDArray[np.int64]
    observed: NDArray[np.int64]
    counterfactual: NDArray[np.float64]
    excess: float
    ratio: float
    low: float
    high: float


def detect_bunching(
    values: ArrayLike,
    threshold: float,
    better: Better,
    *,
    bin_width: float | None = None,
    window: tuple[float, float] | None = None,
    degree: int = 5,
    bootstrap: int = 200,
    seed: int = 0,
    placebos: tuple[float, ...] | list[float] | None = None,
    reach: float | None = None,
) -> Bunching:
    """Return the excess of records just inside a target, with a 95% interval and placebo checks.

    ``better="lower"`` (waits, days): the good side is at or below the
    threshold; ``better="higher"``: at or above it. Missing values are ignored.

    ``bin_width`` defaults to 1 for whole-number data, otherwise to half the
    Freedman-Diaconis width rounded down to 1, 2, 2.5 or 5 times a power of
    ten; bins are laid so the threshold is a bin edge. ``window`` is the
    excluded region (lower, upper), snapped outward to whole bins; by default
    three bins each side. Set it from what the team knows: how far below the
    target records could be pulled, and from how far above.

    The polynomial of ``degree`` is fitted to the bin counts within ``reach``
    (data units, default half the interquartile range) of the threshold, and
    at least ten bins or one window width beyond each end of the window; the
    window itself is left out. The interval resamples the records with
    replacement ``bootstrap`` times (drawn as multinomial bin counts, which
    is the same thing) and refits; it runs from the 2.5th to the 97.5th
    percentile of the ratios.

    ``placebos`` are other thresholds (moved onto the bin grid), estimated
    the same way with the real window also left out of their fit; by default
    the threshold shifted by 2 and 4 window widths each way, where that stays
    inside the data.
    """
    data = np.asarray(values, dtype=float).ravel()
    data = data[np.isfinite(data)]
    if data.size < MIN_VALUES:
        raise ValueError(
            f"There are {data.size} values; at least {MIN_VALUES} are needed to look for "
            "a pile-up at the target."
        )
    low, high = float(data.min()), float(data.max())
    if not low <= threshold <= high:
        raise ValueError(
            f"The target {threshold:g} is outside the data, which run from {low:g} to "
            f"{high:g}, so there is nothing either side of it to compare."
        )
    if degree < 0 or bootstrap < 20:
        raise ValueError(
            f"degree must be 0 or more (got {degree}) and bootstrap at least 20 (got {bootstrap})."
        )
    grid = _lay_grid(data, threshold, better, bin_width)
    real = _window_bins(grid, threshold, window)
    index = grid.index(data)
    if reach is None:
        q1, q3 = np.percentile(data, [25, 75])
        reach = float(q3 - q1) * REACH_IQR
    reach_bins = math.ceil(reach / grid.width)
    rng = np.random.default_rng(seed)
    main = _estimate(index, grid, real, None, degree, bootstrap, reach_bins, rng)
    if main is None:
        raise ValueError(
            f"There are too few records or bins either side of the target {threshold:g} to fit "
            "a smooth shape; try a narrower bin width, a smaller window or a lower degree."
        )
    placebo = _run_placebos(
        index, grid, real, placebos, threshold, degree, bootstrap, reach_bins, rng
    )
    return Bunching(
        threshold=float(threshold),
        good_side="below" if better == "lower" else "above",
        edge=grid.edge,
        bin_width=grid.width,
        window=(grid.left(real[0]), grid.left(real[1]) + grid.width),
        bins=tuple(grid.left(int(k)) + grid.width / 2 for k in main.bins),
        observed=tuple(int(c) for c in main.observed),
        counterfactual=tuple(float(c) for c in main.counterfactual),
        excess=main.excess,
        excess_ratio=main.ratio,
        ci_low=main.low,
        ci_high=main.high,
        placebo=placebo,
        detected=bool(main.ratio > 0 and main.low > 0),
        records=int(data.size),
        degree=degree,
        bootstrap=bootstrap,
    )


def _lay_grid(
    data: NDArray[np.float64], threshold: float, better: Better, bin_width: float | None
) -> _Grid:
    whole = bool(np.all(data == np.round(data)))
    width = float(bin_width) if bin_width is not None else _default_bin_width(data, whole)
    if width <= 0:
        raise ValueError(f"The bin width must be positive, not {width:g}.")
    edge = float(threshold)
    if whole and edge.is_integer() and width.is_integer():
        edge += 0.5 if better == "lower" else -0.5
    return _Grid(edge, width, better)


def _window_bins(
    grid: _Grid, threshold: float, window: tuple[float, float] | None
) -> tuple[int, int]:
    if window is None:
        if grid.better == "lower":
            return -WINDOW_BINS + 1, WINDOW_BINS
        return -WINDOW_BINS, WINDOW_BINS - 1
    if window[0] >= window[1]:
        raise ValueError(f"The window {window} must be (lower, upper) with lower < upper.")
    first, last = grid.covering(*window)
    if not first <= 0 <= last:
        raise ValueError(
            f"The window {window} must reach the target {threshold:g} from its good side."
        )
    return first, last


def _run_placebos(
    index: NDArray[np.int64],
    grid: _Grid,
    real: tuple[int, int],
    placebos: tuple[float, ...] | list[float] | None,
    threshold: float,
    degree: int,
    bootstrap: int,
    reach_bins: int,
    rng: np.random.Generator,
) -> tuple[tuple[float, float, float, float], ...]:
    """Return (threshold, ratio, ci_low, ci_high) at each placebo threshold that can be fitted."""
    if placebos is None:
        span = real[1] - real[0] + 1
        shifts = [s * span for s in PLACEBO_SHIFTS]
    else:
        shifts = [round((p - threshold) / grid.width) for p in placebos]
    first_data, last_data = int(index.min()), int(index.max())
    rows: list[tuple[float, float, float, float]] = []
    for shift in shifts:
        where = threshold + shift * grid.width
        if real[1] + shift >= real[0] and real[0] + shift <= real[1]:
            raise ValueError(
                f"The placebo threshold {where:g} is so close to the target that their "
                "windows overlap."
            )
        fit = None
        if (
            first_data <= real[0] + shift - MIN_SIDE_BINS
            and real[1] + shift + MIN_SIDE_BINS <= last_data
        ):
            shifted = _Grid(grid.edge + shift * grid.width, grid.width, grid.better)
            target = (real[0] - shift, real[1] - shift)  # the real window, in the placebo's bins
            fit = _estimate(
                index - shift, shifted, real, target, degree, bootstrap, reach_bins, rng
            )
        if fit is None:
            if placebos is None:
                continue  # a default placebo that runs off the data is simply left out
            raise ValueError(
                f"There are too few records around the placebo threshold {where:g} to fit a "
                "smooth shape; choose one further from the edge of the data."
            )
        rows.append((float(where), fit.ratio, fit.low, fit.high))
    return tuple(rows)


def _estimate(
    index: NDArray[np.int64],
    grid: _Grid,
    window: tuple[int, int],
    also_excluded: tuple[int, int] | None,
    degree: int,
    bootstrap: int,
    reach_bins: int,
    rng: np.random.Generator,
) -> _Fit | None:
    """Return the counterfactual fit around one window (bins numbered on ``grid``), or None."""
    # At least a window's width of fit on each side, so a wide window is interpolated across
    # rather than extrapolated into.
    margin = max(FIT_BINS, window[1] - window[0] + 1)
    first = max(min(-reach_bins, window[0] - margin), int(index.min()))
    last = min(max(reach_bins, window[1] + margin), int(index.max()))
    inside = (index >= first) & (index <= last)
    bins = np.arange(first, last + 1)
    counts = np.bincount(index[inside] - first, minlength=bins.size)
    in_window = (bins >= window[0]) & (bins <= window[1])
    fit_mask = ~in_window
    if also_excluded is not None:
        # a placebo must not take the real target's pile-up for the smooth shape
        fit_mask &= ~((bins >= also_excluded[0]) & (bins <= also_excluded[1]))
    below = int(np.sum(fit_mask & (bins < window[0])))
    above = int(np.sum(fit_mask & (bins > window[1])))
    if below < MIN_SIDE_BINS or above < MIN_SIDE_BINS or fit_mask.sum() < degree + 2:
        return None
    n = index.size
    share = counts / n
    # Resampling records with replacement gives bin counts that are one multinomial draw;
    # the last cell holds everything outside the fitting region.
    draws = rng.multinomial(n, np.append(share, max(0.0, 1.0 - share.sum())), size=bootstrap)
    matrix = np.column_stack([counts, draws[:, :-1].T]).astype(float)
    # A Legendre basis on x scaled to [-1, 1] keeps the fit well conditioned, and one
    # least-squares solve serves the observed counts and every bootstrap draw at once.
    scaled = 2 * (bins - first) / max(last - first, 1) - 1
    basis = np.polynomial.legendre.legvander(scaled, degree)
    coefs, *_ = np.linalg.lstsq(basis[fit_mask], matrix[fit_mask], rcond=None)
    fitted = basis @ coefs
    good = in_window & grid.good(bins)
    excess = (matrix[good] - fitted[good]).sum(axis=0)
    expected = fitted[good].sum(axis=0)
    if expected[0] <= 0:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(expected > 0, excess / expected, np.nan)
    low, high = np.nanpercentile(ratios[1:], [2.5, 97.5])
    return _Fit(
        bins=bins,
        observed=counts,
        counterfactual=fitted[:, 0],
        excess=float(excess[0]),
        ratio=float(ratios[0]),
        low=float(low),
        high=float(high),
    )


def _default_bin_width(data: NDArray[np.float64], whole: bool) -> float:
    """Return 1 for whole numbers, else half the Freedman-Diaconis width, rounded down tidily."""
    if whole:
        return 1.0
    q1, q3 = np.percentile(data, [25, 75])
    spread = float(q3 - q1) or float(data.max() - data.min()) or 1.0
    # Half the Freedman-Diaconis width (2 IQR / n^(1/3)): bunching is a local feature, so
    # the bins are narrower than a histogram meant to show the whole shape would use.
    raw = spread / data.size ** (1 / 3)
    power = 10.0 ** math.floor(math.log10(raw))
    return max(step * power for step in (1, 2, 2.5, 5) if step * power <= raw)


def describe_bunching(result: Bunching, name: str) -> str:
    """Return in plain words what the check at a target found and what it means for the team.

    Shares are "more" or "fewer", never signed; placebos are counted and explained.
    """
    side = "under" if result.good_side == "below" else "over"
    excess = round(result.excess)
    count = f"about {abs(excess):,} {'more' if excess > 0 else 'fewer'} records than expected"
    text = (
        f"{name}: {count if excess else 'about as many records as expected'} sit just {side} "
        f"the target of {result.threshold:g}, {_share(result.excess_ratio)} than a smooth curve "
        "through the rest of the records suggests (95% interval: "
        f"{_share(result.ci_low)} to {_share(result.ci_high)})."
    )
    checks, found = len(result.placebo), result.placebo_detections
    others = "one other threshold" if checks == 1 else f"{checks} other thresholds"
    placebos = f" The same check at {others} where nothing should happen found "
    how_many = (
        "none of them" if not found else "all of them" if found == checks else f"{found} of them"
    )
    if not result.detected:
        text += (
            " The interval runs from fewer to more, so this could well be chance: there is no "
            "clear sign of records being moved to meet the target."
        )
        return text + (f"{placebos}a pile-up at {how_many}." if checks else "")
    if not checks:
        return text + (
            " No other threshold could be checked to see whether this is particular to the "
            "target, so read it with care: is work timed to the target, or recorded that way?"
        )
    if found == 0:
        return text + (
            f"{placebos}no pile-up, so this one is particular to the target. That is a question "
            "for the team, not proof of anything: is work being timed to the target, or are "
            "times recorded that way?"
        )
    return text + (
        f"{placebos}a pile-up at {how_many} too, so the records are lumpy (rounded values or a "
        "curve that fits poorly) and this may say little about the target itself."
    )


def _share(ratio: float) -> str:
    percent = round(ratio * 100)
    if percent == 0:
        return "no more and no fewer"
    return f"{abs(percent)}% {'more' if percent > 0 else 'fewer'}"
