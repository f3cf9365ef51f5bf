"""Before and after: the same people or cases, or the same service, before and after the change."""

from __future__ import annotations

from evalkit.estimate.registry import Design, Rubric, Scaffold, Words, estimator, register_design

DESIGN = register_design(
    Design(
        name="pre_post",
        needs=(("period", "time"),),
        estimate=estimator("evalkit.estimate.pre_post", "estimate_pre_post"),
        words=Words(
            uses="a before-and-after comparison of the same people or cases",
            opens="After the change, {label} was",
            counts_open="After the change, there were",
            closes="after the change",
            caveat="A before/after comparison cannot separate the pilot from anything else "
            "that changed over the same time.",
            glossary=(
                "Before-and-after comparison",
                "comparing the same people or cases before and after the change; it "
                "cannot rule out other things that changed at the same time.",
            ),
        ),
        rubric=Rubric(1, "before and after only: no comparison group"),
        plan_as="pre_post",
        scaffold=Scaffold(
            roles="  period: {column: phase, post: after, pre: before}   # which rows are "
            "after the change\n",
            columns=("case_id", "phase", "ward", "days_in_ta"),
            example=("C0001", "before", "North", "42"),
        ),
    )
)
