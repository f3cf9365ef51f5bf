"""The learning log: what a pilot tried, saw, learned and is changing, cycle by cycle.

``learning_log.jsonl`` is append-only. Each line is one revision of one entry;
an entry's current state is its latest line, so nothing a person wrote is
ever lost: refreshing a draft or adding to it appends a new revision that
carries every human field forward. A closed entry is never reopened;
a correction is a new entry that ``supersedes`` it.

Each write replaces the file atomically (the old lines, then the new one, into
a temporary file that is renamed over the log), under a lock, so a crash or a
kill mid-write leaves the log as it was or with the new line, never torn.
``LEARNING_LOG.md`` is rendered from the log after every write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from evalkit.atomic import write_atomically
from evalkit.card import PilotCard
from evalkit.contract.voice import VoiceItem
from evalkit.errors import ConfigError, DataError
from evalkit.estimate.finding import RATIO_SCALES
from evalkit.estimate.wording import format_interval, format_number
from evalkit.markup import plain
from evalkit.results import Results

LOG_FILE = "learning_log.jsonl"
LOG_MARKDOWN = "LEARNING_LOG.md"
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


_M = TypeVar("_M", bound=_Frozen)


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


class Blocker(_Frozen):
    what: str
    needs: str = ""  # who has to act: the centre, the county, a national department ...


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


# --- reading ------------------------------------------------------------------------------------


def log_path(card: PilotCard) -> Path:
    """Return the path of the pilot's learning log."""
    return card.folder / LOG_FILE


def read_log(path: Path) -> list[LogEntry]:
    """Return every line of a learning log, in file order; DataError names a bad line."""
    if not path.is_file():
        return []
    lines: list[LogEntry] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            lines.append(LogEntry.model_validate(json.loads(text)))
        except (json.JSONDecodeError, ValidationError) as exc:
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else _first_error(exc)
            raise DataError(
                f"line is not a valid learning-log entry: {detail}",
                path=path,
                where=str(number),
                hint="fix that line by hand (each line is one JSON object); nothing was written",
            ) from None
    return lines


def current_entries(lines: Sequence[LogEntry]) -> list[LogEntry]:
    """Return each entry's latest revision, leaving out entries superseded by a correction."""
    latest: dict[str, LogEntry] = {}
    for line in lines:
        if line.id not in latest or line.revision >= latest[line.id].revision:
            latest[line.id] = line
    superseded = {entry.supersedes for entry in latest.values() if entry.supersedes}
    return [entry for entry in latest.values() if entry.id not in superseded]


def entry_for_cycle(entries: Sequence[LogEntry], cycle: int) -> LogEntry | None:
    """Return the current entry of a cycle (the newest if, oddly, there are several)."""
    matching = [entry for entry in entries if entry.cycle == cycle]
    return matching[-1] if matching else None


# --- writing ------------------------------------------------------------------------------------


def append_entry(card: PilotCard, entry: LogEntry) -> LogEntry:
    """Append one revision to the log atomically and re-render LEARNING_LOG.md."""
    path = log_path(card)
    with _locked(path):
        existing = path.read_bytes() if path.exists() else b""
        read_log(path)  # refuse to write after a hand edit broke a line
        if existing and not existing.endswith(b"\n"):
            existing += b"\n"
        line = json.dumps(entry.model_dump(mode="json"), ensure_ascii=False) + "\n"
        write_atomically(path, existing + line.encode("utf-8"))
        entries = current_entries(read_log(path))
        write_atomically(card.folder / LOG_MARKDOWN, render_log(card, entries).encode("utf-8"))
    return entry


def refresh_draft(
    card: PilotCard, results: Results, voice: Sequence[VoiceItem] = ()
) -> LogEntry | None:
    """Write or refresh the current cycle's draft from a run; return it (None if unchanged).

    Only the parts drafted from the run (what we saw, voice, targets) change;
    every field a person wrote is carried forward as it stands in the log.
    A cycle whose entry is closed is left alone.
    """
    entries = current_entries(read_log(log_path(card)))
    draft = preview_draft(card, results, voice, entries)
    current = entry_for_cycle(entries, card.cycle)
    if current is not None and _automatic(current) == _automatic(draft):
        return None
    if current is not None and current.status == "closed":
        return None
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
    previous = _previous_closed(entries, card.cycle)
    automatic = {
        "seen": seen_from(results, previous),
        "voice": tuple(v for v in voice if v.cycle in (None, card.cycle)),
        "targets": targets_from(results),
    }
    now = _now()
    if current is None:
        return LogEntry(
            id=_new_id(card.cycle), cycle=card.cycle, opened=now[:10], updated=now, **automatic
        )
    return current.model_copy(
        update={**automatic, "revision": current.revision + 1, "updated": now}
    )


def add_to_entry(card: PilotCard, **human: Any) -> LogEntry:
    """Add what people wrote to the current cycle's draft (creating it if needed).

    Text fields are added to what is there, never replace it; list fields get
    new items. A closed cycle refuses: write a correction instead.
    """
    entries = current_entries(read_log(log_path(card)))
    current = entry_for_cycle(entries, card.cycle)
    now = _now()
    if current is None:
        current = LogEntry(id=_new_id(card.cycle), cycle=card.cycle, opened=now[:10], updated=now)
        current = current.model_copy(update={"revision": 0})
    if current.status == "closed":
        raise ConfigError(
            f"the entry for cycle {card.cycle} is closed; closed entries are never edited",
            path=log_path(card),
            hint=f"add a correction with `evalkit log correct {card.folder}`, or advance the "
            "card's cycle",
        )
    update: dict[str, Any] = {"revision": current.revision + 1, "updated": now}
    for field, value in human.items():
        if value in (None, "", (), []):
            continue
        if field in HUMAN_TEXT:
            old = getattr(current, field)
            update[field] = f"{old}\n\n{value}".strip() if old else str(value).strip()
        elif field in HUMAN_LISTS:
            items = [Blocker(**b) if isinstance(b, dict) else b for b in value]
            update[field] = (*getattr(current, field), *items)
        elif field == "decision":
            if value not in DECISIONS:
                raise ConfigError(
                    f"decision must be one of {', '.join(DECISIONS)}, not {value!r}",
                    path=log_path(card),
                )
            update[field] = value
        else:
            raise ConfigError(f"'{field}' is not something people write in the log")
    return append_entry(card, current.model_copy(update=update))


def close_entry(card: PilotCard) -> LogEntry:
    """Close the current cycle's entry; ConfigError names what is missing first."""
    entries = current_entries(read_log(log_path(card)))
    current = entry_for_cycle(entries, card.cycle)
    if current is None:
        raise ConfigError(
            f"there is no learning-log entry for cycle {card.cycle} to close",
            path=log_path(card),
            hint=f"run the pilot, or write one with `evalkit log add {card.folder}`",
        )
    if current.status == "closed":
        raise ConfigError(f"the entry for cycle {card.cycle} is closed already")
    missing = current.missing_to_close()
    if missing:
        raise ConfigError(
            f"cannot close cycle {card.cycle}: it still needs {', '.join(missing)}",
            path=log_path(card),
            hint=f"add them with `evalkit log add {card.folder} --decision ... --reasons ... "
            "--learned ...`",
        )
    now = _now()
    closed = current.model_copy(
        update={
            "status": "closed",
            "closed": now[:10],
            "updated": now,
            "revision": current.revision + 1,
        }
    )
    return append_entry(card, closed)


def correct_entry(card: PilotCard, cycle: int | None = None, **human: Any) -> LogEntry:
    """Write a correction: a new draft entry superseding a closed one, with its text carried."""
    entries = current_entries(read_log(log_path(card)))
    target = entry_for_cycle(entries, cycle or card.cycle)
    if target is None or target.status != "closed":
        raise ConfigError(
            f"cycle {cycle or card.cycle} has no closed entry to correct",
            path=log_path(card),
            hint="a draft can be added to directly with `evalkit log add`",
        )
    now = _now()
    correction = target.model_copy(
        update={
            "id": _new_id(target.cycle),
            "revision": 1,
            "status": "draft",
            "closed": None,
            "supersedes": target.id,
            "opened": now[:10],
            "updated": now,
        }
    )
    append_entry(card, correction)
    return add_to_entry(card.model_copy(update={"cycle": target.cycle}), **human)


# --- drafting from a run ------------------------------------------------------------------------


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
    )


def targets_from(results: Results) -> tuple[TargetSeen, ...]:
    """Return each target beside the latest pilot value, as context for the log."""
    return tuple(_pick(TargetSeen, t) for t in results.targets)


# --- rendering ----------------------------------------------------------------------------------


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


# --- helpers --------------------------------------------------------------------------------------


def _pick(model: type[_M], source: Any) -> _M:
    """Return ``model`` filled from the same-named attributes of ``source``."""
    return model.model_validate({name: getattr(source, name) for name in model.model_fields})


def _automatic(entry: LogEntry) -> tuple[Any, ...]:
    seen = entry.seen.model_copy(update={"results_finished": ""})
    return (seen, entry.voice, entry.targets)


def _previous_closed(entries: Sequence[LogEntry], cycle: int) -> LogEntry | None:
    earlier = [e for e in entries if e.cycle < cycle and e.status == "closed"]
    return max(earlier, key=lambda e: e.cycle) if earlier else None


def _new_id(cycle: int) -> str:
    return f"c{cycle}-{secrets.token_hex(3)}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(f".{path.name}.lock")
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
