"""Time evalkit's two-way fixed-effects DiD on a 1,000,000-row panel against a formula fit.

Run from the repository root:

    python benchmarks/bench_panel.py [--units 50000] [--periods 20] [--repeats 3]

A synthetic panel (50,000 units x 20 months; two in five units in the pilot
from month 11; one covariate) is built in memory the way the contract returns
validated data (unit and arm as categories, month and numbers as float64).
Then, in this one process, each step is timed as the best of ``--repeats``
runs (``time.perf_counter``):

1. ``evalkit.estimate.panel.estimate_panel_did(card, frame, outcome)``: the
   whole estimate a pilot run makes: reading the roles, the two-way
   fixed-effects fit clustered by unit, and the 19-coefficient event study
   with its pre-trend test;
2. the same model with the statsmodels formula API. With 50,000 unit dummies
   ``y ~ d + x + C(unit) + C(month)`` needs a 1,000,000 x 50,021 design
   matrix (400 GB), so the formula fit uses the within form of the same
   model, as ``xtreg, fe`` does: outcome and regressors minus their unit means
   (pandas ``groupby().transform("mean")``, timed), then
   ``smf.ols("y ~ d + x + C(month)")`` with errors clustered by unit. On a
   balanced panel this gives the two-way fixed-effects estimate exactly, and
   its small-sample factor (N-1)/(N-K) with K = 22 is the one evalkit uses.

Estimate and standard error must agree to 1e-8 (relative); the script exits
with status 1 if they do not. A last check fits the full dummy formula
``y ~ d + x + C(unit) + C(month)`` on a 300-unit panel, where it is
feasible, and compares it with evalkit the same way. It prints numbers only;
it is not a pytest test.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from evalkit.card import PilotCard
from evalkit.estimate.panel import estimate_panel_did

SEED = 20261126
START = 11
TRUE_EFFECT = -4.0
TOLERANCE = 1e-8
TARGET = 3.0


def make_panel(units: int, periods: int, rng: np.random.Generator) -> pd.DataFrame:
    """Return a balanced panel with unit and month effects, AR(1) noise and a covariate."""
    unit = np.repeat(np.arange(units), periods)
    month = np.tile(np.arange(1, periods + 1), units)
    pilot = unit < units * 2 // 5
    shocks = rng.normal(0, 3, (units, periods))
    for t in range(1, periods):
        shocks[:, t] += 0.5 * shocks[:, t - 1]
    x = rng.normal(0, 1, unit.size)
    y = (
        40
        + rng.normal(0, 5, units)[unit]
        + rng.normal(0, 2, periods)[month - 1]
        + 3 * pilot
        + 2 * x
        + TRUE_EFFECT * (pilot & (month >= START))
        + shocks.ravel()
    )
    return pd.DataFrame(
        {
            "unit": pd.Categorical(np.char.add("U", unit.astype(str))),
            "arm": pd.Categorical(np.where(pilot, "pilot", "comparison")),
            "month": month.astype("float64"),
            "x": x,
            "y": y,
        }
    )


def make_card() -> PilotCard:
    """Return the benchmark pilot's card (no file is read)."""
    return PilotCard.model_validate(
        {
            "name": "Benchmark panel",
            "place": "Benchfield",
            "design": "did",
            "data": {
                "path": "data/panel.csv",
                "unit": "unit",
                "group": {"column": "arm", "pilot": "pilot"},
                "time": {"column": "month", "start": START},
                "covariates": ["x"],
            },
            "outcomes": [{"column": "y", "better": "lower", "unit": "days"}],
            "folder": Path("."),
        }
    )


def best_of(repeats: int, step: Callable[[], Any]) -> tuple[float, Any]:
    """Return the fastest wall time of ``repeats`` runs of ``step`` and its last result."""
    times, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - began)
    return min(times), result


def within_formula_fit(frame: pd.DataFrame) -> Any:
    """Return the formula fit of the within form: unit means removed, month dummies kept."""
    data = frame[["y", "x"]].assign(
        d=((frame["arm"] == "pilot") & (frame["month"] >= START)).astype("float64")
    )
    means = data.groupby(frame["unit"], observed=True).transform("mean")
    within = (data - means).assign(month=frame["month"].to_numpy())
    groups = frame["unit"].cat.codes.to_numpy()
    return smf.ols("y ~ d + x + C(month)", data=within).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )


def dummy_formula_check(card: PilotCard, rng: np.random.Generator, periods: int) -> str:
    """Return a line comparing evalkit with the full dummy formula on a 300-unit panel."""
    frame = make_panel(300, periods, rng)
    data = frame.assign(d=((frame["arm"] == "pilot") & (frame["month"] >= START)).astype(float))
    began = time.perf_counter()
    fit = smf.ols("y ~ d + x + C(unit) + C(month)", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": frame["unit"].cat.codes.to_numpy()}
    )
    seconds = time.perf_counter() - began
    finding = estimate_panel_did(card, frame, card.outcomes[0])
    n = len(frame)
    # the dummy fit counts all unit dummies in K; xtreg does not count those nested in clusters
    factor = np.sqrt((n - fit.df_model - 1) / (n - 2 - periods))
    rel_est = abs(finding.estimate - fit.params["d"]) / abs(fit.params["d"])
    rel_se = abs(finding.se - fit.bse["d"] * factor) / (fit.bse["d"] * factor)
    ok = rel_est <= TOLERANCE and rel_se <= TOLERANCE
    return (
        f"dummy formula on {n:,} rows (300 units): {seconds:.2f} s; estimate rel diff "
        f"{rel_est:.1e}, SE rel diff {rel_se:.1e} after the nested-cluster df factor "
        f"{factor:.6f} -> {'agree' if ok else 'MISMATCH'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=50_000, help="units (50,000)")
    parser.add_argument("--periods", type=int, default=20, help="periods a unit (20)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (3)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(SEED)
    began = time.perf_counter()
    frame = make_panel(args.units, args.periods, rng)
    built = time.perf_counter() - began
    card = make_card()
    outcome = card.outcomes[0]

    t_evalkit, finding = best_of(args.repeats, lambda: estimate_panel_did(card, frame, outcome))
    t_formula, fit = best_of(args.repeats, lambda: within_formula_fit(frame))

    est_f, se_f = float(fit.params["d"]), float(fit.bse["d"])
    diff_est = abs(finding.estimate - est_f)
    rel_est, rel_se = diff_est / abs(est_f), abs(finding.se - se_f) / se_f
    ratio = t_formula / t_evalkit
    print(
        f"rows: {len(frame):,} ({args.units:,} units x {args.periods} periods), balanced; "
        f"best of {args.repeats}; panel built in {built:.1f} s"
    )
    print(f"{'step':<58}{'seconds':>9}")
    print(f"{'evalkit estimate_panel_did (TWFE + event study)':<58}{t_evalkit:>9.3f}")
    print(f"{'statsmodels formula, within form (y ~ d + x + C(month))':<58}{t_formula:>9.3f}")
    print(f"{'ratio formula / evalkit':<58}{ratio:>9.2f}")
    print(
        f"DiD estimate {finding.estimate:.8f} (formula {est_f:.8f}; max abs diff {diff_est:.1e}, "
        f"rel {rel_est:.1e}); SE {finding.se:.8f} (formula {se_f:.8f}, rel diff {rel_se:.1e}); "
        f"true effect {TRUE_EFFECT}"
    )
    print(
        f"event study: {len(finding.event_study)} periods; pre-trend "
        f"p = {finding.checks.pretrend_p:.3f}"
    )
    print(dummy_formula_check(card, rng, args.periods))
    if rel_est > TOLERANCE or rel_se > TOLERANCE:
        print(f"MISMATCH: evalkit and the formula fit differ by more than {TOLERANCE:g}")
        return 1
    verdict = "meets" if ratio >= TARGET else "DOES NOT meet"
    print(f"agreement to {TOLERANCE:g}; speed {ratio:.1f}x {verdict} the {TARGET:g}x target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
