"""One assessment of what a pilot's findings can be trusted for, behind every trust message.

Each trust message in a report (the summary's "what we cannot conclude", the
questions for the team, the baseline table's words, the design's caveat) is
read from the one :class:`Assessment` made here, so no two parts of a report
can disagree: a report that lists a question never also says none was raised,
and a design that differences away a starting gap never says the estimate
"needs statistical adjustment".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from evalkit.analysis import Analysis
from evalkit.estimate.evidence import PRETREND_ALPHA
from evalkit.estimate.registry import design_of
from evalkit.quality.equivalence import Equivalence

Kind = Literal["data", "design", "baseline", "size"]


@dataclass(frozen=True)
class Concern:
    """One reason for caution, in plain words, and where the report says more."""

    kind: Kind
    text: str


@dataclass(frozen=True)
class Baseline:
    """How far apart one outcome's groups started, and what that means for this design."""

    outcome: str
    measure: str
    difference: float
    band: str  # the WWC band, as What Works Clearinghouse names it
    meaning: str  # what it means here, in plain words
    concern: bool


@dataclass(frozen=True)
class Assessment:
    """Everything a report says about trust, decided once."""

    level: int
    caveat: str  # the design's assumption, and whether this run could check it
    concerns: tuple[Concern, ...]
    baselines: tuple[Baseline, ...]

    @property
    def questions(self) -> tuple[Concern, ...]:
        """Return the concerns about the data themselves (the trust section's questions)."""
        return tuple(c for c in self.concerns if c.kind in ("data", "baseline"))

    @property
    def strength(self) -> str:
        """Return how to treat the results, from the evidence level and the concerns."""
        if self.level >= 4 and not self.concerns:
            return "strong evidence"
        return "a guide, not proof"


def assessment_of(analysis: Analysis) -> Assessment:
    """Return the analysis's assessment, made once and kept with it."""
    if "_assessment" not in analysis.__dict__:  # a memo on a frozen value, as Analysis.learning
        object.__setattr__(analysis, "_assessment", _assess(analysis))
    made: Assessment = analysis.__dict__["_assessment"]
    return made


def _assess(analysis: Analysis) -> Assessment:
    design = design_of(analysis.card)
    # a baseline gap is judged below, against what the design does with it; a special cause
    # over time is always a question to look into, as the SPC section says
    concerns = [
        Concern("data", s.message)
        for s in analysis.signals
        if (s.level != "info" or s.kind == "special-cause") and s.kind != "baseline-equivalence"
    ]
    concerns += [Concern("design", doubt) for f in analysis.findings for doubt in design.doubts(f)]
    adjusted = design.rubric.differences_baseline
    baselines = tuple(
        _baseline(name, eq, differences=adjusted, adjusts=_adjusts(analysis, name))
        for name, eq in analysis.quality.equivalence.items()
    )
    concerns += [
        Concern("baseline", f"{b.outcome} ({b.measure} {b.difference:+.2f}): {b.meaning}")
        for b in baselines
        if b.concern
    ]
    short = [m for m in analysis.plan if m.detectable() is False]
    if short:
        concerns.append(
            Concern("size", "The pilot may be too small to show the change it hopes for.")
        )
    return Assessment(
        level=analysis.evidence.level,
        caveat=_caveat(analysis),
        concerns=tuple(concerns),
        baselines=baselines,
    )


def _adjusts(analysis: Analysis, name: str) -> bool:
    """Return True when the finding for outcome ``name`` adjusts for where groups started."""
    return any(f.label == name and "adjusted for" in f.method for f in analysis.findings)


def _baseline(name: str, eq: Equivalence, *, differences: bool, adjusts: bool) -> Baseline:
    far = eq.level == "not equivalent"
    if eq.level == "equivalent":
        meaning, concern = "The groups started alike.", False
    elif differences:
        meaning = (
            f"The groups started {'far' if far else 'somewhat'} apart. This design allows for "
            "a gap in starting levels; what it needs is that the groups were on parallel paths"
            + (", which a gap this large makes less likely." if far else ".")
        )
        concern = far
    elif adjusts:
        meaning = (
            "The groups started apart; the estimate adjusts for the card's covariates, which "
            "may not remove all of the gap."
        )
        concern = far
    else:
        meaning = (
            "The groups started apart and the estimate does not adjust for it, so part of the "
            "difference seen may be where they started."
        )
        concern = True
    return Baseline(name, eq.measure, eq.difference, eq.level, meaning, concern)


def _caveat(analysis: Analysis) -> str:
    """Return the design's assumption, with what this run could check of it."""
    caveat = design_of(analysis.card).words.caveat
    if analysis.card.design != "did":
        return caveat
    tested = [
        (f, f.checks.pretrend_p, f.checks.pre_periods or 0)
        for f in analysis.findings
        if f.checks is not None and f.checks.pretrend_p is not None
    ]
    if not tested:
        if analysis.card.data.time is None:
            why = "With only a before and an after period this could not be checked in the data."
        else:
            why = (
                "This could not be checked in the data: too few periods before the change for "
                "each group, or too few places for such a check to be reliable."
            )
        return f"{caveat} {why}"
    moving = [f.label for f, p, _ in tested if p < PRETREND_ALPHA]
    periods = max(n for _, _, n in tested)
    time = analysis.card.data.time
    frame = analysis.validation.valid
    months = time is not None and pd.api.types.is_datetime64_any_dtype(frame[time.column])
    counted = f" over the {periods} {'months' if months else 'periods'} before the change"
    if moving:
        return f"{caveat} Checked{counted}: the groups were already moving apart for " + (
            ", ".join(moving) + "."
        )
    return caveat + f" Checked{counted}: no sign the groups were moving apart."
