"""Interrupted time series: a trend before the change, projected past it (with or without a
comparison series)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit.estimate.evidence import ADVISED_PRE_PERIODS
from evalkit.estimate.registry import Design, Rubric, Scaffold, Words, estimator, register_design

if TYPE_CHECKING:
    from evalkit.estimate.finding import Finding


def _doubts(finding: Finding) -> list[str]:
    pre = finding.checks.pre_periods if finding.checks else None
    if pre is None or pre >= ADVISED_PRE_PERIODS:
        return []
    return [
        f"{finding.label}: only {pre} periods before the change, so the earlier trend, and "
        "what would have happened, is uncertain."
    ]


DESIGN = register_design(
    Design(
        name="its",
        needs=(("time",),),
        estimate=estimator("evalkit.estimate.its", "estimate_its_and_chart"),
        words=Words(
            uses="an interrupted time series",
            opens="Right after the change, compared with where the earlier trend was heading, "
            "{label} was",
            counts_open="After the change, compared with the earlier trend, there were",
            closes="compared with the earlier trend",
            caveat="An interrupted time series assumes the earlier trend would have carried "
            "on; anything else that changed at the same moment is mixed in. Its intervals "
            "allow for how each period leans on the last, which a short series shows only "
            "roughly, so they are wide when there are few periods.",
            glossary=(
                "Interrupted time series",
                "following an outcome over many periods and asking whether it changed "
                "from the path it was on when the pilot started.",
            ),
        ),
        rubric=Rubric(2, "interrupted time series: a trend before the change, no comparison group"),
        plan_as="its",
        scaffold=Scaffold(
            roles="  time: {column: month, start: 2025-04}   # the first period of the change\n"
            "  #   seasonality: month                   # month (or quarter) effects\n",
            columns=("case_id", "month", "ward", "days_in_ta"),
            example=("C0001", "2025-03", "North", "42"),
        ),
        chart="evalkit.charts.its:its_chart",
        doubts=_doubts,
    )
)
