"""Time the wild cluster bootstrap (p-value and interval) against one cluster-robust OLS fit.

Run from the repository root:

    python benchmarks/bench_wild.py [--rows N] [--draws B] [--repeats K]

A synthetic 2x2 difference-in-differences with a covariate is built in
memory: 40 wards (20 in the pilot), records before and after, a ward effect,
a ward-by-period shock and a true effect of -20 days, as in
``bench_estimate.py``. In this one process each step is timed as the best of
three runs (``time.perf_counter``), on the same arrays (the design matrix is
built beforehand, not timed; both steps turn the ward labels into codes inside
the timing):

1. ``evalkit.estimate._wild.wild_cluster_bootstrap``: the restricted wild
   cluster bootstrap p-value and the interval found by inverting it, 9,999
   Rademacher draws;
2. ``statsmodels`` ``OLS(y, X).fit(cov_type="cluster")`` by ward.

The bootstrap's estimate and CRV1 standard error must equal statsmodels' (to
1e-8, relative) and its interval must be finite and hold the estimate; the
script exits with status 1 if not. It prints numbers only; it is not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
from bench_estimate import best_of, relative  # beside this script
from statsmodels.regression.linear_model import OLS

from evalkit.estimate._wild import wild_cluster_bootstrap

SEED = 20261201
WARDS = 40
TRUE_EFFECT = -20.0
TOLERANCE = 1e-8
TARGET = 5.0  # the bootstrap should take at most this many OLS fits' time


def make_design(rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return y, X = [1, pilot, after, pilot x after, household size] and ward labels."""
    ward = rng.integers(0, WARDS, rows)
    pilot = (ward < WARDS // 2).astype(float)
    after = (rng.random(rows) < 0.5).astype(float)
    household = rng.integers(1, 9, rows).astype(float)
    days = (
        150
        + 12 * pilot
        + 9 * after
        + 6 * (household - 3)
        + TRUE_EFFECT * pilot * after
        + rng.normal(0, 10, WARDS)[ward]
        + rng.normal(0, 4, (WARDS, 2))[ward, after.astype(int)]
        + rng.normal(0, 45, rows)
    )
    X = np.column_stack([np.ones(rows), pilot, after, pilot * after, household])
    return days, X, np.char.add("W", ward.astype(str)).astype(object)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of data (1,000,000)")
    parser.add_argument("--draws", type=int, default=9999, help="bootstrap draws (9,999)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (3)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    y, X, wards = make_design(args.rows, np.random.default_rng(SEED))
    setup = time.perf_counter() - start

    def bootstrap() -> Any:
        return wild_cluster_bootstrap(y, X, 3, wards, draws=args.draws, seed=SEED)

    def ols_fit() -> Any:
        groups = pd.factorize(wards)[0]
        return OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups})

    t_wild, wild = best_of(args.repeats, bootstrap)
    t_ols, fit = best_of(args.repeats, ols_fit)

    rel_est = relative(wild.estimate, float(fit.params[3]))
    rel_se = relative(wild.se, float(fit.bse[3]))
    ratio = t_wild / t_ols
    print(
        f"rows: {args.rows:,}  wards: {WARDS}  draws: {wild.draws:,} ({wild.weights})  "
        f"best of {args.repeats}  (data built in {setup:.1f} s)"
    )
    print(f"{'step':<52}{'seconds':>10}")
    print(f"{'wild_cluster_bootstrap (p-value + interval)':<52}{t_wild:>10.3f}")
    print(f"{'statsmodels OLS().fit(cov_type=cluster)':<52}{t_ols:>10.3f}")
    print(f"{'ratio bootstrap / OLS fit (target <= 5)':<52}{ratio:>10.2f}")
    print(
        f"DiD estimate {wild.estimate:.6f} (statsmodels {fit.params[3]:.6f}, rel diff "
        f"{rel_est:.1e}); CRV1 SE {wild.se:.6f} (statsmodels {fit.bse[3]:.6f}, rel diff "
        f"{rel_se:.1e}); true effect {TRUE_EFFECT}"
    )
    print(
        f"WCR p-value {wild.p_value:.4f}; 95% interval [{wild.ci_low:.4f}, {wild.ci_high:.4f}]; "
        f"CRV1 t interval [{fit.conf_int()[3, 0]:.4f}, {fit.conf_int()[3, 1]:.4f}]"
    )
    if rel_est > TOLERANCE or rel_se > TOLERANCE:
        print(
            f"MISMATCH: the bootstrap's estimate or SE differs from statsmodels by > {TOLERANCE:g}"
        )
        return 1
    if wild.unbounded or not wild.ci_low < wild.estimate < wild.ci_high:
        print("MISMATCH: the bootstrap interval is unbounded or does not hold the estimate")
        return 1
    print(f"agreement: estimate and SE match statsmodels to {TOLERANCE:g} (relative)")
    print(f"target met: {'yes' if ratio <= TARGET else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
