"""Randomisation inference when one or two places are in the pilot (placebo-in-space).

With one treated council among twenty, cluster-robust standard errors rest on
the treated council's own residuals and reject far too often (Conley and Taber
2011, REStat 93(1), 113-125). Instead, each other set of as many units plays
the pilot, the estimate is re-run, and the actual one is judged among them
(Fisher 1935; Imbens and Rubin 2015, *Causal Inference for Statistics, Social,
and Biomedical Sciences*, ch. 5; Abadie, Diamond and Hainmueller 2010, JASA
105(490), 493-505). The procedure is the coefficient-based "RI-beta" of
MacKinnon and Webb (2020), "Randomization inference for difference-in-
differences with few treated clusters", J. Econometrics 218(2), 435-450:
treatment goes to every set of G1 of the G units (the actual pilot joins the
comparison group when others play it), and the two-sided p-value compares
absolute coefficients. The actual assignment is counted and ties count against
the pilot, so p = (1 + placebos at least as large) / assignments >= 1 /
assignments: the upper end of the p-value interval MacKinnon and Webb discuss
for few assignments, which keeps the test at or below its nominal size.

Why the coefficient and not a t statistic: with one treated unit a standard
error is driven by that unit's residuals, so studentising gains nothing
(MacKinnon and Webb's t-based RI-t helps "except when there is just one
treated cluster", 2018 working-paper abstract); with two it holds size better
when the treated units are much larger or smaller than the rest, at some cost
in power. Young (2019, QJE 134(2), 557-598) prefers studentised statistics in
experiments with many units. The coefficient is what Conley-Taber and the
placebo-in-space compare, and it is linear in the hypothesised effect, so the
interval below is exact. Either way the comparison units must be like the
pilot's, in size above all (Ferman and Pinto 2019, REStat 101(3), 452-467):
the caller should say so when they are not.

The interval inverts the test. Under "the effect is tau" the pilot's outcomes
without the change are y - tau D (D the actual treatment column), and since
least squares is linear the estimate under assignment A becomes b_A - tau g_A,
g_A the coefficient from regressing D on A's design. |b_A - tau g_A| >= |b_0 -
tau| is a product of two linear functions of tau being >= 0, so p(tau) is a
step function with known jumps. The interval runs from the smallest to the
largest jump where p(tau) > 1 - level (the hull, should the accepted set have
gaps); a side is None when p stays above 1 - level out to infinity, as it
always does with fewer than 1 / (1 - level) assignments.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.linalg import qr

#: Given a boolean mask over rows "in the (placebo) pilot", returns the regressors X (n, k).
Design = Callable[[np.ndarray], np.ndarray]

#: Relative gap under which two placebo statistics count as tied (ties count against the pilot).
_TIE = 1e-9
#: Share of its squared length below which a column counts as within the span of the others.
_SPAN = 1e-10


@dataclass(frozen=True)
class Placebo:
    """The placebo-in-space test of one coefficient: estimate, p-value, interval, placebos."""

    estimate: float
    p_value: float
    ci_low: float | None
    ci_high: float | None
    assignments: int
    enumerated: bool
    smallest_p: float
    units: int
    treated: int
    level: float
    #: The estimate under each assignment (for a chart), the actual one first.
    placebo_estimates: np.ndarray
    #: How much each placebo estimate moves per unit of hypothesised effect (g_A; 1 for the actual).
    placebo_slopes: np.ndarray
    #: The units playing the pilot in each assignment, in the order of ``placebo_estimates``.
    placebo_units: tuple[tuple[object, ...], ...]

    def p_value_at(self, effect: float) -> float:
        """Return the p-value of the hypothesis that the pilot changed the outcome by ``effect``."""
        counts = _counts(self.placebo_estimates, self.placebo_slopes, np.array([float(effect)]))
        return float(counts[0]) / self.assignments


def placebo_inference(
    y: np.ndarray,
    design: Design,
    column: int,
    units: np.ndarray | Sequence[object],
    treated_units: Iterable[object],
    *,
    level: float = 0.95,
    max_assignments: int = 5000,
    seed: int = 20261201,
) -> Placebo:
    """Return how unusual the pilot's estimate is among every placebo choice of pilot units.

    ``units`` labels each row with the unit treatment was given to (council,
    ward); ``treated_units`` are the labels in the pilot. Every combination of
    that many units is tried when there are at most ``max_assignments`` of
    them; otherwise a sample seeded by ``seed``, always including the actual
    one. ``design(mask)`` builds the regressors with ``mask`` marking the rows
    of the placebo pilot; ``column`` is the coefficient tested. Columns that do
    not change with the assignment (fixed effects swept in, covariates) are
    projected out once, so each assignment costs one call to ``design`` and a
    few passes over the changing columns.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    if max_assignments < 2:
        raise ValueError("max_assignments must be at least 2 (the actual and one placebo)")
    outcome = np.asarray(y, dtype="float64")
    if outcome.ndim != 1 or outcome.size == 0:
        raise ValueError("y must be a non-empty one-dimensional array")
    if not np.isfinite(outcome).all():
        raise ValueError("y has missing or infinite values; drop those rows first")
    codes, labels = _unit_codes(units, outcome.size)
    actual = _actual_codes(treated_units, labels)
    combos, enumerated = _assignments(len(labels), actual, max_assignments, seed)

    def regressors(combo: tuple[int, ...]) -> np.ndarray:
        chosen = np.zeros(len(labels), dtype=bool)
        chosen[list(combo)] = True
        return _checked(design(chosen[codes]), outcome.size, column, combo, labels)

    first, second = regressors(combos[0]), regressors(combos[1])
    refit = _Refit(outcome, first, second, column)
    estimates, slopes = np.empty(len(combos)), np.empty(len(combos))
    for index, combo in enumerate(combos):
        X = first if index == 0 else second if index == 1 else regressors(combo)
        fit = refit.coefficients(X)
        if fit is None:
            who = ", ".join(str(labels[c]) for c in combo)
            role = "the actual pilot" if index == 0 else f"a placebo pilot of {who}"
            raise ValueError(
                f"the effect cannot be estimated with {role}: its column is a combination "
                "of the other columns (a unit with no rows before or after the change?)"
            )
        estimates[index], slopes[index] = fit
    slopes[0] = 1.0  # regressing D on the design it is a column of gives exactly 1
    low, high = _interval(estimates, slopes, level)
    count = int(_counts(estimates, slopes, np.zeros(1))[0])
    return Placebo(
        estimate=float(estimates[0]),
        p_value=count / len(combos),
        ci_low=low,
        ci_high=high,
        assignments=len(combos),
        enumerated=enumerated,
        smallest_p=1 / len(combos),
        units=len(labels),
        treated=len(actual),
        level=level,
        placebo_estimates=estimates,
        placebo_slopes=slopes,
        placebo_units=tuple(tuple(labels[c] for c in combo) for combo in combos),
    )


class _Refit:
    """Re-fits one coefficient cheaply: the columns no assignment changes are projected out once.

    The changing columns Z (pilot indicator and products) are few, so each
    assignment needs only Z's cross-products with a basis of the fixed columns,
    y and D, in one pass over the rows (Frisch-Waugh-Lovell); the rest is m x m.
    """

    def __init__(self, y: np.ndarray, actual: np.ndarray, placebo: np.ndarray, column: int):
        changing = np.any(actual != placebo, axis=0)
        if not changing[column]:
            raise ValueError(
                "the tested column does not change when another unit plays the pilot; "
                "design must build it from the mask it is given"
            )
        self.y, self.d, self.column = y, actual[:, column].copy(), column
        self.changing = np.flatnonzero(changing)
        self.position = int(np.searchsorted(self.changing, column))
        # a copy of the actual design whose changing columns are overwritten per assignment,
        # so one comparison with the whole matrix shows whether anything else changed
        self.template = actual.copy()
        basis = _basis(actual[:, ~changing])
        self.rank = basis.shape[1]
        self.stacked = np.asfortranarray(np.column_stack([basis, y, self.d]))
        self.basis_y, self.basis_d = basis.T @ y, basis.T @ self.d

    def coefficients(self, X: np.ndarray) -> tuple[float, float] | None:
        """Return (coefficient of y, coefficient of the actual D) on ``column``, or None."""
        if X.shape != self.template.shape:
            raise ValueError(
                f"design returned shape {X.shape} for one pilot, {self.template.shape} for another"
            )
        changing = X[:, self.changing]
        self.template[:, self.changing] = changing
        if not np.array_equal(X, self.template):
            return self._full(X)
        # Fortran order: with C order numpy's matmul of a tall pair can be many times slower
        Z = np.asfortranarray(changing)
        cross = self.stacked.T @ Z
        projected = cross[: self.rank]
        gram = Z.T @ Z - projected.T @ projected
        with_y = cross[self.rank] - projected.T @ self.basis_y
        with_d = cross[self.rank + 1] - projected.T @ self.basis_d
        return _coefficient(gram, np.einsum("ij,ij->j", Z, Z), with_y, with_d, self.position)

    def _full(self, X: np.ndarray) -> tuple[float, float] | None:
        """Fit an assignment that changed a column the first two left alone, in full."""
        target = X[:, self.column]
        span = _basis(np.delete(X, self.column, axis=1))
        residual = target - span @ (span.T @ target)
        squares, length = float(residual @ residual), float(target @ target)
        if not length > 0 or squares <= _SPAN * length:
            return None
        return float(residual @ self.y) / squares, float(residual @ self.d) / squares


def _coefficient(
    gram: np.ndarray, lengths: np.ndarray, with_y: np.ndarray, with_d: np.ndarray, target: int
) -> tuple[float, float] | None:
    """Return the target column's coefficients on y and D from cross-products, or None.

    The cross-products are taken after projecting out the fixed columns;
    ``lengths`` are squared lengths before. A column keeping less than
    ``_SPAN`` of its squared length lay in the fixed span (a pilot indicator
    beside unit effects) and is dropped; the target's coefficient is then its
    Schur complement's (Frisch-Waugh-Lovell), with columns scaled to unit length.
    """
    keep = (lengths > 0) & (np.diag(gram) > _SPAN * lengths)
    if not keep[target]:
        return None
    index = np.flatnonzero(keep)
    at = int(np.searchsorted(index, target))
    scale = np.sqrt(lengths[index])
    g = gram[np.ix_(index, index)] / np.outer(scale, scale)
    uy, ud = with_y[index] / scale, with_d[index] / scale
    others = np.delete(np.arange(index.size), at)
    schur, ny, nd = g[at, at], uy[at], ud[at]
    if others.size:
        inverse = np.linalg.pinv(g[np.ix_(others, others)], rcond=_SPAN, hermitian=True)
        weights = inverse @ g[others, at]
        schur, ny, nd = (
            schur - g[at, others] @ weights,
            ny - weights @ uy[others],
            nd - weights @ ud[others],
        )
    if not schur > _SPAN:
        return None
    return float(ny / schur / scale[at]), float(nd / schur / scale[at])


def _basis(columns: np.ndarray) -> np.ndarray:
    """Return an orthonormal basis of the columns' span, ignoring directions that are rounding.

    Columns are scaled to unit length first so that a covariate in thousands
    and a 0/1 column are judged alike.
    """
    lengths = np.linalg.norm(columns, axis=0)
    keep = lengths > 0
    if not keep.any():
        return np.zeros((columns.shape[0], 0))
    q, r, _ = qr(columns[:, keep] / lengths[keep], mode="economic", pivoting=True)
    rank = int(np.sum(np.abs(np.diag(r)) > math.sqrt(_SPAN)))
    return np.asarray(q[:, :rank])


def _counts(estimates: np.ndarray, slopes: np.ndarray, effects: np.ndarray) -> np.ndarray:
    """Return, for each hypothesised effect, how many assignments are at least as extreme."""
    out = np.empty(effects.size, dtype=np.int64)
    scale_b = float(np.max(np.abs(estimates)))
    scale_g = max(1.0, float(np.max(np.abs(slopes))))
    step = max(1, 2_000_000 // estimates.size)  # bounds memory at 5000 assignments
    for start in range(0, effects.size, step):
        tau = effects[start : start + step, None]
        placebo = np.abs(estimates[None, :] - tau * slopes[None, :])
        actual = np.abs(estimates[0] - tau)
        tolerance = _TIE * (scale_b + np.abs(tau) * scale_g)
        out[start : start + step] = np.sum(placebo >= actual - tolerance, axis=1)
    return out


def _interval(
    estimates: np.ndarray, slopes: np.ndarray, level: float
) -> tuple[float | None, float | None]:
    """Return the bounds of {tau : p(tau) > 1 - level}, None where a side is unbounded.

    p(tau) > 1 - level means more than floor((1 - level) * assignments)
    assignments at least as extreme; counts are compared, not shares, so that
    1/20 is not lost to rounding against 1 - 0.95.
    """
    allowed = math.floor((1 - level) * estimates.size + 1e-9)
    b0, b, g = estimates[0], estimates[1:], slopes[1:]
    jumps = [np.array([b0])]
    # |b - tau g| >= |b0 - tau|  <=>  ((b - b0) - tau (g - 1)) ((b + b0) - tau (g + 1)) >= 0
    for numerator, denominator in ((b - b0, g - 1), (b + b0, g + 1)):
        keep = np.abs(denominator) > 1e-12
        jumps.append(numerator[keep] / denominator[keep])
    points = np.unique(np.concatenate(jumps))
    points = points[np.isfinite(points)]
    reach = 1.0 + float(np.max(np.abs(points)))
    # beyond the outermost jump p(tau) no longer changes, so one point each side stands for the ray
    rays = _counts(estimates, slopes, np.array([points[0] - reach, points[-1] + reach]))
    accepted = points[_counts(estimates, slopes, points) > allowed]
    low = None if rays[0] > allowed else float(accepted[0])
    high = None if rays[1] > allowed else float(accepted[-1])
    return low, high


def _unit_codes(units: np.ndarray | Sequence[object], rows: int) -> tuple[np.ndarray, list[object]]:
    """Return each row's unit as a code 0..G-1 and the G labels in sorted order."""
    values = np.asarray(units)
    if values.ndim != 1 or values.size != rows:
        raise ValueError(f"units must label each of the {rows} rows, one label a row")
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError as error:
        raise ValueError("unit labels must be all numbers or all text") from error
    if (codes < 0).any():
        raise ValueError("some rows have no unit label")
    return np.asarray(codes), list(pd.Index(uniques).tolist())


def _actual_codes(treated_units: Iterable[object], labels: list[object]) -> tuple[int, ...]:
    """Return the sorted codes of the pilot's units, refusing unknown or repeated labels."""
    lookup = {label: code for code, label in enumerate(labels)}
    wanted = list(treated_units)
    missing = [unit for unit in wanted if unit not in lookup]
    if missing:
        raise ValueError(f"pilot units not found among the units: {missing}")
    codes = sorted(lookup[unit] for unit in wanted)
    if len(set(codes)) != len(codes):
        raise ValueError("a pilot unit is listed more than once")
    if not 0 < len(codes) < len(labels):
        raise ValueError("the pilot must have at least one unit and leave at least one out")
    return tuple(codes)


def _assignments(
    units: int, actual: tuple[int, ...], limit: int, seed: int
) -> tuple[list[tuple[int, ...]], bool]:
    """Return the assignments to compare, the actual first, and whether they are all of them."""
    if math.comb(units, len(actual)) <= limit:
        others = (c for c in itertools.combinations(range(units), len(actual)) if c != actual)
        return [actual, *others], True
    rng = np.random.default_rng(seed)
    chosen, seen = [actual], {actual}
    while len(chosen) < limit:
        # drawn without replacement among the other assignments, so none is counted twice
        combo = tuple(sorted(int(c) for c in rng.choice(units, size=len(actual), replace=False)))
        if combo not in seen:
            seen.add(combo)
            chosen.append(combo)
    return chosen, False


def _checked(
    X: np.ndarray, rows: int, column: int, combo: tuple[int, ...], labels: list[object]
) -> np.ndarray:
    """Return the design's matrix as float64, refusing a wrong shape or missing values."""
    matrix = np.asarray(X, dtype="float64")
    if matrix.ndim != 2 or matrix.shape[0] != rows:
        raise ValueError(f"design must return a matrix with {rows} rows, not shape {matrix.shape}")
    if not 0 <= column < matrix.shape[1]:
        raise ValueError(f"column {column} is outside the design's {matrix.shape[1]} columns")
    if not np.isfinite(matrix).all():
        who = ", ".join(str(labels[c]) for c in combo)
        raise ValueError(f"design returned missing or infinite values with {who} as the pilot")
    return matrix
