"""The learning log: what a pilot tried, saw, learned and is changing, cycle by cycle.

``learning_log.jsonl`` is append-only: each line is one revision of one entry,
nothing a person wrote is ever lost, a closed entry is never reopened (a
correction supersedes it). ``LEARNING_LOG.md`` is rendered from it after
every write.

The rooms: :mod:`~evalkit.learning.model` (the entry and its parts),
:mod:`~evalkit.learning.log` (reading, appending under a lock, and the edits
people make: add, close, correct), :mod:`~evalkit.learning.draft` (this
cycle's draft from a run) and :mod:`~evalkit.learning.render` (Markdown).
"""

from __future__ import annotations

from evalkit.card.folders import LOG_FILE, LOG_MARKDOWN
from evalkit.learning.draft import (
    preview_draft,
    record_draft,
    refresh_draft,
    seen_from,
    targets_from,
)
from evalkit.learning.log import (
    add_to_entry,
    append_entry,
    close_entry,
    correct_entry,
    current_entries,
    entry_for_cycle,
    log_path,
    read_log,
)
from evalkit.learning.model import (
    DECISIONS,
    HUMAN_LISTS,
    HUMAN_TEXT,
    PROMPTS,
    REQUIRED_TO_CLOSE,
    Blocker,
    Decision,
    LogEntry,
    Seen,
    SeenFinding,
    TargetSeen,
)
from evalkit.learning.render import entry_markdown, render_log

__all__ = [
    "DECISIONS",
    "HUMAN_LISTS",
    "HUMAN_TEXT",
    "LOG_FILE",
    "LOG_MARKDOWN",
    "PROMPTS",
    "REQUIRED_TO_CLOSE",
    "Blocker",
    "Decision",
    "LogEntry",
    "Seen",
    "SeenFinding",
    "TargetSeen",
    "add_to_entry",
    "append_entry",
    "close_entry",
    "correct_entry",
    "current_entries",
    "entry_for_cycle",
    "entry_markdown",
    "log_path",
    "preview_draft",
    "read_log",
    "record_draft",
    "refresh_draft",
    "render_log",
    "seen_from",
    "targets_from",
]
