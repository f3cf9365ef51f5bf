"""Synthetic difference-in-differences, synthetic control and plain DiD on a place-by-period matrix.

This follows the reference R package ``synthdid`` (Arkhangelsky, Athey,
Hirshberg, Imbens and Wager 2021, "Synthetic difference-in-differences",
American Economic Review 111(12):4088-4118; github.com/synth-inference/synthdid,
``R/solver.R`` and ``R/synthdid.R``) step for step, without covariates:

- the noise level is the standard deviation of the comparison places' first
  differences before the change; unit weights are regularised by
  ``zeta_omega = ((N1 T1) ** (1/4)) * noise``, time weights by ``1e-6 * noise``;
- each weight vector is found by Frank-Wolfe with exact line search on the
  simplex, stopping when an iteration lowers the objective by less than
  ``(1e-5 * noise) ** 2`` or after 10,000 iterations; first 100 iterations,
  then the weights no larger than a quarter of the largest are set to zero
  (``sparsify_function``) and the solver runs again from there;
- synthetic control is the same with no time weights, no intercept and
  ``zeta_omega = 1e-6 * noise``; difference-in-differences uses equal weights.

What is new here is only speed: many problems of one shape (the placebo
places, leave-one-out, the in-time placebo) are solved together, in one
compiled loop (numba), each stopping by the rule above on its own, and warm
started as ``synthdid``'s placebo standard error warm starts them (Algorithm 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Method = Literal["sdid", "sc", "did"]

#: Iterations before the weights are sparsified, and in all (synthdid's defaults).
PRE_SPARSIFY_ITERATIONS = 100
MAX_ITERATIONS = 10_000


@dataclass(frozen=True)
class Problem:
    """One estimate to make: who plays the pilot, who may compare, when the change began.

    Periods are positions in the data's columns; ``pre`` periods come first and
    the estimate averages the gaps over ``pre`` to ``end``. ``zeta_omega``,
    ``zeta_lambda`` and ``min_decrease`` are synthdid's regularisation and
    stopping rule (:func:`problem` computes them; a placebo keeps its
    estimate's, as synthdid's placebo standard error does). Warm starts are
    weights over all places (zero off the donors) and over the pre periods.
    """

    method: Method
    treated: np.ndarray  # (N,) the pilot's series is this weighted sum of places (1/N1 each)
    donors: np.ndarray  # (N,) bool: places that may be weighted
    pre: int
    end: int
    zeta_omega: float
    zeta_lambda: float
    min_decrease: float
    omega_start: np.ndarray | None = None
    lambda_start: np.ndarray | None = None


def noise_level(controls_pre: np.ndarray) -> float:
    """Return the sd (n - 1) of the comparison places' changes from period to period."""
    return float(np.std(np.diff(controls_pre, axis=1), ddof=1))


def problem(
    Y: np.ndarray, method: Method, treated: np.ndarray, donors: np.ndarray, pre: int, end: int
) -> Problem:
    """Return a fresh estimate's problem, with synthdid's regularisation for its data.

    ``treated`` and ``donors`` are index arrays of places (rows of ``Y``).
    """
    weights = np.zeros(Y.shape[0])
    weights[treated] = 1.0 / len(treated)
    mask = np.zeros(Y.shape[0], dtype=bool)
    mask[donors] = True
    noise = noise_level(Y[donors, :pre])
    # synthdid: eta.omega = (N1 T1)^(1/4) for synthetic DiD, 1e-6 for synthetic control
    eta_omega = (len(treated) * (end - pre)) ** 0.25 if method == "sdid" else 1e-6
    zeta_omega = eta_omega * noise
    return Problem(method, weights, mask, pre, end, zeta_omega, 1e-6 * noise, 1e-5 * noise)


@dataclass(frozen=True)
class Solved:
    """Many estimates: one row per problem.

    ``gaps`` is the pilot's series minus its weighted comparison, less the
    weighted gap before the change (nan after ``end``): after the change it is
    the effect in that period, whose mean is ``tau``. ``synthetic`` is the
    weighted comparison on the pilot's level, so ``pilot - synthetic = gaps``.
    """

    tau: np.ndarray  # (B,)
    omega: np.ndarray  # (B, N) zero off the donors
    lambda_: np.ndarray  # (B, T) zero from each problem's start on
    gaps: np.ndarray  # (B, T)
    synthetic: np.ndarray  # (B, T)
    pilot: np.ndarray  # (B, T)


def solve(Y: np.ndarray, problems: list[Problem]) -> Solved:
    """Return every problem's estimate, their weights solved together (Frank-Wolfe, batched).

    ``Y`` is the (N places, T periods) outcome matrix shared by all the problems.
    """
    T = Y.shape[1]
    treated = np.array([p.treated for p in problems])
    donors = np.array([p.donors for p in problems])
    pre = np.array([p.pre for p in problems])
    end = np.array([p.end for p in problems])
    method = np.array([p.method for p in problems])
    sdid, sc = method == "sdid", method == "sc"
    periods = np.arange(T)
    is_pre = periods[None, :] < pre[:, None]
    is_post = (periods[None, :] >= pre[:, None]) & (periods[None, :] < end[:, None])
    pilot = treated @ Y  # (B, T)

    lambda_ = np.where(is_pre, 1.0 / pre[:, None], 0.0)  # DiD's equal weights
    lambda_[sc] = 0.0
    if sdid.any():
        rows = np.flatnonzero(sdid)
        start = np.array([_start(problems[r].lambda_start, lambda_[r]) for r in rows])
        post_mean = (Y @ is_post[rows].T / is_post[rows].sum(axis=1)).T  # (b, N)
        A = np.where(is_pre[rows][:, None, :], Y[None, :, :], 0.0)  # (b, N, T): places x periods
        lambda_[rows] = _two_stage(
            A,
            post_mean,
            valid_rows=donors[rows],
            blocked=~is_pre[rows],
            zeta=np.array([problems[r].zeta_lambda for r in rows]),
            start=start,
            min_decrease=np.array([problems[r].min_decrease for r in rows]),
            intercept=np.ones(rows.size, dtype=bool),
        )

    omega = donors / donors.sum(axis=1, keepdims=True)  # DiD's equal weights
    fitted = np.flatnonzero(method != "did")
    if fitted.size:
        start = np.array([_start(problems[r].omega_start, omega[r]) for r in fitted])
        A = np.transpose(Y, (1, 0))[None, :, :] * np.ones((fitted.size, 1, 1))  # (b, T, N)
        omega[fitted] = _two_stage(
            A,
            pilot[fitted],
            valid_rows=is_pre[fitted],
            blocked=~donors[fitted],
            zeta=np.array([problems[r].zeta_omega for r in fitted]),
            start=start,
            min_decrease=np.array([problems[r].min_decrease for r in fitted]),
            intercept=sdid[fitted],
        )

    weighted = omega @ Y
    # the weighted gap before the change, which synthetic DiD and DiD difference away
    level = np.einsum("bt,bt->b", lambda_, pilot - weighted)
    synthetic = weighted + level[:, None]
    gaps = np.where(periods[None, :] < end[:, None], pilot - synthetic, np.nan)
    tau = np.nansum(np.where(is_post, gaps, 0.0), axis=1) / is_post.sum(axis=1)
    return Solved(tau, omega, lambda_, gaps, synthetic, pilot)


def _start(given: np.ndarray | None, default: np.ndarray) -> np.ndarray:
    return default if given is None else given


def _two_stage(
    A: np.ndarray,
    b: np.ndarray,
    *,
    valid_rows: np.ndarray,
    blocked: np.ndarray,
    zeta: np.ndarray,
    start: np.ndarray,
    min_decrease: np.ndarray,
    intercept: np.ndarray,
) -> np.ndarray:
    """Return synthdid's weights for a batch: 100 steps, sparsify, then up to 10,000 more.

    Each problem uses only its ``valid_rows`` of ``A`` and ``b`` (centred over
    them first when ``intercept``: synthdid's ``sc.weight.fw``) and never
    weights a ``blocked`` column; padding with zeros leaves its objective as
    it would be alone.
    """
    rows = valid_rows.astype(float)
    m = rows.sum(axis=1)
    centre = intercept.astype(float)
    A = A * rows[:, :, None]
    b = b * rows
    col_means = A.sum(axis=1) / m[:, None]
    A = (A - centre[:, None, None] * col_means[:, None, :]) * rows[:, :, None]
    b = (b - centre[:, None] * (b.sum(axis=1) / m)[:, None]) * rows
    A = np.where(blocked[:, None, :], 0.0, A)
    eta = m * zeta**2
    start = _normalised(np.where(blocked, 0.0, start), ~blocked)
    first = frank_wolfe(A, b, eta, start, min_decrease, PRE_SPARSIFY_ITERATIONS, blocked, m)
    return frank_wolfe(
        A, b, eta, sparsify(first, ~blocked), min_decrease, MAX_ITERATIONS, blocked, m
    )


def sparsify(weights: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Return weights with those at most a quarter of the largest set to zero, renormalised."""
    kept = np.where(weights <= weights.max(axis=-1, keepdims=True) / 4.0, 0.0, weights)
    return _normalised(kept, allowed)


def _normalised(weights: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Return weights summing to one (synthdid's ``sum_normalize``: equal when they sum to 0)."""
    total = weights.sum(axis=-1, keepdims=True)
    equal = allowed / allowed.sum(axis=-1, keepdims=True)
    return np.where(total != 0, weights / np.where(total != 0, total, 1.0), equal)


def frank_wolfe(
    A: np.ndarray,
    b: np.ndarray,
    eta: np.ndarray,
    x: np.ndarray,
    min_decrease: np.ndarray,
    max_iter: int,
    blocked: np.ndarray,
    m: np.ndarray,
) -> np.ndarray:
    """Return simplex weights minimising ``|A x - b|^2 + eta |x|^2`` for every problem at once.

    ``A`` is (B, m, n), ``b`` (B, m), ``x`` the (B, n) starting weights (zero
    where ``blocked``), ``eta``, ``min_decrease`` and ``m`` (each problem's
    number of rows) (B,). Each problem takes exact line-search Frank-Wolfe
    steps (synthdid's ``fw.step``) until one lowers its objective
    ``(eta |x|^2 + |A x - b|^2) / m`` by no more than ``min_decrease ** 2``
    (checked from the second step on), or ``max_iter`` steps.

    The gradient ``A'(A x - b)`` is kept up to date from the Gram matrix
    ``A'A`` (a step moves ``x`` towards one corner, so it changes by one of
    its columns), and ``A x`` likewise, so a step costs O(n + m) per problem
    rather than O(n m); the steps are compiled (:mod:`evalkit.estimate._frank_wolfe`).
    """
    from evalkit.estimate._frank_wolfe import steps  # numba: only synthetic designs load it

    A = np.ascontiguousarray(A, dtype=float)
    b = np.ascontiguousarray(b, dtype=float)
    x = np.array(x, dtype=float, order="C")  # a copy: the caller's start is kept
    gram = np.einsum("bmi,bmj->bij", A, A)
    Ax = np.einsum("bmn,bn->bm", A, x)
    Gx = np.einsum("bij,bj->bi", gram, x)
    steps(
        A,
        b,
        np.asarray(eta, dtype=float),
        x,
        gram,
        np.einsum("bmi,bm->bi", A, b),
        Ax,
        Gx,
        np.asarray(min_decrease, dtype=float) ** 2,
        int(max_iter),
        np.ascontiguousarray(~np.asarray(blocked, dtype=bool)),
        np.asarray(m, dtype=float),
    )
    return x


def placebo_se(placebo_taus: np.ndarray) -> float:
    """Return synthdid's placebo standard error: the placebo estimates' sd (dividing by n)."""
    return float(np.std(placebo_taus, ddof=0))
