"""The learning log's entries: what a cycle tried, saw, learned and decided, as typed values.

An entry has fields people write (``HUMAN_TEXT``, ``HUMAN_LISTS``, the
decision) and fields a run drafts (``seen``, ``voice``, ``targets``); a run
never changes the first kind.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from evalkit.contract.voice import VoiceItem
from evalkit.estimate.finding import RATIO_SCALES

Decision = Literal["adapt", "continue", "grow", "pause", "stop"]
DECISIONS: tuple[str, ...] = ("adapt", "continue", "grow", "pause", "stop")

#: Fields people write; a run never changes them. The rest are filled from the run.
HUMAN_TEXT = ("assumption", "what_we_did", "learned", "reasons")
HUMAN_LISTS = ("participants", "next_changes", "blockers")
#: What `close` insists on, and the words it uses for each.
REQUIRED_TO_CLOSE = {
    "decision": "a decision",
    "reasons": "its reasons",
    "learned": "what we learned",
}

PROMPTS = {
    "participants": "Who made sense of this cycle? (roles or groups, not names)",
    "assumption": "Which assumption did this cycle test?",
    "what_we_did": "What did we do this cycle?",
    "learned": "What did we learn?",
    "decision": "What do we decide: adapt, continue, grow, pause or stop?",
    "reasons": "Why?",
    "next_changes": "What will we change next cycle?",
    "blockers": "What needs another tier of government (or the centre) to act?",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SeenFinding(_Frozen):
    outcome: str
    label: str
    estimate: float
    ci_low: float
    ci_high: float
    unit: str = ""
    summary: str = ""
    scale: str = "difference"

    @property
    def ratio(self) -> bool:
        """Return True for an estimate on a ratio scale (no change is 1)."""
        return self.scale in RATIO_SCALES


class TargetSeen(_Frozen):
    outcome: str
    label: str
    target: float
    latest: float | None
    unit: str = ""
    note: str = ""


class Seen(_Frozen):
    """What we saw: drafted from a run, never written by hand."""

    results_finished: str = ""
    evidence_level: int | None = None
    rows: int | None = 0  # None: withheld, as it would give a small count away
    rejected_rows: int | None = 0  # None: too few to publish
    findings: tuple[SeenFinding, ...] = ()
    signals: tuple[str, ...] = ()
    since_last_cycle: tuple[str, ...] = ()
    #: percent of units with no outcome after the change (lost to follow-up); None: not known
    #: or too few to publish
    lost_percent: float | None = None


class Blocker(_Frozen):
    what: str
    needs: str = ""  # who has to act: the centre, the county, a national department ...

    @classmethod
    def parse(cls, text: str) -> Blocker:
        """Return a blocker written as ``WHAT | WHO MUST ACT`` (who may be left out)."""
        what, _, needs = text.partition("|")
        return cls(what=what.strip(), needs=needs.strip())


class LogEntry(_Frozen):
    """One revision of a learning-log entry (the file's JSON keys are these field names)."""

    id: str
    revision: int = 1
    status: Literal["draft", "closed"] = "draft"
    cycle: int
    opened: str
    updated: str
    closed: str | None = None
    supersedes: str | None = None
    participants: tuple[str, ...] = ()
    assumption: str = ""
    what_we_did: str = ""
    seen: Seen = Seen()
    learned: str = ""
    decision: Decision | None = None
    reasons: str = ""
    next_changes: tuple[str, ...] = ()
    voice: tuple[VoiceItem, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    targets: tuple[TargetSeen, ...] = ()

    def missing_to_close(self) -> list[str]:
        """Return what must still be written before this entry can be closed."""
        return [words for field, words in REQUIRED_TO_CLOSE.items() if not getattr(self, field)]
