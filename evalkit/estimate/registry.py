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
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    import pandas as pd

    from evalkit.card import Outcome, PilotCard
    from evalkit.estimate.evidence import Downgrade
    from evalkit.estimate.finding import Finding

#: The card's data roles a design can need.
Role = Literal["group", "period", "time"]
#: How the planning arithmetic lays out a design (see :mod:`evalkit.estimate.power`).
PlanLayout = Literal["pre_post", "did", "its", "rct", "synthetic"]

#: The entry-point group under which installed packages offer designs.
ENTRY_POINTS = "evalkit.designs"
#: The designs evalkit ships: name -> module that declares it (imported on first use).
BUILT_IN: dict[str, str] = {
    "pre_post": "evalkit.estimate.designs.pre_post",
    "did": "evalkit.estimate.designs.did",
    "its": "evalkit.estimate.designs.its",
    "rct": "evalkit.estimate.designs.rct",
    "synthetic": "evalkit.estimate.designs.synthetic",
}


#: A design's estimate step: one outcome of a pilot estimated.
Estimate = Callable[["PilotCard", "pd.DataFrame", "Outcome"], "Estimated"]


@dataclass(frozen=True)
class Estimated:
    """One outcome estimated: its finding and, when the design draws one, its figure's data."""

    finding: Finding
    #: the data of the design's own figure (an ITS counterfactual, an event study), if it draws one
    figure: object = None


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
    #: The design's entry in the report's "Words we use": (term, meaning).
    glossary: tuple[str, str] | None = None


@dataclass(frozen=True)
class Rubric:
    """A design's place on the Maryland Scientific Methods Scale (see evalkit.estimate.evidence)."""

    level: int
    reason: str
    #: A gap in starting levels is differenced away (difference-in-differences), so baseline
    #: imbalance lowers no level and differential attrition is a question, not a warning.
    differences_baseline: bool = False
    #: The smallest group's count of records says how much the estimate rests on (False when
    #: each row is a place's figure for a period, and the places are what count).
    sized_by_records: bool = True


@dataclass(frozen=True)
class Scaffold:
    """What ``evalkit new`` writes for a design: the card's roles, the columns, an example row."""

    roles: str
    columns: tuple[str, ...]
    #: the data template's one example row, a value for each of ``columns`` (as text), matching
    #: the card's roles; ``evalkit validate`` tells this row apart from a team's own records
    example: tuple[str, ...] = ()
    #: the card's unit line: what each row is about
    unit: str = "case_id              # the person, household or case each row is about"


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
    #: The builder that draws ``Estimated.figure``: "module:function", called with the data,
    #: ``label`` and ``unit`` (see evalkit.charts.design); imported only when drawing.
    chart: str | None = None
    #: Plain sentences for the design's own checks that failed, for one finding.
    doubts: Callable[[Finding], list[str]] = field(default=_no_doubts)
    #: Plain sentences on each of the design's own checks, passed or failed, for one finding.
    explains: Callable[[Finding], list[str]] = field(default=_no_doubts)
    #: The design's own facts for the evidence rating, read from its findings (None: the
    #: checks every design shares, as evalkit.analysis reads them).
    facts: Callable[[tuple[Finding, ...]], dict[str, float]] | None = None
    #: Checks of the design's own that lower the level, beside those every design has.
    downgrades: tuple[Downgrade, ...] = ()


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
    """Add a design to the registry (replacing one of the same name) and return it.

    ValueError if it needs a data role the card has no line for: a mistake in
    the design module, found when it is imported rather than on a pilot's card.
    """
    roles = get_args(Role)
    if any(isinstance(needed, str) for needed in design.needs):
        raise ValueError(
            f"design '{design.name}': each item of needs is a tuple of alternatives, "
            f"such as ('group',), not a bare role; got {design.needs!r}"
        )
    unknown = sorted({role for needed in design.needs for role in needed} - set(roles))
    if unknown:
        raise ValueError(
            f"design '{design.name}' needs the data role(s) {', '.join(map(repr, unknown))}; "
            f"a design can need only {', '.join(roles)}"
        )
    _REGISTRY[design.name] = design
    return design


def get_design(name: str) -> Design | None:
    """Return the design registered under ``name``, loading a built-in or installed one first.

    ConfigError if an installed package offers the design but its entry point
    does not load: the person is told which package to reinstall, not shown a traceback.
    """
    if name not in _REGISTRY:
        if name in BUILT_IN:
            importlib.import_module(BUILT_IN[name])
        else:
            for entry in importlib.metadata.entry_points(group=ENTRY_POINTS, name=name):
                loaded = _load_entry(entry)
                if isinstance(loaded, Design) and loaded.name not in _REGISTRY:
                    register_design(loaded)
    return _REGISTRY.get(name)


def _load_entry(entry: importlib.metadata.EntryPoint) -> object:
    """Return what an installed design's entry point names, or ConfigError naming its package."""
    from evalkit.errors import ConfigError

    try:
        return entry.load()
    except Exception as exc:  # any error while importing someone else's package: say whose
        package = entry.dist.name if entry.dist is not None else "an installed package"
        raise ConfigError(
            f"design '{entry.name}' is offered by {package} (entry point {entry.group}: "
            f"{entry.name} = {entry.value}), but it cannot be loaded: {type(exc).__name__}: {exc}",
            where="design",
            hint=f"reinstall or upgrade {package} (pip install --upgrade {package}), "
            "or uninstall it and choose another design",
        ) from None


def design_of(card: PilotCard) -> Design:
    """Return the card's design from the registry, or say plainly that there is none."""
    from evalkit.errors import EstimationError

    design = get_design(card.design)
    if design is None:
        raise EstimationError(
            f"design '{card.design}' is not known to this version of evalkit",
            path=card.card_path,
            where="design",
            hint=f"set design: in pilot.yaml to one of {', '.join(design_names())}",
        )
    return design


def design_names() -> list[str]:
    """Return the names a card's ``design:`` may take: built-in, registered, then installed."""
    installed = [e.name for e in importlib.metadata.entry_points(group=ENTRY_POINTS)]
    return list(dict.fromkeys([*BUILT_IN, *_REGISTRY, *installed]))
