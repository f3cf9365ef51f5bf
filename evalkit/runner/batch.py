"""Running many pilots: side by side, isolated, and recorded in a manifest for a scheduler.

``run_pilots`` plans every pilot (skip the unchanged), then runs the rest one
by one in this process, in worker processes (``jobs``) or on a Dask cluster
(``executor``); one pilot's failure never stops the others. ``run_batch`` is
what ``evalkit run`` does around that: a scheduler's SIGTERM is taken like
Ctrl-C, and the run manifest is written however the run ends.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from evalkit.runner.manifest import default_runs_dir, write_manifest
from evalkit.runner.plan import Job, RunOutcome, plan_job
from evalkit.runner.run import run_job
from evalkit.runner.workers import dask_executor, default_jobs, run_in_processes, run_on_executor
from evalkit.timestamps import utc_now


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
    jobs_to_run: list[Job] = []
    for index, pilot in enumerate(pilots):
        job = plan_job(index, pilot, template, timeout, force)
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
        run_on_executor(executor, run_job, jobs_to_run, lost=_lost, on_done=done)
    elif jobs >= 1 and jobs_to_run:
        run_in_processes(
            run_job, jobs_to_run, jobs=jobs, lost=_lost, on_start=started, on_done=done
        )
    else:
        for position, job in enumerate(jobs_to_run):
            started(position)
            done(position, run_job(job))
    return [outcomes[index] for index in range(len(pilots))]


@dataclass(frozen=True)
class Batch:
    """What one ``evalkit run`` did: each pilot's outcome (none if stopped first), the manifest."""

    pilots: tuple[Path, ...]
    outcomes: dict[Path, RunOutcome]
    seconds: float
    manifest: Path | None  # None: it could not be written (``manifest_problem`` says why)
    manifest_problem: str = ""

    @property
    def failed(self) -> bool:
        """Return True if a pilot failed or the manifest could not be written."""
        return self.manifest is None or any(o.status == "failed" for o in self.outcomes.values())

    def summary(self) -> list[tuple[str, str, str, str]]:
        """Return a row a pilot: its name, status, seconds, and its report or the reason."""
        rows = []
        for pilot in self.pilots:
            o = self.outcomes.get(pilot)
            if o is None:
                rows.append(
                    (pilot_name(pilot), "interrupted", "", "stopped before this pilot finished")
                )
                continue
            if o.status == "failed":
                where = o.message.splitlines()[0] if o.message else "failed"
            else:
                where = o.note if o.status == "skipped" else str(o.report_dir)
            rows.append((pilot_name(o.pilot), o.status, f"{o.seconds:.1f}", where))
        return rows


def run_batch(
    pilots: Sequence[Path],
    *,
    jobs: int | None = None,
    force: bool = False,
    timeout: float | None = None,
    dask_scheduler: str | None = None,
    runs_dir: Path | None = None,
    on_start: Callable[[Path], None] | None = None,
    on_done: Callable[[RunOutcome], None] | None = None,
    on_end: Callable[[Batch], None] | None = None,
) -> Batch:
    """Run pilots as ``evalkit run`` does and write the run manifest; return what happened.

    ``jobs`` defaults to one pilot a core. SIGTERM stops the run like Ctrl-C
    (KeyboardInterrupt); the manifest is written and ``on_end`` told however
    the run ends, before the interruption goes on up.
    """
    workers = jobs or default_jobs()
    options = {
        "jobs": workers,
        "force": force,
        "timeout": timeout,
        "dask_scheduler": dask_scheduler,
    }
    started, clock = utc_now(), time.perf_counter()
    finished: dict[Path, RunOutcome] = {}

    def done(outcome: RunOutcome) -> None:
        finished[outcome.pilot] = outcome
        if on_done is not None:
            on_done(outcome)

    try:
        with _sigterm_as_interrupt(), contextlib.ExitStack() as stack:
            executor = (
                stack.enter_context(dask_executor(dask_scheduler)) if dask_scheduler else None
            )
            run_pilots(
                pilots,
                timeout=timeout,
                force=force,
                jobs=workers,
                executor=executor,
                on_start=on_start,
                on_done=done,
            )
    finally:
        manifest, problem = None, ""
        try:
            where = runs_dir or default_runs_dir(pilots)
            manifest = write_manifest(where, pilots, finished, started=started, options=options)
        except OSError as exc:
            problem = str(exc)
        seconds = time.perf_counter() - clock
        batch = Batch(tuple(pilots), finished, seconds, manifest, problem)
        if on_end is not None:
            on_end(batch)
    return batch


def pilot_name(pilot: Path) -> str:
    """Return the pilot folder's name, also when it was given as ``.`` or ``..``."""
    return pilot.resolve().name if pilot.name in {"", ".", ".."} else pilot.name


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat a scheduler stopping the run (SIGTERM) as Ctrl-C, so the manifest is still written."""
    previous = None
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _lost(job: Job, reason: str) -> RunOutcome:
    return RunOutcome(job.pilot, "failed", 0.0, message=reason, note=job.note)
