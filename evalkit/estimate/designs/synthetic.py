"""A synthetic comparison: one place (or a few) against a weighted mix of many other places.

Synthetic difference-in-differences (Arkhangelsky et al. 2021) is the
headline, with synthetic control and plain difference-in-differences beside
it; see :mod:`evalkit.estimate.synthetic`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit.estimate.evidence import Downgrade
from evalkit.estimate.registry import Design, Rubric, Scaffold, Words, estimator, register_design

if TYPE_CHECKING:
    from evalkit.estimate.finding import Finding

#: The in-time placebo finds a gap at this p-value or below: the comparison drifted before.
IN_TIME_ALPHA = 0.05


def _periods(count: int | None) -> str:
    return "1 period" if count == 1 else f"{count} periods"


def _facts(findings: tuple[Finding, ...]) -> dict[str, float]:
    """Return the synthetic checks the evidence rating reads, the worst over the outcomes."""
    facts: dict[str, float] = {}

    def worst(key: str, value: float, *, low: bool = False) -> None:
        facts[key] = (min if low else max)(facts.get(key, value), value)

    for finding in findings:
        checks, inference = finding.checks, finding.inference
        if checks is not None:
            if checks.pre_periods is not None:
                worst("pre_periods", float(checks.pre_periods), low=True)
            worst("synthetic_poor_fit", float(bool(checks.poor_fit)))
            worst("synthetic_outside_hull", float(bool(checks.outside_hull)))
            worst("synthetic_unstable", float(bool(checks.unstable_weights)))
            if checks.in_time_p is not None:
                worst("synthetic_in_time_p", checks.in_time_p, low=True)
        if inference is not None and inference.unbounded:
            facts["few_clusters"] = facts["unbounded"] = 1.0
            for key, count in (
                ("clusters", inference.clusters),
                ("treated_clusters", inference.treated_clusters),
            ):
                if count is not None:
                    worst(key, float(count), low=True)
    return facts


def _doubts(finding: Finding) -> list[str]:
    """Return a plain sentence for each of the finding's checks that failed."""
    checks = finding.checks
    if checks is None:
        return []
    label, doubts = finding.label, []
    if checks.poor_fit:
        doubts.append(
            f"{label}: before the change, the synthetic comparison followed the pilot less "
            f"closely than it followed almost every comparison place treated the same way, "
            "so the gap after the change may be partly a poor match."
        )
    if checks.outside_hull:
        doubts.append(
            f"{label}: even allowing a constant difference in level, the pilot's path before "
            "the change lay outside the range of every comparison place's in most periods; "
            "no mix of them can follow it, so the comparison is weak."
        )
    elif checks.outside_levels:
        doubts.append(
            f"{label}: the pilot's figures were above (or below) every comparison place's in "
            "most periods before the change, so plain synthetic control cannot match it; "
            "synthetic difference-in-differences, the headline, allows for a constant gap."
        )
    if checks.unstable_weights and checks.leave_one_out_place:
        doubts.append(
            f"{label}: leaving {checks.leave_one_out_place} out of the comparison alone moves "
            f"the estimate by {checks.leave_one_out_shift:.3g}, more than its standard error, "
            "so the result leans on that one place."
        )
    if checks.in_time_p is not None and checks.in_time_p <= IN_TIME_ALPHA:
        doubts.append(
            f"{label}: pretending the change began {_periods(checks.in_time_periods)} "
            f"earlier already finds a gap among the most unusual 5% of the placebos' (p = "
            f"{checks.in_time_p:.2g}), so the pilot was drifting from its comparison before "
            "the change."
        )
    return doubts


def _explains(finding: Finding) -> list[str]:
    """Return a plain sentence on each check of the synthetic comparison, passed or not."""
    checks = finding.checks
    if checks is None or checks.comparison_places is None:
        return []
    unit = f" {finding.unit}" if finding.unit else ""
    placebos = checks.placebos if checks.placebos is not None else checks.comparison_places
    sentences = []
    if checks.worse_fits is not None and checks.pre_rmspe is not None:
        sentences.append(
            f"Fit before the change: allowing a constant gap in level, the pilot and its "
            f"synthetic comparison were on average {checks.pre_rmspe:.3g}{unit} apart (root "
            "mean square). Treating comparison places as the pilot in the same way, "
            f"{checks.worse_fits} of {placebos} placebo comparisons were matched less closely"
            + (": the pilot's match is among the worst." if checks.poor_fit else ".")
        )
    if checks.outside_hull is not None:
        sentences.append(
            "Within reach of the comparison places: "
            + (
                "no; even allowing a constant gap in level, the pilot's path lay outside all "
                "of theirs in most periods before the change."
                if checks.outside_hull
                else "yes; allowing a constant gap in level, as synthetic difference-in-"
                "differences does, the pilot's path lay within the range of theirs"
                + (
                    ", though its level was outside their range (plain synthetic control "
                    "cannot reach it)."
                    if checks.outside_levels
                    else "."
                )
            )
        )
    if checks.leave_one_out_place is not None and checks.leave_one_out_shift is not None:
        sentences.append(
            f"Leaving one place out: the largest change comes from leaving out "
            f"{checks.leave_one_out_place}, which moves the estimate by "
            f"{checks.leave_one_out_shift:.3g}{unit} ("
            + ("more" if checks.unstable_weights else "less")
            + f" than its standard error of {finding.se:.3g})."
        )
    if checks.in_time_p is not None and checks.in_time_estimate is not None:
        sentences.append(
            f"Pretending the change began {_periods(checks.in_time_periods)} earlier (an in-time "
            f"placebo) gives a gap of {checks.in_time_estimate:+.3g}{unit} (p = "
            f"{checks.in_time_p:.2g}): "
            + (
                "the pilot was already drifting from its comparison."
                if checks.in_time_p <= IN_TIME_ALPHA
                else "no sign of a gap before the change."
            )
        )
    return sentences


DOWNGRADES = (
    Downgrade(
        "poor pre-period fit",
        1,
        lambda facts: facts.get("synthetic_poor_fit", 0.0) > 0,
        lambda facts, words: (
            "before the change the synthetic comparison matched the pilot less well than it "
            "matched almost every comparison place"
        ),
    ),
    Downgrade(
        "outside the comparison places' range",
        1,
        lambda facts: facts.get("synthetic_outside_hull", 0.0) > 0,
        lambda facts, words: (
            "the pilot's path before the change lay outside every comparison place's, so no "
            "weighted mix of them can follow it"
        ),
    ),
    Downgrade(
        "unstable comparison weights",
        1,
        lambda facts: facts.get("synthetic_unstable", 0.0) > 0,
        lambda facts, words: (
            "leaving out a single comparison place moves the estimate by more than its "
            "standard error"
        ),
    ),
    Downgrade(
        "in-time placebo",
        1,
        lambda facts: facts.get("synthetic_in_time_p", 1.0) <= IN_TIME_ALPHA,
        lambda facts, words: (
            "pretending the change began earlier already finds a gap (in-time placebo p = "
            f"{facts['synthetic_in_time_p']:.2g})"
        ),
    ),
)

DESIGN = register_design(
    Design(
        name="synthetic",
        needs=(("group",), ("time",)),
        estimate=estimator("evalkit.estimate.synthetic", "estimate_synthetic"),
        words=Words(
            uses="a synthetic comparison: the pilot place against a weighted mix of other "
            "places chosen because, together, they moved as it did before the change "
            "(synthetic difference-in-differences)",
            opens="Compared with its synthetic comparison over the same time, {label} in the "
            "pilot was",
            counts_open="Compared with its synthetic comparison over the same time, the pilot had",
            closes="in the pilot compared with its synthetic comparison",
            caveat="This relies on the comparison places having moved as the pilot did before "
            "the change (allowing a constant difference in level), and on nothing else "
            "changing for the pilot alone at the same time. With one pilot place, the interval "
            "comes from treating each comparison place in turn as if it had been the pilot.",
            glossary=(
                "Synthetic comparison",
                "a weighted mix of other places, chosen so that together they moved as the "
                "pilot did before the change; after it, the gap between the pilot and the mix "
                "is the estimated effect.",
            ),
        ),
        rubric=Rubric(
            3,
            "a comparison built from other places, observed before and after the change "
            "(synthetic difference-in-differences)",
            differences_baseline=True,
            sized_by_records=False,
        ),
        plan_as="synthetic",
        scaffold=Scaffold(
            unit="council              # the place each row is about (one row a place a period)",
            roles="  group: {column: council, pilot: Harrowfield}   # the pilot place; every "
            "other place can compare\n"
            "  time: {column: month, start: 2025-04-01}   # the first period of the change\n"
            "  # population: households   # a count outcome as a rate per 1,000 of this\n",
            columns=("council", "month", "ward", "days_in_ta"),
            example=("Harrowfield", "2025-03-01", "North", "42"),
        ),
        chart="evalkit.charts.synthetic:synthetic_charts",
        doubts=_doubts,
        explains=_explains,
        facts=_facts,
        downgrades=DOWNGRADES,
    )
)
