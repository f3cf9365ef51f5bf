"""The registry of designs: each design is one module and one entry here.

A design module (``evalkit/estimate/designs/<name>.py``) declares a
:class:`Design`: what it needs from the card, how it estimates, its words, its
place in the evidence rubric, how a pilot of its kind is planned and what
``evalkit new`` writes for it. Everything else (the card's checks, the
estimator, the report's words and figures, the evidence rating, planning,
scaffolding) looks the design up here and never names one.

Built-in designs are listed in :data:`BUILT_IN` by module and imported on
first use, so the card can ask what its design needs without loading the
estimators. Another design registers itself with :func:`register_design`
(pandera's backends register the same way); an installed package can offer
one under the entry-point group ``evalkit.designs`` (name: the card's
``design:`` value; value: the module that registers it), so the report's
kernel finds it too.

This module is light on purpose: the card's checks import it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

    from evalkit.card import Outcome, PilotCard
    from evalkit.estimate.finding import Finding

#: The card's data roles a design can need.
Role = Literal["group", "period", "time"]
#: How the planning arithmetic lays out a design (see :mod:`evalkit.estimate.power`).
PlanLayout = Literal["pre_post", "did", "its", "rct"]

#: The entry-point group under which installed packages offer designs.
ENTRY_POINTS = "evalkit.designs"
#: The designs evalkit ships: name -> module that declares it (imported on first use).
BUILT_IN: dict[str, str] = {
    "pre_post": "evalkit.estimate.designs.pre_post",
    "did": "evalkit.estimate.designs.did",
    "its": "evalkit.estimate.designs.its",
    "rct": "evalkit.estimate.designs.rct",
}


#: A design's estimate step: one outcome of a pilot estimated.
Estimate = Callable[["PilotCard", "pd.DataFrame", "Outcome"], "Estimated"]


@dataclass(frozen=True)
class Estimated:
    """One outcome estimated: its finding and, when the design draws one, its figure's data."""

    finding: Finding
    figure: Any = None  # e.g. ItsChartData or EventStudy; drawn by evalkit.charts.design_chart


@dataclass(frozen=True)
class Words:
    """How the report speaks of a design."""

    #: "This pilot uses {uses}."
    uses: str
    #: Opens a clear finding's sentence, with {label}: "Compared with ..., {label} was"
    opens: str
    #: Opens a clear count finding's sentence: "Compared with ..., the pilot had"
    counts_open: str
    #: Closes a "we can't tell yet whether {label} changed ..." sentence.
    closes: str
    #: What the design cannot rule out, said once after the findings.
    caveat: str


@dataclass(frozen=True)
class Rubric:
    """A design's place on the Maryland Scientific Methods Scale (see evalkit.estimate.evidence)."""

    level: int
    reason: str
    #: A gap in starting levels is differenced away (difference-in-differences), so baseline
    #: imbalance lowers no level and differential attrition is a question, not a warning.
    differences_baseline: bool = False


@dataclass(frozen=True)
class Scaffold:
    """What ``evalkit new`` writes for a design: the card's role lines and the data's columns."""

    roles: str
    columns: tuple[str, ...]


def _no_doubts(finding: Finding) -> list[str]:
    return []


@dataclass(frozen=True)
class Design:
    """Everything evalkit needs to know about one evaluation design."""

    name: str
    #: Data roles the card must give: each tuple is alternatives, one of which is needed.
    needs: tuple[tuple[Role, ...], ...]
    estimate: Estimate
    words: Words
    rubric: Rubric
    #: The layout planning sizes it by; None when the design cannot be planned yet.
    plan_as: PlanLayout | None
    scaffold: Scaffold | None = None
    #: Plain sentences for the design's own checks that failed, for one finding.
    doubts: Callable[[Finding], list[str]] = field(default=_no_doubts)


def estimator(
    module: str, function: str
) -> Callable[[PilotCard, pd.DataFrame, Outcome], Estimated]:
    """Return a design's estimate step that imports its estimator only when first called.

    ``module.function(card, frame, outcome)`` gives a Finding or an Estimated;
    importing a design module (as the card's checks do) loads no estimator.
    """

    def estimate(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Estimated:
        found = getattr(importlib.import_module(module), function)(card, frame, outcome)
        return found if isinstance(found, Estimated) else Estimated(found)

    return estimate


_REGISTRY: dict[str, Design] = {}


def register_design(design: Design) -> Design:
    """Add a design to the registry (replacing one of the same name) and return it."""
    _REGISTRY[design.name] = design
    return design


def get_design(name: str) -> Design | None:
    """Return the design registered under ``name``, loading a built-in or installed one first."""
    if name not in _REGISTRY:
        if name in BUILT_IN:
            importlib.import_module(BUILT_IN[name])
        else:
            for entry in importlib.metadata.entry_points(group=ENTRY_POINTS, name=name):
                loaded = entry.load()
                if isinstance(loaded, Design) and loaded.name not in _REGISTRY:
                    register_design(loaded)
    return _REGISTRY.get(name)


def design_names() -> list[str]:
    """Return the names a card's ``design:`` may take: built-in, registered, then installed."""
    installed = [e.name for e in importlib.metadata.entry_points(group=ENTRY_POINTS)]
    return list(dict.fromkeys([*BUILT_IN, *_REGISTRY, *installed]))
