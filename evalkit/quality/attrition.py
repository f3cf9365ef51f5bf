"""Attrition, judged against the What Works Clearinghouse standards.

Attrition: units at baseline with no outcome. The What Works Clearinghouse (WWC)
calls attrition "low" when the pair (overall attrition, differential attrition)
lies on or under its boundary, and "high" otherwise. The boundary table
``WWC_BOUNDARIES`` is data, one row per whole percent of overall attrition.

Source of the table: What Works Clearinghouse (2020), *Standards Handbook,
Version 4.1*, Table II.1 "Highest differential attrition rate for a sample to
maintain low attrition, by overall attrition rate, under 'optimistic' and
'cautious' assumptions"; the boundaries are unchanged in the Standards Handbook 4.0
(2017) and the Procedures and Standards Handbook 5.0 (2022), whose table
numbers we have not checked. Transcribed from
the copy embedded in the R package baselinr (Liang, CRAN 0.6.0,
R/attrition_boundary.R, which cites that table); check a change to any number
against the handbook itself.

A pilot with no comparison group has no WWC rating: :func:`lost_to_follow_up`
gives the share of units seen before the change with no outcome after it.

Baseline equivalence, the other WWC check on a comparison, is in
:mod:`evalkit.quality.equivalence`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.contract import Validation, post_mask
from evalkit.quality.disclosure import describe_part, is_small_share

# baseline equivalence lived here before it had its own module; still importable from here
from evalkit.quality.equivalence import Equivalence, baseline_equivalence, classify_equivalence

__all__ = [
    "WWC_BOUNDARIES",
    "Attrition",
    "AttritionLevel",
    "AttritionRating",
    "Boundary",
    "Equivalence",
    "LostToFollowUp",
    "attrition",
    "baseline_equivalence",
    "classify_attrition",
    "classify_equivalence",
    "largest_low_differential",
    "lost_to_follow_up",
]

Boundary = Literal["cautious", "optimistic"]
AttritionLevel = Literal["low", "high"]

#: (overall attrition %, largest differential in points that is still low under the
#: cautious boundary (None: no differential is low), the same under the optimistic one).
#: WWC Standards Handbook v4.1, Table II.1 (see the module docstring).
WWC_BOUNDARIES: tuple[tuple[int, float | None, float], ...] = (
    (0, 5.7, 10.0),
    (1, 5.8, 10.1),
    (2, 5.9, 10.2),
    (3, 5.9, 10.3),
    (4, 6.0, 10.4),
    (5, 6.1, 10.5),
    (6, 6.2, 10.7),
    (7, 6.3, 10.8),
    (8, 6.3, 10.9),
    (9, 6.3, 10.9),
    (10, 6.3, 10.9),
    (11, 6.2, 10.9),
    (12, 6.2, 10.9),
    (13, 6.1, 10.8),
    (14, 6.0, 10.8),
    (15, 5.9, 10.7),
    (16, 5.9, 10.6),
    (17, 5.8, 10.5),
    (18, 5.7, 10.3),
    (19, 5.5, 10.2),
    (20, 5.4, 10.0),
    (21, 5.3, 9.9),
    (22, 5.2, 9.7),
    (23, 5.1, 9.5),
    (24, 4.9, 9.4),
    (25, 4.8, 9.2),
    (26, 4.7, 9.0),
    (27, 4.5, 8.8),
    (28, 4.4, 8.6),
    (29, 4.3, 8.4),
    (30, 4.1, 8.2),
    (31, 4.0, 8.0),
    (32, 3.8, 7.8),
    (33, 3.6, 7.6),
    (34, 3.5, 7.4),
    (35, 3.3, 7.2),
    (36, 3.2, 7.0),
    (37, 3.1, 6.7),
    (38, 2.9, 6.5),
    (39, 2.8, 6.3),
    (40, 2.6, 6.0),
    (41, 2.5, 5.8),
    (42, 2.3, 5.6),
    (43, 2.1, 5.3),
    (44, 2.0, 5.1),
    (45, 1.8, 4.9),
    (46, 1.6, 4.6),
    (47, 1.5, 4.4),
    (48, 1.3, 4.2),
    (49, 1.2, 3.9),
    (50, 1.0, 3.7),
    (51, 0.9, 3.5),
    (52, 0.7, 3.2),
    (53, 0.6, 3.0),
    (54, 0.4, 2.8),
    (55, 0.3, 2.6),
    (56, 0.2, 2.3),
    (57, 0.0, 2.1),
    (58, None, 1.9),
    (59, None, 1.6),
    (60, None, 1.4),
    (61, None, 1.1),
    (62, None, 0.9),
    (63, None, 0.7),
    (64, None, 0.5),
    (65, None, 0.3),
)

# differences are compared with this slack so a value printed as the boundary
# (5.7) is not pushed over it by binary rounding (0.057 * 100 = 5.7000000000000002)
_TOLERANCE = 1e-9

_QUESTION = " Who has no outcome, and why did more leave one group than the other?"

_BY_OVERALL: dict[int, tuple[float | None, float]] = {
    overall: (cautious, optimistic) for overall, cautious, optimistic in WWC_BOUNDARIES
}


@dataclass(frozen=True)
class AttritionRating:
    """Overall and differential attrition classified against a WWC boundary, in plain words."""

    overall: float  # percent of units at baseline with no outcome
    differential: float  # percentage points between the groups' attrition rates
    boundary: Boundary
    largest_low: float | None  # the largest differential still low at this overall rate
    level: AttritionLevel
    message: str


@dataclass(frozen=True)
class Attrition:
    """Who was at baseline, who has an outcome, by group, and the WWC rating."""

    units: int
    pilot_units: int
    comparison_units: int
    pilot_lost: int
    comparison_lost: int
    overall: float  # percent
    pilot_rate: float  # percent of pilot units with no outcome
    comparison_rate: float  # percent of comparison units with no outcome
    differential: float  # percentage points, always >= 0
    rating: AttritionRating
    message: str
    #: False when a group is too small for its rates to be published: the message then
    #: gives the rating without the overall and differential rates
    shown: bool = True


@dataclass(frozen=True)
class LostToFollowUp:
    """Units seen before the change with no outcome after it, in a pilot with no comparison."""

    units: int
    lost: int
    overall: float  # percent
    message: str
    shown: bool = True  # False when the share is too near a small count to publish


def largest_low_differential(overall: float, boundary: Boundary = "cautious") -> float | None:
    """Return the largest differential attrition (points) still "low" at this overall rate.

    None means no differential counts as low (overall attrition too high for the
    boundary). Between two whole percents the stricter of the two rows applies, so
    a rate is never called low that a neighbouring published row would call high.
    """
    if not 0 <= overall <= 100:
        raise ValueError(f"overall attrition must be a percent from 0 to 100, got {overall}")
    column = 0 if boundary == "cautious" else 1
    rows = {math.floor(overall), math.ceil(overall)}
    limits = [_BY_OVERALL[row][column] if row in _BY_OVERALL else None for row in rows]
    if any(limit is None for limit in limits):
        return None
    return min(limit for limit in limits if limit is not None)


def classify_attrition(
    overall: float, differential: float, boundary: Boundary = "cautious"
) -> AttritionRating:
    """Return whether attrition is low or high under the WWC boundary, with the reason."""
    if differential < 0:
        raise ValueError(f"differential attrition is a size, got {differential}")
    if boundary not in ("cautious", "optimistic"):
        raise ValueError(f"boundary must be 'cautious' or 'optimistic', got {boundary!r}")
    limit = largest_low_differential(overall, boundary)
    level: AttritionLevel = (
        "low" if limit is not None and differential <= limit + _TOLERANCE else "high"
    )
    shown = _number(differential)
    if level == "high" and limit is not None and shown == f"{limit:.1f}".removesuffix(".0"):
        shown = f"{differential:.2f}"  # just over the line: do not print it as equal to it
    opening = (
        f"Overall attrition of {_number(overall)}% with a {shown}-point difference "
        f"between groups is {level} under the WWC {boundary} boundary"
    )
    if limit is None:
        reason = f"at {_number(overall)}% overall, no difference between groups counts as low."
    else:
        reason = (
            f"at {_number(overall)}% overall, a difference of up to {limit:.1f} points "
            "counts as low."
        )
    question = _QUESTION if level == "high" else ""
    return AttritionRating(
        overall=float(overall),
        differential=float(differential),
        boundary=boundary,
        largest_low=limit,
        level=level,
        message=f"{opening}: {reason}{question}",
    )


def attrition(
    frame: pd.DataFrame,
    *,
    in_pilot: np.ndarray,
    has_outcome: np.ndarray,
    boundary: Boundary = "cautious",
    min_count: int | None = None,
) -> Attrition:
    """Return overall and differential attrition among the units at baseline, rated by the WWC.

    ``frame`` holds one row per unit at baseline; ``in_pilot`` and ``has_outcome``
    are true/false for each row. With ``min_count`` (disclosure control), a
    group's rate whose lost or kept units number fewer than that is said in
    words ("fewer than 10 of the pilot group"), and the overall and
    differential rates, from which it could be worked back, are left out.
    """
    pilot = np.asarray(in_pilot, dtype=bool)
    kept = np.asarray(has_outcome, dtype=bool)
    if not len(pilot) == len(kept) == len(frame):
        raise ValueError(
            f"in_pilot ({len(pilot)}), has_outcome ({len(kept)}) and the frame ({len(frame)}) "
            "must have one value per unit"
        )
    if not pilot.any() or pilot.all():
        raise ValueError("attrition needs units in both the pilot and the comparison group")
    lost = ~kept
    pilot_rate = 100 * float(lost[pilot].mean())
    comparison_rate = 100 * float(lost[~pilot].mean())
    overall = 100 * float(lost.mean())
    differential = abs(pilot_rate - comparison_rate)
    rating = classify_attrition(overall, differential, boundary)
    more = "pilot" if pilot_rate > comparison_rate else "comparison"
    detail = (
        f"{_number(pilot_rate)}% of the pilot group and {_number(comparison_rate)}% of the "
        "comparison group have no outcome"
    )
    message = rating.message
    groups = [(int(lost[side].sum()), int(side.sum())) for side in (pilot, ~pilot)]
    shown = min_count is None or not any(is_small_share(c, t, min_count) for c, t in groups)
    if min_count is not None and not shown:
        # with the overall rate, or the gap, and the other group's rate, a small count
        # could be worked back: only the rating is said
        pilot_part, comparison_part = (describe_part(c, t, min_count) for c, t in groups)
        detail = (
            f"The outcome is missing for {pilot_part} of the pilot group and "
            f"{comparison_part} of the comparison group"
        )
        message = (
            f"Attrition is {rating.level} under the WWC {boundary} boundary (the overall and "
            "differential rates are not shown: a group this small could be identified from "
            "them)." + (_QUESTION if rating.level == "high" else "")
        )
    if differential > 0:
        detail += f" (more are missing from the {more} group)"
    return Attrition(
        units=len(frame),
        pilot_units=int(pilot.sum()),
        comparison_units=int((~pilot).sum()),
        pilot_lost=int(lost[pilot].sum()),
        comparison_lost=int(lost[~pilot].sum()),
        overall=overall,
        pilot_rate=pilot_rate,
        comparison_rate=comparison_rate,
        differential=differential,
        rating=rating,
        message=f"{detail}. {message}",
        shown=shown,
    )


def lost_to_follow_up(validation: Validation, unit: str) -> LostToFollowUp | None:
    """Return the share of units seen before the change with no outcome after it.

    ``unit`` is the card's unit column. None when no unit is seen both before
    and after (successive groups, not a panel).
    """
    card, frame = validation.card, validation.valid
    after = post_mask(card, frame)
    outcome = card.outcomes[0].column
    units = pd.unique(frame.loc[~after, unit])
    if not np.isin(units, frame.loc[after, unit].to_numpy()).any():
        return None
    with_outcome = set(frame.loc[after & frame[outcome].notna().to_numpy(), unit])
    lost = int(sum(1 for u in units if u not in with_outcome))
    overall = 100.0 * lost / len(units) if len(units) else 0.0
    part = describe_part(lost, len(units), card.min_cell_count)  # "14%", or "fewer than 10"
    return LostToFollowUp(
        units=len(units),
        lost=lost,
        overall=overall,
        message=f"{part[:1].upper()}{part[1:]} of those seen before the change have no outcome "
        "after it. "
        "Who are they? If they differ from those who stayed, the change seen may not hold "
        "for everyone.",
        shown=not is_small_share(lost, len(units), card.min_cell_count),
    )


def _number(value: float) -> str:
    """Return a percent or a number of points for reading: 18, 5.7."""
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"
