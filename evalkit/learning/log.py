"""The learning log on disk: read it, append to it under a lock, and the edits people make.

``learning_log.jsonl`` is append-only. Each line is one revision of one entry;
an entry's current state is its latest line, so nothing a person wrote is
ever lost: adding to an entry appends a new revision that carries every human
field forward. A closed entry is never reopened; a correction is a new entry
that ``supersedes`` it.

Each write replaces the file atomically (the old lines, then the new one, into
a temporary file that is renamed over the log), under a lock
(``.learning_log.jsonl.lock``, see ``evalkit.filelock``), so a crash or a kill
mid-write leaves the log as it was or with the new line, never torn.
``LEARNING_LOG.md`` is rendered from the log after every write.
"""

from __future__ import annotations

import contextlib
import functools
import json
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from pydantic import ValidationError

from evalkit.atomic import write_atomically
from evalkit.card import PilotCard
from evalkit.card.folders import LOG_FILE, LOG_MARKDOWN
from evalkit.errors import ConfigError, DataError
from evalkit.filelock import file_lock
from evalkit.learning.model import DECISIONS, HUMAN_LISTS, HUMAN_TEXT, Blocker, LogEntry
from evalkit.learning.render import render_log
from evalkit.timestamps import iso_stamp

P = ParamSpec("P")
R = TypeVar("R")
#: The logs this thread holds the lock of (a nested edit does not wait for itself).
_held = threading.local()

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


@contextlib.contextmanager
def log_lock(card: PilotCard) -> Iterator[None]:
    """Hold the pilot's learning-log lock for the ``with`` block, waiting for another writer.

    An edit reads the log, works out the new revision and appends it, all under
    the lock, so two people adding at once both keep their words. Taking the
    lock again inside the block (an edit made of edits) does not wait.
    """
    path = log_path(card)
    key = str(path.resolve())
    held: set[str] = _held.__dict__.setdefault("logs", set())
    if key in held:
        yield
        return
    with file_lock(path.with_name(f".{path.name}.lock")):
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)


def _one_at_a_time(
    edit: Callable[Concatenate[PilotCard, P], R],
) -> Callable[Concatenate[PilotCard, P], R]:
    """Make an edit of the log hold its lock from reading the log to writing the new line."""

    @functools.wraps(edit)
    def locked(card: PilotCard, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with log_lock(card):
            return edit(card, *args, **kwargs)

    return locked


def append_entry(card: PilotCard, entry: LogEntry) -> LogEntry:
    """Append one revision to the log atomically and re-render LEARNING_LOG.md."""
    path = log_path(card)
    with log_lock(card):
        existing = path.read_bytes() if path.exists() else b""
        read_log(path)  # refuse to write after a hand edit broke a line
        if existing and not existing.endswith(b"\n"):
            existing += b"\n"
        line = json.dumps(entry.model_dump(mode="json"), ensure_ascii=False) + "\n"
        write_atomically(path, existing + line.encode("utf-8"))
        entries = current_entries(read_log(path))
        write_atomically(card.folder / LOG_MARKDOWN, render_log(card, entries).encode("utf-8"))
    return entry


@_one_at_a_time
def add_to_entry(card: PilotCard, /, **human: Any) -> LogEntry:
    """Add what people wrote to the current cycle's draft (creating it if needed).

    Text fields are added to what is there, never replace it; list fields get
    new items. A closed cycle refuses: write a correction instead.
    """
    entries = current_entries(read_log(log_path(card)))
    current = entry_for_cycle(entries, card.cycle)
    now = iso_stamp()
    if current is None:
        current = LogEntry(
            id=new_entry_id(card.cycle), cycle=card.cycle, opened=now[:10], updated=now
        )
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


@_one_at_a_time
def close_entry(card: PilotCard, /) -> LogEntry:
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
    now = iso_stamp()
    closed = current.model_copy(
        update={
            "status": "closed",
            "closed": now[:10],
            "updated": now,
            "revision": current.revision + 1,
        }
    )
    return append_entry(card, closed)


@_one_at_a_time
def correct_entry(card: PilotCard, /, cycle: int | None = None, **human: Any) -> LogEntry:
    """Write a correction: a new draft entry superseding a closed one, with its text carried."""
    entries = current_entries(read_log(log_path(card)))
    target = entry_for_cycle(entries, cycle or card.cycle)
    if target is None or target.status != "closed":
        raise ConfigError(
            f"cycle {cycle or card.cycle} has no closed entry to correct",
            path=log_path(card),
            hint="a draft can be added to directly with `evalkit log add`",
        )
    now = iso_stamp()
    correction = target.model_copy(
        update={
            "id": new_entry_id(target.cycle),
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


def new_entry_id(cycle: int) -> str:
    """Return a new entry's id: its cycle and a few random characters (``c2-1a2b3c``)."""
    return f"c{cycle}-{secrets.token_hex(3)}"


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
