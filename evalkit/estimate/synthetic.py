"""One place (or a few) against many: synthetic difference-in-differences, the ``synthetic`` design.

A panel of places by period (``data.unit`` the place, ``data.time`` the
period and the start, ``data.group`` the pilot place or places) is laid out
as a place-by-period matrix (records in a place and period are averaged; a
count with ``data.population`` becomes a rate per 1,000). Three estimates
answer the same question, as Arkhangelsky et al. (2021, Table 1) set them side
by side: synthetic difference-in-differences (the headline), synthetic control
(Abadie, Diamond and Hainmueller 2010) and plain difference-in-differences
(:mod:`evalkit.estimate._sdid`).

Inference for one place is by placebos in space: each comparison place in
turn (with several pilot places, each way of choosing as many, or 200 seeded
draws when there are more) is treated as if it had been the pilot and
estimated from the remaining places. The p-value is the share of those
estimates at least as far from zero as the pilot's, counting the pilot's own
(so never below 1/(places)); the 95% interval inverts the same test, so the
two always agree, and with fewer than 19 comparison places for one pilot
place no interval can be given at all. Beside it, synthdid's placebo standard
error (the placebo estimates' sd, Algorithm 4) and, with two or more pilot
places, the jackknife standard error (Algorithm 3, weights held fixed).

The checks that say when not to trust it: the pre-period fit against the
placebos' (RMSPE), whether the pilot's path lies outside the range of the
comparison places' (after allowing a constant gap in level, as synthetic DiD
does; in levels, which plain synthetic control cannot bridge), leave-one-out
stability of the donor weights, and an in-time placebo that pretends the
change began earlier.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from evalkit.card import Outcome, PilotCard
from evalkit.estimate import _sdid
from evalkit.estimate._common import make_finding
from evalkit.estimate._ols import Coefficient
from evalkit.estimate._synthetic_figure import Donor, SyntheticFigure
from evalkit.estimate._synthetic_places import Places, read_places, unit_of
from evalkit.estimate.finding import Alternative, Finding
from evalkit.estimate.registry import Estimated

#: The seed of the placebo draws when not every assignment is tried.
SEED = 20261202
#: Placebo assignments tried at most (synthdid's default number of placebo replications).
MOST_PLACEBOS = 200
#: Donors left out in turn for the leave-one-out check, largest weights first.
LEAVE_ONE_OUT = 15
#: The pilot's pre-period fit is poor when this share of the placebo places fit better.
POOR_FIT_SHARE = 0.9
#: Fewer periods than this before the change and no in-time placebo is tried.
IN_TIME_MIN_PRE = 4
ALPHA = 0.05
METHOD_NAMES = {
    "sdid": "synthetic difference-in-differences",
    "sc": "synthetic control",
    "did": "difference-in-differences (two-way fixed effects)",
}


def permutation_p(estimate: float, placebo: np.ndarray) -> float:
    """Return the share of estimates, the pilot's included, at least as far from zero as it."""
    tolerance = 1e-12 * max(1.0, float(np.max(np.abs(placebo), initial=0.0)))
    at_least = np.count_nonzero(np.abs(placebo) >= abs(estimate) - tolerance)
    return float((1 + at_least) / (1 + placebo.size))


def half_width(placebo: np.ndarray, alpha: float = ALPHA) -> float:
    """Return the half-width of the interval that inverts the placebo test (inf: no interval).

    A change ``d`` is kept when ``|estimate - d|`` would not be among the most
    extreme ``alpha`` of the estimates: when at least ``floor(alpha (B + 1))``
    placebo estimates are as far from zero. With too few placebos none is ever
    rejected, so there is no interval.
    """
    needed = int(np.floor(alpha * (placebo.size + 1) + 1e-12))
    if needed == 0 or placebo.size == 0:
        return float("inf")
    return float(np.sort(np.abs(placebo))[::-1][needed - 1])


@dataclass(frozen=True)
class Fits:
    """Every estimate made for one outcome: the headline three, placebos and checks."""

    main: _sdid.Solved  # rows: sdid, sc, did
    assignments: np.ndarray
    enumerated: bool
    placebo: dict[str, _sdid.Solved]
    in_time: tuple[_sdid.Solved, _sdid.Solved] | None  # (the estimate, its placebos)
    in_time_periods: int
    leave_one_out: tuple[np.ndarray, np.ndarray]  # (places left out, estimates)


def fit_places(places: Places) -> Fits:
    """Return the three estimates, their placebos, the in-time placebo and leave-one-out."""
    Y, pilot, donors, T0 = places.Y, places.pilot, places.donors, places.pre
    T = Y.shape[1]
    mains = [_sdid.problem(Y, m, pilot, donors, T0, T) for m in ("sdid", "sc", "did")]
    k = min(T - T0, T0 // 2) if T0 >= IN_TIME_MIN_PRE else 0
    in_time = [_sdid.problem(Y, "sdid", pilot, donors, T0 - k, T0)] if k else []
    first = _sdid.solve(Y, mains + in_time)
    rng = np.random.default_rng(SEED)
    assignments, enumerated = placebo_assignments(donors.size, pilot.size, rng)
    second: list[_sdid.Problem] = []
    for row, made in enumerate(mains + in_time):
        second += _placebos(made, first.omega[row], first.lambda_[row], donors, assignments)
    weights = first.omega[0]
    order = donors[np.argsort(-weights[donors], kind="stable")]
    dropped = [d for d in order if weights[d] > 0][:LEAVE_ONE_OUT]
    second += [_sdid.problem(Y, "sdid", pilot, np.setdiff1d(donors, [d]), T0, T) for d in dropped]
    solved = _sdid.solve(Y, second)
    B = len(assignments)
    parts = {m: _rows(solved, i * B, (i + 1) * B) for i, m in enumerate(("sdid", "sc", "did"))}
    in_time_fits = None
    if k:
        in_time_fits = (_rows(first, 3, 4), _rows(solved, 3 * B, 4 * B))
    loo = solved.tau[len(second) - len(dropped) :]
    return Fits(
        _rows(first, 0, 3),
        assignments,
        enumerated,
        parts,
        in_time_fits,
        k,
        (np.array(dropped), loo),
    )


def placebo_assignments(
    n_donors: int, n_pilot: int, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Return which comparison places play the pilot in each placebo, and whether that is all."""
    from itertools import combinations
    from math import comb

    if comb(n_donors, n_pilot) <= MOST_PLACEBOS:
        return np.array(list(combinations(range(n_donors), n_pilot)), dtype=np.int64), True
    draws = np.argsort(rng.random((MOST_PLACEBOS, n_donors)), axis=1)[:, :n_pilot]
    return np.sort(draws, axis=1), False


def _placebos(
    made: _sdid.Problem,
    omega: np.ndarray,
    lambda_: np.ndarray,
    donors: np.ndarray,
    assignments: np.ndarray,
) -> list[_sdid.Problem]:
    """Return the placebo problems of one estimate, as synthdid's placebo standard error makes
    them (Algorithm 4): the pilot left out, the estimate's regularisation kept, its weights
    (restricted to the places left comparing, renormalised) the warm start."""
    problems = []
    for chosen in assignments:
        treated = np.zeros_like(made.treated)
        treated[donors[chosen]] = 1.0 / len(chosen)
        mask = np.zeros_like(made.donors)
        mask[np.setdiff1d(donors, donors[chosen])] = True
        start = np.where(mask, omega, 0.0)
        start = start / start.sum() if start.sum() > 0 else mask / mask.sum()
        problems.append(
            replace(made, treated=treated, donors=mask, omega_start=start, lambda_start=lambda_)
        )
    return problems


def _rows(solved: _sdid.Solved, start: int, stop: int) -> _sdid.Solved:
    return _sdid.Solved(
        *(getattr(solved, f)[start:stop] for f in _sdid.Solved.__dataclass_fields__)
    )


def estimate_synthetic(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Estimated:
    """Return one outcome's synthetic DiD finding (SC and DiD beside it) and its figure's data."""
    places = read_places(card, frame, outcome)
    fits = fit_places(places)
    factor = 100.0 if outcome.type == "binary" else 1.0
    unit = unit_of(card, outcome)
    B = len(fits.assignments)
    answers, halves = {}, {}
    for row, method in enumerate(("sdid", "sc", "did")):
        tau, placebo = float(fits.main.tau[row]), fits.placebo[method].tau
        half = halves[method] = half_width(placebo)
        answers[method] = Alternative(
            method=METHOD_NAMES[method],
            estimate=tau * factor,
            se=_sdid.placebo_se(placebo) * factor,
            ci_low=(tau - half) * factor if np.isfinite(half) else None,
            ci_high=(tau + half) * factor if np.isfinite(half) else None,
            p_value=permutation_p(tau, placebo),
        )
    head, half = answers["sdid"], halves["sdid"]
    checks = _checks(places, fits, factor, head.se or 0.0)
    jackknife = _jackknife_se(places, fits.main)
    notes = list(places.notes)
    if np.isfinite(jackknife):
        notes.append(
            f"With the weights held fixed, the jackknife standard error (Arkhangelsky et al. "
            f"2021, Algorithm 3) is {jackknife * factor:.3g}, against the placebo one's "
            f"{head.se:.3g}."
        )
    tau = float(fits.main.tau[0])
    coefficient = Coefficient(
        estimate=tau,
        se=(head.se or 0.0) / factor,
        ci_low=tau - half,
        ci_high=tau + half,
        p_value=head.p_value or 1.0,
        n=places.records,
        df=float("inf"),
    )
    method = (
        f"synthetic difference-in-differences (Arkhangelsky et al. 2021) against "
        f"{places.donors.size} comparison {places.word}; 95% interval and p-value from "
        f"placebos in space ({B} {_ways(B, fits.enumerated)} of treating "
        "comparison places as if they were the pilot)"
    )
    # a count read per 1,000 of the population is worded in those units
    shown = outcome.model_copy(update={"unit": unit}) if outcome.type == "count" else outcome
    finding = make_finding(card, shown, coefficient, method, tuple(notes))
    finding = finding.with_parts(
        alternatives=tuple(a.model_dump() for a in answers.values()),
        checks=checks,
        inference=_inference(places, fits, half),
        event_study=_period_effects(places, fits, factor),
    )
    return Estimated(finding, _figure(places, fits, finding, factor, unit))


def _ways(count: int, enumerated: bool) -> str:
    if enumerated:
        return "way" if count == 1 else "ways"
    return "random draw" if count == 1 else "random draws"


def _inference(places: Places, fits: Fits, half: float) -> dict[str, object]:
    B, places_in_all = len(fits.assignments), places.donors.size + places.pilot.size
    bounded = bool(np.isfinite(half))
    if bounded:
        note = (
            f"The pilot's estimate is compared with the same estimate for each of {B} "
            f"placebo{'s' if B != 1 else ''}, in which comparison {places.word} are treated as "
            "if they had been the pilot. The 95% interval holds the changes that would leave the "
            "pilot's gap no more unusual than that: with one place this is the honest interval, "
            "since the usual formulas assume many places in the pilot."
        )
        short = (
            f"The estimate rests on one comparison with {places.donors.size} other "
            f"{places.word}, so its range comes from how unusual the pilot is among them."
        )
    else:
        note = (
            f"With only {places.donors.size} comparison {places.word}, even the largest gap "
            f"among them would be 1 in {B + 1}: too few to rule out chance at the 95% level, "
            f"so there is no 95% interval. At least {int(np.ceil(1 / ALPHA)) - 1} comparison "
            f"{places.word} are needed for one pilot place."
        )
        short = f"There are too few comparison {places.word} for a 95% interval."
    record: dict[str, object] = {
        "method": "placebos in space (permutation)",
        "note": note,
        "short": short,
        "cluster_word": places.word,
        "clusters": places_in_all,
        "treated_clusters": int(places.pilot.size),
        "unbounded": not bounded,
        "assignments": B,
        "enumerated": fits.enumerated,
        "smallest_p": 1.0 / (B + 1),
    }
    if not fits.enumerated:
        record["seed"] = SEED
    return record


def _checks(places: Places, fits: Fits, factor: float, se: float) -> dict[str, object]:
    T0 = places.pre
    gaps, placebo = fits.main.gaps[0], fits.placebo["sdid"].gaps
    # synthetic DiD allows a constant gap in level, so the fit is judged around the mean gap
    pre_rmspe = float(np.std(gaps[:T0]))
    placebo_rmspe = np.std(placebo[:, :T0], axis=1)
    better = int(np.count_nonzero(placebo_rmspe < pre_rmspe))
    Y, pilot_series = places.Y[places.donors], places.Y[places.pilot].mean(axis=0)
    checks: dict[str, object] = {
        "comparison_places": int(places.donors.size),
        "pre_periods": T0,
        "post_periods": int(Y.shape[1] - T0),
        "pre_rmspe": pre_rmspe * factor,
        "worse_fits": int(np.count_nonzero(placebo_rmspe > pre_rmspe)),
        "placebos": int(placebo_rmspe.size),
        "poor_fit": bool(placebo_rmspe.size >= 10 and better / placebo_rmspe.size > POOR_FIT_SHARE),
        "outside_levels": _outside(pilot_series[:T0], Y[:, :T0]),
        "outside_hull": _outside(
            pilot_series[:T0] - pilot_series[:T0].mean(),
            Y[:, :T0] - Y[:, :T0].mean(axis=1, keepdims=True),
        ),
    }
    dropped, estimates = fits.leave_one_out
    if dropped.size:
        shifts = np.abs(estimates - fits.main.tau[0])
        worst = int(np.argmax(shifts))
        checks["leave_one_out_shift"] = float(shifts[worst]) * factor
        checks["leave_one_out_place"] = places.names[int(dropped[worst])]
        checks["unstable_weights"] = bool(se > 0 and shifts[worst] * factor > se)
    if fits.in_time is not None:
        estimate, its_placebos = fits.in_time
        checks["in_time_periods"] = fits.in_time_periods
        checks["in_time_estimate"] = float(estimate.tau[0]) * factor
        checks["in_time_p"] = permutation_p(float(estimate.tau[0]), its_placebos.tau)
    return checks


def _outside(pilot: np.ndarray, others: np.ndarray) -> bool:
    """Return True when the pilot is above every other place or below them all, in most periods."""
    outside = (pilot > others.max(axis=0)) | (pilot < others.min(axis=0))
    return bool(outside.mean() > 0.5)


def _period_effects(places: Places, fits: Fits, factor: float) -> tuple[dict[str, float], ...]:
    """Return the effect in each period (the gap before the change) with its placebo interval."""
    gaps, placebo = fits.main.gaps[0], fits.placebo["sdid"].gaps
    points = []
    for t in range(gaps.size):
        half = half_width(placebo[:, t])
        if not np.isfinite(half):
            continue
        points.append(
            {
                "relative_period": t - places.pre,
                "estimate": float(gaps[t]) * factor,
                "ci_low": float(gaps[t] - half) * factor,
                "ci_high": float(gaps[t] + half) * factor,
            }
        )
    return tuple(points)


def _jackknife_se(places: Places, main: _sdid.Solved) -> float:
    """Return synthdid's jackknife standard error with the weights held fixed (Algorithm 3).

    Each place (pilot or comparison) is left out in turn and the estimate
    recomputed with the remaining weights renormalised; not defined (nan)
    with one pilot place, or when one comparison place has all the weight.
    """
    omega, lambda_ = main.omega[0], main.lambda_[0][: places.pre]
    pilot, donors, Y, T0 = places.pilot, places.donors, places.Y, places.pre
    if pilot.size < 2 or np.count_nonzero(omega[donors]) <= 1:
        return float("nan")
    estimates = []
    for left in np.concatenate([donors, pilot]):
        kept = donors[donors != left]
        weights = omega[kept] / omega[kept].sum() if omega[kept].sum() > 0 else None
        if weights is None:
            weights = np.full(kept.size, 1.0 / kept.size)
        series = Y[pilot[pilot != left]].mean(axis=0) - weights @ Y[kept]
        estimates.append(series[T0:].mean() - lambda_ @ series[:T0])
    u = np.array(estimates)
    n = u.size
    return float(np.sqrt((n - 1) / n * (n - 1) * np.var(u, ddof=1)))


def _figure(
    places: Places, fits: Fits, finding: Finding, factor: float, unit: str
) -> SyntheticFigure:
    omega = fits.main.omega[0]
    donors = sorted(
        (Donor(places.names[d], float(omega[d])) for d in places.donors if omega[d] > 0),
        key=lambda donor: -donor.weight,
    )
    pilot_names = [places.names[p] for p in places.pilot]
    pilot_name = pilot_names[0] if len(pilot_names) == 1 else "the pilot places (mean)"
    checks = finding.checks
    return SyntheticFigure(
        periods=places.periods,
        start=places.pre,
        pilot_name=pilot_name,
        pilot=tuple(float(v) * factor for v in fits.main.pilot[0]),
        synthetic=tuple(float(v) * factor for v in fits.main.synthetic[0]),
        gaps=tuple(float(v) * factor for v in fits.main.gaps[0]),
        placebo_gaps=tuple(
            tuple(float(v) * factor for v in row) for row in fits.placebo["sdid"].gaps
        ),
        donors=tuple(donors),
        comparison_places=int(places.donors.size),
        estimate=finding.estimate,
        ci_low=finding.ci_low if finding.bounded else None,
        ci_high=finding.ci_high if finding.bounded else None,
        pre_rmspe=checks.pre_rmspe if checks and checks.pre_rmspe is not None else 0.0,
        worse_fits=checks.worse_fits if checks and checks.worse_fits is not None else 0,
        unit=unit,
    )
