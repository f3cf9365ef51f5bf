"""The run manifest: ``runs/<timestamp>.json``, what one ``evalkit run`` did to every pilot.

Written once a run ends (or is stopped), beside the pilots folder rather than
inside it, so the pilots folder stays one folder a pilot. A scheduler (cron,
CI, Airflow) keeps it as the run's record: which pilots ran, were skipped or
failed, how long each took and where the time went, the fingerprint of each
pilot's inputs, and each error in full.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit._version import __version__
from evalkit.timestamps import file_stamp, iso_stamp, utc_now

if TYPE_CHECKING:
    from evalkit.runner.plan import RunOutcome

MANIFEST_VERSION = 1
RUNS_DIR = "runs"


def default_runs_dir(pilots: Sequence[Path]) -> Path:
    """Return where manifests go by default: ``runs/`` beside the folder holding the pilots."""
    return pilots[0].resolve().parent.parent / RUNS_DIR


def write_manifest(
    runs_dir: Path,
    pilots: Sequence[Path],
    outcomes: Mapping[Path, RunOutcome],
    *,
    started: dt.datetime,
    options: Mapping[str, Any],
) -> Path:
    """Write the manifest of one run and return its path.

    A pilot with no outcome (the run was stopped first) is listed as
    ``interrupted``: every pilot asked for appears, none is dropped.
    """
    finished = utc_now()
    entries = [_entry(pilot, outcomes.get(pilot)) for pilot in pilots]
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "started": iso_stamp(started),
        "finished": iso_stamp(finished),
        "seconds": round((finished - started).total_seconds(), 2),
        "evalkit_version": __version__,
        "host": socket.gethostname(),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "options": dict(options),
        "counts": counts,
        "pilots": entries,
    }
    runs_dir.mkdir(parents=True, exist_ok=True)
    stamp = file_stamp(started)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    for attempt in range(1, 1000):
        path = runs_dir / (f"{stamp}.json" if attempt == 1 else f"{stamp}-{attempt}.json")
        try:
            with path.open("x", encoding="utf-8") as out:  # never replaces another run's manifest
                out.write(text)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"too many manifests named {stamp} in {runs_dir}")


def _entry(pilot: Path, outcome: RunOutcome | None) -> dict[str, Any]:
    if outcome is None:
        return {
            "pilot": pilot.name,
            "folder": str(pilot.resolve()),
            "status": "interrupted",
            "seconds": None,
            "report": None,
            "note": "the run was stopped before this pilot finished",
            "error": None,
            "fingerprint": None,
            "template": None,
            "timings": {},
        }
    return {
        "pilot": pilot.name,
        "folder": str(pilot.resolve()),
        "status": outcome.status,
        "seconds": round(outcome.seconds, 2),
        "report": str(outcome.report_dir.resolve()) if outcome.report_dir else None,
        "note": outcome.note,
        "error": outcome.message or None,
        "fingerprint": outcome.fingerprint or None,
        # which template made the report, when not the shipped one ("local template x.ipynb")
        "template": outcome.template or None,
        "timings": {k: round(v, 3) for k, v in outcome.timings.items()},
    }
