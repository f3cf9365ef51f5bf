"""The report's learning sections: what the team learned and decided, questions answered,
promises checked, and only what the team has said.

A cycle's entry is a draft until the team closes it. A draft's report says so at
the top, is for the team's sense-making session, and shows what evalkit
observed, never empty prompts; a closed cycle's report leads with what was
learned, the decision and what changes next. Nothing here speaks for the team:
a decision appears only as the team wrote it, and only once it is closed.
"""

from __future__ import annotations

import re

from evalkit.analysis import Analysis
from evalkit.card import LearningQuestion
from evalkit.estimate.finding import Finding
from evalkit.estimate.wording import format_interval, in_sentence
from evalkit.learning import LogEntry
from evalkit.learning.draft import previous_closed as closed_before
from evalkit.markup import plain
from evalkit.report.matching import overlap
from evalkit.report.promised import check_promises
from evalkit.report.words import finding_context, grade, plain_finding

#: Where a sentence ends: a full stop, a space, then a capital (so "8.1 days" stays whole).
_FIRST = re.compile(r"(?<=\.)\s+(?=[A-Z])")

#: The banner a draft cycle's report opens with.
DRAFT_BANNER = (
    "**Draft for the team's sense-making session, not for publication.** This cycle's "
    "learning-log entry is still open: what the team learned and decides is theirs to write "
    "when they meet. Until then this report shows what evalkit observed in the data."
)


def is_draft(entry: LogEntry) -> bool:
    """Return True while the team has not closed this cycle's entry."""
    return entry.status != "closed"


def banner_markdown(entry: LogEntry) -> str:
    """Return the draft banner for a draft cycle's report, or "" for a closed one."""
    return f"> {DRAFT_BANNER}" if is_draft(entry) else ""


def short_finding(analysis: Analysis, finding: Finding) -> str:
    """Return a finding in a resident's words, graded, with what it needs beside it."""
    mde, baseline = finding_context(analysis, finding)
    return plain_finding(finding, mde=mde, baseline=baseline)


def previous_closed(entry: LogEntry, entries: list[LogEntry]) -> LogEntry | None:
    """Return the latest closed entry before this one's cycle, or None (as a draft reads it)."""
    return closed_before(entries, entry.cycle)


def decision_lines(entry: LogEntry) -> list[str]:
    """Return a closed entry's learning, decision and next changes, as the team wrote them."""
    if is_draft(entry):
        return []
    lines = []
    if entry.learned:
        lines += [f"**What we learned.** {plain(entry.learned)}", ""]
    if entry.decision:
        why = f" {plain(entry.reasons)}" if entry.reasons else ""
        lines += [f"**What we decided.** To {plain(entry.decision)}.{why}", ""]
    if entry.next_changes:
        lines += ["**What changes next.**", "", *[f"- {plain(c)}" for c in entry.next_changes], ""]
    return lines


def questions_markdown(analysis: Analysis) -> str:
    """Return each learning question on the card with the answer this cycle's data give."""
    questions = analysis.card.learning_questions
    if not questions:
        return ""
    lines = ["## Our learning questions", ""]
    for question in questions:
        lines += [f"**{plain(question.ask)}**", "", plain(answer(analysis, question)), ""]
    return "\n".join(lines).rstrip()


def answering(analysis: Analysis, question: LearningQuestion) -> list[Finding]:
    """Return the findings that answer a question: those the card names, else the best match."""
    findings = analysis.findings
    if question.outcomes:
        columns = {o.column: o.measure_id for o in analysis.card.outcomes}
        named = {columns.get(name, name) for name in question.outcomes}
        return [f for f in findings if f.outcome in named]
    scores = {f.outcome: overlap(question.ask, f"{f.label} {f.outcome}") for f in findings}
    best = max(scores.values(), default=0)
    return [f for f in findings if scores[f.outcome] == best] if best else []


def answer(analysis: Analysis, question: LearningQuestion) -> str:
    """Return the answer to a learning question drawn from the findings, or why there is none."""
    chosen = answering(analysis, question)
    if not chosen:
        reason = (
            "the outcomes it names have no estimate this cycle"
            if question.outcomes
            else "no outcome on the card measures what it asks"
        )
        return (
            f"Not answered by this data, because {reason}. The team's own evidence (what "
            "people said, what staff saw) is where to look."
        )
    # the finding's first sentence: it is stated in full once, under "What we found"
    said = [_FIRST.split(short_finding(analysis, f), maxsplit=1)[0] for f in chosen]
    if all(grade(f) in ("cannot tell", "unbounded") for f in chosen):
        said.append("So this question is not answered yet.")
    return " ".join(said) + " (In full under 'What we found'.)"


def promises_markdown(analysis: Analysis, entry: LogEntry, entries: list[LogEntry]) -> str:
    """Return each change the team promised last cycle, checked where this cycle's data can."""
    previous = previous_closed(entry, entries)
    checks = check_promises(analysis, previous)
    if previous is None or not checks:
        return ""
    lines = [
        f"## Did cycle {previous.cycle}'s changes happen?",
        "",
        f"At the end of cycle {previous.cycle} the team said it would make these changes. "
        "Where this cycle's data can show whether they happened, they are checked here.",
        "",
    ]
    for check in checks:
        lines.append(f"- **{plain(check.change)}.** {plain(check.text)}")
    return "\n".join(lines)


def log_markdown(entry: LogEntry, entries: list[LogEntry]) -> str:
    """Return the learning log for this report: only what the team wrote, then earlier cycles."""
    lines = ["## The learning log", ""]
    state = "closed" if not is_draft(entry) else "still open, for the team's session"
    lines += [f"Cycle {entry.cycle}'s entry is {state}.", ""]
    lines += _draft_notes(entry)
    for title, text in (
        ("Assumption tested", entry.assumption),
        ("What we did", entry.what_we_did),
    ):
        if text:
            lines += [f"**{title}:** {plain(text)}", ""]
    heard = [
        f"You said ({v.group}, {v.source}, {v.date}): \u201c{v.said}\u201d \u2014 we did: "
        f"{v.response or 'no response yet'} ({v.status})"
        for v in entry.voice
    ]
    blockers = [f"{b.what}" + (f" (needs: {b.needs})" if b.needs else "") for b in entry.blockers]
    for title, items in (
        ("You said, we did", heard),
        ("Blockers for another tier to act on", blockers),
        ("Who made sense of it", list(entry.participants)),
    ):
        if items:
            lines += [f"**{title}:**", "", *[f"- {plain(item)}" for item in items], ""]
    earlier = sorted((e for e in entries if e.cycle < entry.cycle), key=lambda e: e.cycle)
    if earlier:
        lines += ["### Earlier cycles", ""]
        for old in earlier:
            lines.append(f"- **Cycle {old.cycle}** ({old.status}): " + _earlier(old))
        lines += ["", *_across_cycles([*earlier, entry])]
    elif len(lines) == 4:  # nothing written yet and no history: say so once
        lines += ["The team has not written in the log yet; it will at its sense-making session."]
    return "\n".join(lines).rstrip()


def _draft_notes(entry: LogEntry) -> list[str]:
    """Return what the team has written so far in an open entry, marked as not yet decided."""
    if not is_draft(entry):
        return []
    notes = []
    if entry.learned:
        notes.append(f"What we are learning: {plain(entry.learned)}")
    if entry.decision:
        why = f" {plain(entry.reasons)}" if entry.reasons else ""
        notes.append(f"The decision being considered: to {plain(entry.decision)}.{why}")
    elif entry.reasons:
        notes.append(f"Reasons noted: {plain(entry.reasons)}")
    if entry.next_changes:
        notes.append("Changes being considered: " + plain("; ".join(entry.next_changes)) + ".")
    if not notes:
        return []
    return [
        "**The team's notes so far** (nothing is decided until the team closes the cycle):",
        "",
        *[f"- {note}" for note in notes],
        "",
    ]


def _earlier(entry: LogEntry) -> str:
    if is_draft(entry):  # never closed: what it held was never decided
        return "never closed, so nothing was decided for this cycle."
    said = []
    if entry.decision:
        said.append(f"decided to {plain(entry.decision)}.")
    if entry.learned:
        said.append(f"Learned: {plain(entry.learned)}")
    if entry.next_changes:
        said.append(f"Changed next: {plain('; '.join(entry.next_changes))}.")
    return " ".join(said) if said else "nothing was written for this cycle."


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
                plain(  # the unit is typed on the card: text, never markup
                    format_interval(
                        found.estimate, found.ci_low, found.ci_high, found.unit, ratio=found.ratio
                    )
                )
                if found
                else "not measured"
            )
        lines.append(f"| {plain(label)} | " + " | ".join(cells) + " |")
    return [*lines, "", "Estimated change with its 95% confidence interval, cycle by cycle."]


def tried_sentence(analysis: Analysis) -> str:
    """Return "What was tried" in a sentence, acronyms kept ("tried NHS 111 call-backs")."""
    card = analysis.card
    activities = ", ".join(card.theory_of_change.activities) or card.name
    return f"**What was tried.** {plain(card.place)} tried {plain(in_sentence(activities))}."
