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
from evalkit.runner.template import REPORT_TEMPLATE, choose_template, default_template

__all__ = [
    "COMPLETE_REPORT",
    "REPORT_TEMPLATE",
    "Job",
    "RunOutcome",
    "default_template",
    "plan_job",
]

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
    #: the template the report was made from, when not the shipped one ("local template x.ipynb")
    template: str = ""
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
    template_said: str = ""  # the template in words when it is not the shipped one


def plan_job(
    index: int, pilot: Path, template: Path | None, timeout: float | None, force: bool
) -> Job | RunOutcome:
    """Return a job for a pilot to run, or its outcome if it can be skipped."""
    job = Job(
        index, pilot, pilot.absolute(), template.absolute() if template else None, timeout, ""
    )
    try:
        card = load_pilot(pilot)
        chosen = choose_template(card, template)
        job = replace(job, template=chosen.path.absolute())
        current = fingerprint_inputs(card, chosen.path)
    except EvalkitError:
        return job  # the run itself will explain what is wrong
    said = "" if chosen.source == "shipped" else chosen.describe()
    job = replace(job, template_said=said)
    final = card.report_dir()
    complete = all((final / name).is_file() for name in COMPLETE_REPORT)
    recorded = recorded_inputs(final) if complete else None
    if recorded is None:
        note = "no earlier report with a fingerprint" if complete else "no report yet"
        return replace(job, note=_with_template(f"{note} for cycle {card.cycle}", said))
    if recorded.digest == current.digest:
        if force:
            return replace(job, note=_with_template("unchanged, run because of --force", said))
        lock = probe_lock(card.reports_dir)
        if not lock.held and (lock.left_by or leftovers(card.reports_dir)):
            note = "unchanged, but its last run did not finish"
            return replace(job, note=_with_template(note, said))
        return RunOutcome(
            pilot,
            "skipped",
            0.0,
            report_dir=final,
            note=_with_template("unchanged since its last report", said),
            fingerprint=current.digest,
            template=said,
        )
    changed = current.changed_since(recorded.parts)
    return replace(job, note=_with_template("changed: " + ", ".join(changed or ["inputs"]), said))


def _with_template(note: str, said: str) -> str:
    """Return a plan's note with the template named when it is not the shipped one."""
    return f"{note}; {said}" if said else note
