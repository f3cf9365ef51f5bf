"""Time evalkit's validation and 2x2 difference-in-differences on a large pilot.

Run from the repository root:

    python benchmarks/bench_estimate.py [--rows N] [--cluster] [--format csv|parquet]

A synthetic pilot (a folder with ``pilot.yaml`` and a data file) is written to
a temporary directory, then, in this one process, each step is timed as the
best of three runs (``time.perf_counter``):

1. evalkit validation: ``evalkit.contract.validate_data(card)``
   (read the file, parse every cell, check the pandera schema);
2. evalkit estimation: ``evalkit.estimate.estimate_effects(card, valid_rows)``;
3. the same model with the statsmodels formula API,
   ``smf.ols("days ~ pilot*post + household_size", data=frame).fit(...)``,
   timed including the formula parsing from the frame.

The evalkit and formula results must agree (estimate and SE to 1e-8, relative);
the script exits with status 1 if they do not. It prints numbers only; it is
not a pytest test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from evalkit.card import load_pilot
from evalkit.contract import validate_data
from evalkit.estimate import estimate_effects

SEED = 20261126
WARDS = 40
TRUE_EFFECT = -20.0
TOLERANCE = 1e-8
FORMULA = "days ~ pilot*post + household_size"

CARD = """\
name: Benchmark pilot
place: Benchfield
team: Performance
cycle: 1
design: did
data:
  path: {data_path}
  unit: case_id
  group: {{column: arm, pilot: pilot}}
  period: {{column: phase, post: after}}
{cluster}  covariates: [household_size]
  columns:
    ward: {{type: str}}
    household_size: {{type: int, min: 1, max: 15}}
outcomes:
  - column: days
    label: Days in temporary accommodation
    unit: days
    better: lower
    min: 0
"""


def make_rows(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Return a synthetic 2x2 DiD pilot: wards are in the pilot or the comparison arm."""
    ward = rng.integers(0, WARDS, rows)
    pilot = ward < WARDS // 2
    after = rng.random(rows) < 0.5
    household = rng.integers(1, 9, rows)
    ward_effect = rng.normal(0, 10, WARDS)[ward]
    ward_period_shock = rng.normal(0, 4, (WARDS, 2))[ward, after.astype(int)]
    days = (
        150
        + 12 * pilot
        + 9 * after
        + 6 * (household - 3)
        + TRUE_EFFECT * (pilot & after)
        + ward_effect
        + ward_period_shock
        + rng.normal(0, 45, rows)
    )
    return pd.DataFrame(
        {
            "case_id": np.char.add("C", np.arange(rows).astype(str)),
            "arm": np.where(pilot, "pilot", "comparison"),
            "phase": np.where(after, "after", "before"),
            "ward": np.char.add("W", ward.astype(str)),
            "household_size": household,
            "days": np.round(np.clip(days, 0, None)).astype(int),
        }
    )


def write_pilot(root: Path, frame: pd.DataFrame, fmt: str, cluster: bool) -> Path:
    """Return a pilot folder holding the card and the data file."""
    folder = root / "bench-pilot"
    (folder / "data").mkdir(parents=True)
    data_name = f"data/cases.{fmt}"
    if fmt == "csv":
        frame.to_csv(folder / data_name, index=False)
    else:
        frame.to_parquet(folder / data_name, index=False)
    card = CARD.format(data_path=data_name, cluster="  cluster: ward\n" if cluster else "")
    (folder / "pilot.yaml").write_text(card, encoding="utf-8")
    return folder


def best_of(repeats: int, step: Callable[[], Any]) -> tuple[float, Any]:
    """Return the fastest wall time of ``repeats`` runs of ``step`` and its last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - start)
    return min(times), result


def relative(a: float, b: float) -> float:
    """Return |a - b| relative to |b|."""
    return abs(a - b) / abs(b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of data (1,000,000)")
    parser.add_argument(
        "--cluster", action="store_true", help=f"cluster-robust errors by ward ({WARDS} wards)"
    )
    parser.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="data file format (csv)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (3)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as tmp:
        start = time.perf_counter()
        folder = write_pilot(Path(tmp), make_rows(args.rows, rng), args.format, args.cluster)
        setup = time.perf_counter() - start
        size_mb = (folder / f"data/cases.{args.format}").stat().st_size / 1e6
        card = load_pilot(folder)

        t_validate, validation = best_of(args.repeats, lambda: validate_data(card))
        valid = validation.valid
        if len(valid) != args.rows:
            print(f"expected {args.rows} valid rows, got {len(valid)}", file=sys.stderr)
            return 1
        t_evalkit, findings = best_of(args.repeats, lambda: estimate_effects(card, valid))

        # the formula frame: the same valid rows, with the 0/1 indicators a formula needs
        data = pd.DataFrame(
            {
                "days": valid["days"].to_numpy(),
                "pilot": (valid["arm"] == "pilot").to_numpy(dtype="int64"),
                "post": (valid["phase"] == "after").to_numpy(dtype="int64"),
                "household_size": valid["household_size"].to_numpy(),
                "ward": valid["ward"].to_numpy(),
            }
        )

        def formula_fit() -> Any:
            model = smf.ols(FORMULA, data=data)
            if args.cluster:
                groups = pd.factorize(data["ward"])[0]
                return model.fit(cov_type="cluster", cov_kwds={"groups": groups})
            return model.fit(cov_type="HC1")

        t_formula, fit = best_of(args.repeats, formula_fit)

    finding = findings[0]
    est_formula = float(fit.params["pilot:post"])
    se_formula = float(fit.bse["pilot:post"])
    rel_est = relative(finding.estimate, est_formula)
    rel_se = relative(finding.se, se_formula)

    errors = f"cluster-robust by ward ({WARDS} wards)" if args.cluster else "HC1"
    print(
        f"rows: {args.rows:,}  file: {args.format} ({size_mb:.1f} MB)  errors: {errors}  "
        f"best of {args.repeats}  (data written in {setup:.1f} s)"
    )
    print(f"{'step':<44}{'seconds':>10}")
    print(f"{'evalkit validate_data':<44}{t_validate:>10.3f}")
    print(f"{'evalkit estimate_effects':<44}{t_evalkit:>10.3f}")
    print(f"{'statsmodels formula ols().fit()':<44}{t_formula:>10.3f}")
    print(f"{'ratio formula / evalkit (estimation)':<44}{t_formula / t_evalkit:>10.2f}")
    print(
        f"DiD estimate {finding.estimate:.6f} (formula {est_formula:.6f}, rel diff {rel_est:.1e}); "
        f"SE {finding.se:.6f} (formula {se_formula:.6f}, rel diff {rel_se:.1e}); "
        f"true effect {TRUE_EFFECT}"
    )
    if rel_est > TOLERANCE or rel_se > TOLERANCE:
        print(f"MISMATCH: evalkit and the formula fit differ by more than {TOLERANCE:g}")
        return 1
    print(f"agreement: estimate and SE match the formula fit to {TOLERANCE:g} (relative)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
