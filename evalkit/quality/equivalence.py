"""Baseline equivalence, judged against the What Works Clearinghouse bands.

Baseline equivalence: the standardised difference between the groups at
baseline, Hedges' g for a continuous measure and the Cox index for a yes/no
measure, classified with the WWC bands: up to 0.05 equivalent, over 0.05 and
up to 0.25 equivalent only with statistical adjustment, over 0.25 not
equivalent. Source: What Works Clearinghouse (2020), *Procedures Handbook,
Version 4.1*, effect sizes: Hedges' g = omega (mean_p - mean_c) / pooled sd,
omega = 1 - 3 / (4N - 9); Cox index = ln odds ratio / 1.65. The Cox index here
also carries omega, as the handbook's formula is read by the WWC-based
calculators we could check (estat.us; the R package imt); the R package
baselinr reads it without. The two differ by omega, under 1% from N = 80.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from evalkit.quality.disclosure import is_small_share

EquivalenceLevel = Literal["equivalent", "needs statistical adjustment", "not equivalent"]

#: Baseline-equivalence bands (WWC): |d| up to the first is equivalent, up to the second
#: needs statistical adjustment, above it is not equivalent.
EQUIVALENT_UP_TO = 0.05
ADJUSTABLE_UP_TO = 0.25

#: The Cox index divides a log odds ratio by 1.65 to put it on the scale of a
#: standardised mean difference (Cox 1970, as adopted by the WWC).
COX_SCALE = 1.65


@dataclass(frozen=True)
class Equivalence:
    """How far apart the groups were at baseline, in standard deviations, and what it means."""

    measure: Literal["Hedges' g", "Cox index"]
    difference: float  # pilot minus comparison, standardised
    level: EquivalenceLevel
    pilot_n: int
    comparison_n: int
    pilot_mean: float  # a mean, or the share with the characteristic for a yes/no measure
    comparison_mean: float
    corrected: bool  # a yes/no group was all one value, so half a unit was added to each cell
    message: str
    shown: bool = True  # False when the groups' shares are left out of the message (small counts)


def classify_equivalence(difference: float) -> EquivalenceLevel:
    """Return the WWC baseline-equivalence band for a standardised difference."""
    size = abs(difference)
    if size <= EQUIVALENT_UP_TO + 1e-12:
        return "equivalent"
    if size <= ADJUSTABLE_UP_TO + 1e-12:
        return "needs statistical adjustment"
    return "not equivalent"


def baseline_equivalence(
    pilot: np.ndarray,
    comparison: np.ndarray,
    *,
    binary: bool = False,
    min_count: int | None = None,
) -> Equivalence:
    """Return the standardised baseline difference between the groups and its WWC band.

    Continuous measures use Hedges' g (pooled standard deviation); yes/no
    measures (0/1 or True/False) use the Cox index. Both carry the WWC
    small-sample correction. Missing values are left out. With ``min_count``
    (disclosure control), a yes/no measure's shares are left out of the
    message when a group has fewer than that many with, or without, it.
    """
    p = _finite(pilot)
    c = _finite(comparison)
    n_p, n_c = len(p), len(c)
    if n_p < 2 or n_c < 2:
        raise ValueError("baseline equivalence needs at least two units in each group")
    omega = 1 - 3 / (4 * (n_p + n_c) - 9)
    corrected = False
    if binary:
        if not np.isin(p, (0, 1)).all() or not np.isin(c, (0, 1)).all():
            raise ValueError("a yes/no measure must hold only 0/1 or True/False")
        hits_p, hits_c = float(p.sum()), float(c.sum())
        if min(hits_p, n_p - hits_p, hits_c, n_c - hits_c) == 0:
            # the log odds is infinite when a group is all yes or all no; the usual
            # Haldane-Anscombe fix adds half a unit to each of the four cells
            corrected = True
            hits_p, hits_c = hits_p + 0.5, hits_c + 0.5
            size_p, size_c = n_p + 1.0, n_c + 1.0
        else:
            size_p, size_c = float(n_p), float(n_c)
        log_odds_p = math.log(hits_p / (size_p - hits_p))
        log_odds_c = math.log(hits_c / (size_c - hits_c))
        difference = omega * (log_odds_p - log_odds_c) / COX_SCALE
        measure: Literal["Hedges' g", "Cox index"] = "Cox index"
    else:
        pooled = math.sqrt(
            ((n_p - 1) * float(p.var(ddof=1)) + (n_c - 1) * float(c.var(ddof=1))) / (n_p + n_c - 2)
        )
        if pooled == 0:
            raise ValueError("every unit has the same baseline value, so no difference to measure")
        difference = omega * (float(p.mean()) - float(c.mean())) / pooled
        measure = "Hedges' g"
    level = classify_equivalence(difference)
    shown = not (
        binary
        and min_count is not None
        and any(is_small_share(float(g.sum()), g.size, min_count) for g in (p, c))
    )
    return Equivalence(
        measure=measure,
        difference=difference,
        level=level,
        pilot_n=n_p,
        comparison_n=n_c,
        pilot_mean=float(p.mean()),
        comparison_mean=float(c.mean()),
        corrected=corrected,
        shown=shown,
        message=_equivalence_message(measure, difference, level, binary, p, c, shown)
        + (
            " (One group was all yes or all no, so half a unit was added to each count "
            "to compute the index.)"
            if corrected
            else ""
        ),
    )


def _equivalence_message(
    measure: str,
    difference: float,
    level: EquivalenceLevel,
    binary: bool,
    pilot: np.ndarray,
    comparison: np.ndarray,
    shown: bool = True,
) -> str:
    if not shown:
        # with one group's share and the index, the other's could be worked back
        values = "the groups' shares are not shown, as a group is too small to show them"
    elif binary:
        values = (
            f"{100 * pilot.mean():.0f}% of the pilot group and "
            f"{100 * comparison.mean():.0f}% of the comparison group"
        )
    else:
        values = (
            f"an average of {pilot.mean():.3g} in the pilot group and "
            f"{comparison.mean():.3g} in the comparison group"
        )
    meaning = {
        "equivalent": "the groups started out alike on this measure",
        "needs statistical adjustment": (
            "the groups started out somewhat apart, so the comparison should adjust for it"
        ),
        "not equivalent": (
            "the groups started out too far apart for adjustment to make them comparable; "
            "how were they chosen?"
        ),
    }[level]
    text = (
        f"At baseline: {values} ({measure} {difference:+.2f}). "
        f"By the WWC bands this is {level}: {meaning}"
    )
    return text if text.endswith("?") else text + "."


def _finite(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return np.asarray(array[~np.isnan(array)], dtype=float)
