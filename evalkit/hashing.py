"""Fingerprints: the SHA-256 of each file something is made from, and one hash of those hashes.

A pilot's report is fingerprinted this way (``evalkit.runner.fingerprint``
says which files; results.json keeps it as ``run.inputs``). Only the standard
library is used, so checking whether twenty pilots changed takes a moment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: A part's hash when its file does not exist.
MISSING = "missing"


@dataclass(frozen=True)
class Fingerprint:
    """The hash of every input of one pilot's report, and each input's own hash."""

    digest: str
    parts: Mapping[str, str]

    @classmethod
    def of(cls, parts: Mapping[str, str]) -> Fingerprint:
        """Return the fingerprint of named hashes (their order does not matter)."""
        ordered = dict(sorted(parts.items()))
        canonical = json.dumps(ordered, separators=(",", ":"))
        return cls(hashlib.sha256(canonical.encode()).hexdigest(), ordered)

    def with_part(self, name: str, value: str) -> Fingerprint:
        """Return this fingerprint with one part's hash set (added or replaced)."""
        return Fingerprint.of({**self.parts, name: value})

    def changed_since(self, recorded: Mapping[str, str]) -> list[str]:
        """Return the names of inputs that differ from ``recorded`` (added or removed too)."""
        names = sorted(set(self.parts) | set(recorded))
        return [n for n in names if self.parts.get(n) != recorded.get(n)]

    def to_json(self) -> dict[str, Any]:
        """Return the fingerprint as results.json stores it."""
        return {"fingerprint": self.digest, "parts": dict(self.parts)}


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
