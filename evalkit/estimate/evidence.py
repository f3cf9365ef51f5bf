"""The evidence rating: a Maryland Scientific Methods Scale level with its reasons.

The rubric is data, not scattered conditions. Source: Sherman, Gottfredson,
MacKenzie, Eck, Reuter and Bushway (1997), *Preventing Crime: What Works, What
Doesn't, What's Promising*, ch. 2; as adapted in What Works Centre for Local
Economic Growth (2016), *Guide to scoring evidence using the Maryland
Scientific Methods Scale*.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from evalkit.card import DEFAULT_MIN_CELL_COUNT
from evalkit.errors import EstimationError
from evalkit.estimate.registry import get_design

SCALE = "maryland-sms"

#: What each level means (What Works Centre for Local Economic Growth, 2016).
LEVELS: dict[int, str] = {
    1: "before and after with no comparison group, or a comparison at one time only",
    2: "a comparison group or a long time series, with little control for differences",
    3: "before and after in both a pilot and a comparison group (e.g. difference-in-differences)",
    4: "quasi-random variation or a comparison group matched on what drives the outcome",
    5: "random assignment to the pilot and a comparison group",
}

#: A joint pre-trend test below this says the groups were already moving apart.
PRETREND_ALPHA = 0.05
#: Fewer periods than this before the change and the earlier trend is uncertain (Penfold and
#: Zhang 2013 advise at least eight).
ADVISED_PRE_PERIODS = 8


@dataclass(frozen=True)
class Downgrade:
    """A check that lowers the level when it fails, and what the person reads."""

    name: str
    levels: int
    applies: Callable[[dict[str, float]], bool]
    reason: Callable[[dict[str, float], Mapping[str, str]], str]


def _threshold(facts: dict[str, float]) -> int:
    return int(facts.get("min_cell_count", DEFAULT_MIN_CELL_COUNT))


def _few(count: float, facts: dict[str, float]) -> bool:
    """Return True for a count the reasons must not state (0 < count < min_cell_count)."""
    return 0 < count < _threshold(facts)


def _rejected_reason(facts: dict[str, float], words: Mapping[str, str]) -> str:
    rejected = facts.get("rejected_rows")
    if rejected is not None and _few(rejected, facts):
        # a share of the rows would give a count this small away
        how_many = f"fewer than {_threshold(facts)} rows"
    else:
        how_many = f"{facts['rejected_share']:.0%} of rows"
    return f"{how_many} failed their checks and were left out, which may bias the comparison"


def _few_units_reason(facts: dict[str, float], words: Mapping[str, str]) -> str:
    smallest = facts["smallest_group"]
    how_many = (
        f"fewer than {_threshold(facts)}" if _few(smallest, facts) else f"only {smallest:.0f}"
    )
    return f"{how_many} records in the smallest group or period"


def _few_clusters_reason(facts: dict[str, float], words: Mapping[str, str]) -> str:
    clusters, treated = facts.get("clusters"), facts.get("treated_clusters")
    plural = words.get("clusters", "clusters")
    if clusters is None:
        rests = f"few {plural}"
    else:
        rests = f"only {clusters:.0f} {plural}"
        if treated is not None:
            rests += f", {treated:.0f} in the pilot"
    if facts.get("unbounded", 0.0) > 0:
        return f"the estimate rests on {rests}: too few for any 95% interval to rule out chance"
    return f"the estimate rests on {rests}: a few unusual {plural} could tilt the comparison"


def _few_events_reason(facts: dict[str, float], words: Mapping[str, str]) -> str:
    return (
        f"a yes/no outcome had fewer than {FEW_EVENTS} events (or non-events) in a group, so "
        "its interval rests on few people"
    )


#: Fewer events (or non-events) than this in a group and a yes/no comparison rests on few people.
FEW_EVENTS = 10

#: Checks that lower the level (numbers come from the run: rejected share, design checks).
#: ``min_cell_count`` in the facts is the pilot's disclosure threshold: a reason states no
#: count below it, and ``rejected_rows`` is the rejected count the share comes from.
DOWNGRADES: tuple[Downgrade, ...] = (
    Downgrade(
        "many rows rejected",
        1,
        lambda facts: facts.get("rejected_share", 0.0) > 0.05,
        _rejected_reason,
    ),
    Downgrade(
        "pre-trends not parallel",
        1,
        lambda facts: facts.get("pretrend_p", 1.0) < PRETREND_ALPHA,
        lambda facts, words: (
            f"the groups were already moving apart before the change (joint test of "
            f"pre-period effects p = {facts['pretrend_p']:.2g})"
        ),
    ),
    Downgrade(
        "too few periods before the change",
        1,
        lambda facts: 0 < facts.get("pre_periods", 99) < ADVISED_PRE_PERIODS,
        lambda facts, words: (
            f"only {facts['pre_periods']:.0f} periods before the change to learn the "
            f"trend from ({ADVISED_PRE_PERIODS} or more are advised)"
        ),
    ),
    Downgrade(
        "high attrition",
        1,
        lambda facts: facts.get("attrition_high", 0.0) > 0,
        lambda facts, words: "attrition is high under the What Works Clearinghouse boundary",
    ),
    Downgrade(
        "groups not equivalent at baseline",
        1,
        lambda facts: facts.get("imbalance", 0.0) > 0.25,
        lambda facts, words: (
            f"the groups differed at baseline by {facts['imbalance']:.2f} standard "
            "deviations, beyond what adjustment can be trusted to fix (WWC)"
        ),
    ),
    Downgrade(
        "few clusters",
        1,
        lambda facts: facts.get("few_clusters", 0.0) > 0,
        _few_clusters_reason,
    ),
    Downgrade(
        "few events",
        1,
        lambda facts: facts.get("few_events", 0.0) > 0,
        _few_events_reason,
    ),
    Downgrade(
        "few units",
        1,
        lambda facts: 0 < facts.get("smallest_group", 1e9) < 20,
        _few_units_reason,
    ),
)


class Evidence(BaseModel):
    """An evidence rating on a named scale with the reasons for it."""

    model_config = ConfigDict(frozen=True)

    scale: str = SCALE
    level: int
    why: tuple[str, ...]


def rate_evidence(
    design: str,
    facts: dict[str, float],
    notes: Sequence[str] = (),
    words: Mapping[str, str] | None = None,
) -> Evidence:
    """Return the design's Maryland SMS level, lowered for each failed check, with reasons.

    The level a design reaches when its checks pass is its registry entry's
    rubric (:mod:`evalkit.estimate.registry`). ``words`` names things the
    reasons mention, e.g. ``{"clusters": "wards"}``.
    """
    entry = get_design(design)
    if entry is None:
        raise EstimationError(
            f"design '{design}' is not known to this version of evalkit, so it cannot be rated",
            where="design",
            hint="register the design first (evalkit.estimate.registry.register_design)",
        )
    level, reason = entry.rubric.level, entry.rubric.reason
    why = [reason, *notes]
    if "pretrend_p" in facts and facts["pretrend_p"] >= PRETREND_ALPHA:
        why.append(
            "no clear sign the groups were moving apart before the change "
            f"(p = {facts['pretrend_p']:.2g})"
        )
    for check in (*DOWNGRADES, *entry.downgrades):
        if check.applies(facts):
            level = max(1, level - check.levels)
            why.append(f"{check.reason(facts, words or {})} (level lowered)")
    return Evidence(level=level, why=tuple(why))
