"""The report's charts over time: one summary table of every measure, and one chart per process.

This replaces red/amber/green ratings and the list of every special cause:
each process is one table row (NHS England, *Making Data Count*, 2019; the
variation and assurance icons given in words), and each special cause is
summarised in its row.
"""

from __future__ import annotations

from evalkit.analysis import Analysis
from evalkit.card.model import Outcome
from evalkit.charts import Figure, figure
from evalkit.charts.spc import spc_chart
from evalkit.markup import plain
from evalkit.quality.spc_process import ProcessChart
from evalkit.quality.spc_words import ASSURANCE, meaning, means_text, number

HEADING = "### How each measure is running over time"

EXPLANATION = (
    "These charts use statistical process control, as NHS *Making Data Count* does. Each "
    "chart follows one group (pilot or comparison) over time; before and after the change "
    "are never mixed in one point or one set of limits. The process limits show the range "
    "that ordinary ups and downs (common cause variation) cover; they are worked out from "
    "the periods before the change and again from those after it. A point or run outside "
    "that pattern is a special cause: blue (squares) where it is in the better direction, "
    "orange (diamonds) where it is in the worse direction; grey (circles) is common cause. "
    "A special cause is a question to look into, not a verdict. Targets are drawn for "
    "context only, never as a pass or fail. Limits from fewer than 15 periods are trial "
    "limits and may move as more periods come in."
)

#: Five columns, so the table reads on a phone: each measure's process with its points, where
#: it runs (mean before and after, the latest value), Making Data Count's two icons in words,
#: and what it means.
COLUMNS = (
    "Measure and process",
    "Mean before → after (latest)",
    "Variation (latest point)",
    "Against the target",
    "What this means",
)


def spc_markdown(analysis: Analysis) -> str:
    """Return the "how each measure is running over time" subsection, or "" with no chart."""
    rows = list(_charts(analysis))
    if not rows:
        return ""
    lines = [
        HEADING,
        "",
        EXPLANATION,
        "",
        "| " + " | ".join(plain(c) for c in COLUMNS) + " |",
        "|---" * len(COLUMNS) + "|",
    ]
    for outcome, chart in rows:
        unit = _unit(outcome)
        latest = f"{number(chart.values[-1])}{_spaced(unit)} in {chart.periods[-1]}"
        cells = [
            f"{outcome.name}: {chart.process}, {_points(chart)}",
            f"{means_text(chart, unit)} (latest {latest})",
            chart.variation,
            ASSURANCE.get(chart.assurance or "", "no target"),
            meaning(chart),
        ]
        lines.append("| " + " | ".join(plain(cell) for cell in cells) + " |")
    lines.append("")
    return "\n".join(lines)


def spc_figures(analysis: Analysis) -> list[Figure]:
    """Return one chart for each process of each measure, each with its text description."""
    threshold = analysis.card.min_cell_count
    return [
        figure(
            spc_chart(
                chart,
                label=outcome.name,
                unit=_unit(outcome),
                target=chart.target,
                suppressed_periods=chart.suppressed_periods,
                min_count=threshold,
            )
        )
        for outcome, chart in _charts(analysis)
    ]


def _charts(analysis: Analysis) -> list[tuple[Outcome, ProcessChart]]:
    by_name = {o.name: o for o in analysis.card.outcomes}
    return [
        (by_name[name], chart)
        for name, over in analysis.quality.over_time.items()
        for chart in over.charts
    ]


def _points(chart: ProcessChart) -> str:
    text = f"{len(chart.values)} points"
    return f"{text}, trial limits" if chart.trial else text


def _unit(outcome: Outcome) -> str:
    return "%" if outcome.type == "binary" else outcome.unit


def _spaced(unit: str) -> str:
    return unit if unit in ("", "%") else f" {unit}"
