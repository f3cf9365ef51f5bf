"""The words of a report, as Markdown: what we set out to learn, what we found, trust, targets.

Templates display these; keeping them here means the wording is tested and
every pilot's report says things the same careful way.
"""

from __future__ import annotations

import pandas as pd

from evalkit.analysis import Analysis
from evalkit.charts import Figure, figure, means_chart
from evalkit.estimate.finding import Finding
from evalkit.estimate.registry import design_of
from evalkit.estimate.wording import (
    format_interval,
    format_number,
    in_sentence,
    percent_change,
)
from evalkit.learning import LogEntry, entry_markdown
from evalkit.markup import plain

# the findings and trust sections live in their own modules; templates reach them through this one
from evalkit.report.findings import design_figures as design_figures
from evalkit.report.findings import findings_markdown as findings_markdown
from evalkit.report.findings import inference_texts
from evalkit.report.trust import quality_figures as quality_figures
from evalkit.report.trust import trust_markdown as trust_markdown


def title_markdown(analysis: Analysis) -> str:
    """Return the report's title and one line on who ran it and which cycle."""
    card = analysis.card
    team = f" · {plain(card.team)}" if card.team else ""
    return f"# {plain(card.name)}\n\n{plain(card.place)}{team} · cycle {card.cycle}"


GLOSSARY = {
    "95% confidence interval (CI)": "the range of changes the data are consistent with. If it "
    "includes no change, we can't tell yet whether anything changed.",
    "Evidence level": "how strongly the design can show the pilot caused a change, from 1 "
    "(before and after only) to 5 (random assignment), on the Maryland Scientific Methods Scale.",
    "Attrition": "people or cases the pilot lost track of, so their outcome is unknown.",
    "Process limits (SPC)": "the range that ordinary month-to-month variation covers; a point "
    "outside them, or a long run on one side, is worth a question.",
    "p-value": "how surprising the data would be if nothing had changed; we do not use it alone "
    "to decide anything.",
}


def summary_markdown(analysis: Analysis, entry: LogEntry, entries: list[LogEntry]) -> str:
    """Return the plain-language summary a resident could read, for the top of the report."""
    card = analysis.card
    activities = ", ".join(card.theory_of_change.activities) or card.name
    lines = [
        "## In short",
        "",
        f"**What was tried.** {plain(card.place)} tried "
        f"{plain(activities[:1].lower() + activities[1:])}.",
        "",
    ]
    lines.append("**What changed.**")
    lines.append("")
    for finding in analysis.findings:
        lines.append(f"- {plain(_plain_finding(finding))}")
    decided = next((e for e in reversed(entries) if e.decision), None)
    lines.append("")
    if decided is not None and decided.next_changes:
        lines.append(
            f"**What the team is changing.** After cycle {decided.cycle} the team "
            f"decided to {decided.decision}: {plain(in_sentence('; '.join(decided.next_changes)))}."
        )
    else:
        lines.append(
            "**What the team is changing.** The team has not decided yet; it will at "
            "its sense-making session."
        )
    caveats = [design_of(card).words.caveat, *inference_texts(analysis, "short")]
    caveats.append(
        f"The evidence is level {analysis.evidence.level} of 5, so treat these "
        "results as " + ("strong" if analysis.evidence.level >= 4 else "a guide, not proof") + "."
    )
    questions = sum(1 for s in analysis.signals if s.level != "info")
    if questions:
        caveats.append(
            f"The data raised {questions} question(s) for the team, listed under "
            "'What the data can be trusted for'."
        )
    lines += ["", "**What we cannot conclude.** " + plain(" ".join(c for c in caveats if c))]
    return "\n".join(lines)


def _plain_finding(finding: Finding) -> str:
    """Return one finding in resident's words: the interval decides the wording."""
    if finding.no_change == 1.0:
        return _plain_ratio(finding)
    unit = f" {finding.unit}" if finding.unit else ""
    label = in_sentence(finding.label)
    if not finding.bounded:
        return _unbounded_finding(finding)
    if not finding.is_clear:
        return (
            f"We can't tell yet whether {label} changed: the data fit anything from "
            f"{format_number(abs(finding.ci_low))}{unit} lower to "
            f"{format_number(abs(finding.ci_high))}{unit} higher."
        )
    low, high = sorted((abs(finding.ci_low), abs(finding.ci_high)))
    direction = "lower" if finding.estimate < 0 else "higher"
    verdict = "an improvement" if finding.improved else "a change for the worse"
    return (
        f"We are fairly sure {label} was {direction}: by somewhere between "
        f"{format_number(low)} and {format_number(high)}{unit}. That is {verdict}."
    )


def _unbounded_finding(finding: Finding) -> str:
    """Return what can be said when too few places leave the interval without an end."""
    return (
        f"We can't tell whether {in_sentence(finding.label)} changed: the pilot rests on too "
        "few places for any interval to rule out chance. What can be said is the direction "
        "and size of the difference seen, under 'What we found'."
    )


def _plain_ratio(finding: Finding) -> str:
    """Return a ratio finding in resident's words: percent more or fewer."""
    label = in_sentence(finding.label)
    if not finding.bounded or finding.ci_low <= 0:
        return _unbounded_finding(finding)
    if not finding.is_clear:
        return (
            f"We can't tell yet whether {label} changed: the data fit anything from "
            f"{percent_change(finding.ci_low)} fewer to {percent_change(finding.ci_high)} more."
        )
    fewer = finding.estimate < 1
    near, far = sorted((finding.ci_low, finding.ci_high), key=lambda r: abs(r - 1.0))
    verdict = "an improvement" if finding.improved else "a change for the worse"
    return (
        f"We are fairly sure there were {'fewer' if fewer else 'more'} {label}: "
        f"somewhere between {percent_change(near)} and {percent_change(far)} "
        f"{'fewer' if fewer else 'more'}. "
        f"That is {verdict}."
    )


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
    """Return the learning section: this cycle's entry first, then earlier cycles as a timeline."""
    state = "closed" if entry.status == "closed" else "draft, for the team's sense-making session"
    lines = [
        "## What we learned and what we will change",
        "",
        f"From the learning log, cycle {entry.cycle} ({state}).",
        "",
    ]
    decision = plain(entry.decision.capitalize()) if entry.decision else "not decided yet"
    reasons = entry.reasons or "(the team decides at its sense-making session)"
    changes = "; ".join(entry.next_changes) if entry.next_changes else "not written yet"
    lines += [
        f"> **Decision:** {decision}. {plain(reasons)}",
        ">",
        f"> **What changes next:** {plain(changes)}",
        ">",
        f"> **What we learned:** {plain(entry.learned or 'not written yet')}",
        "",
    ]
    body = entry_markdown(entry, level=3, with_summary=False, with_targets=False)
    lines += [body.split("\n", 2)[2], ""]  # without its heading line and blank
    earlier = sorted((e for e in entries if e.cycle < entry.cycle), key=lambda e: e.cycle)
    if earlier:
        lines += ["### Earlier cycles", ""]
        for old in earlier:
            what = plain(old.decision.capitalize()) if old.decision else "no decision recorded"
            change = "; ".join(old.next_changes) or "nothing recorded"
            lines.append(
                f"- **Cycle {old.cycle}** ({old.status}): {what}. Learned: "
                f"{plain(old.learned or 'not recorded')} Changed next: {plain(change)}."
            )
        lines += ["", *_across_cycles([*earlier, entry])]
    return "\n".join(lines)


def _across_cycles(entries: list[LogEntry]) -> list[str]:
    outcomes: dict[str, str] = {}
    for entry in entries:
        for f in entry.seen.findings:
            outcomes.setdefault(f.outcome, f.label)
    if not outcomes:
        return []
    header = "| Outcome | " + " | ".join(f"Cycle {e.cycle}" for e in entries) + " |"
    lines = ["### Change across cycles", "", header, "|---" * (len(entries) + 1) + "|"]
    for outcome, label in outcomes.items():
        cells = []
        for entry in entries:
            found = next((f for f in entry.seen.findings if f.outcome == outcome), None)
            cells.append(
                format_interval(found.estimate, found.ci_low, found.ci_high, ratio=found.ratio)
                if found
                else "not measured"
            )
        lines.append(f"| {plain(label)} | " + " | ".join(cells) + " |")
    return [*lines, "", "Estimated change with its 95% confidence interval, cycle by cycle."]


def intro_markdown(analysis: Analysis) -> str:
    """Return what the pilot set out to learn: its theory of change and learning questions."""
    card, toc = analysis.card, analysis.card.theory_of_change
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
    if card.learning_questions:
        questions = [f"- {plain(q)}" for q in card.learning_questions]
        lines += ["**Learning questions:**", "", *questions, ""]
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
            shown = f"{format_number(mean)} ({format_number(low)} to {format_number(high)})"
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
            lines.append(
                f"| {group} | {period} | {format_number(float(row['mean']))} | "
                f"{format_number(float(row['ci_low']))} to "
                f"{format_number(float(row['ci_high']))} | {n} |"
            )
    return "\n".join(lines)
