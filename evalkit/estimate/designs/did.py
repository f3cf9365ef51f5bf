"""Difference-in-differences: the pilot's change against a comparison group's over the same time.

Two periods (``data.period``) give the two-by-two comparison; many periods
(``data.time``) the panel estimators, with an event study drawn in the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit.estimate.evidence import PRETREND_ALPHA
from evalkit.estimate.registry import Design, Rubric, Scaffold, Words, estimator, register_design

if TYPE_CHECKING:
    from evalkit.estimate.finding import Finding


def _doubts(finding: Finding) -> list[str]:
    p = finding.checks.pretrend_p if finding.checks else None
    if p is None or p >= PRETREND_ALPHA:
        return []
    return [
        f"{finding.label}: the pilot and comparison groups were already moving apart before "
        f"the change (pre-trend test p {'< 0.001' if p < 0.001 else f'= {p:.2g}'}), so the "
        "estimate may mix the pilot's effect "
        "with that drift."
    ]


DESIGN = register_design(
    Design(
        name="did",
        needs=(("group",), ("period", "time")),
        estimate=estimator("evalkit.estimate.did", "estimate_did_outcome"),
        words=Words(
            uses="a difference-in-differences comparison: the pilot's change against a "
            "comparison group's change over the same time",
            opens="Compared with the comparison group over the same time, {label} in the pilot was",
            counts_open="Compared with the comparison group over the same time, the pilot had",
            closes="in the pilot compared with the comparison group",
            caveat="This relies on the pilot and comparison groups having been on similar "
            "paths before the change.",
            glossary=(
                "Difference-in-differences",
                "comparing how much things changed in the pilot with how much they "
                "changed, over the same time, for a similar group not in the pilot.",
            ),
        ),
        rubric=Rubric(
            3, "comparison group observed before and after the change", differences_baseline=True
        ),
        plan_as="did",
        scaffold=Scaffold(
            roles="  group: {column: arm, pilot: pilot, comparison: comparison}\n"
            "  period: {column: phase, post: after, pre: before}   # which rows are after "
            "the change\n",
            columns=("case_id", "arm", "phase", "ward", "days_in_ta"),
            example=("C0001", "pilot", "before", "North", "42"),
        ),
        chart="evalkit.charts.event_study:event_study_chart",
        doubts=_doubts,
    )
)
