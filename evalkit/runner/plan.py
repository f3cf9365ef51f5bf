"""Planning a run: for each pilot, run it (and say why) or skip it as unchanged.

A pilot whose inputs (``evalkit.runner.fingerprint``) are unchanged since its
last complete report is skipped, unless forced, or unless its last run never
finished (a dead run's lock file or hidden folders are still there). This
reads only the card and the files' hashes, so planning twenty pilots takes a
fraction of a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from evalkit.card import load_pilot
from evalkit.card.folders import RESULTS_FILE
from evalkit.errors import EvalkitError
from evalkit.runner.fingerprint import fingerprint_inputs, recorded_inputs
from evalkit.runner.locks import probe_lock
from evalkit.runner.publish import leftovers

REPORT_TEMPLATE = "pilot_report.ipynb"
#: A report counts as complete (and can be skipped) only with all of these.
COMPLETE_REPORT = ("report.ipynb", "report.html", RESULTS_FILE)


@dataclass(frozen=True)
class RunOutcome:
    """How one pilot's run ended: where its report is, why it was skipped, or why it failed."""

    pilot: Path
    status: Literal["ok", "failed", "skipped"]
    seconds: float
    report_dir: Path | None = None
    message: str = ""  # why it failed, in full
    note: str = ""  # why it ran (what changed) or why it was skipped
    fingerprint: str = ""
    timings: Mapping[str, float] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Job:
    """One pilot to run, as sent to a worker (paths absolute: a worker's folder may differ)."""

    index: int
    pilot: Path  # as given, for the outcome
    folder: Path
    template: Path | None
    timeout: float | None
    note: str


def default_template() -> Path:
    """Return the report template shipped with evalkit."""
    from evalkit.notebooks import template_path

    return template_path(REPORT_TEMPLATE)


def plan_job(
    index: int, pilot: Path, template: Path | None, timeout: float | None, force: bool
) -> Job | RunOutcome:
    """Return a job for a pilot to run, or its outcome if it can be skipped."""
    job = Job(
        index, pilot, pilot.absolute(), template.absolute() if template else None, timeout, ""
    )
    try:
        card = load_pilot(pilot)
        template = template or default_template()
        job = replace(job, template=template.absolute())
        current = fingerprint_inputs(card, template)
    except EvalkitError:
        return job  # the run itself will explain what is wrong
    final = card.report_dir()
    complete = all((final / name).is_file() for name in COMPLETE_REPORT)
    recorded = recorded_inputs(final) if complete else None
    if recorded is None:
        note = "no earlier report with a fingerprint" if complete else "no report yet"
        return replace(job, note=f"{note} for cycle {card.cycle}")
    if recorded.digest == current.digest:
        if force:
            return replace(job, note="unchanged, run because of --force")
        lock = probe_lock(card.reports_dir)
        if not lock.held and (lock.left_by or leftovers(card.reports_dir)):
            return replace(job, note="unchanged, but its last run did not finish")
        return RunOutcome(
            pilot,
            "skipped",
            0.0,
            report_dir=final,
            note="unchanged since its last report",
            fingerprint=current.digest,
        )
    changed = current.changed_since(recorded.parts)
    return replace(job, note="changed: " + ", ".join(changed or ["inputs"]))
