"""Time the synthetic design's estimate and placebos: batched, one at a time, and synthdid-py.

Run from the repository root:

    python benchmarks/bench_synthetic.py [--repeats K]

A seeded pilot of 30 places (districts) over 24 months, 16 before the change
and 8 after, is written to a temporary folder as ``tests/designs.py``'s
``synthetic`` builder writes one (``pilot.yaml`` with ``design: synthetic`` and
``data/records.csv``, five records per district and month), with one continuous
outcome from an interactive fixed-effects model (place and month effects, two
smooth factors with random loadings, noise) and a true effect of +2 points.
``evalkit.card.load_pilot`` reads the card and ``validate_data`` the rows (not
timed). Then, in this one process, each step is timed as the best of
``--repeats`` runs (``time.perf_counter``):

1. **batched**: ``estimate_synthetic(card, frame, outcome)``, all a report does
   for the outcome: the place-by-period matrix, ``fit_places`` (synthetic DiD,
   synthetic control and DiD, each with its placebos in space, the in-time
   placebo and leave-one-out, solved together by ``_sdid.solve``) and the
   finding with its checks and figure data. ``fit_places`` alone is timed too;
2. **one at a time**: the same ``fit_places``, with ``_sdid.solve`` made to
   solve each problem alone (``_sdid.solve(Y, [p])`` for each problem in a
   loop, the rows stacked): what batching buys. (Building the finding around
   the fit is the same either way and takes milliseconds, the difference
   between the first two times, so it is not timed again here);
3. if ``synthdid`` (synthdid-py, a line-by-line port of the R package) is
   importable: its ``synthdid_estimate`` plus ``placebo_se(replications=29)`` on
   the same matrix, as an outside reference, beside evalkit doing only that
   (the synthetic DiD estimate and its 29 placebos, batched).

It prints the seconds and the ratios, checks that the batched and
one-at-a-time estimates (every estimate, placebo, in-time placebo and
leave-one-out estimate, and the weights) are identical to 1e-10, and exits 1
if they are not or if the batched estimate takes more than 5 s. It prints
numbers only; it is not a pytest test.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_estimate import best_of  # beside this script

from evalkit.card import load_pilot
from evalkit.contract import validate_data
from evalkit.estimate import _sdid
from evalkit.estimate._synthetic_places import Places, read_places
from evalkit.estimate.synthetic import Fits, _placebos, estimate_synthetic, fit_places

SEED = 20261203
PLACES, MONTHS, PRE = 30, 24, 16
RECORDS = 5  # per place and month, as tests/designs.py's synthetic pilot
TRUE_EFFECT = 2.0
TARGET = 5.0  # seconds for the batched estimate on 2 cores
TOLERANCE = 1e-10

CARD = """\
name: One district among many (benchmark)
place: Testford
team: Test team
cycle: 1
design: synthetic
data:
  path: data/records.csv
  unit: district
  group: {{column: district, pilot: Ashby}}
  time: {{column: month, start: {start}}}
outcomes:
  - {{column: wellbeing, label: Wellbeing score, unit: points, better: higher}}
"""


def write_pilot(folder: Path, rng: np.random.Generator) -> None:
    """Write a synthetic pilot: Ashby and 29 other districts, monthly, one continuous outcome."""
    places = ["Ashby"] + [f"District {chr(65 + p // 26)}{chr(65 + p % 26)}" for p in range(29)]
    months = pd.period_range("2024-01", periods=MONTHS, freq="M")
    t = np.arange(MONTHS)
    factors = np.column_stack(
        [1.5 * (t - (MONTHS - 1) / 2) / ((MONTHS - 1) / 2), 1.5 * np.sin(2 * np.pi * t / 12)]
    )
    level = (
        50
        + rng.normal(0, 2, (PLACES, 1))
        + rng.normal(0, 1, (1, MONTHS))
        + rng.normal(0, 1, (PLACES, 2)) @ factors.T
    )
    level[0, PRE:] += TRUE_EFFECT
    cells = np.repeat(level[:, :, None], RECORDS, axis=2) + rng.normal(
        0, 2, (PLACES, MONTHS, RECORDS)
    )
    frame = pd.DataFrame(
        {
            "district": np.repeat(places, MONTHS * RECORDS),
            "month": np.tile(np.repeat([f"{m}-01" for m in months], RECORDS), PLACES),
            "wellbeing": cells.ravel().round(2),
        }
    )
    (folder / "data").mkdir()
    (folder / "pilot.yaml").write_text(CARD.format(start=f"{months[PRE]}-01"), encoding="utf-8")
    frame.to_csv(folder / "data" / "records.csv", index=False)


@contextlib.contextmanager
def one_problem_per_solve() -> Iterator[None]:
    """Make ``_sdid.solve`` solve each problem alone, in a loop, and stack the rows."""
    batched = _sdid.solve
    fields = list(_sdid.Solved.__dataclass_fields__)

    def singly(Y: np.ndarray, problems: list[_sdid.Problem]) -> _sdid.Solved:
        parts = [batched(Y, [p]) for p in problems]
        return _sdid.Solved(*(np.concatenate([getattr(s, f) for s in parts]) for f in fields))

    _sdid.solve = singly  # type: ignore[assignment]
    try:
        yield
    finally:
        _sdid.solve = batched  # type: ignore[assignment]


def every_number(fits: Fits) -> dict[str, np.ndarray]:
    """Return every estimate and weight a fit holds, by name."""
    numbers = {}
    for name, solved in [("main", fits.main), *fits.placebo.items()]:
        numbers[f"{name} tau"] = solved.tau
        numbers[f"{name} omega"] = solved.omega
        numbers[f"{name} lambda"] = solved.lambda_
    if fits.in_time is not None:
        numbers["in-time tau"] = fits.in_time[0].tau
        numbers["in-time placebo tau"] = fits.in_time[1].tau
    numbers["leave-one-out tau"] = fits.leave_one_out[1]
    return numbers


def largest_difference(a: Fits, b: Fits) -> tuple[float, str]:
    """Return the largest absolute difference between two fits' numbers, and where."""
    left, right = every_number(a), every_number(b)
    if left.keys() != right.keys() or any(left[k].shape != right[k].shape for k in left):
        return float("inf"), "shapes"
    gaps = {k: float(np.max(np.abs(left[k] - right[k]), initial=0.0)) for k in left}
    where = max(gaps, key=lambda k: gaps[k])
    return gaps[where], where


def evalkit_sdid_and_placebo_se(places: Places) -> tuple[float, float]:
    """Return evalkit's synthetic DiD estimate and its placebo SE over the 29 placebos only."""
    Y, pilot, donors, T0 = places.Y, places.pilot, places.donors, places.pre
    made = _sdid.problem(Y, "sdid", pilot, donors, T0, Y.shape[1])
    first = _sdid.solve(Y, [made])
    chosen = np.arange(donors.size)[:, None]
    placebo = _sdid.solve(Y, _placebos(made, first.omega[0], first.lambda_[0], donors, chosen))
    return float(first.tau[0]), _sdid.placebo_se(placebo.tau)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (3)")
    args = parser.parse_args(argv)
    status = 0

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_pilot(folder, np.random.default_rng(SEED))
        card = load_pilot(folder)
        frame = validate_data(card).valid
    outcome = card.outcomes[0]
    places = read_places(card, frame, outcome)
    print(
        f"{len(places.names)} places ({places.pilot.size} pilot), {len(places.periods)} months "
        f"({places.pre} before), {places.records:,} records; true effect {TRUE_EFFECT:+g}; "
        f"best of {args.repeats}"
    )

    t_whole, whole = best_of(args.repeats, lambda: estimate_synthetic(card, frame, outcome))
    t_fit, fits = best_of(args.repeats, lambda: fit_places(places))
    with one_problem_per_solve():
        t_single, fits_single = best_of(args.repeats, lambda: fit_places(places))
    problems = 4 + 4 * len(fits.assignments) + fits.leave_one_out[0].size

    rows: list[tuple[str, float]] = [
        ("estimate_synthetic, batched (as a report runs it)", t_whole),
        ("  of which fit_places", t_fit),
        (f"fit_places, its {problems} problems solved one at a time", t_single),
    ]
    reference: Any = None
    try:
        import synthdid
    except ImportError:
        synthdid = None
    if synthdid is not None:
        R_layout = np.vstack([places.Y[places.donors], places.Y[places.pilot]])
        N0, T0 = places.donors.size, places.pre

        def theirs() -> tuple[float, float]:
            estimate = synthdid.synthdid_estimate(R_layout, N0, T0)
            return float(estimate), synthdid.placebo_se(
                estimate, replications=29, random_state=SEED
            )

        t_ref, reference = best_of(args.repeats, theirs)
        t_ours, ours = best_of(args.repeats, lambda: evalkit_sdid_and_placebo_se(places))
        rows += [
            ("synthdid-py: synthdid_estimate + placebo_se(replications=29)", t_ref),
            ("evalkit: the same (SDID and its 29 placebos, batched)", t_ours),
        ]

    print(f"{'step':<66}{'seconds':>9}")
    for name, seconds in rows:
        print(f"{name:<66}{seconds:>9.3f}")
    ratios = [("one at a time / batched (fit_places)", t_single / t_fit)]
    ratios.append(("one at a time (fit_places) / batched estimate_synthetic", t_single / t_whole))
    if reference is not None:
        ratios.append(("synthdid-py / evalkit, like for like", t_ref / t_ours))
        ratios.append(("synthdid-py / evalkit's whole estimate_synthetic", t_ref / t_whole))
    for name, ratio in ratios:
        print(f"{'ratio ' + name:<66}{ratio:>9.2f}")

    sdid, sc, did = fits.main.tau
    print(
        f"estimates: SDID {sdid:.6f} (95% interval [{whole.finding.ci_low:.4f}, "
        f"{whole.finding.ci_high:.4f}], p = {whole.finding.p_value:.4f}, placebo SE "
        f"{_sdid.placebo_se(fits.placebo['sdid'].tau):.4f}); SC {sc:.6f}; DiD {did:.6f}"
    )
    if reference is not None:
        print(
            f"synthdid-py: SDID {reference[0]:.6f} (difference {abs(reference[0] - sdid):.1e}); "
            f"placebo SE {reference[1]:.4f} from 29 random draws (evalkit over the 29 "
            f"comparison places: {ours[1]:.4f})"
        )
    else:
        print("synthdid-py: not importable, no outside reference")

    gap, where = largest_difference(fits, fits_single)
    # the finding is built from the fit: its estimate must be the fit's, one at a time or not
    same_finding = abs(whole.finding.estimate - float(fits_single.main.tau[0])) <= TOLERANCE
    if gap <= TOLERANCE and same_finding:
        print(
            f"agreement: batched and one at a time give identical estimates, placebos and "
            f"weights (largest difference {gap:.1e}, in {where}; tolerance {TOLERANCE:g})"
        )
    else:
        print(
            f"MISMATCH: batched and one at a time differ by {gap:.1e} (in {where}); "
            f"finding's estimate the same: {same_finding}"
        )
        status = 1
    met = t_whole <= TARGET
    print(f"target met (batched estimate under {TARGET:g} s): {'yes' if met else 'no'}")
    return status if met else 1


if __name__ == "__main__":
    sys.exit(main())
