"""The report's "Ready to grow?" check: what evalkit knows about each question before growing.

HM Treasury's Magenta Book (2026, Test and Learn annex) asks, before a pilot
grows, whether its uncertainties are resolved, delivery is stable and
consistent, its reach is enough, its data work and its resources are
confirmed. Each item below answers one part of that from what this run
knows (the findings, the learning log, the data checks, the costs, what
people said), as met, not met or unknown, always with its reason. It informs
the team's decision; it never makes it, and it is never added up into a score:
the section never says "ready".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evalkit.analysis import Analysis
from evalkit.estimate.finding import Finding
from evalkit.estimate.value_model import money
from evalkit.learning import LogEntry
from evalkit.markup import plain
from evalkit.report.assessment import assessment_of
from evalkit.report.learning import previous_closed

Status = Literal["met", "not met", "unknown"]
HEADING = "## Ready to grow?"
#: The evidence level (Maryland Scientific Methods Scale) at which a change can be put down
#: to the pilot with a comparison group: below it, growing rests on before-and-after alone.
LEVEL_TO_GROW = 3


@dataclass(frozen=True)
class Check:
    """One question before growing, answered met, not met or unknown, with its reason."""

    question: str
    status: Status
    reason: str


def ready_checks(analysis: Analysis, entry: LogEntry, entries: list[LogEntry]) -> tuple[Check, ...]:
    """Return the checks in the order the section lists them (the reasons are plain text)."""
    earlier = previous_closed(entry, entries)
    return (
        _evidence(analysis),
        _no_harm(analysis.findings),
        _consistent(analysis.findings, earlier),
        _big_enough(analysis),
        _data_trusted(analysis),
        _reach(analysis),
        _worth_it(analysis),
        _heard(analysis),
        _stable(earlier),
    )


def _evidence(analysis: Analysis) -> Check:
    level = analysis.evidence.level
    question = "Is the evidence strong enough to put the change down to the pilot?"
    if level >= LEVEL_TO_GROW:
        return Check(
            question,
            "met",
            f"evidence level {level} of 5: a comparison group shows "
            "what would have happened without the pilot",
        )
    if analysis.card.data.group is not None:
        return Check(
            question,
            "not met",
            f"evidence level {level} of 5: there is a comparison group, but the evidence "
            "rating's reasons lower what it can show (see the findings)",
        )
    return Check(
        question,
        "not met",
        f"evidence level {level} of 5: without a comparison group, "
        "a change could have happened anyway",
    )


def _worse_end(finding: Finding) -> float:
    return finding.ci_high if finding.better == "lower" else finding.ci_low


def _no_harm(findings: tuple[Finding, ...]) -> Check:
    question = "Does every outcome's interval rule out harm?"
    open_ended = [f.label for f in findings if not f.bounded]
    harm = [
        f.label
        for f in findings
        if f.bounded
        and (_worse_end(f) > f.no_change if f.better == "lower" else _worse_end(f) < f.no_change)
    ]
    if harm:
        return Check(
            question,
            "not met",
            "the 95% interval reaches a change for the worse for " + ", ".join(harm),
        )
    if open_ended:
        return Check(
            question, "unknown", "no 95% interval could be given for " + ", ".join(open_ended)
        )
    return Check(question, "met", "every outcome's 95% interval leaves out a change for the worse")


def _direction(estimate: float, no_change: float) -> int:
    return (estimate > no_change) - (estimate < no_change)


def _consistent(findings: tuple[Finding, ...], earlier: LogEntry | None) -> Check:
    question = "Do the findings point the same way as last cycle's?"
    if earlier is None or not earlier.seen.findings:
        return Check(
            question, "unknown", "there is no closed earlier cycle with findings to compare with"
        )
    before = {f.outcome: f for f in earlier.seen.findings}
    compared, turned = [], []
    for finding in findings:
        old = before.get(finding.outcome)
        if old is None:
            continue
        compared.append(finding.label)
        no_change = 1.0 if old.ratio else 0.0
        if _direction(old.estimate, no_change) != _direction(finding.estimate, finding.no_change):
            turned.append(finding.label)
    if not compared:
        return Check(question, "unknown", f"cycle {earlier.cycle} measured none of these outcomes")
    if turned:
        return Check(
            question,
            "not met",
            f"against cycle {earlier.cycle}, the estimate changed "
            "direction for " + ", ".join(turned),
        )
    return Check(
        question,
        "met",
        f"each estimate points the same way as in cycle {earlier.cycle} ({', '.join(compared)})",
    )


def _big_enough(analysis: Analysis) -> Check:
    question = "Is the pilot big enough to see the change it hopes for?"
    planned = [m for m in analysis.plan if m.detectable() is not None]
    if not planned:
        return Check(
            question,
            "unknown",
            "the card gives no hoped-for change to plan for",
        )
    short = [m.label or m.outcome for m in planned if m.detectable() is False]
    if short:
        return Check(
            question,
            "not met",
            "too small to be likely to see the hoped-for change in " + ", ".join(short),
        )
    return Check(question, "met", "large enough to be likely to see each hoped-for change")


def _data_trusted(analysis: Analysis) -> Check:
    question = "Can the data be trusted for these findings?"
    questions = assessment_of(analysis).questions
    if questions:
        count = len(questions)
        return Check(
            question,
            "not met",
            (
                "1 question about the data is"
                if count == 1
                else f"{count} questions about the data are"
            )
            + " open (see What the data can be trusted for)",
        )
    return Check(question, "met", "the data checks raised no questions")


def _reach(analysis: Analysis) -> Check:
    question = "Does it reach the people it is for?"
    if analysis.card.quality.eligible is None:
        return Check(
            question,
            "unknown",
            "the card names no list of who is eligible "
            ", so who is served cannot be compared with it",
        )
    gaps = [s for s in analysis.signals if s.kind == "who-is-served" and s.level != "info"]
    if gaps:
        return Check(question, "not met", gaps[0].message)
    return Check(question, "met", "those served look like those eligible")


def _worth_it(analysis: Analysis) -> Check:
    question = "Is it worth what it costs?"
    if analysis.card.costs is None:
        return Check(question, "unknown", "the card gives no costs")
    worked = [v for v in analysis.value if v.not_computed is None]
    if not worked:
        return Check(
            question, "unknown", "no value for money could be worked out (see Value for money)"
        )
    valued = [v for v in worked if v.net_benefit_low is not None]
    if len(valued) > 1:
        return Check(
            question,
            "unknown",
            "each valued outcome's net benefit counts the whole cost against that outcome "
            "alone, so together they cannot be read from this report (see Value for money)",
        )
    losing = [v.label for v in valued if (v.net_benefit_low or 0.0) < 0]
    if losing:
        return Check(
            question,
            "not met",
            "the net benefit's interval reaches below zero for " + ", ".join(losing),
        )
    if valued:
        return Check(
            question,
            "met",
            "the net benefit's interval is above zero for " + ", ".join(v.label for v in valued),
        )
    costed = ", ".join(
        f"{money(v.cost_per_unit, v.currency)} for {v.label}"
        for v in worked
        if v.cost_per_unit is not None
    )
    return Check(
        question,
        "unknown",
        "the card gives no value to weigh the cost against"
        + (f" (cost for each unit of change: {costed})" if costed else ""),
    )


def _heard(analysis: Analysis) -> Check:
    question = "Have the people it serves been heard?"
    if not analysis.voice:
        return Check(
            question,
            "unknown",
            "no voice file: what people told the pilot is not recorded",
        )
    waiting = sum(1 for v in analysis.voice if v.status == "open")
    said = f"{len(analysis.voice)} things people told the pilot are recorded"
    if waiting:
        return Check(question, "not met", f"{said}; {waiting} still wait for the pilot's response")
    return Check(question, "met", f"{said}, each with the pilot's response")


def _stable(earlier: LogEntry | None) -> Check:
    question = "Was delivery stable this cycle?"
    if earlier is None:
        return Check(question, "unknown", "there is no closed earlier cycle to say what changed")
    if earlier.next_changes:
        count = len(earlier.next_changes)
        return Check(
            question,
            "not met",
            f"cycle {earlier.cycle} changed the way the pilot works "
            f"({count} change{'s' if count > 1 else ''}), so this cycle tested a new "
            "version",
        )
    return Check(
        question, "met", f"cycle {earlier.cycle} closed with no change to how the pilot works"
    )


def ready_markdown(analysis: Analysis, entry: LogEntry, entries: list[LogEntry]) -> str:
    """Return the section: each check with its answer and reason, and what it is for."""
    checks = ready_checks(analysis, entry, entries)
    counts = {s: sum(1 for c in checks if c.status == s) for s in ("met", "not met", "unknown")}
    lines = [
        HEADING,
        "",
        "What evalkit knows about the questions to answer before growing a pilot (HM Treasury's "
        "Magenta Book, Test and Learn). It informs the team's decision to adapt, grow, stop or "
        "keep testing; it does not make it, and it is not a score.",
        "",
        f"{counts['met']} met, {counts['not met']} not met, {counts['unknown']} unknown.",
        "",
        "| Question | Answer | Why |",
        "|---|---|---|",
    ]
    lines += [f"| {c.question} | {c.status} | {plain(c.reason)} |" for c in checks]
    return "\n".join(lines)
