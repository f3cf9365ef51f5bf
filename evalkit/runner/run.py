"""Running one pilot: validate once, execute the report template, check it, publish it.

A run holds the pilot's lock (``evalkit.runner.locks``) and validates the
data here, before a kernel starts: a pilot with bad data stops in a fraction
of a second, with every failing row listed in ``rejected_rows.csv``. The
validation is handed to the kernel (``evalkit.contract.handover``), so the data are
checked once; so are the hashes of the report's inputs
(``evalkit.runner.fingerprint``), which the kernel's write step stores in
results.json once it has drafted this cycle's learning-log entry. The run
then exports the HTML, refuses a report that could identify anyone, and
swaps the report into place (``evalkit.runner.publish``).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from evalkit.card import load_pilot
from evalkit.card.folders import RESULTS_FILE
from evalkit.errors import DataError, EvalkitError
from evalkit.hashing import Fingerprint
from evalkit.runner.fingerprint import fingerprint_inputs
from evalkit.runner.locks import hold_pilot_lock
from evalkit.runner.plan import Job, RunOutcome
from evalkit.runner.publish import (
    failed_dir,
    keep_failed,
    partial_dir,
    replace_dir,
    swap_into_place,
    tidy_after_killed_runs,
)
from evalkit.runner.template import choose_template, template_record
from evalkit.runner.workers import parent_gone

#: Written by the kernel while a report runs; kept only when the run fails.
KERNEL_LOG = "kernel.log"
#: Parameters for the kernel only: the published notebook shows them as None (the first names
#: a temporary file of this run; the second is kept in results.json).
_KERNEL_ONLY = ("validation_file", "inputs")


def run_pilot(
    pilot_dir: Path | str, *, template: Path | None = None, timeout: float | None = None
) -> Path:
    """Run one pilot end to end and return its new report folder.

    Raises the library's error (card, data, estimation or notebook) with a
    plain message; the previous report is left untouched on any failure.
    ``timeout`` is in seconds for the whole report.
    """
    return _run(Path(pilot_dir), template=template, timeout=timeout, cleared=[]).report


def run_job(job: Job) -> RunOutcome:
    """Run one pilot and return its outcome, never raising: what a worker does."""
    started = time.perf_counter()
    cleared: list[str] = []
    try:
        ran = _run(job.folder, template=job.template, timeout=job.timeout, cleared=cleared)
    except EvalkitError as exc:
        message = exc.render()
    except Exception as exc:  # a bug hit by one pilot must not stop the others
        message = (
            f"unexpected error (please report it as an evalkit bug): "
            f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        )
    else:
        report = job.pilot / ran.report.relative_to(job.folder)
        return RunOutcome(
            job.pilot,
            "ok",
            time.perf_counter() - started,
            report,
            note=_with_cleared(job.note, cleared),
            fingerprint=ran.fingerprint.digest if ran.fingerprint else "",
            template=job.template_said,
            timings=ran.timings,
        )
    seconds, note = time.perf_counter() - started, _with_cleared("", cleared)
    return RunOutcome(
        job.pilot, "failed", seconds, message=message, note=note, template=job.template_said
    )


def warm_up_factory(template: Path) -> tuple[str, ...]:
    """Start this process's kernel factory for a template, if not started; return what it loads."""
    from evalkit.notebooks.kernel_factory import start_factory, template_modules

    preload = template_modules(template)
    start_factory(preload)
    return preload


@dataclass(frozen=True)
class _Ran:
    report: Path
    fingerprint: Fingerprint | None  # None: the template recorded none, so it is never skipped
    timings: dict[str, float]


class _Clock:
    """Times the steps of one run (seconds each), for the manifest."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = self.laps.get(step, 0.0) + now - self._last
        self._last = now


def _run(
    pilot_dir: Path, *, template: Path | None, timeout: float | None, cleared: list[str]
) -> _Ran:
    """Run one pilot, adding to ``cleared`` what killed runs had left that this one cleared."""
    deadline = time.monotonic() + timeout if timeout else None
    clock = _Clock()
    card = load_pilot(pilot_dir)
    chosen = choose_template(card, template)
    template = chosen.path
    # the kernel factory imports what the template needs while this process checks the data
    preload = warm_up_factory(template)
    inputs = fingerprint_inputs(card, template)  # as near as can be to reading the card

    from evalkit.contract import validate_data
    from evalkit.contract.handover import handed_over
    from evalkit.contract.validation import check_roles
    from evalkit.contract.voice import load_voice
    from evalkit.learning import log_path, read_log
    from evalkit.notebooks import execute_report, export_html
    from evalkit.quality.published import check_publishable
    from evalkit.results import load_results, record_template
    from evalkit.scaffold import is_example_data

    with hold_pilot_lock(card.reports_dir) as lock:
        final = card.report_dir()
        failed = failed_dir(final)
        cleared += tidy_after_killed_runs(final)
        cleared += [f"lock of {lock.left_by}"] if lock.left_by else []
        validation = validate_data(card, roles=False)
        if validation.rows_read == 1 and is_example_data(card, validation.valid):
            raise DataError(
                "the data file holds only the example row `evalkit new` wrote, so there is "
                "nothing to estimate yet",
                path=validation.path,
                hint="replace it with the pilot's records (keep the header), then run again",
            )
        if not validation.too_many_rejected:
            check_roles(validation)  # too many failures is the first thing to report
        load_voice(card)  # a broken voice.csv stops the run before any work
        read_log(log_path(card))  # so does a hand edit that broke the log
        try:
            validation.raise_if_too_broken()
        except DataError as exc:
            from evalkit.analysis import write_rejected  # loads the estimators: only when needed

            replace_dir(failed)
            failed.mkdir(parents=True)
            write_rejected(validation, failed)
            raise DataError(
                f"{exc.message} (every failing row is listed in {failed / 'rejected_rows.csv'})",
                path=exc.path,
                problems=exc.problems,
                hint=exc.hint,
            ) from None
        clock.lap("check")

        partial = partial_dir(final)
        replace_dir(partial)
        partial.mkdir(parents=True)
        try:
            with handed_over(validation, card.folder) as validation_file:
                parameters = {
                    "pilot_dir": str(card.folder.resolve()),
                    "output_dir": str(partial.resolve()),
                    "validation_file": str(validation_file),
                    "inputs": dict(inputs.parts),
                }
                executed = execute_report(
                    template,
                    partial / "report.ipynb",
                    parameters,
                    cwd=card.folder.resolve(),
                    log=partial / KERNEL_LOG,
                    timeout=timeout,
                    deadline=deadline,
                    preload=preload,
                    private=_KERNEL_ONLY,
                )
            clock.lap("notebook")
            export_html(executed.notebook, partial / "report.html")
            clock.lap("html")
            recorded = load_results(partial / RESULTS_FILE).run.inputs
            # the template's own last cell cannot know it was copied: the run says which ran
            record_template(
                partial / RESULTS_FILE,
                template_record(chosen, inputs.parts[chosen.fingerprint_key]),
            )
            check_publishable(partial, card, validation)
            (partial / KERNEL_LOG).unlink(missing_ok=True)
        except BaseException as exc:
            keep_failed(partial, failed, exc)
            raise
        if parent_gone():  # a worker the system could not stop with its run (not Linux)
            raise EvalkitError("the run that started this pilot has ended; nothing was published")
        swap_into_place(partial, final)
        replace_dir(failed)
        clock.lap("publish")
    timings = _split_notebook_time(clock.laps, executed.cell_seconds)
    fingerprint = Fingerprint(recorded.fingerprint, recorded.parts) if recorded else None
    return _Ran(report=final, fingerprint=fingerprint, timings=timings)


def _split_notebook_time(laps: dict[str, float], cells: float) -> dict[str, float]:
    """Return the step timings with the notebook's time split into kernel start and cells."""
    total = laps.get("notebook", 0.0)
    return {
        "check": laps.get("check", 0.0),
        "kernel": max(total - cells, 0.0),
        "cells": cells,
        "html": laps.get("html", 0.0),
        "publish": laps.get("publish", 0.0),
    }


def _with_cleared(note: str, cleared: list[str]) -> str:
    if not cleared:
        return note
    said = "cleared what an interrupted run left: " + ", ".join(cleared)
    return f"{note}; {said}" if note else said
