"""A randomised comparison: people, households or places assigned to the pilot by chance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit.estimate.registry import Design, Estimated, Rubric, Scaffold, Words, register_design

if TYPE_CHECKING:
    import pandas as pd

    from evalkit.card import Outcome, PilotCard


def _estimate(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Estimated:
    from evalkit.estimate.rct import estimate_rct  # the estimators load when used

    return Estimated(estimate_rct(card, frame, outcome))


DESIGN = register_design(
    Design(
        name="rct",
        needs=(("group",),),
        estimate=_estimate,
        words=Words(
            uses="a randomised comparison",
            opens="Compared with the comparison group, {label} in the pilot group was",
            closes="in the pilot group compared with the comparison group",
            caveat="Random assignment makes the groups comparable; what remains uncertain is "
            "chance, shown by the interval, and who was lost to follow-up.",
        ),
        rubric=Rubric(5, "random assignment"),
        plan_as="rct",
        scaffold=Scaffold(
            roles="  group: {column: arm, pilot: pilot, comparison: comparison}   # assigned "
            "by chance\n  # period: {column: phase, post: after, pre: before}   # with a "
            "baseline\n",
            columns=("case_id", "arm", "ward", "days_in_ta"),
        ),
    )
)
