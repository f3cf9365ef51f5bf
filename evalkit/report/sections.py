"""The words of a report, as Markdown: what we set out to learn, what we found, trust, targets.

Templates display these; keeping them here means the wording is tested and
every pilot's report says things the same careful way.
"""

from __future__ import annotations

import pandas as pd

from evalkit.analysis import Analysis
from evalkit.charts import Figure, figure, means_chart
from evalkit.estimate.registry import design_of
from evalkit.estimate.wording import format_mean_and_range, format_number
from evalkit.learning import LogEntry
from evalkit.markup import plain
from evalkit.report import learning
from evalkit.report.assessment import assessment_of

# the findings and trust sections live in their own modules; templates reach them through this one
from evalkit.report.findings import design_figures as design_figures
from evalkit.report.findings import findings_markdown as findings_markdown
from evalkit.report.findings import inference_texts
from evalkit.report.ready import ready_markdown as ready_markdown
from evalkit.report.trust import quality_figures as quality_figures
from evalkit.report.trust import trust_markdown as trust_markdown
from evalkit.report.value import value_figures as value_figures
from evalkit.report.value import value_markdown as value_markdown


def title_markdown(analysis: Analysis) -> str:
    """Return the report's title and one line on who ran it and which cycle."""
    card = analysis.card
    team = f" · {plain(card.team)}" if card.team else ""
    return f"# {plain(card.name)}\n\n{plain(card.place)}{team} · cycle {card.cycle}"


GLOSSARY = {
    "95% confidence interval (CI)": "the range of changes the data are consistent with. If it "
    "leaves out no change we say we are fairly sure; if no change is only just inside it, near "
    "one end, we say 'probably' and that no change is not ruled out; otherwise we can't tell yet.",
    "Evidence level": "how strongly the design can show the pilot caused a change, from 1 "
    "(before and after only) to 5 (random assignment), on the Maryland Scientific Methods Scale.",
    "Attrition": "people or cases the pilot lost track of, so their outcome is unknown.",
    "Process limits (SPC)": "the range that ordinary month-to-month variation covers; a point "
    "outside them, or a long run on one side, is worth a question.",
    "p-value": "how surprising the data would be if nothing had changed; we do not use it alone "
    "to decide anything.",
}


def summary_markdown(analysis: Analysis, entry: LogEntry, entries: list[LogEntry]) -> str:
    """Return the summary a resident could read: learning first once the team has closed the
    cycle; in a draft, what evalkit observed. Each finding is summarised here and stated in
    full, once, under "What we found"."""
    lines = ["## In short", "", *learning.decision_lines(entry)]
    lines += [learning.tried_sentence(analysis), ""]
    observed = "What changed" if not learning.is_draft(entry) else "What evalkit observed"
    lines += [f"**{observed}.**", ""]
    lines += [f"- {plain(learning.short_finding(analysis, f))}" for f in analysis.findings]
    lines += ["", "Each is set out in full, with its interval, under 'What we found'.", ""]
    previous = learning.previous_closed(entry, entries)
    if learning.is_draft(entry) and previous is not None and previous.decision:
        lines += [
            f"**Last cycle.** At the end of cycle {previous.cycle} the team decided to "
            f"{plain(previous.decision)}; whether its changes happened is checked under "
            f"'Did cycle {previous.cycle}'s changes happen?'.",
            "",
        ]
    assessed = assessment_of(analysis)
    caveats = [assessed.caveat, *inference_texts(analysis, "short")]
    caveats.append(
        f"The evidence is level {assessed.level} of 5, so treat these results as "
        f"{assessed.strength}."
    )
    if assessed.questions:
        caveats.append(
            f"This run raised {_count(len(assessed.questions), 'question')} about the data "
            "for the team, listed under 'What the data can be trusted for'."
        )
    doubts = len(assessed.concerns) - len(assessed.questions)
    if doubts:
        caveats.append(
            f"It found {_count(doubts, 'doubt')} about the design or the pilot's size, set out "
            "under 'What we found'."
        )
    lines += ["**What we cannot conclude.** " + plain(" ".join(c for c in caveats if c))]
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def glossary_markdown(analysis: Analysis | None = None) -> str:
    """Return the glossary of the few technical terms the report keeps, with its design's."""
    terms = dict(GLOSSARY)
    design = design_of(analysis.card).words.glossary if analysis is not None else None
    if design is not None:
        terms = {design[0]: design[1], **terms}
    lines = ["## Words we use", ""]
    lines += [f"- **{term}**: {meaning}" for term, meaning in terms.items()]
    return "\n".join(lines)


def learning_markdown(entry: LogEntry, entries: list[LogEntry]) -> str:
    """Return the learning log as a report shows it: only what the team wrote, earlier cycles."""
    return learning.log_markdown(entry, entries)


def intro_markdown(analysis: Analysis) -> str:
    """Return what the pilot set out to learn: its theory of change (its learning questions are
    answered in their own section)."""
    toc = analysis.card.theory_of_change
    lines = ["## What we set out to learn", ""]
    if toc.problem:
        lines += [f"**The problem.** {plain(toc.problem)}", ""]
    for title, items in (
        ("What the pilot does", toc.activities),
        ("What should change", toc.outcomes),
        ("What has to be true", toc.assumptions),
    ):
        if items:
            lines += [f"**{title}:**", "", *[f"- {plain(item)}" for item in items], ""]
    return "\n".join(lines)


def targets_markdown(analysis: Analysis) -> str:
    """Return targets as context beside the latest pilot mean; never a pass or fail."""
    card = analysis.card
    with_targets = [o for o in card.outcomes if o.target is not None]
    lines = ["## Targets, as context", ""]
    if not with_targets:
        return "\n".join([*lines, "This pilot has set no targets."])
    lines += [
        "Targets are shown for context only. evalkit does not mark them as met or missed: "
        "what matters is what the pilot is learning.",
        "",
        "| Outcome | Target | Pilot after the change (mean, 95% CI) | Note |",
        "|---|---|---|---|",
    ]
    for outcome in with_targets:
        target = outcome.target
        if target is None:  # narrowed above; mypy cannot see it through the list
            continue
        cells = analysis.cells[outcome.column]
        latest = cells[(cells["group"] == "pilot") & (cells["period"] == "after")]
        if latest.empty or bool(latest["suppressed"].iloc[0]):
            shown = "not shown, to protect privacy"
        else:
            mean, low, high = (float(latest[c].iloc[0]) for c in ("mean", "ci_low", "ci_high"))
            mean_text, range_text = format_mean_and_range(mean, low, high)
            shown = f"{mean_text} ({range_text})"
        unit = f" {plain(outcome.unit)}" if outcome.unit else ""
        lines.append(
            f"| {plain(outcome.name)} | {format_number(target.value)}{unit} | {shown} "
            f"| {plain(target.note)} |"
        )
    return "\n".join(lines)


def means_figure(analysis: Analysis, column: str) -> Figure | None:
    """Return an outcome's means chart, or None when every group is hidden (nothing to draw)."""
    outcome = next(o for o in analysis.card.outcomes if o.column == column)
    cells = analysis.cells[column]
    if bool(cells["suppressed"].all()):
        return None
    unit = "%" if outcome.type == "binary" else outcome.unit
    if outcome.type == "count" and analysis.card.data.population is not None:
        unit = ""  # the cells are counts as recorded; only the finding is per 1,000
    chart = means_chart(
        cells, label=outcome.name, unit=unit, min_cell_count=analysis.card.min_cell_count
    )
    return figure(chart)


def means_markdown(analysis: Analysis, column: str) -> str:
    """Return an outcome's group-by-period means under a heading naming the outcome."""
    outcome = next(o for o in analysis.card.outcomes if o.column == column)
    cells = analysis.cells[column]
    text = f"**{plain(outcome.name)}: means by group and period**\n\n" + cells_table(cells)
    if bool(cells["n_withheld"].any()):
        text += (
            '\n\nRecords "not shown" are withheld so that, beside the records used for the '
            "estimate, they cannot be used to work out a group of fewer than "
            f"{analysis.card.min_cell_count}."
        )
    return text


def cells_table(cells: pd.DataFrame) -> str:
    """Return group-by-period means as a Markdown table, small cells shown as suppressed."""
    lines = ["| Group | Period | Mean | 95% CI | Records |", "|---|---|---|---|---|"]
    for row in cells.to_dict("records"):
        group, period = plain(row["group"]), plain(row["period"])
        if row["suppressed"]:
            lines.append(f"| {group} | {period} | suppressed | suppressed | suppressed |")
        else:
            # a count withheld so the finding's total cannot be used to work out a small one
            n = "not shown" if row.get("n_withheld") else f"{int(row['n']):,}"
            mean, interval = format_mean_and_range(
                float(row["mean"]), float(row["ci_low"]), float(row["ci_high"])
            )
            lines.append(f"| {group} | {period} | {mean} | {interval} | {n} |")
    return "\n".join(lines)
