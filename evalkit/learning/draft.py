"""Drafting this cycle's learning-log entry from a run: what we saw, voice and targets.

Only the parts a run drafts change; every field a person wrote is carried
forward as it stands in the log, and a closed cycle is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from evalkit.card import PilotCard
from evalkit.contract.voice import VoiceItem
from evalkit.estimate.wording import format_interval
from evalkit.learning.log import (
    append_entry,
    current_entries,
    entry_for_cycle,
    log_lock,
    log_path,
    new_entry_id,
    read_log,
)
from evalkit.learning.model import LogEntry, Seen, SeenFinding, TargetSeen
from evalkit.quality.signal import Signal
from evalkit.timestamps import iso_stamp

if TYPE_CHECKING:  # a draft reads a run's results; the results model is a layer above
    from evalkit.results import Results

_M = TypeVar("_M", bound=BaseModel)


def refresh_draft(
    card: PilotCard, results: Results, voice: Sequence[VoiceItem] = ()
) -> LogEntry | None:
    """Write or refresh the current cycle's draft from a run; return it (None if unchanged).

    Only the parts drafted from the run (what we saw, voice, targets) change;
    every field a person wrote is carried forward as it stands in the log.
    A cycle whose entry is closed is left alone.
    """
    with log_lock(card):  # a person adding to the entry meanwhile keeps their words
        entries = current_entries(read_log(log_path(card)))
        return record_draft(card, preview_draft(card, results, voice, entries))


def record_draft(card: PilotCard, draft: LogEntry) -> LogEntry | None:
    """Append a draft made by :func:`preview_draft`, as it was shown; return it (None if unchanged).

    Under the log's lock: a draft that would change nothing, or a cycle closed
    since, writes nothing. If a person wrote to the entry after the draft was
    made, the draft's automatic parts go onto their revision, so their words are
    kept; otherwise the draft is appended exactly as the report showed it.
    """
    with log_lock(card):
        current = entry_for_cycle(current_entries(read_log(log_path(card))), card.cycle)
        if current is None:
            return append_entry(card, draft)
        if current.status == "closed" or _automatic(current) == _automatic(draft):
            return None
        if (current.id, current.revision) != (draft.id, draft.revision - 1):
            automatic = {"seen": draft.seen, "voice": draft.voice, "targets": draft.targets}
            draft = current.model_copy(
                update={**automatic, "revision": current.revision + 1, "updated": iso_stamp()}
            )
        return append_entry(card, draft)


def preview_draft(
    card: PilotCard,
    results: Results,
    voice: Sequence[VoiceItem] = (),
    entries: Sequence[LogEntry] | None = None,
) -> LogEntry:
    """Return the current cycle's entry as a run would leave it, without writing anything."""
    if entries is None:
        entries = current_entries(read_log(log_path(card)))
    current = entry_for_cycle(entries, card.cycle)
    if current is not None and current.status == "closed":
        return current
    previous = previous_closed(entries, card.cycle)
    automatic = {
        "seen": seen_from(results, previous),
        "voice": tuple(v for v in voice if v.cycle in (None, card.cycle)),
        "targets": targets_from(results),
    }
    now = iso_stamp()
    if current is None:
        return LogEntry(
            id=new_entry_id(card.cycle), cycle=card.cycle, opened=now[:10], updated=now, **automatic
        )
    draft = current.model_copy(
        update={**automatic, "revision": current.revision + 1, "updated": now}
    )
    # a run that changes nothing leaves the entry as the log holds it, and shows it so
    return current if _automatic(draft) == _automatic(current) else draft


def seen_from(results: Results, previous: LogEntry | None = None) -> Seen:
    """Return what we saw in a run: findings with intervals, signals, change since last cycle."""
    findings = tuple(_pick(SeenFinding, f) for f in results.findings)
    since: list[str] = []
    if previous is not None:
        before = {f.outcome: f for f in previous.seen.findings}
        for finding in findings:
            old = before.get(finding.outcome)
            if old is None:
                since.append(f"{finding.label}: first measured this cycle.")
                continue
            now = format_interval(
                finding.estimate, finding.ci_low, finding.ci_high, finding.unit, ratio=finding.ratio
            )
            then = format_interval(old.estimate, old.ci_low, old.ci_high, ratio=old.ratio)
            since.append(
                f"{finding.label}: {now} this cycle, against {then} in cycle {previous.cycle} "
                "(95% confidence intervals)."
            )
    return Seen(
        results_finished=results.run.finished,
        evidence_level=results.evidence.level,
        rows=results.data.rows,
        rejected_rows=results.data.rejected_rows,
        findings=findings,
        # questions only: the report lists the informational signals in full
        signals=tuple(signal.message for signal in results.signals if signal.level != "info"),
        since_last_cycle=tuple(since),
        lost_percent=lost_percent(results.signals),
    )


def lost_percent(signals: Sequence[Signal]) -> float | None:
    """Return the percent lost to follow-up as results.json publishes it (None: not given)."""
    for signal in signals:
        if signal.kind == "attrition":
            value = signal.numbers.get("overall_percent")
            return float(value) if isinstance(value, int | float) else None
    return None


def targets_from(results: Results) -> tuple[TargetSeen, ...]:
    """Return each target beside the latest pilot value, as context for the log."""
    return tuple(_pick(TargetSeen, t) for t in results.targets)


def _pick(model: type[_M], source: BaseModel) -> _M:
    """Return ``model`` filled from the same-named fields of another model (a finding, a target)."""
    return model.model_validate(source.model_dump(include=set(model.model_fields)))


def _automatic(entry: LogEntry) -> tuple[Any, ...]:
    seen = entry.seen.model_copy(update={"results_finished": ""})
    return (seen, entry.voice, entry.targets)


def previous_closed(entries: Sequence[LogEntry], cycle: int) -> LogEntry | None:
    """Return the latest closed entry of a cycle before ``cycle``, or None."""
    earlier = [e for e in entries if e.cycle < cycle and e.status == "closed"]
    return max(earlier, key=lambda e: e.cycle) if earlier else None
