"""The pilot folder's layout: where the log and the reports are, which folders are pilots.

A pilots folder holds one sub-folder a pilot, each with its card
(``pilot.yaml``); a pilot's reports are ``reports/cycle-<n>/``, each with a
``results.json`` when the run that wrote it succeeded. The runner and the
central comparison both find pilots and their newest report here.
"""

from __future__ import annotations

from pathlib import Path

from evalkit.card import CARD_FILE, PilotCard
from evalkit.errors import ConfigError

#: The pilot's learning log (append-only) and the Markdown rendered from it.
LOG_FILE = "learning_log.jsonl"
LOG_MARKDOWN = "LEARNING_LOG.md"
#: What a successful run writes for the centre, in each report folder.
RESULTS_FILE = "results.json"
#: How a report folder is named: ``cycle-<n>``.
CYCLE_PREFIX = "cycle-"


def find_pilots(pilots_dir: Path | str) -> list[Path]:
    """Return every folder directly under ``pilots_dir`` that holds a pilot card, by name."""
    folder = Path(pilots_dir)
    if not folder.is_dir():
        raise ConfigError(
            "there is no pilots folder here",
            path=folder,
            hint="give the folder that holds one sub-folder per pilot, e.g. `pilots`",
        )
    return sorted(p for p in folder.iterdir() if (p / CARD_FILE).is_file())


def latest_report(card: PilotCard) -> Path | None:
    """Return the newest cycle's report folder that has a results file, if any.

    Only ``cycle-<n>`` folders count: a failed run's ``cycle-<n>.failed`` does not.
    """
    found = []
    for folder in card.reports_dir.glob(f"{CYCLE_PREFIX}*"):
        number = folder.name.removeprefix(CYCLE_PREFIX)
        if number.isdigit() and (folder / RESULTS_FILE).is_file():
            found.append((int(number), folder))
    return max(found)[1] if found else None
