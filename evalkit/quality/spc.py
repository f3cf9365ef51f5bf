"""Statistical process control for an outcome over time: XmR charts instead of red/amber/green.

An XmR (individuals and moving range) chart asks whether the variation in a
measure looks like the ordinary ups and downs of a stable process ("common
cause") or shows a pattern worth a question ("special cause"). A special cause
is a prompt for the local team to look into what happened, never a verdict.

The rules follow NHS England and NHS Improvement, "Making Data Count" (2019)
and "Making Data Count: Strengthening your decisions" (2021), which build on
Wheeler, D. J., *Understanding Variation: the key to managing chaos*
(SPC Press, 1993; 2nd edition 2000):

1. outside-limits: a point above the upper or below the lower process limit;
2. shift: 7 or more points in a row all above, or all below, the mean
   (a point exactly on the mean ends the run);
3. trend: 6 or more points in a row, each higher (or each lower) than the one
   before (two equal neighbours end the run);
4. two-of-three: 2 of 3 points in a row in the outer third between the mean
   and a process limit (beyond mean ± 2 sigma), or beyond, on the same side.

Process limits are mean ± 2.66 × the mean moving range. 2.66 = 3 / d2, where
d2 = 1.128 is the expected range of two independent normal values in units of
their standard deviation, so mean moving range / 1.128 estimates sigma and the
limits sit at about mean ± 3 sigma (Wheeler 2000; the d2 table in Montgomery,
*Introduction to Statistical Quality Control*, Appendix VI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Rule = Literal["outside-limits", "shift", "trend", "two-of-three"]
Direction = Literal["up", "down"]

#: Expected range of two independent normal values, in standard deviations (n = 2).
D2 = 1.128
#: 3 / d2 = 2.6596, rounded to 2.66 as Wheeler and Making Data Count do.
LIMIT_FACTOR = 2.66
#: Making Data Count run lengths.
SHIFT_POINTS = 7
TREND_POINTS = 6
#: A point this many times the distance from the mean to a limit is "near the limit" (2 sigma of 3).
NEAR_LIMIT_SHARE = 2 / 3
#: Values within this relative distance are treated as equal, so rounding in the
#: mean of a flat series does not put identical points "below the mean".
_RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class SpecialCause:
    """A pattern in the series unlikely to come from common-cause variation alone.

    ``start`` and ``end`` are positions in the series (both included).
    """

    rule: Rule
    start: int
    end: int
    direction: Direction
    message: str


@dataclass(frozen=True)
class XmR:
    """An individuals (XmR) chart: values by period, mean, process limits and special causes."""

    periods: tuple[str, ...]
    values: tuple[float, ...]
    mean: float
    mr_mean: float
    lower: float
    upper: float
    causes: tuple[SpecialCause, ...]

    @property
    def moving_ranges(self) -> tuple[float, ...]:
        """Return the absolute difference between each value and the one before it."""
        return tuple(float(v) for v in np.abs(np.diff(np.asarray(self.values, dtype=float))))

    def points_in(self, cause: SpecialCause) -> tuple[int, ...]:
        """Return the positions of the points that make up a special cause.

        For a two-of-three cause these are the points near or beyond the
        limit, not the ones between them; for the other rules, every point
        from start to end.
        """
        span = range(cause.start, cause.end + 1)
        if cause.rule != "two-of-three":
            return tuple(span)
        near = _near_limit(np.asarray(self.values, dtype=float), self.mean, self.lower, self.upper)[
            cause.direction
        ]
        return tuple(i for i in span if near[i])

    @property
    def sigma(self) -> float:
        """Return the estimated standard deviation of common-cause variation (mR-bar / 1.128)."""
        return self.mr_mean / D2


def xmr_chart_data(
    values: npt.ArrayLike,
    periods: Sequence[object] | None = None,
    *,
    baseline: int | None = None,
) -> XmR:
    """Return the XmR chart for a series: mean, process limits and special causes.

    Periods whose value is missing are skipped; the moving range then runs from
    the point before the gap to the point after it. The mean and the mean
    moving range come from the first ``baseline`` points with a value (all of
    them when ``baseline`` is None), so a later change can be judged against
    how the process ran before it. Periods default to "1", "2", ...
    """
    array = np.asarray(values, dtype=float).ravel()
    if periods is None:
        labels = [str(i + 1) for i in range(len(array))]
    else:
        labels = [str(p) for p in periods]
        if len(labels) != len(array):
            raise ValueError(
                f"There are {len(array)} values but {len(labels)} periods; "
                "give one period for each value."
            )
    keep = ~np.isnan(array)
    array = array[keep]
    labels = [label for label, kept in zip(labels, keep, strict=True) if kept]
    if len(array) < 2:
        raise ValueError(
            f"An XmR chart needs at least 2 periods with a value; this series has {len(array)}."
        )
    if baseline is None:
        base = array
    else:
        if baseline < 2:
            raise ValueError(f"The baseline must be at least 2 points, not {baseline}.")
        if baseline > len(array):
            raise ValueError(
                f"The baseline asks for the first {baseline} points, "
                f"but only {len(array)} periods have a value."
            )
        base = array[:baseline]
    mean = float(np.mean(base))
    mr_mean = float(np.mean(np.abs(np.diff(base))))
    lower, upper = mean - LIMIT_FACTOR * mr_mean, mean + LIMIT_FACTOR * mr_mean
    values_tuple = tuple(float(v) for v in array)
    periods_tuple = tuple(labels)
    return XmR(
        periods=periods_tuple,
        values=values_tuple,
        mean=mean,
        mr_mean=mr_mean,
        lower=lower,
        upper=upper,
        causes=special_causes(values_tuple, mean, lower, upper, periods_tuple),
    )


def special_causes(
    values: Sequence[float],
    mean: float,
    lower: npt.ArrayLike,
    upper: npt.ArrayLike,
    periods: Sequence[str],
) -> tuple[SpecialCause, ...]:
    """Return every special cause in the series, each run reported once, in order of start.

    A run is reported at its full length (a run of 9 points above the mean is
    one shift, not three overlapping ones). A point can belong to more than one
    cause, for example a point outside the limits that ends a shift. ``lower``
    and ``upper`` are one level each (an XmR chart) or one for each point (a p-
    or u-chart, whose limits follow each point's own denominator).
    """
    array = np.asarray(values, dtype=float)
    lows, highs = _levels(lower, len(array)), _levels(upper, len(array))
    if len(periods) != len(array):
        raise ValueError(
            f"There are {len(array)} values but {len(periods)} periods; "
            "give one period for each value."
        )
    if np.isnan(array).any():
        raise ValueError("The series has missing values; leave those periods out first.")
    if not len(array):
        return ()
    tol = _tolerance(array, mean, lows, highs)
    labels = [str(p) for p in periods]
    causes = [
        *_outside_limits(array, lows, highs, tol, labels),
        *_shifts(array, mean, tol, labels),
        *_trends(array, labels),
        *_two_of_three(array, mean, lows, highs, labels),
    ]
    order: list[Rule] = ["outside-limits", "shift", "trend", "two-of-three"]
    return tuple(sorted(causes, key=lambda c: (c.start, order.index(c.rule), c.end)))


def _levels(level: npt.ArrayLike, size: int) -> npt.NDArray[np.float64]:
    """Return a limit as one level for each point (a single level is repeated)."""
    levels = np.asarray(level, dtype=float)
    if levels.ndim == 0:
        return np.full(size, float(levels))
    if len(levels) != size:
        raise ValueError(f"There are {size} values but {len(levels)} limit levels.")
    return levels


def _runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Return (start, end) of each maximal run of True, end included."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(flags) - 1))
    return runs


def _span(labels: list[str], start: int, end: int) -> str:
    return f"in {labels[start]}" if start == end else f"from {labels[start]} to {labels[end]}"


def _outside_limits(
    array: npt.NDArray[np.float64],
    lower: npt.NDArray[np.float64] | float,
    upper: npt.NDArray[np.float64] | float,
    tol: float,
    labels: list[str],
) -> list[SpecialCause]:
    causes = []
    sides: list[tuple[Direction, npt.NDArray[np.bool_], str]] = [
        ("up", array > upper + tol, "above the upper process limit"),
        ("down", array < lower - tol, "below the lower process limit"),
    ]
    for direction, flags, where in sides:
        for start, end in _runs(flags):
            count = end - start + 1
            what = "1 point" if count == 1 else f"{count} points in a row"
            causes.append(
                SpecialCause(
                    "outside-limits",
                    start,
                    end,
                    direction,
                    f"{what} {where} {_span(labels, start, end)}",
                )
            )
    return causes


def _shifts(
    array: npt.NDArray[np.float64], mean: float, tol: float, labels: list[str]
) -> list[SpecialCause]:
    causes = []
    sides: list[tuple[Direction, npt.NDArray[np.bool_], str]] = [
        ("up", array > mean + tol, "above"),
        ("down", array < mean - tol, "below"),
    ]
    for direction, flags, where in sides:
        for start, end in _runs(flags):
            count = end - start + 1
            if count >= SHIFT_POINTS:
                causes.append(
                    SpecialCause(
                        "shift",
                        start,
                        end,
                        direction,
                        f"{count} points in a row {where} the mean {_span(labels, start, end)}",
                    )
                )
    return causes


def _trends(array: npt.NDArray[np.float64], labels: list[str]) -> list[SpecialCause]:
    causes = []
    steps = np.diff(array)
    sides: list[tuple[Direction, npt.NDArray[np.bool_], str]] = [
        ("up", steps > 0, "higher"),
        ("down", steps < 0, "lower"),
    ]
    for direction, flags, word in sides:
        # A run of k rising steps covers k + 1 points.
        for first_step, last_step in _runs(flags):
            start, end = first_step, last_step + 1
            count = end - start + 1
            if count >= TREND_POINTS:
                causes.append(
                    SpecialCause(
                        "trend",
                        start,
                        end,
                        direction,
                        f"{count} points in a row, each {word} than the one before, "
                        f"{_span(labels, start, end)}",
                    )
                )
    return causes


def _tolerance(array: npt.NDArray[np.float64], *levels: npt.NDArray[np.float64] | float) -> float:
    if not len(array):
        return 0.0
    flat = [np.ravel(np.asarray(level, dtype=float)) for level in levels]
    return _RELATIVE_TOLERANCE * float(np.max(np.abs(np.concatenate([array, *flat]))))


def _near_limit(
    array: npt.NDArray[np.float64],
    mean: float,
    lower: npt.NDArray[np.float64] | float,
    upper: npt.NDArray[np.float64] | float,
) -> dict[Direction, npt.NDArray[np.bool_]]:
    """Return, for each side, which points lie beyond two thirds of the way to the limit."""
    tol = _tolerance(array, mean, lower, upper)
    return {
        "up": array > mean + NEAR_LIMIT_SHARE * (upper - mean) + tol,
        "down": array < mean - NEAR_LIMIT_SHARE * (mean - lower) - tol,
    }


def _two_of_three(
    array: npt.NDArray[np.float64],
    mean: float,
    lower: npt.NDArray[np.float64] | float,
    upper: npt.NDArray[np.float64] | float,
    labels: list[str],
) -> list[SpecialCause]:
    causes = []
    near_by_side = _near_limit(array, mean, lower, upper)
    sides: list[tuple[Direction, str]] = [("up", "upper"), ("down", "lower")]
    for direction, which in sides:
        near = near_by_side[direction]
        # "2 of 3 in a row" holds exactly when two near points are at most 2 positions apart;
        # chains of such points make one cause.
        positions = np.flatnonzero(near)
        groups: list[list[int]] = []
        for position in positions:
            if groups and position - groups[-1][-1] <= 2:
                groups[-1].append(int(position))
            else:
                groups.append([int(position)])
        for group in groups:
            if len(group) < 2:
                continue
            start, end = group[0], group[-1]
            span = end - start + 1
            count = (
                f"{len(group)} points in a row"
                if span == len(group)
                else (f"{len(group)} of {span} points")
            )
            causes.append(
                SpecialCause(
                    "two-of-three",
                    start,
                    end,
                    direction,
                    f"{count} near or beyond the {which} process limit "
                    f"(in the outer third between the mean and the limit) "
                    f"{_span(labels, start, end)}",
                )
            )
    return causes
