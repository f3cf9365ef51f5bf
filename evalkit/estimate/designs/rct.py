"""A randomised comparison: people, households or places assigned to the pilot by chance."""

from __future__ import annotations

from evalkit.estimate.registry import Design, Rubric, Scaffold, Words, estimator, register_design

DESIGN = register_design(
    Design(
        name="rct",
        needs=(("group",),),
        estimate=estimator("evalkit.estimate.rct", "estimate_rct"),
        words=Words(
            uses="a randomised comparison",
            opens="Compared with the comparison group, {label} in the pilot group was",
            counts_open="Compared with the comparison group, the pilot group had",
            closes="in the pilot group compared with the comparison group",
            caveat="Random assignment makes the groups comparable; what remains uncertain is "
            "chance, shown by the interval, and who was lost to follow-up.",
            glossary=(
                "Randomised comparison",
                "people or places are put in the pilot or the comparison group by chance,"
                " so the groups differ only by chance and the pilot.",
            ),
        ),
        rubric=Rubric(5, "random assignment"),
        plan_as="rct",
        scaffold=Scaffold(
            roles="  group: {column: arm, pilot: pilot, comparison: comparison}   # assigned "
            "by chance\n  # period: {column: phase, post: after, pre: before}   # with a "
            "baseline\n",
            columns=("case_id", "arm", "ward", "days_in_ta"),
            example=("C0001", "pilot", "North", "42"),
        ),
    )
)
