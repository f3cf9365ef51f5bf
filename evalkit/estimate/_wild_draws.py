"""The restricted wild bootstrap's draws, five numbers each, and the interval that inverts them.

Roodman, Nielsen, MacKinnon and Webb (2019), "Fast and wild", Stata Journal
19(1):4-60: once the data are collapsed to cluster-level scores
(:func:`evalkit.estimate._wild._collapse`), each draw's bootstrap t-statistic
at every null beta0 follows from five numbers, so a p-value costs O(B) a trial
null and the interval (the nulls not rejected) is found by bracketing and
bisection without touching the data again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
#: |t*| within this relative distance of |t| counts as a tie. Weight vectors that are
#: constant over clusters give t* = t exactly; rounding must not decide whether they count.
_TIE = 1e-9
_GRID = np.geomspace(0.05, 1e4, 48)  # trial nulls, in standard errors from the estimate
_BISECTIONS = 50
_CHUNK = 250_000  # trial nulls x draws evaluated at once, to bound memory


@dataclass(frozen=True)
class Draws:
    """Per draw, the five numbers that give its bootstrap t-statistic at every null.

    At the null beta0 = estimate + u * se the draw's numerator is n0 - u n1 and
    its squared CRV1 standard error is scale * (q00 - 2 u q01 + u^2 q11).
    """

    n0: FloatArray
    n1: FloatArray
    q00: FloatArray
    q01: FloatArray
    q11: FloatArray
    scale: float

    def t_stars(self, u: float) -> FloatArray:
        """Return every draw's bootstrap t-statistic at the null ``u`` standard errors away."""
        variance = self.scale * (self.q00 - 2 * u * self.q01 + u * u * self.q11)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.n0 - u * self.n1) / np.sqrt(variance)

    def extreme(self, u: FloatArray) -> npt.NDArray[np.bool_]:
        """Return, for each null in ``u`` (rows) and draw (columns), whether |t*| >= |t|."""
        v = u[:, None]
        numerator = (self.n0 - v * self.n1) ** 2
        variance = self.scale * (self.q00 - 2 * v * self.q01 + v * v * self.q11)
        # squared comparison, no division: a zero bootstrap variance counts as extreme
        return numerator >= (1 - _TIE) ** 2 * v * v * variance

    def p_values(self, u: FloatArray) -> FloatArray:
        """Return the symmetric bootstrap p-value, share of |t*| >= |t|, at each null in ``u``."""
        step = max(1, _CHUNK // self.n0.size)
        counts = [
            np.count_nonzero(self.extreme(u[start : start + step]), axis=1)
            for start in range(0, u.size, step)
        ]
        return np.concatenate(counts) / self.n0.size

    def tail_p(self) -> float:
        """Return the p-value's limit as the null goes to either infinity.

        A draw whose bootstrap scores do not move with the null (q11 = 0)
        grows linearly, like |t|; it counts in the limit when it grows as fast.
        If the limit exceeds alpha the confidence set is unbounded.
        """
        flat = self.q11 <= 1e-18 * max(float(self.q11.max()), float(self.q00.max()), 1e-300)
        steep = self.n1**2 >= (1 - _TIE) ** 2 * self.scale * self.q00
        return float(np.mean(flat & steep))


def invert_test(boot: Draws, alpha: float) -> tuple[float, float]:
    """Return the interval, in standard errors from the estimate, of nulls with p > alpha.

    The outermost crossing on each side, so a confidence set in pieces gets
    its hull (conservative). Each crossing is bracketed on a geometric grid and
    bisected; p(0) = 1 always. Infinite when the set reaches either infinity.
    """
    if boot.tail_p() > alpha:
        return -math.inf, math.inf
    low, high = (side * _outer_crossing(boot, side, alpha) for side in (-1.0, 1.0))
    return low, high


def _outer_crossing(boot: Draws, side: float, alpha: float) -> float:
    """Return the largest distance ``d`` on one side with p(side * d) > alpha (bisected)."""
    inner, grid = 0.0, _GRID  # p(0) = 1: the estimate itself is never rejected
    while True:
        accepted = np.flatnonzero(boot.p_values(side * grid) > alpha)
        if accepted.size == 0 or accepted[-1] < grid.size - 1:
            break
        if grid[-1] >= 1e12:  # p reaches its (rejecting) limit only beyond any useful range
            return math.inf
        inner, grid = float(grid[-1]), grid[-1] * np.geomspace(1, 1e4, _GRID.size)[1:]
    if accepted.size:
        inner = float(grid[accepted[-1]])
    outer = float(grid[accepted[-1] + 1 if accepted.size else 0])
    # only the draws whose |t*| >= |t| flips inside the bracket move p there: bisect on them
    ends = boot.extreme(np.array([side * inner, side * outer]))
    moving = ends[0] != ends[1]
    steady = int(np.count_nonzero(ends[0] & ~moving))
    few = Draws(
        boot.n0[moving],
        boot.n1[moving],
        boot.q00[moving],
        boot.q01[moving],
        boot.q11[moving],
        boot.scale,
    )
    for _ in range(_BISECTIONS):
        middle = 0.5 * (inner + outer)
        count = steady + int(np.count_nonzero(few.extreme(np.array([side * middle]))))
        if count / boot.n0.size > alpha:
            inner = middle
        else:
            outer = middle
    return 0.5 * (inner + outer)
