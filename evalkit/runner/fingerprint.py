"""What a pilot's report was made from: a fingerprint of its inputs, kept in results.json.

A report depends on the card, the data file, the voice and eligible files, the
learning log (the report opens with it), the report template and evalkit
itself. Each is hashed (SHA-256 of its bytes); the fingerprint is the hash of
those hashes. A run stores it in ``results.json`` as ``run.inputs``, so the
next run can skip a pilot whose inputs have not changed and say which ones did.

The learning log is hashed as the run leaves it: a run writes its own draft
into the log, and that must not count as a change the next time, whereas a
person's edit (``evalkit log add`` or by hand) must.

This module only reads files and the card, so checking twenty unchanged
pilots takes a fraction of a second.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit._version import __version__
from evalkit.atomic import write_atomically
from evalkit.card import CARD_FILE, PilotCard

#: The learning log's file name (``evalkit.learning.LOG_FILE``; not imported from
#: there because that module loads pandas, which a skip check does not need).
LOG_FILE = "learning_log.jsonl"
#: Where results.json keeps the fingerprint: ``run.inputs``.
INPUTS_KEY = "inputs"
MISSING = "missing"
_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Fingerprint:
    """The hash of every input of one pilot's report, and each input's own hash."""

    digest: str
    parts: Mapping[str, str]

    def changed_since(self, recorded: Mapping[str, str]) -> list[str]:
        """Return the names of inputs that differ from ``recorded`` (added or removed too)."""
        names = sorted(set(self.parts) | set(recorded))
        return [n for n in names if self.parts.get(n) != recorded.get(n)]

    def to_json(self) -> dict[str, Any]:
        """Return the fingerprint as stored in results.json."""
        return {"fingerprint": self.digest, "parts": dict(self.parts)}

    def with_log(self, card: PilotCard) -> Fingerprint:
        """Return this fingerprint with the learning log hashed as it is now."""
        return _combine({**self.parts, LOG_FILE: hash_file(card.folder / LOG_FILE)})


def fingerprint_inputs(card: PilotCard, template: Path) -> Fingerprint:
    """Return the fingerprint of everything a pilot's report is made from."""
    parts = {CARD_FILE: hash_file(card.card_path)}
    for relative in (card.data.path, card.voice, card.quality.eligible):
        if relative is not None:
            parts[_posix(relative)] = hash_file(card.folder / relative)
    parts[LOG_FILE] = hash_file(card.folder / LOG_FILE)
    parts[f"template {template.name}"] = hash_file(template)
    parts["evalkit"] = f"{__version__} {code_digest()}"
    return _combine(parts)


def recorded_inputs(report_dir: Path) -> dict[str, Any] | None:
    """Return the fingerprint stored with a report (None if there is no readable one)."""
    try:
        raw = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
        inputs = raw["run"][INPUTS_KEY]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(inputs, dict) or not isinstance(inputs.get("fingerprint"), str):
        return None
    return inputs


def record_inputs(results: Path, fingerprint: Fingerprint) -> None:
    """Add the fingerprint to a results.json as ``run.inputs``, atomically.

    Every other key and value is kept as written (same layout as
    ``evalkit.results.write_results``), so the findings stay byte for byte.
    """
    raw = json.loads(results.read_text(encoding="utf-8"))
    raw["run"][INPUTS_KEY] = fingerprint.to_json()
    text = json.dumps(raw, indent=2, ensure_ascii=False) + "\n"
    write_atomically(results, text, mode=results.stat().st_mode & 0o777)


def hash_file(path: Path) -> str:
    """Return a file's SHA-256, or "missing" when there is no such file."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return MISSING
    return digest.hexdigest()


@functools.cache
def code_digest() -> str:
    """Return a hash of evalkit's own code, so a changed evalkit re-runs every pilot.

    The version number alone would miss changes made to an editable install.
    """
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(_PACKAGE).as_posix().encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _combine(parts: Mapping[str, str]) -> Fingerprint:
    canonical = json.dumps(dict(sorted(parts.items())), separators=(",", ":"))
    return Fingerprint(hashlib.sha256(canonical.encode()).hexdigest(), dict(sorted(parts.items())))


def _posix(relative: str) -> str:
    return Path(relative).as_posix()
