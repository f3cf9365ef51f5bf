"""Running pilots: validate, execute the report template, check the results, publish.

A run holds the pilot's lock (``reports/.evalkit-run.lock``), writes into a
hidden partial folder and swaps it into ``reports/cycle-<n>/`` only when
everything succeeded, so a failed or killed run leaves the previous report in
place and two runs of one pilot cannot mix their files. What a failed run
produced is kept in ``reports/cycle-<n>.failed/`` to help the person fix it;
what a killed run left (its partial folder and lock file) is cleared by the
next run of the pilot, which says so, and which runs even if the inputs are
unchanged: the last run never finished.

Many pilots run side by side in worker processes (``jobs``) or on a Dask
cluster (``executor``); a pilot whose inputs have not changed since its last
good report is skipped (see ``evalkit.runner.fingerprint``).

The data are validated here before a kernel starts, and the template
validates them again: the template is a view that must also run on its own
(plain papermill, JupyterLab). The check here costs about 0.1 s and stops a
pilot with bad data in a fraction of a second, with every failing row listed
in ``rejected_rows.csv``, instead of after a kernel start.
"""

from __future__ import annotations

import ctypes
import errno
import json
import math
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from evalkit.card import CARD_FILE, PilotCard, load_pilot
from evalkit.errors import ConfigError, DataError, EvalkitError, NotebookError
from evalkit.runner.fingerprint import (
    Fingerprint,
    fingerprint_inputs,
    record_inputs,
    recorded_inputs,
)
from evalkit.runner.locks import hold_pilot_lock, probe_lock
from evalkit.runner.workers import parent_gone, run_in_processes, run_on_executor

REPORT_TEMPLATE = "pilot_report.ipynb"
RESULTS_FILE = "results.json"  # evalkit.results.RESULTS_FILE, without loading pydantic models
#: Written by the kernel while a report runs; kept only when the run fails.
KERNEL_LOG = "kernel.log"
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


def find_pilots(pilots_dir: Path) -> list[Path]:
    """Return every folder directly under ``pilots_dir`` that holds a pilot card, by name."""
    if not pilots_dir.is_dir():
        raise ConfigError(
            "there is no pilots folder here",
            path=pilots_dir,
            hint="give the folder that holds one sub-folder per pilot, e.g. `evalkit run --all "
            "pilots`",
        )
    return sorted(p for p in pilots_dir.iterdir() if (p / CARD_FILE).is_file())


def run_pilot(
    pilot_dir: Path | str, *, template: Path | None = None, timeout: float | None = None
) -> Path:
    """Run one pilot end to end and return its new report folder.

    Raises the library's error (card, data, estimation or notebook) with a
    plain message; the previous report is left untouched on any failure.
    ``timeout`` is in seconds for the whole report.
    """
    return _run(Path(pilot_dir), template=template, timeout=timeout, cleared=[]).report


def run_pilots(
    pilot_dirs: Iterable[Path],
    *,
    template: Path | None = None,
    timeout: float | None = None,
    force: bool = False,
    jobs: int = 0,
    executor: Executor | None = None,
    on_start: Callable[[Path], None] | None = None,
    on_done: Callable[[RunOutcome], None] | None = None,
) -> list[RunOutcome]:
    """Run pilots and return their outcomes in the order given; one failure never stops the others.

    A pilot whose inputs are unchanged since its last good report is skipped
    unless ``force``. ``jobs`` = 0 runs pilots one by one in this process;
    ``jobs`` >= 1 runs that many at once, each in a worker process, so a crash
    stops only its own pilot; ``executor`` (e.g. a Dask cluster's) runs them
    there instead. ``on_done`` hears of each pilot as it finishes.
    """
    pilots = list(pilot_dirs)
    outcomes: dict[int, RunOutcome] = {}
    jobs_to_run: list[_Job] = []
    for index, pilot in enumerate(pilots):
        job = _plan(index, pilot, template, timeout, force)
        if isinstance(job, RunOutcome):
            outcomes[index] = job
            if on_done is not None:
                on_done(job)
        else:
            jobs_to_run.append(job)

    def done(position: int, outcome: RunOutcome) -> None:
        outcomes[jobs_to_run[position].index] = outcome
        if on_done is not None:
            on_done(outcome)

    def started(position: int) -> None:
        if on_start is not None:
            on_start(jobs_to_run[position].pilot)

    if executor is not None:
        run_on_executor(executor, _run_job, jobs_to_run, lost=_lost, on_done=done)
    elif jobs >= 1 and jobs_to_run:
        run_in_processes(
            _run_job, jobs_to_run, jobs=jobs, lost=_lost, on_start=started, on_done=done
        )
    else:
        for position, job in enumerate(jobs_to_run):
            started(position)
            done(position, _run_job(job))
    return [outcomes[index] for index in range(len(pilots))]


def latest_report(card: PilotCard) -> Path | None:
    """Return the newest cycle's report folder that has a results file, if any."""
    cycles = sorted(
        (p for p in card.reports_dir.glob("cycle-*") if (p / RESULTS_FILE).is_file()),
        key=lambda p: int(p.name.split("-")[1]) if p.name.split("-")[1].isdigit() else -1,
    )
    return cycles[-1] if cycles else None


# --- one pilot ---


@dataclass(frozen=True)
class _Ran:
    report: Path
    fingerprint: Fingerprint
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
    template = template or _default_template()
    # the kernel factory imports what the template needs while this process checks the data
    preload = warm_up_factory(template)
    inputs = fingerprint_inputs(card, template)  # as near as can be to reading the card

    from evalkit.contract import validate_data
    from evalkit.contract.voice import load_voice
    from evalkit.learning import log_path, read_log, refresh_draft
    from evalkit.notebooks import export_html
    from evalkit.quality.published import check_publishable
    from evalkit.results import load_results

    with hold_pilot_lock(card.reports_dir) as lock:
        final = card.report_dir()
        failed = final.with_name(final.name + ".failed")
        cleared += _tidy_after_killed_runs(final)
        cleared += [f"lock of {lock.left_by}"] if lock.left_by else []
        validation = validate_data(card)
        voice = load_voice(card)
        read_log(log_path(card))  # a hand edit that broke the log stops the run before any work
        try:
            validation.raise_if_too_broken()
        except DataError as exc:
            from evalkit.analysis import write_rejected  # loads the estimators: only when needed

            _replace_dir(failed)
            failed.mkdir(parents=True)
            write_rejected(validation, failed)
            raise DataError(
                f"{exc.message} (every failing row is listed in {failed / 'rejected_rows.csv'})",
                path=exc.path,
                problems=exc.problems,
                hint=exc.hint,
            ) from None
        clock.lap("check")

        partial = final.with_name(f".{final.name}.partial-{os.getpid()}")
        _replace_dir(partial)
        partial.mkdir(parents=True)
        try:
            notebook = _execute(template, partial, card, timeout, deadline, preload)
            clock.lap("notebook")
            results = load_results(partial / RESULTS_FILE)
            export_html(notebook, partial / "report.html")
            clock.lap("html")
            refresh_draft(card, results, voice)
            fingerprint = inputs.with_log(card)
            record_inputs(partial / RESULTS_FILE, fingerprint)
            check_publishable(partial, card, validation)
            (partial / KERNEL_LOG).unlink(missing_ok=True)
        except BaseException as exc:
            _replace_dir(failed)
            partial.rename(failed)
            if isinstance(exc, EvalkitError):
                if exc.path is not None and exc.path.is_relative_to(partial):
                    exc.path = failed / exc.path.relative_to(partial)
                exc.hint = (
                    exc.hint + "; " if exc.hint else ""
                ) + f"partial output kept in {failed}"
                exc.args = (exc.render(),)
            raise
        if parent_gone():  # a worker the system could not stop with its run (not Linux)
            raise EvalkitError("the run that started this pilot has ended; nothing was published")
        _swap_into_place(partial, final)
        _replace_dir(failed)
        clock.lap("publish")
    timings = _split_notebook_time(clock.laps, final / "report.ipynb")
    return _Ran(report=final, fingerprint=fingerprint, timings=timings)


def _execute(
    template: Path,
    partial: Path,
    card: PilotCard,
    timeout: float | None,
    deadline: float | None,
    preload: tuple[str, ...],
) -> Path:
    """Run the template into the partial folder; a kernel that does not start is tried once more."""
    from nbclient.exceptions import DeadKernelError

    from evalkit.notebooks import execute_template
    from evalkit.notebooks.kernel_factory import FORKING
    from evalkit.notebooks.kernels import KernelOptions, kernel_manager_for

    output = partial / "report.ipynb"
    # first a kernel from the kernel factory; if it does not start, an ordinary new one
    attempts = (FORKING, False)
    for attempt, fork in enumerate(attempts):
        manager, watch = kernel_manager_for(
            KernelOptions(fork=fork, deadline=deadline, log=partial / KERNEL_LOG, preload=preload)
        )
        try:
            return execute_template(
                template,
                output,
                {"pilot_dir": str(card.folder.resolve()), "output_dir": str(partial.resolve())},
                cwd=card.folder.resolve(),
                # papermill takes whole seconds a cell; the deadline holds the whole report to
                # the exact timeout
                timeout=math.ceil(timeout) if timeout else None,
                kernel_manager_class=manager,
            )
        except Exception as exc:
            if watch.timed_out:
                raise NotebookError(
                    f"the report template ran for longer than {timeout} seconds",
                    path=output,
                    hint="raise --timeout, or check for a cell stuck on input",
                ) from None
            if isinstance(exc, EvalkitError):
                raise
            if attempt < len(attempts) - 1 and not _any_cell_ran(output):
                continue
            said = "stopped" if isinstance(exc, DeadKernelError) else "failed"
            raise NotebookError(
                f"the report's kernel {said} ({type(exc).__name__}: {exc})",
                path=output if output.exists() else None,
                hint=f"it may have run out of memory; its own messages are in {KERNEL_LOG}",
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _any_cell_ran(notebook: Path) -> bool:
    """Return whether papermill started any cell of a (partial) output notebook."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return False
    return any(cell.get("metadata", {}).get("papermill", {}).get("start_time") for cell in cells)


def _split_notebook_time(laps: dict[str, float], notebook: Path) -> dict[str, float]:
    """Return the step timings with the notebook's time split into kernel start and cells."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        ran = sum(c.get("metadata", {}).get("papermill", {}).get("duration") or 0 for c in cells)
    except (OSError, ValueError, KeyError):
        ran = 0.0
    total = laps.get("notebook", 0.0)
    return {
        "check": laps.get("check", 0.0),
        "kernel": max(total - ran, 0.0),
        "cells": float(ran),
        "html": laps.get("html", 0.0),
        "publish": laps.get("publish", 0.0),
    }


def warm_up_factory(template: Path) -> tuple[str, ...]:
    """Start this process's kernel factory for a template, if not started; return what it loads."""
    from evalkit.notebooks.kernel_factory import start_factory, template_modules

    preload = template_modules(template)
    start_factory(preload)
    return preload


def _default_template() -> Path:
    from evalkit.notebooks import template_path

    return template_path(REPORT_TEMPLATE)


# --- many pilots ---


@dataclass(frozen=True)
class _Job:
    """One pilot to run, as sent to a worker (paths absolute: a worker's folder may differ)."""

    index: int
    pilot: Path  # as given, for the outcome
    folder: Path
    template: Path | None
    timeout: float | None
    note: str


def _plan(
    index: int, pilot: Path, template: Path | None, timeout: float | None, force: bool
) -> _Job | RunOutcome:
    """Return a job for a pilot to run, or its outcome if it can be skipped."""
    job = _Job(
        index, pilot, pilot.absolute(), template.absolute() if template else None, timeout, ""
    )
    try:
        card = load_pilot(pilot)
        template = template or _default_template()
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
    if recorded["fingerprint"] == current.digest:
        if force:
            return replace(job, note="unchanged, run because of --force")
        lock = probe_lock(card.reports_dir)
        if not lock.held and (lock.left_by or _leftovers(card.reports_dir)):
            return replace(job, note="unchanged, but its last run did not finish")
        return RunOutcome(
            pilot,
            "skipped",
            0.0,
            report_dir=final,
            note="unchanged since its last report",
            fingerprint=current.digest,
        )
    parts = recorded.get("parts")
    changed = current.changed_since(parts if isinstance(parts, dict) else {})
    return replace(job, note="changed: " + ", ".join(changed or ["inputs"]))


def _run_job(job: _Job) -> RunOutcome:
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
            fingerprint=ran.fingerprint.digest,
            timings=ran.timings,
        )
    seconds, note = time.perf_counter() - started, _with_cleared("", cleared)
    return RunOutcome(job.pilot, "failed", seconds, message=message, note=note)


def _with_cleared(note: str, cleared: list[str]) -> str:
    if not cleared:
        return note
    said = "cleared what an interrupted run left: " + ", ".join(cleared)
    return f"{note}; {said}" if note else said


def _lost(job: _Job, reason: str) -> RunOutcome:
    return RunOutcome(job.pilot, "failed", 0.0, message=reason, note=job.note)


# --- publishing safely ---


def _leftovers(reports_dir: Path) -> list[Path]:
    """Return the hidden folders runs make while they work, of any cycle, by name."""
    return sorted(p for kind in ("partial", "old") for p in reports_dir.glob(f".*.{kind}-*"))


def _tidy_after_killed_runs(final: Path) -> list[str]:
    """Clear what killed runs left behind and return what (we hold the lock: none is running).

    Any cycle's leftovers go, not only this one's: the card's cycle may have
    moved on since the run that left them.
    """
    reports = final.parent
    cleared = []
    for leftover in _leftovers(reports):
        name = f"{reports.name}/{leftover.name}"
        report = reports / leftover.name[1:].rsplit(".", 1)[0]
        if ".old-" in leftover.name and not report.exists():
            # killed between the two renames of a swap: put the previous report back
            leftover.rename(report)
            cleared.append(f"{name} (put back as {reports.name}/{report.name})")
        else:
            _replace_dir(leftover)
            cleared.append(name)
    return cleared


def _swap_into_place(partial: Path, final: Path) -> None:
    """Put the new report in place of the old one, in one step where the system allows."""
    if final.exists() and _exchange(partial, final):
        _replace_dir(partial)  # now holds the previous report
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    partial.rename(final)
    _replace_dir(old)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def _replace_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
