"""What a pilot's report was made from: a fingerprint of its inputs, kept in results.json.

A report depends on the card, the data file, the voice and eligible files, the
learning log (the report opens with it), the report template (the shipped
one, or the pilot's own: ``local template <name>``) and evalkit itself. Each
is hashed (SHA-256 of its bytes); the fingerprint is the hash of those hashes
(:class:`evalkit.hashing.Fingerprint`). A run passes the hashes to its kernel,
whose write step (``Analysis.write``) stores the fingerprint in
``results.json`` as ``run.inputs``, so the next run can skip a pilot whose
inputs have not changed and say which ones did.

The learning log is hashed as the run leaves it: the write step drafts this
cycle's entry into the log and hashes the log after that, so a run's own draft
does not count as a change the next time, whereas a person's edit
(``evalkit log add`` or by hand) does.

This module only reads files and the card, so checking twenty unchanged
pilots takes a fraction of a second.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from evalkit._version import __version__
from evalkit.card import CARD_FILE, PilotCard
from evalkit.card.folders import LOG_FILE, RESULTS_FILE
from evalkit.errors import DataError
from evalkit.hashing import MISSING, Fingerprint, hash_file
from evalkit.runner.template import template_info

__all__ = [
    "LOG_FILE",
    "MISSING",
    "Fingerprint",
    "code_digest",
    "fingerprint_inputs",
    "hash_file",
    "recorded_inputs",
]

_PACKAGE = Path(__file__).resolve().parent.parent


def fingerprint_inputs(card: PilotCard, template: Path) -> Fingerprint:
    """Return the fingerprint of everything a pilot's report is made from."""
    parts = {CARD_FILE: hash_file(card.card_path)}
    for relative in (card.data.path, card.voice, card.quality.eligible):
        if relative is not None:
            parts[Path(relative).as_posix()] = hash_file(card.folder / relative)
    parts[LOG_FILE] = hash_file(card.folder / LOG_FILE)
    parts[template_info(card, template).fingerprint_key] = hash_file(template)
    parts["evalkit"] = f"{__version__} {code_digest()}"
    return Fingerprint.of(parts)


def recorded_inputs(report_dir: Path) -> Fingerprint | None:
    """Return the fingerprint stored with a report (None if there is no readable one)."""
    from evalkit.results import load_results  # the results model loads the quality checks

    try:
        inputs = load_results(report_dir / RESULTS_FILE).run.inputs
    except DataError:
        return None  # unreadable or from another schema: the pilot runs again
    if inputs is None:
        return None
    return Fingerprint(inputs.fingerprint, dict(inputs.parts))


@functools.cache
def code_digest() -> str:
    """Return a hash of evalkit's own code, so a changed evalkit re-runs every pilot.

    The version number alone would miss changes made to an editable install.
    The notebook templates are left out: a report's own template is an input of
    its own, so a change to the shipped template re-runs the pilots that use it
    and not a pilot with its own adapted copy.
    """
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*")):
        relative = path.relative_to(_PACKAGE)
        if path.is_file() and "__pycache__" not in path.parts and relative.parts[0] != "templates":
            digest.update(path.relative_to(_PACKAGE).as_posix().encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]
