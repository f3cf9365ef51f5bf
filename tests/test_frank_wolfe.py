"""The compiled Frank-Wolfe steps against the same steps written in numpy, line for line.

``reference`` below is synthdid's ``fw.step`` loop (R/solver.R) batched in numpy,
as evalkit ran it before the steps were compiled: the two must stop at the same
step and agree to rounding. The estimates themselves are checked against the
synthdid port and the published Proposition 99 table in tests/test_synthetic.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.estimate import _sdid


def reference(
    A: np.ndarray,
    b: np.ndarray,
    eta: np.ndarray,
    x: np.ndarray,
    min_decrease: np.ndarray,
    max_iter: int,
    blocked: np.ndarray,
    m: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the batched numpy steps' weights and how many steps each problem took."""
    x = x.copy()
    taken = np.zeros(A.shape[0], dtype=int)
    gram = np.einsum("bmi,bmj->bij", A, A)
    never = np.where(blocked, np.inf, 0.0)
    Atb = np.einsum("bmi,bm->bi", A, b)
    Ax = np.einsum("bmn,bn->bm", A, x)
    Gx = np.einsum("bij,bj->bi", gram, x)
    live = np.arange(A.shape[0])
    previous = np.full(A.shape[0], np.inf)
    for step_number in range(max_iter):
        rows = np.arange(live.size)
        xs = x[live]
        half_grad = Gx[live] - Atb[live] + eta[live, None] * xs
        best = np.argmin(half_grad + never[live], axis=1)
        d_x = -xs
        d_x[rows, best] += 1.0
        d_err = A[live, :, best] - Ax[live]
        denominator = (d_err**2).sum(axis=1) + eta[live] * (d_x**2).sum(axis=1)
        moves = (denominator > 0) & np.any(d_x != 0, axis=1)
        step = -(half_grad * d_x).sum(axis=1) / np.where(moves, denominator, 1.0)
        step = np.where(moves, np.clip(step, 0.0, 1.0), 0.0)[:, None]
        x[live] = xs + step * d_x
        Ax[live] = Ax[live] + step * d_err
        Gx[live] = Gx[live] + step * (gram[live, :, best] - Gx[live])
        err = Ax[live] - b[live]
        value = (eta[live] * (x[live] ** 2).sum(axis=1) + (err**2).sum(axis=1)) / m[live]
        taken[live] += 1
        going = previous[live] - value > min_decrease[live] ** 2 if step_number else True
        previous[live] = value
        live = live[np.flatnonzero(np.broadcast_to(going, live.shape))]
        if live.size == 0:
            break
    return x, taken


def batch(seed: int, problems: int, rows: int, columns: int) -> dict[str, np.ndarray]:
    """Return a batch of regularised least-squares problems on the simplex, some columns blocked."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(problems, rows, columns)).cumsum(axis=1)  # trending series, like places'
    b = A[:, :, : columns // 3].mean(axis=2) + rng.normal(scale=0.3, size=(problems, rows))
    blocked = rng.random((problems, columns)) < 0.2
    blocked[:, 0] = False
    A = np.where(blocked[:, None, :], 0.0, A)
    start = np.where(blocked, 0.0, 1.0)
    start /= start.sum(axis=1, keepdims=True)
    return {
        "A": A,
        "b": b,
        "eta": rng.uniform(0.01, 2.0, problems) * rows,
        "x": start,
        # synthdid's 1e-5 times the noise for some, a looser rule that stops sooner for others
        "min_decrease": np.where(np.arange(problems) % 2 == 0, 1e-2, 1e-5),
        "blocked": blocked,
        "m": np.full(problems, float(rows)),
    }


@pytest.mark.parametrize(
    ("seed", "problems", "rows", "columns", "max_iter"),
    [(1, 1, 6, 3, 10_000), (2, 12, 28, 36, 100), (3, 40, 36, 28, 10_000), (4, 5, 3, 20, 10_000)],
)
def test_the_compiled_steps_agree_with_the_numpy_steps(
    seed: int, problems: int, rows: int, columns: int, max_iter: int
) -> None:
    given = batch(seed, problems, rows, columns)
    start = given["x"].copy()
    expected, taken = reference(**given, max_iter=max_iter)
    got = _sdid.frank_wolfe(**given, max_iter=max_iter)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert np.array_equal(given["x"], start)  # the caller's start is not changed
    assert np.allclose(got.sum(axis=1), 1.0) and (got >= 0).all()
    assert (got[given["blocked"]] == 0).all()
    assert taken.min() >= 2
    assert (taken < max_iter).any() or max_iter == 100  # the stopping rule was reached


def test_a_problem_that_cannot_move_stays_where_it_started() -> None:
    given = batch(5, 2, 8, 4)
    given["blocked"][:] = True
    given["blocked"][:, 2] = False  # one column allowed: the only point of its simplex
    given["A"] = np.where(given["blocked"][:, None, :], 0.0, given["A"])
    given["x"] = np.where(given["blocked"], 0.0, 1.0)
    got = _sdid.frank_wolfe(**given, max_iter=50)
    assert np.array_equal(got, given["x"])
