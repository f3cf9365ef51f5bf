"""synthdid's Frank-Wolfe steps, compiled: every problem of a batch stepped on its own.

The steps are :func:`evalkit.estimate._sdid.frank_wolfe`'s, one problem at a
time, in plain loops that numba compiles to machine code (once: the compiled
code is kept beside this file, or in the user's cache folder when that is not
writable). A step costs O(n + m) arithmetic and no Python, so a synthetic
control pilot's placebo, leave-one-out and in-time problems (a few hundred,
each up to 10,000 steps) take a fraction of a second rather than seconds.
Only the order in which a few sums are added differs from the numpy steps;
tests/test_frank_wolfe.py checks the two agree.
"""

from __future__ import annotations

import warnings
from typing import Any

import numba
import numpy as np


def _compiled(function: Any) -> Any:
    """Return ``function`` compiled, its machine code cached on disk when a folder allows it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", numba.NumbaWarning)
            return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # no writable cache folder: compile in each process instead
        return numba.njit(nogil=True)(function)


def _steps(
    A: np.ndarray,
    b: np.ndarray,
    eta: np.ndarray,
    x: np.ndarray,
    gram: np.ndarray,
    Atb: np.ndarray,
    Ax: np.ndarray,
    Gx: np.ndarray,
    threshold: np.ndarray,
    max_iter: int,
    allowed: np.ndarray,
    m: np.ndarray,
) -> None:
    """Step each problem ``p`` of the batch in place, from ``x[p]``, until it stops.

    The arrays are :func:`evalkit.estimate._sdid.frank_wolfe`'s: ``A`` (B, m, n),
    ``b`` (B, m), ``x``, ``Atb`` (``A'b``) and ``Gx`` (``A'A x``) (B, n), ``Ax``
    (B, m), ``gram`` (``A'A``) (B, n, n), ``eta``, ``threshold``
    (``min_decrease ** 2``) and ``m`` (B,); ``allowed`` (B, n) marks the columns
    a problem may weight.
    """
    problems, rows, n = A.shape
    half = np.empty(n)
    d_x = np.empty(n)
    d_err = np.empty(rows)
    for p in range(problems):
        previous = np.inf
        for step_number in range(max_iter):
            # the corner the gradient falls most steeply towards (the first, on a tie)
            best = -1
            lowest = np.inf
            for j in range(n):
                half[j] = Gx[p, j] - Atb[p, j] + eta[p] * x[p, j]
                if allowed[p, j] and (best < 0 or half[j] < lowest):
                    lowest = half[j]
                    best = j
            moved = False
            d_x_sq = 0.0
            slope = 0.0
            for j in range(n):
                d_x[j] = -x[p, j] + (1.0 if j == best else 0.0)
                d_x_sq += d_x[j] * d_x[j]
                slope += half[j] * d_x[j]
                moved = moved or d_x[j] != 0.0
            d_err_sq = 0.0
            for i in range(rows):
                d_err[i] = A[p, i, best] - Ax[p, i]
                d_err_sq += d_err[i] * d_err[i]
            denominator = d_err_sq + eta[p] * d_x_sq
            step = 0.0
            if denominator > 0.0 and moved:  # exact line search, kept on the simplex
                step = min(max(-slope / denominator, 0.0), 1.0)
            x_sq = 0.0
            for j in range(n):
                x[p, j] += step * d_x[j]
                Gx[p, j] += step * (gram[p, j, best] - Gx[p, j])
                x_sq += x[p, j] * x[p, j]
            err_sq = 0.0
            for i in range(rows):
                Ax[p, i] += step * d_err[i]
                err_sq += (Ax[p, i] - b[p, i]) ** 2
            value = (eta[p] * x_sq + err_sq) / m[p]
            going = step_number == 0 or previous - value > threshold[p]
            previous = value
            if not going:
                break


steps = _compiled(_steps)
