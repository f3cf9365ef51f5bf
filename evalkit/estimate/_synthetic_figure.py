"""What the synthetic design's three charts draw: computed once, with the finding."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Donor:
    """A comparison place and its weight in the synthetic comparison (weights sum to 1)."""

    place: str
    weight: float


@dataclass(frozen=True)
class SyntheticFigure:
    """One outcome's synthetic comparison over time, its gaps against the placebos', its donors.

    Every series has one value per period in ``periods``; the change began at
    ``periods[start]``. ``synthetic`` is the weighted comparison places moved
    to the pilot's level before the change (as synthetic difference-in-
    differences compares them), so ``pilot - synthetic`` is ``gaps``. Each of
    ``placebo_gaps`` is the same gap when one comparison place (or, with
    several pilot places, a set of them) is treated as if it had been the
    pilot; they show how large a gap arises by chance.
    """

    #: the periods, as people read them ("2024-04", "2023")
    periods: tuple[str, ...]
    #: index of the first period of the change
    start: int
    #: the pilot place(s), as named in the data (their mean when several)
    pilot_name: str
    pilot: tuple[float, ...]
    synthetic: tuple[float, ...]
    gaps: tuple[float, ...]
    placebo_gaps: tuple[tuple[float, ...], ...]
    #: places with a weight above zero, largest first
    donors: tuple[Donor, ...]
    #: how many comparison places could have been weighted
    comparison_places: int
    #: the headline estimate (average gap after the change) and its 95% interval ends
    #: (None when too few places give the interval an end)
    estimate: float
    ci_low: float | None
    ci_high: float | None
    #: the pilot's pre-period fit (the root mean square of the gaps before the change about
    #: their mean, as synthetic DiD allows a constant gap) and how many placebos fitted worse
    pre_rmspe: float
    worse_fits: int
    #: what the values are measured in ("per 1,000 households", "percentage points")
    unit: str = ""
