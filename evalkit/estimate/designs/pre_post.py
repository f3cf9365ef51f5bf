"""Before and after: the same people or cases, or the same service, before and after the change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit.estimate.registry import Design, Estimated, Rubric, Scaffold, Words, register_design

if TYPE_CHECKING:
    import pandas as pd

    from evalkit.card import Outcome, PilotCard


def _estimate(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Estimated:
    from evalkit.estimate.pre_post import estimate_pre_post  # the estimators load when used

    return Estimated(estimate_pre_post(card, frame, outcome))


DESIGN = register_design(
    Design(
        name="pre_post",
        needs=(("period", "time"),),
        estimate=_estimate,
        words=Words(
            uses="a before-and-after comparison of the same people or cases",
            opens="After the change, {label} was",
            closes="after the change",
            caveat="A before/after comparison cannot separate the pilot from anything else "
            "that changed over the same time.",
        ),
        rubric=Rubric(1, "before and after only: no comparison group"),
        plan_as="pre_post",
        scaffold=Scaffold(
            roles="  period: {column: phase, post: after, pre: before}   # which rows are "
            "after the change\n",
            columns=("case_id", "phase", "ward", "days_in_ta"),
        ),
    )
)
