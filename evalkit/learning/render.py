"""The learning log as Markdown: ``LEARNING_LOG.md``, and one entry for a report.

Everything a person wrote is shown as inert text (``evalkit.markup.plain``);
a field still to be written shows its prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.card import PilotCard
from evalkit.card.folders import LOG_FILE
from evalkit.estimate.wording import format_number
from evalkit.learning.model import PROMPTS, LogEntry
from evalkit.markup import plain


def render_log(card: PilotCard, entries: Sequence[LogEntry]) -> str:
    """Return the learning log as Markdown, newest cycle first."""
    lines = [
        f"# Learning log: {plain(card.name)}",
        "",
        f"{plain(card.place)}. Rendered from `{LOG_FILE}` by evalkit; edit the log, not this file.",
        "",
    ]
    for entry in sorted(entries, key=lambda e: (e.cycle, e.opened), reverse=True):
        lines += [entry_markdown(entry, level=2), ""]
    if not entries:
        lines.append("No entries yet: `evalkit run` drafts one for the current cycle.")
    return "\n".join(lines).rstrip() + "\n"


def entry_markdown(
    entry: LogEntry, level: int = 2, *, with_summary: bool = True, with_targets: bool = True
) -> str:
    """Return one entry as Markdown: decision and changes first, then the rest, targets last."""
    h = "#" * level
    state = "closed " + (entry.closed or "") if entry.status == "closed" else "draft"
    lines = [f"{h} Cycle {entry.cycle} ({plain(state)})", ""]
    if entry.supersedes:
        lines += [f"*Corrects entry {plain(entry.supersedes)}.*", ""]
    if with_summary:
        decision = (
            plain(entry.decision.capitalize()) if entry.decision else f"*{PROMPTS['decision']}*"
        )
        lines += [f"**Decision:** {decision}", ""]
        lines += [f"**Why:** {_written(entry.reasons, 'reasons')}", ""]
        lines += _bullets("What we will change next cycle", entry.next_changes, "next_changes")
        lines += [f"**What we learned:** {_written(entry.learned, 'learned')}", ""]
    lines += [
        f"**Assumption tested:** {_written(entry.assumption, 'assumption')}",
        "",
        f"**What we did:** {_written(entry.what_we_did, 'what_we_did')}",
        "",
    ]
    seen = [f.summary for f in entry.seen.findings]
    seen += [f"Since the last cycle: {s}" for s in entry.seen.since_last_cycle]
    seen += [f"Data: {s}" for s in entry.seen.signals]
    lines += _bullets("What we saw", seen, None)
    heard = [
        f"You said ({v.group}, {v.source}, {v.date}): \u201c{v.said}\u201d \u2014 we did: "
        f"{v.response or 'no response yet'} ({v.status})"
        for v in entry.voice
    ]
    lines += _bullets("You said, we did", heard, None)
    blockers = [f"{b.what}" + (f" (needs: {b.needs})" if b.needs else "") for b in entry.blockers]
    lines += _bullets("Blockers for another tier to act on", blockers, "blockers")
    lines += _bullets("Who made sense of it", entry.participants, "participants")
    targets = [
        f"{t.label}: target {format_number(t.target)}{' ' + t.unit if t.unit else ''}; latest "
        + (format_number(t.latest) if t.latest is not None else "not shown, to protect privacy")
        + (f" ({t.note})" if t.note else "")
        for t in (entry.targets if with_targets else ())
    ]
    lines += _bullets("Targets, as context", targets, None)
    return "\n".join(lines).rstrip()


def _written(text: str, prompt: str) -> str:
    """Return what a person wrote, as inert text, or the prompt for it in italics."""
    return plain(text) if text else f"*{PROMPTS[prompt]}*"


def _bullets(title: str, items: Sequence[Any], prompt: str | None) -> list[str]:
    if not items:
        return [f"**{title}:** *{PROMPTS[prompt]}*", ""] if prompt else []
    return [f"**{title}:**", "", *[f"- {plain(item)}" for item in items], ""]
